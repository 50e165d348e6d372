//! Criterion: the cost of recording one request on the request path, i.e. what the analytics
//! middleware adds per request besides reading the route: building the `Record` (its route,
//! tenant and request id strings) and `WorkerBuffer::push` (a worker's buffer, handing batches
//! of 64 to the bounded queue), while the real actor drains the queue and flushes to a private
//! redis-server.
//!
//! Run: `cargo bench --bench analytics_record` (needs `redis-server` on PATH).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Arbiter};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use unioneyes::http::middleware::worker_buffer::WorkerBuffer;
use unioneyes_actors::analytics::aggregate::Aggregate;
use unioneyes_actors::analytics::{
    channel, method_name, AnalyticsActor, AnalyticsConfig, Record, RedisLink,
};
use unioneyes_actors::redis::RedisManager;

struct PrivateRedis(Child, u16);

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn private_redis() -> PrivateRedis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
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

fn record_cost(c: &mut Criterion) {
    let redis = private_redis();
    let url = format!("redis://127.0.0.1:{}", redis.1);
    let (recorder, inbox) = channel(50_000);
    // Arbiters need a System on this thread (it is never run: the actor has its own thread).
    let _system = actix_rt::System::new();
    let arbiter = Arbiter::new();
    let config = AnalyticsConfig {
        key_prefix: "unioneyes:bench:".into(),
        flush_interval: Duration::from_secs(1),
        flush_batch: 10_000,
        max_tenants_per_day: 10_000,
        retention_days: 1,
        shutdown_flush: Duration::from_secs(1),
    };
    let _addr = AnalyticsActor::start_in_arbiter(&arbiter.handle(), move |_| {
        let manager = RedisManager::new(&url).expect("redis url");
        let pool = bb8::Pool::builder().max_size(4).build_unchecked(manager);
        AnalyticsActor::new(config, inbox, RedisLink::new(pool, Duration::from_secs(1)))
    });
    let request_id = "0b6f9c1e-8a52-4d0a-9d8f-3c2b1a0e9f77".to_string();
    let tenant = "5b0f3c52-0b5e-4d59-9b1a-2f3f1a0c9e11".to_string();
    let buffer = WorkerBuffer::start(recorder.clone(), Arc::new(AtomicUsize::new(0)));
    c.bench_function("analytics: build + record one request", |b| {
        b.iter(|| {
            buffer.push(Record {
                route: std::hint::black_box("/api/members/{id}").to_string(),
                method: method_name(std::hint::black_box("GET")),
                status: 200,
                duration_us: 1234,
                tenant: tenant.clone().into(),
                request_id: request_id.clone(),
                ended_at: Utc::now(),
            });
        })
    });
    drop(buffer);
    let s = recorder.snapshot();
    println!(
        "records dropped during the run (queue full): {} of {}",
        s.dropped,
        s.enqueued + s.dropped
    );
    arbiter.stop();
    drop(redis);
}

/// The actor's side, for context: aggregating one record (20 routes, 100 tenants), with a
/// flush (`take`) every 5,000 records as at 5,000 requests/s.
fn aggregate_cost(c: &mut Criterion) {
    let mut agg = Aggregate::new(10_000, "bench");
    let records: Vec<Record> = (0..5_000u64)
        .map(|i| Record {
            route: format!("/api/route{:02}/{{id}}", i % 20),
            method: "GET",
            status: 200,
            duration_us: 300 + (i * 7919) % 20_000,
            tenant: format!("{:08x}-0b5e-4d59-9b1a-2f3f1a0c9e11", (i * 31) % 100).into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            ended_at: Utc::now(),
        })
        .collect();
    let next = std::cell::Cell::new(0usize);
    c.bench_function("analytics: aggregate one record (actor thread)", |b| {
        b.iter_batched(
            || {
                next.set(next.get() + 1);
                records[next.get() % records.len()].clone()
            },
            |r| {
                agg.add(r);
                if next.get() % 5_000 == 0 {
                    std::hint::black_box(agg.take());
                }
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, record_cost, aggregate_cost);
criterion_main!(benches);
