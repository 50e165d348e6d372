//! Analytics system benchmark (docs/benchmarks.md), four measurements in one run:
//!
//! 1. service throughput with analytics on vs off: two instances of the real service stack
//!    (one with ANALYTICS_ENABLED=false) serve a trivial route; `wrk` drives them in turn;
//! 2. Redis commands per recorded request at a steady 5,000 requests/s over 20 routes and 100
//!    tenants with the default settings (INFO commandstats of a private redis-server);
//! 3. Redis memory of one day after 1,000,000 requests over 20 routes and 100 tenants
//!    (MEMORY USAGE of every analytics key);
//! 4. percentile error of the histogram against the exact values, on the latency distribution
//!    `wrk` recorded in (1) and on a synthetic heavy-tailed one.
//!
//! Needs PostgreSQL (TEST_PG_ADMIN_URL, as the tests), `redis-server`, `redis-cli`, `wrk`, `psql`.
//! Run: `cargo bench --bench analytics` (WRK_SECONDS, WRK_CONNECTIONS, ROUNDS, STEADY_SECONDS).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Arbiter};
use actix_web::{web, HttpResponse};
use chrono::Utc;
use unioneyes::startup::{Application, ExtraRoutes, Stopper};
use unioneyes_actors::analytics::histogram::Histogram;
use unioneyes_actors::analytics::{
    channel, AnalyticsActor, AnalyticsConfig, Record, Recorder, RedisLink, Stop,
};
use unioneyes_actors::redis::RedisManager;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

struct PrivateRedis(Child, u16);

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn private_redis() -> PrivateRedis {
    let port = free_port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    PrivateRedis(child, port)
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli on PATH");
    String::from_utf8_lossy(&out.stdout).to_string()
}

// ---- 1. throughput on vs off ---------------------------------------------------------------

