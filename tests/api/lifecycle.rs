//! Startup and shutdown: readiness, SIGTERM-like stop, exit codes of the real binary.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn readyz_turns_503_at_once_on_stop_while_still_serving_during_the_drain() {
    let app = spawn_app_with(|env| {
        env.insert("SHUTDOWN_DRAIN_SECS".into(), "2".into());
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stopper.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "shutting_down");
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        app.get("/livez").await.status(),
        200,
        "still serving while draining"
    );
    // After the drain the listener closes.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(app.client.get(app.url("/livez")).send().await.is_err());
}

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_unioneyes"));
    cmd.env_clear()
        .env("CONFIG_DIR", "/nonexistent-config-dir")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn production_with_an_empty_environment_lists_every_missing_variable_and_exits_2() {
    let out = binary()
        .args(["check-config"])
        .env("APP_ENV", "production")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "CLERK_PUBLISHABLE_KEY",
        "CLERK_SECRET_KEY",
        "CLERK_JWT_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "SENTRY_DSN",
        "ADMIN_API_TOKEN",
        "UNION_NAME",
        "UNION_BN",
    ] {
        assert!(text.contains(var), "{var} not reported:\n{text}");
    }
}

#[test]
fn serve_in_production_with_a_bad_config_exits_2_before_binding() {
    let port = crate::support::closed_port();
    let out = binary()
        .args(["serve"])
        .env("APP_ENV", "production")
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            "postgres://app:s3cr3t-pw@db.internal:5432/app",
        )
        .env("STRIPE_SECRET_KEY", "sk_test_abcdefghijklmnop")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("STRIPE_SECRET_KEY"), "{all}");
    assert!(!all.contains("s3cr3t-pw"), "secret printed: {all}");
    assert!(
        !all.contains("sk_test_abcdefghijklmnop"),
        "secret printed: {all}"
    );
    assert!(!all.contains("listening"), "must not bind: {all}");
}

#[test]
fn missing_app_env_counts_as_production() {
    let out = binary().args(["check-config", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["app_env"], "production", "{report}");
}

#[actix_web::test]
async fn the_admin_token_never_appears_in_debug_output() {
    let app = spawn_app().await;
    let dbg = format!("{:?}", app.state.settings);
    assert!(!dbg.contains(&app.admin_token));
    assert!(!dbg.contains("postgres://"), "{dbg}");
}
