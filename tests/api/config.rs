//! Configuration through the public loader: all problems at once, secrets never printed.

use std::collections::HashMap;
use std::path::Path;

fn load(pairs: &[(&str, &str)]) -> unioneyes::config::ConfigReport {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    unioneyes::config::load(&env, Path::new("/nonexistent-config-dir"))
}

#[test]
fn every_problem_is_reported_together_and_no_secret_is_printed() {
    let report = load(&[
        ("APP_ENV", "production"),
        ("PORT", "90.6"),
        ("DATABASE_URL", "sqlserver://sa:TopSecretPw1@azure:1433"),
        ("STRIPE_SECRET_KEY", "sk_test_secretvalue123"),
        ("STRIPE_WEBHOOK_SECRET", "nope-secret-xyz"),
        ("ANALYTICS_RETENTION_DAYS", "30d"),
        ("ADMIN_API_TOKEN", "short-admin-secret"),
        ("STRIPE_SECRT_KEY", "x"),
    ]);
    assert!(report.has_errors());
    let vars: Vec<&str> = report.errors.iter().map(|e| e.variable.as_str()).collect();
    for v in [
        "PORT",
        "DATABASE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "ANALYTICS_RETENTION_DAYS",
        "ADMIN_API_TOKEN",
        "REDIS_URL",
    ] {
        assert!(vars.contains(&v), "{v} missing from {vars:?}");
    }
    assert!(report
        .warnings
        .iter()
        .any(|w| w.variable == "STRIPE_SECRT_KEY" && w.message.contains("STRIPE_SECRET_KEY")));
    let everything = format!(
        "{}\n{}\n{:?}",
        report.render_table(),
        report.to_json(),
        report
    );
    for secret in [
        "TopSecretPw1",
        "sk_test_secretvalue123",
        "nope-secret-xyz",
        "short-admin-secret",
    ] {
        assert!(!everything.contains(secret), "{secret} printed");
    }
    assert!(
        everything.contains("not supported"),
        "SQL Server gets a clear message"
    );
    for e in &report.errors {
        assert!(!e.example.is_empty(), "{} has no example", e.variable);
    }
}

#[test]
fn development_turns_optional_service_errors_into_warnings() {
    let report = load(&[
        ("APP_ENV", "development"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dev"),
        ("STRIPE_SECRET_KEY", "sk_live_abcdef"),
    ]);
    assert!(!report.has_errors(), "{}", report.render_table());
    let settings = report.settings().unwrap();
    assert!(settings.services.stripe_secret_key.is_none());
    assert!(settings.services.invalid.contains(&"STRIPE_SECRET_KEY"));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.variable == "STRIPE_SECRET_KEY"));
}

#[test]
fn a_degenerate_rate_limit_preset_stops_startup_with_a_clear_message() {
    let report = load(&[
        ("APP_ENV", "development"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dev"),
        (
            "RATE_LIMITS",
            "AUTH=0/15m,EXPORTS=10/0s,SIGNUP=3/1fortnight",
        ),
    ]);
    assert!(report.has_errors());
    let e = report
        .errors
        .iter()
        .find(|e| e.variable == "RATE_LIMITS")
        .expect("RATE_LIMITS error");
    assert!(e.message.contains("AUTH: a limit of 0"), "{}", e.message);
    assert!(e.message.contains("under 1 s"), "{}", e.message);
    assert!(e.message.contains("unknown unit"), "{}", e.message);
}
