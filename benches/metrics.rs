//! Criterion: what the Prometheus request series cost on the request path — one
//! `HttpMetrics::observe` (counter + histogram of the request's label set, the route template
//! an owned string as `request_context` builds it), alone and with the other core recording
//! into the same families at the same time; and rendering a scrape of 200 series.
//!
//! Run: `cargo bench --bench metrics`

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use unioneyes::metrics::{status_class, HttpMetrics, RequestLabels};

const ROUTES: [&str; 8] = [
    "/api/members",
    "/api/members/{id}",
    "/api/claims",
    "/api/claims/{id}",
    "/api/exports/members.csv",
    "/api/admin/analytics/summary",
    "/api/csrf-token",
    "UNMATCHED",
];

fn labels(i: usize) -> RequestLabels {
    RequestLabels {
        method: if i % 3 == 0 { "POST" } else { "GET" },
        // Owned, as the route template read from the matched resource is.
        route: Cow::Owned(ROUTES[i % ROUTES.len()].to_string()),
        status_class: status_class(if i % 7 == 0 { 404 } else { 200 }),
    }
}

fn observe(c: &mut Criterion) {
    let mut registry = Registry::with_prefix("unioneyes");
    let http = Arc::new(HttpMetrics::register(&mut registry));
    // Every label set exists already, as in a service that has been up for a while.
    for i in 0..64 {
        http.observe(&labels(i), Duration::from_micros(800));
    }
    let mut i = 0usize;
    c.bench_function("observe one request (labels built per request)", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            http.observe(&labels(i), Duration::from_micros(300 + (i % 5000) as u64));
        })
    });

    // The other core records into the same families meanwhile (2-core machine: 2 workers).
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (http, stop) = (Arc::clone(&http), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut j = 0usize;
            while !stop.load(Ordering::Relaxed) {
                j = j.wrapping_add(1);
                http.observe(&labels(j), Duration::from_micros(500));
            }
        })
    };
    c.bench_function("observe one request, other core recording too", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            http.observe(&labels(i), Duration::from_micros(300 + (i % 5000) as u64));
        })
    });
    stop.store(true, Ordering::Relaxed);
    let _ = other.join();

    // A scrape: 200 request series (25 routes × 4 methods × 2 classes) with histograms.
    let mut registry = Registry::with_prefix("unioneyes");
    let many = HttpMetrics::register(&mut registry);
    for r in 0..25 {
        for m in ["GET", "POST", "PATCH", "DELETE"] {
            for s in [200, 404] {
                let l = RequestLabels {
                    method: m,
                    route: Cow::Owned(format!("/api/route{r}/{{id}}")),
                    status_class: status_class(s),
                };
                many.observe(&l, Duration::from_millis(3));
            }
        }
    }
    c.bench_function("render a scrape of 200 request series", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(256 * 1024);
            encode(&mut out, &registry).expect("encode");
            out.len()
        })
    });
}

criterion_group!(benches, observe);
criterion_main!(benches);
