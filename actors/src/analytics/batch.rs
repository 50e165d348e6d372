//! Turns aggregated days into flush batches: per day, the key list and the operations the
//! flush script (`flush.lua`) applies. Plain functions; no I/O.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::aggregate::{DayAgg, SLOW_KEEP};
use super::keys::{self, DayKeys};

/// Members per ZADD/SADD command (keeps every command well under Lua's argument limits).
const CHUNK: usize = 500;

/// One day's script invocation.
#[derive(Debug, Clone)]
pub struct DayBatch {
    pub day: NaiveDate,
    pub records: u64,
    pub keys: Vec<String>,
    pub args: Vec<String>,
}

/// Everything one flush writes; resent unchanged (same number) until it is known to be applied.
#[derive(Debug, Clone)]
pub struct Batch {
    pub records: u64,
    pub days: Vec<DayBatch>,
}

/// Keys of one invocation, numbered from 1 in first-use order (Lua's KEYS).
struct KeyTable {
    keys: Vec<String>,
    index: HashMap<String, usize>,
}

impl KeyTable {
    fn new(first: String) -> Self {
        let mut t = Self {
            keys: Vec::new(),
            index: HashMap::new(),
        };
        t.id(first);
        t
    }

    fn id(&mut self, key: String) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.keys.push(key.clone());
        let i = self.keys.len();
        self.index.insert(key, i);
        i
    }
}

fn command(args: &mut Vec<String>, key: usize, cmd: &str, rest: Vec<String>) {
    args.extend([
        "C".to_string(),
        key.to_string(),
        rest.len().to_string(),
        cmd.to_string(),
    ]);
    args.extend(rest);
}

/// The script arguments of one day.
pub fn day_batch(
    prefix: &str,
    instance: &str,
    seq: u64,
    retention_days: u32,
    day: NaiveDate,
    agg: DayAgg,
) -> DayBatch {
    let k = DayKeys::new(prefix, day);
    let mut t = KeyTable::new(k.flushes());
    let mut args = vec![
        instance.to_string(),
        seq.to_string(),
        keys::expire_at(day, retention_days).to_string(),
    ];
    let mut mins: Vec<(u64, String)> = Vec::new();
    let mut maxs: Vec<(u64, String)> = Vec::new();
    let mut extremes = |member: String, s: &super::stats::Stats| {
        if let (Some(lo), Some(hi)) = (s.min_us, s.max_us) {
            mins.push((lo, member.clone()));
            maxs.push((hi, member));
        }
    };

    let id = t.id(k.summary());
    command(&mut args, id, "BITFIELD", agg.summary.bitfield_args());
    extremes(keys::SUMMARY_MEMBER.to_string(), &agg.summary);

    let mut endpoints: Vec<_> = agg.endpoints.into_iter().collect();
    endpoints.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, stats) in &endpoints {
        let id = t.id(k.endpoint(name));
        command(&mut args, id, "BITFIELD", stats.bitfield_args());
        extremes(keys::endpoint_member(name), stats);
    }

    let registry = t.id(k.endpoints());
    let mut tenants: Vec<_> = agg.tenants.into_iter().collect();
    tenants.sort_by(|a, b| a.0.cmp(&b.0));
    for (tenant, tagg) in &tenants {
        let id = t.id(k.tenant(tenant));
        command(&mut args, id, "BITFIELD", tagg.stats.bitfield_args());
        extremes(keys::tenant_member(tenant), &tagg.stats);
        let id = t.id(k.tenant_endpoints(tenant));
        let mut counts: Vec<_> = tagg.endpoints.iter().collect();
        counts.sort();
        args.extend([
            "E".to_string(),
            id.to_string(),
            registry.to_string(),
            counts.len().to_string(),
        ]);
        for (name, n) in counts {
            args.extend([name.clone(), n.to_string()]);
        }
    }
    // Endpoints no tenant counted (only requests cut by their client reached them) still need
    // their number in the registry, which is how readers list a day's endpoints.
    let counted: HashSet<&String> = tenants
        .iter()
        .flat_map(|(_, a)| a.endpoints.keys())
        .collect();
    let uncounted: Vec<String> = endpoints
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !counted.contains(name))
        .cloned()
        .collect();
    for chunk in uncounted.chunks(CHUNK) {
        args.extend([
            "R".to_string(),
            registry.to_string(),
            chunk.len().to_string(),
        ]);
        args.extend(chunk.iter().cloned());
    }
    for chunk in tenants.chunks(CHUNK) {
        let id = t.id(k.tenants());
        command(
            &mut args,
            id,
            "SADD",
            chunk.iter().map(|(t, _)| t.clone()).collect(),
        );
    }
    for (key, flag, list) in [(k.min(), "LT", mins), (k.max(), "GT", maxs)] {
        let id = t.id(key);
        for chunk in list.chunks(CHUNK) {
            let mut rest = vec![flag.to_string()];
            for (score, member) in chunk {
                rest.extend([score.to_string(), member.clone()]);
            }
            command(&mut args, id, "ZADD", rest);
        }
    }
    let slow = agg.slow.into_entries();
    if !slow.is_empty() {
        let id = t.id(k.slow());
        for chunk in slow.chunks(CHUNK) {
            let mut rest = Vec::with_capacity(chunk.len() * 2);
            for e in chunk {
                let member = serde_json::to_string(e).unwrap_or_default();
                rest.extend([e.duration_us.to_string(), member]);
            }
            command(&mut args, id, "ZADD", rest);
        }
        args.extend(["T".to_string(), id.to_string(), SLOW_KEEP.to_string()]);
    }
    DayBatch {
        day,
        records: agg.records,
        keys: t.keys,
        args,
    }
}

pub fn build(
    prefix: &str,
    instance: &str,
    seq: u64,
    retention_days: u32,
    days: BTreeMap<NaiveDate, DayAgg>,
) -> Batch {
    let days: Vec<DayBatch> = days
        .into_iter()
        .map(|(day, agg)| day_batch(prefix, instance, seq, retention_days, day, agg))
        .collect();
    Batch {
        records: days.iter().map(|d| d.records).sum(),
        days,
    }
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::Aggregate;
    use super::super::record::Record;
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn every_key_is_the_days_and_every_command_names_one() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        let mut a = Aggregate::new(100, "inst");
        for i in 0..20 {
            a.add(Record {
                route: format!("/r/{}", i % 3),
                method: "GET",
                status: if i % 5 == 0 { 500 } else { 200 },
                duration_us: 100 + i,
                tenant: format!("t{}", i % 4).into(),
                request_id: format!("q{i}"),
                ended_at: at,
            });
        }
        let batch = build("p:", "inst", 7, 30, a.take());
        assert_eq!((batch.records, batch.days.len()), (20, 1));
        let d = &batch.days[0];
        assert!(d.keys[0].ends_with(":flushes"));
        assert!(d
            .keys
            .iter()
            .all(|k| k.starts_with("p:analytics:v1:{2026-12-03}:")));
        // summary + 3 endpoints + registry + 4 tenants + 4 tenant-endpoint + tenants + min + max + slow + flushes
        assert_eq!(d.keys.len(), 1 + 1 + 3 + 1 + 4 + 4 + 1 + 2 + 1);
        assert_eq!(
            &d.args[..3],
            [
                "inst",
                "7",
                &keys::expire_at(at.date_naive(), 30).to_string()
            ]
        );
    }
}
