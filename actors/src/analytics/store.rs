//! Writes a flush batch: one pipeline of script calls (one per day), under the link's deadline.
//!
//! Exactly once: each day's script records the writer instance's last applied flush number and
//! skips a batch it has already applied, so resending a batch whose answer was lost (timeout,
//! dropped connection) never counts twice. Single failing writes inside a script are reported
//! (and counted by the caller) without failing the rest.

use bb8_redis::redis::{self, Value};
use chrono::NaiveDate;

use super::batch::Batch;
use super::link::{LinkError, RedisLink};

pub const FLUSH_SCRIPT: &str = include_str!("flush.lua");

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlushOutcome {
    /// Days whose script was applied now.
    pub applied: usize,
    /// Days already applied by an earlier attempt.
    pub duplicates: usize,
    /// Single writes Redis refused, as `COMMAND key: error`.
    pub write_errors: Vec<String>,
    /// Days Redis refused as a whole (script error, e.g. a damaged `flushes` key): not retried.
    pub failed_days: Vec<(NaiveDate, u64, String)>,
    /// Per day, the lowest duration still in the stored slowest list when it is full.
    pub slow_floors: Vec<(NaiveDate, u64)>,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

pub async fn write(link: &RedisLink, batch: &Batch) -> Result<FlushOutcome, LinkError> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for day in &batch.days {
        pipe.cmd("EVAL")
            .arg(FLUSH_SCRIPT)
            .arg(day.keys.len())
            .arg(&day.keys)
            .arg(&day.args);
    }
    let replies: Vec<redis::RedisResult<Value>> = link.query(&pipe).await?;
    let mut out = FlushOutcome::default();
    for (day, reply) in batch.days.iter().zip(replies) {
        let items = match reply {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                let why = format!("unexpected reply {other:?}");
                out.failed_days.push((day.day, day.records, why));
                continue;
            }
            Err(e) => {
                out.failed_days.push((day.day, day.records, e.to_string()));
                continue;
            }
        };
        match items.first().and_then(int) {
            Some(1) => out.applied += 1,
            _ => out.duplicates += 1,
        }
        if let Some(floor) = items.get(1).and_then(int).filter(|f| *f >= 0) {
            out.slow_floors.push((day.day, floor as u64));
        }
        if let Some(Value::Array(errors)) = items.get(2) {
            out.write_errors.extend(errors.iter().map(text));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::super::aggregate::Aggregate;
    use super::super::batch;
    use super::super::keys::DayKeys;
    use super::super::read::Reader;
    use super::super::record::Record;
    use super::*;
    use crate::redis::RedisManager;

    fn redis_url() -> String {
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    async fn run(pipe: &redis::Pipeline, link: &RedisLink) {
        let _: Value = link.query(pipe).await.expect("redis");
    }

    /// Against the real Redis (TEST_REDIS_URL): exactly once, and a refused write spares the rest.
    #[actix_rt::test]
    async fn a_resent_batch_counts_once_and_a_refused_write_spares_the_rest() {
        let manager = RedisManager::new(&redis_url()).expect("url");
        let pool = bb8::Pool::builder().max_size(2).build_unchecked(manager);
        let link = RedisLink::new(pool, Duration::from_secs(5));
        let prefix = format!("unioneyes:test:{}:", uuid::Uuid::new_v4().simple());
        let now = Utc::now();
        let mut agg = Aggregate::new(10, "inst");
        for i in 0..10 {
            agg.add(Record {
                route: if i < 6 { "/good" } else { "/bad" }.into(),
                method: "GET",
                status: 200,
                duration_us: 100 + i,
                tenant: "t".into(),
                request_id: format!("r{i}"),
                ended_at: now,
            });
        }
        let day = DayKeys::new(&prefix, now.date_naive());
        let mut damage = redis::pipe();
        damage
            .cmd("LPUSH")
            .arg(day.endpoint("GET /bad"))
            .arg("x")
            .cmd("EXPIRE")
            .arg(day.endpoint("GET /bad"))
            .arg(60);
        run(&damage, &link).await;

        let batch = batch::build(&prefix, "inst", 1, 1, agg.take());
        let first = write(&link, &batch).await.expect("write");
        assert_eq!((first.applied, first.duplicates), (1, 0));
        assert_eq!(first.write_errors.len(), 1, "{:?}", first.write_errors);
        assert!(first.write_errors[0].contains("WRONGTYPE"));
        let again = write(&link, &batch).await.expect("write");
        assert_eq!((again.applied, again.duplicates), (0, 1), "resent: skipped");

        let reader = Reader::new(link.clone(), &prefix);
        let summary = reader.summary(now.date_naive()).await.expect("read");
        assert_eq!((summary.figures.count, summary.endpoints), (10, 2));
        let rows = reader.endpoints(now.date_naive()).await.expect("read");
        let good = rows.iter().find(|r| r.route == "/good").expect("good");
        assert_eq!((good.figures.count, good.figures.min_ms), (6, Some(0.1)));

        let mut conn = link_conn(&redis_url()).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .expect("keys");
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .expect("del");
    }

    async fn link_conn(url: &str) -> redis::aio::MultiplexedConnection {
        redis::Client::open(url)
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }
}