fn create_db(name: &str) -> String {
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
    let mut u = url::Url::parse(&admin).expect("admin url");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

async fn start(db: &str, redis_port: u16, analytics: bool) -> (u16, Stopper) {
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let env: HashMap<String, String> = [
        ("APP_ENV", "test"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "1"),
        ("DATABASE_URL", db),
        ("REDIS_URL", redis_url.as_str()),
        ("REDIS_KEY_PREFIX", "unioneyes:bench:"),
        ("RUST_LOG", "warn"),
        (
            "ANALYTICS_ENABLED",
            if analytics { "true" } else { "false" },
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let settings = unioneyes::config::load(&env, Path::new("/nonexistent"))
        .into_settings()
        .unwrap_or_else(|r| panic!("{}", r.render_table()));
    let routes: ExtraRoutes = Arc::new(|cfg: &mut web::ServiceConfig| {
        cfg.route(
            "/bench/ok/{id}",
            web::get().to(|| async { HttpResponse::Ok().body("ok") }),
        );
    });
    let app = Application::build_with(settings, routes)
        .await
        .expect("app starts");
    let port = app.port();
    let stopper = app.stopper();
    actix_rt::spawn(app.run_until_stopped());
    (port, stopper)
}

struct Wrk {
    rps: f64,
    p50: String,
    p99: String,
    /// CPU time of this process (the instance under load, its actor, idle rest) per request,
    /// µs: a cost measure that does not depend on how wrk and the server share the cores.
    cpu_us: f64,
}

/// User + system CPU time of this process so far, in µs (/proc/self/stat, clock ticks).
fn process_cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let tck = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    (ticks(11) + ticks(12)) * 1_000_000.0 / tck
}

fn wrk(port: u16) -> Wrk {
    let secs = env_or("WRK_SECONDS", "8");
    let conns = env_or("WRK_CONNECTIONS", "32");
    let cpu_before = process_cpu_us();
    let out = Command::new("wrk")
        .args(["-t2", "-c", &conns, "-d", &format!("{secs}s"), "--latency"])
        .arg(format!("http://127.0.0.1:{port}/bench/ok/1"))
        .output()
        .expect("wrk on PATH");
    let cpu = process_cpu_us() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("nan")
            .to_string()
    };
    Wrk {
        rps: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: field("50%"),
        p99: field("99%"),
        cpu_us: cpu / requests,
    }
}

// ---- 2 and 3: the actor alone, against a private Redis ---------------------------------------

fn start_actor(
    redis_port: u16,
    prefix: &str,
    arbiter: &Arbiter,
) -> (Recorder, Addr<AnalyticsActor>) {
    let (recorder, inbox) = channel(50_000);
    let url = format!("redis://127.0.0.1:{redis_port}");
    // Default settings.
    let config = AnalyticsConfig {
        key_prefix: prefix.to_string(),
        flush_interval: Duration::from_millis(1000),
        flush_batch: 10_000,
        max_tenants_per_day: 10_000,
        retention_days: 30,
        shutdown_flush: Duration::from_secs(30),
    };
    let addr = AnalyticsActor::start_in_arbiter(&arbiter.handle(), move |_| {
        let manager = RedisManager::new(&url).expect("redis url");
        let pool = bb8::Pool::builder().max_size(4).build_unchecked(manager);
        AnalyticsActor::new(config, inbox, RedisLink::new(pool, Duration::from_secs(5)))
    });
    (recorder, addr)
}

/// A plausible request: 20 routes, 100 tenants, a heavy-tailed latency, some errors.
fn synthetic(i: u64, state: &mut u64) -> Record {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let u = (*state % 1_000_000) as f64 / 1_000_000.0;
    let duration_us = (300.0 * (1.0 / (1.0 - u * 0.9995)).powf(1.2)) as u64 + *state % 200;
    let tenant = (*state >> 20) % 100;
    Record {
        route: format!("/api/route{:02}/{{id}}", i % 20),
        method: "GET",
        status: match *state % 100 {
            0 => 500,
            1..=4 => 404,
            _ => 200,
        },
        duration_us,
        tenant: format!("{tenant:08x}-0b5e-4d59-9b1a-2f3f1a0c9e11").into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ended_at: Utc::now(),
    }
}

fn send(recorder: &Recorder, mut r: Record) {
    loop {
        let again = r.clone();
        if recorder.record(r) {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
        r = again;
    }
}

fn command_calls(port: u16) -> BTreeMap<String, u64> {
    redis_cli(port, &["INFO", "commandstats"])
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .split(',')
                .next()?
                .strip_prefix("calls=")?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

fn memory_of(port: u16, prefix: &str) -> (u64, usize, BTreeMap<String, u64>) {
    let keys = redis_cli(port, &["--scan", "--pattern", &format!("{prefix}*")]);
    let mut total = 0;
    let mut count = 0;
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for key in keys.lines().filter(|k| !k.is_empty()) {
        let bytes: u64 = redis_cli(port, &["MEMORY", "USAGE", key, "SAMPLES", "0"])
            .trim()
            .parse()
            .unwrap_or(0);
        // The part after the day tag: sum, ep, tn, tne, endpoints, tenants, min, max, slow…
        let kind = key
            .split_once("}:")
            .and_then(|(_, rest)| rest.split(':').next())
            .unwrap_or("?")
            .to_string();
        total += bytes;
        count += 1;
        *by_kind.entry(kind).or_insert(0) += bytes;
    }
    (total, count, by_kind)
}

/// Client-side latencies (µs -> count) of `secs` seconds of requests from 8 tasks: a recorded,
/// real latency distribution of the service.
async fn record_latencies(port: u16, secs: u64) -> Vec<(u64, u64)> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let started = Instant::now();
                let url = format!("http://127.0.0.1:{port}/bench/ok/{t}-{i}");
                if client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
                {
                    *seen
                        .entry(started.elapsed().as_micros() as u64)
                        .or_insert(0) += 1;
                }
            }
            seen
        }));
    }
    let mut all: BTreeMap<u64, u64> = BTreeMap::new();
    for t in tasks {
        for (v, n) in t.await.unwrap_or_default() {
            *all.entry(v).or_insert(0) += n;
        }
    }
    all.into_iter().collect()
}

// ---- 4. percentile error -----------------------------------------------------------------------

fn percentile_errors(samples: &[(u64, u64)], label: &str) {
    let total: u64 = samples.iter().map(|(_, n)| n).sum();
    if total == 0 {
        println!("| {label} | no samples | | | | | |");
        return;
    }
    let mut h = Histogram::default();
    for (v, n) in samples {
        for _ in 0..*n {
            h.record(*v);
        }
    }
    let (min, max) = (samples[0].0, samples[samples.len() - 1].0);
    let mut cells = Vec::new();
    for p in [50.0, 90.0, 95.0, 99.0, 99.9] {
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        let exact = samples
            .iter()
            .find(|(_, n)| {
                seen += n;
                seen >= rank
            })
            .map(|(v, _)| *v as f64)
            .unwrap_or(f64::NAN);
        let got = h.percentile(p, Some(min), Some(max)).unwrap_or(f64::NAN);
        cells.push(format!(
            "{:.0} / {:.0} ({:+.2} %)",
            exact,
            got,
            (got - exact) / exact * 100.0
        ));
    }
    println!("| {label} ({total} samples) | {} |", cells.join(" | "));
}

