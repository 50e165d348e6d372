//! Rate-limit benchmark (docs/benchmarks.md): one process serves a trivial route four ways —
//! unlimited, behind our limiter, behind actix-limitation (Redis fixed window) and behind
//! actix-governor (in-memory GCRA) — on the real service stack, then drives each with `wrk`
//! in turn, in one run, and prints throughput, p50/p99 and ratios against the unlimited route.
//! It also counts Redis commands per limited request (INFO commandstats), measures the
//! latency overhead at a fixed request rate below saturation with `oha -q` (when `oha` is on
//! PATH: `cargo install oha`), alternating the two routes over several rounds, and measures the
//! limited route again while Redis is unreachable.
//!
//! Needs PostgreSQL and Redis (TEST_PG_ADMIN_URL / TEST_REDIS_URL, as the tests) and `wrk`.
//! Run: `cargo bench --bench ratelimit` (WRK_SECONDS, WRK_CONNECTIONS to change the saturating
//! load; FIXED_RATE, FIXED_SECONDS, FIXED_ROUNDS for the fixed-rate one).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use unioneyes::http::middleware::RateLimit;
use unioneyes::ratelimit::PresetName;
use unioneyes::startup::{Application, ExtraRoutes};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

fn routes(redis_url: String) -> ExtraRoutes {
    let limitation = web::Data::new(
        actix_limitation::Limiter::builder(redis_url.as_str())
            .key_by(|_req: &actix_web::dev::ServiceRequest| Some("bench".to_string()))
            .limit(1_000_000)
            .period(Duration::from_secs(1))
            .build()
            .expect("actix-limitation"),
    );
    let governor = actix_governor::GovernorConfigBuilder::default()
        .requests_per_second(1_000_000)
        .burst_size(1_000_000)
        .finish()
        .expect("governor config");
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(web::resource("/bench/unlimited").route(web::get().to(ok)))
            .service(
                web::resource("/bench/ours")
                    .wrap(RateLimit::new(PresetName::Signup))
                    .route(web::get().to(ok)),
            )
            .service(
                web::resource("/bench/actix-limitation")
                    .app_data(limitation.clone())
                    .wrap(actix_limitation::RateLimiter::default())
                    .route(web::get().to(ok)),
            )
            .service(
                web::resource("/bench/actix-governor")
                    .wrap(actix_governor::Governor::new(&governor))
                    .route(web::get().to(ok)),
            );
    })
}

async fn start(
    redis_url: &str,
    db: &str,
    redis_timeout_ms: &str,
) -> (u16, unioneyes::startup::Stopper) {
    let admin = env_or(
        "TEST_PG_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let mut u = url::Url::parse(&admin).expect("admin url");
    u.set_path(&format!("/{db}"));
    let env: HashMap<String, String> = [
        ("APP_ENV", "test"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "1"),
        ("DATABASE_URL", u.as_str()),
        ("REDIS_URL", redis_url),
        ("REDIS_KEY_PREFIX", "unioneyes:bench:"),
        ("RUST_LOG", "warn"),
        // Every request admitted: the benchmark measures the cost of checking.
        ("RATE_LIMITS", "SIGNUP=100000/1s"),
        // Measure the Redis path: on this shared machine a scheduling hiccup past the default
        // 75 ms deadline would open the breaker and hand requests to the in-memory fallback.
        ("RATE_LIMIT_REDIS_TIMEOUT_MS", redis_timeout_ms),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let settings = unioneyes::config::load(&env, Path::new("/nonexistent"))
        .into_settings()
        .unwrap_or_else(|r| panic!("{}", r.render_table()));
    let app = Application::build_with(settings, routes(redis_url.to_string()))
        .await
        .expect("app starts");
    let port = app.port();
    let stopper = app.stopper();
    actix_rt::spawn(app.run_until_stopped());
    (port, stopper)
}

struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    requests: u64,
}

fn to_ms(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str) -> Wrk {
    let secs = env_or("WRK_SECONDS", "8");
    let conns = env_or("WRK_CONNECTIONS", "32");
    let out = Command::new("wrk")
        .args([
            "-t2",
            "-c",
            &conns,
            "-d",
            &format!("{secs}s"),
            "--latency",
            url,
        ])
        .output()
        .expect("wrk on PATH (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("nan")
            .to_string()
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Wrk {
        rps: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50_ms: to_ms(&field("50%")),
        p99_ms: to_ms(&field("99%")),
        non_2xx,
        requests,
    }
}

/// Latency at a fixed rate (`oha -q`, corrected for coordinated omission), in ms.
struct Fixed {
    p50_ms: f64,
    p99_ms: f64,
    ok: u64,
    total: u64,
}

fn oha_available() -> bool {
    Command::new("oha").arg("--version").output().is_ok()
}

fn oha_fixed(url: &str) -> Fixed {
    let rate = env_or("FIXED_RATE", "500");
    let secs = env_or("FIXED_SECONDS", "5");
    let out = Command::new("oha")
        .args(["-q", &rate, "-c", "16", "-z", &format!("{secs}s")])
        .args([
            "--latency-correction",
            "--no-tui",
            "--output-format",
            "json",
            url,
        ])
        .output()
        .expect("oha");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let pct = |k: &str| doc["latencyPercentiles"][k].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let codes = doc["statusCodeDistribution"].as_object();
    let count = |only_ok: bool| {
        codes.map_or(0, |m| {
            m.iter()
                .filter(|(code, _)| !only_ok || code.as_str() == "200")
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
    };
    Fixed {
        p50_ms: pct("p50"),
        p99_ms: pct("p99"),
        ok: count(true),
        total: count(false),
    }
}

/// Rounds of unlimited and ours in alternating order at one fixed rate; per-round p99
/// overhead and the median over the rounds (noise on a shared machine hits single rounds).
fn fixed_rate_rounds(url: impl Fn(&str) -> String) {
    let rounds: usize = env_or("FIXED_ROUNDS", "6").parse().unwrap_or(6);
    println!(
        "\nFixed rate: {} req/s for {} s per route and round (oha -q, latency-corrected, 16 connections):",
        env_or("FIXED_RATE", "500"),
        env_or("FIXED_SECONDS", "5")
    );
    println!("| round | unlimited p50 / p99 ms | ours p50 / p99 ms | p50 overhead ms | p99 overhead ms | non-200 |");
    println!("|---|---|---|---|---|---|");
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for round in 1..=rounds {
        let (base, ours) = if round % 2 == 1 {
            let b = oha_fixed(&url("/bench/unlimited"));
            (b, oha_fixed(&url("/bench/ours")))
        } else {
            let o = oha_fixed(&url("/bench/ours"));
            (oha_fixed(&url("/bench/unlimited")), o)
        };
        let (d50, d99) = (ours.p50_ms - base.p50_ms, ours.p99_ms - base.p99_ms);
        p50s.push(d50);
        p99s.push(d99);
        println!(
            "| {round} | {:.3} / {:.3} | {:.3} / {:.3} | {d50:+.3} | {d99:+.3} | {} |",
            base.p50_ms,
            base.p99_ms,
            ours.p50_ms,
            ours.p99_ms,
            (base.total - base.ok) + (ours.total - ours.ok)
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    println!(
        "median over {rounds} rounds: p50 overhead {:+.3} ms, p99 overhead {:+.3} ms",
        median(&mut p50s),
        median(&mut p99s)
    );
}

fn redis_cmd(url: &str, args: &[&str]) -> String {
    let u = url::Url::parse(url).expect("redis url");
    let out = Command::new("redis-cli")
        .args(["-h", u.host_str().unwrap_or("127.0.0.1")])
        .args(["-p", &u.port().unwrap_or(6379).to_string()])
        .args(args)
        .output()
        .expect("redis-cli on PATH");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// (evalsha calls, all commands processed) so far.
fn redis_counts(url: &str) -> (u64, u64) {
    let stats = redis_cmd(url, &["INFO", "commandstats"]);
    let evalsha = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_evalsha:"))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let info = redis_cmd(url, &["INFO", "stats"]);
    let total = info
        .lines()
        .find(|l| l.starts_with("total_commands_processed:"))
        .and_then(|l| l.trim().split(':').nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (evalsha, total)
}

fn create_db(name: &str) {
    let admin = env_or(
        "TEST_PG_ADMIN_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let _ = Command::new("psql")
        .args([&admin, "-qc", &format!("DROP DATABASE IF EXISTS {name}")])
        .output();
    let out = Command::new("psql")
        .args([&admin, "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn row(name: &str, w: &Wrk, base: &Wrk) {
    println!(
        "| {name} | {:.0} | {:.2} | {:.3} | {:.3} | {:+.3} | {} |",
        w.rps,
        w.rps / base.rps,
        w.p50_ms,
        w.p99_ms,
        w.p99_ms - base.p99_ms,
        w.non_2xx
    );
}

fn main() {
    let redis_url = env_or("TEST_REDIS_URL", "redis://127.0.0.1:6379");
    create_db("ue_bench");
    actix_rt::System::new().block_on(async {
        let (port, stop) = start(&redis_url, "ue_bench", "1000").await;
        let url = move |p: &str| format!("http://127.0.0.1:{port}{p}");
        // Warm up every route once.
        for p in ["unlimited", "ours", "actix-limitation", "actix-governor"] {
            let _ = wrk(&url(&format!("/bench/{p}")));
        }
        let results: Vec<(&str, Wrk)> = tokio::task::spawn_blocking(move || {
            let mut r = Vec::new();
            r.push(("unlimited", wrk(&url("/bench/unlimited"))));
            let before = redis_counts(&redis_url);
            let ours = wrk(&url("/bench/ours"));
            let after = redis_counts(&redis_url);
            println!(
                "our limiter: {} requests, {:.3} EVALSHA per request, {:.3} Redis commands processed per request (incl. the script's own and the health probe's)",
                ours.requests,
                (after.0 - before.0) as f64 / ours.requests.max(1) as f64,
                (after.1 - before.1) as f64 / ours.requests.max(1) as f64,
            );
            r.push(("ours (Redis sliding window)", ours));
            r.push(("actix-limitation (Redis fixed window)", wrk(&url("/bench/actix-limitation"))));
            r.push(("actix-governor (in-memory GCRA)", wrk(&url("/bench/actix-governor"))));
            r
        })
        .await
        .expect("bench thread");
        println!("| route | req/s | ratio to unlimited | p50 ms | p99 ms | p99 overhead ms | non-2xx |");
        println!("|---|---|---|---|---|---|---|");
        let base = &results[0].1;
        for (name, w) in &results {
            row(name, w, base);
        }
        if oha_available() {
            tokio::task::spawn_blocking(move || fixed_rate_rounds(url))
                .await
                .expect("bench thread");
        } else {
            println!("\n(oha not on PATH: `cargo install oha` for the fixed-rate rounds)");
        }
        stop.stop();

        // Redis unreachable: the breaker opens and the in-memory fallback decides.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        create_db("ue_bench_down");
        let (port, stop) = start(&format!("redis://127.0.0.1:{closed}"), "ue_bench_down", "75").await;
        let down = tokio::task::spawn_blocking(move || {
            let u = |p: &str| format!("http://127.0.0.1:{port}{p}");
            let _ = wrk(&u("/bench/ours"));
            (wrk(&u("/bench/unlimited")), wrk(&u("/bench/ours")))
        })
        .await
        .expect("bench thread");
        println!("\nRedis unreachable (closed port):");
        println!("| route | req/s | ratio to unlimited | p50 ms | p99 ms | p99 overhead ms | non-2xx |");
        println!("|---|---|---|---|---|---|---|");
        row("unlimited", &down.0, &down.0);
        row("ours (breaker open, in-memory)", &down.1, &down.0);
        stop.stop();
    });
}