#[actix_rt::main]
async fn main() {
    let redis = private_redis();
    let port = redis.1;

    println!("## 1. Throughput, analytics on vs off (wrk, one worker each)\n");
    let (db_on, db_off) = (
        create_db("ue_bench_analytics_on"),
        create_db("ue_bench_analytics_off"),
    );
    let (on, stop_on) = start(&db_on, port, true).await;
    let (off, stop_off) = start(&db_off, port, false).await;
    println!("| round | off req/s | on req/s | on/off | off p50/p99 | on p50/p99 | CPU µs/request off / on | on/off |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    // Alternating which goes first, so a drift of the shared machine does not favour one side.
    let rounds = env_or("ROUNDS", "5").parse::<u32>().unwrap_or(5).max(1);
    for round in 1..=rounds {
        let (a, b) = if round % 2 == 1 {
            let a = wrk(off);
            (a, wrk(on))
        } else {
            let b = wrk(on);
            (wrk(off), b)
        };
        ratios.push(b.rps / a.rps);
        cpu_ratios.push(b.cpu_us / a.cpu_us);
        println!(
            "| {round} | {:.0} | {:.0} | {:.3} | {} / {} | {} / {} | {:.2} / {:.2} | {:.3} |",
            a.rps,
            b.rps,
            b.rps / a.rps,
            a.p50,
            a.p99,
            b.p50,
            b.p99,
            a.cpu_us,
            b.cpu_us,
            b.cpu_us / a.cpu_us
        );
    }
    ratios.sort_by(f64::total_cmp);
    cpu_ratios.sort_by(f64::total_cmp);
    println!(
        "\nmedian on/off: {:.3} (throughput), {:.3} (server CPU per request)\n",
        ratios[ratios.len() / 2],
        cpu_ratios[cpu_ratios.len() / 2]
    );
    let recorded = record_latencies(on, 4).await;
    stop_on.stop();
    stop_off.stop();

    let steady = env_or("STEADY_SECONDS", "10").parse::<u64>().unwrap_or(10);
    println!("## 2. Redis commands per recorded request (5,000 req/s for {steady} s, 20 routes, 100 tenants, defaults)\n");
    let arbiter = Arbiter::new();
    let (recorder, addr) = start_actor(port, "unioneyes:bench:steady:", &arbiter);
    redis_cli(port, &["CONFIG", "RESETSTAT"]);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while started.elapsed() < Duration::from_secs(steady) {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * 5000.0) as u64;
        while sent < due {
            send(&recorder, synthetic(sent, &mut state));
            sent += 1;
        }
    }
    let report = addr.send(Stop).await.expect("stop");
    let calls = command_calls(port);
    let ours: u64 = calls
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "config" | "ping" | "client|setinfo"))
        .map(|(_, n)| n)
        .sum();
    let eval = calls.get("eval").copied().unwrap_or(0);
    println!(
        "{sent} requests recorded ({} written, {} lost); {ours} Redis commands in all (script-internal included), {eval} of them EVAL (one per flush and day)",
        report.flushed, report.lost
    );
    println!(
        "**{:.4} commands per recorded request** ({:.5} round trips)\n",
        ours as f64 / sent as f64,
        eval as f64 / sent as f64
    );
    println!("| command | calls |\n|---|---|");
    for (name, n) in &calls {
        println!("| {name} | {n} |");
    }

    println!("\n## 3. Redis memory of one day after 1,000,000 requests (20 routes, 100 tenants)\n");
    let (recorder, addr) = start_actor(port, "unioneyes:bench:memory:", &arbiter);
    let t = Instant::now();
    for i in 0..1_000_000 {
        send(&recorder, synthetic(i, &mut state));
    }
    let report = addr.send(Stop).await.expect("stop");
    let (total, keys, by_kind) = memory_of(port, "unioneyes:bench:memory:");
    println!(
        "{} requests written in {:.1} s ({} lost); {keys} keys, **{:.1} kB** (MEMORY USAGE … SAMPLES 0, summed)\n",
        report.flushed,
        t.elapsed().as_secs_f64(),
        report.lost,
        total as f64 / 1024.0
    );
    println!("| key kind | bytes |\n|---|---|");
    for (kind, bytes) in &by_kind {
        println!("| {kind} | {bytes} |");
    }
    arbiter.stop();

    println!("\n## 4. Percentile error: exact / histogram, µs\n");
    println!("| distribution | p50 | p90 | p95 | p99 | p99.9 |\n|---|---|---|---|---|---|");
    percentile_errors(&recorded, "recorded client latencies (analytics on)");
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for i in 0..200_000 {
        *counts
            .entry(synthetic(i, &mut state).duration_us)
            .or_insert(0) += 1;
    }
    let synthetic: Vec<(u64, u64)> = counts.into_iter().collect();
    percentile_errors(&synthetic, "synthetic heavy tail");
    drop(redis);
}
