//! In-memory aggregation between flushes. Its size is bounded by the number of distinct
//! endpoints, tenants (capped per day, the rest counted under `_overflow`), histogram buckets
//! and the slowest-requests list, never by the number of requests.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::record::{Record, ANONYMOUS, OVERFLOW_TENANT, PLATFORM_ADMIN};
use super::stats::Stats;

/// How many slowest requests are kept per day.
pub const SLOW_KEEP: usize = 1000;

/// One of the day's slowest requests, stored as the member of the `slow` sorted set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowEntry {
    #[serde(rename = "d")]
    pub duration_us: u64,
    #[serde(rename = "s")]
    pub status: u16,
    #[serde(rename = "m")]
    pub method: String,
    #[serde(rename = "e")]
    pub route: String,
    #[serde(rename = "t")]
    pub tenant: String,
    /// Unix milliseconds at which the request ended.
    #[serde(rename = "at")]
    pub ended_at_ms: i64,
    #[serde(rename = "r")]
    pub request_id: String,
    /// Writer instance and sequence: two requests never share a member.
    #[serde(rename = "u")]
    pub unique: String,
}

/// The `keep` slowest entries seen (a min-heap on duration).
#[derive(Debug, Default)]
pub struct SlowTop {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    entries: HashMap<u64, SlowEntry>,
}

impl SlowTop {
    /// Whether a request of `duration_us` would enter the list (checked before building it).
    fn admits(&self, duration_us: u64, keep: usize) -> bool {
        self.heap.len() < keep
            || matches!(self.heap.peek(), Some(Reverse((min, _))) if duration_us > *min)
    }

    fn offer(&mut self, id: u64, entry: SlowEntry, keep: usize) {
        if !self.admits(entry.duration_us, keep) {
            return;
        }
        if self.heap.len() >= keep {
            if let Some(Reverse((_, gone))) = self.heap.pop() {
                self.entries.remove(&gone);
            }
        }
        self.heap.push(Reverse((entry.duration_us, id)));
        self.entries.insert(id, entry);
    }

    pub fn into_entries(self) -> Vec<SlowEntry> {
        self.entries.into_values().collect()
    }

    #[cfg(test)]
    pub fn clone_entries(&self) -> Vec<SlowEntry> {
        self.entries.values().cloned().collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct TenantAgg {
    pub stats: Stats,
    /// Endpoint name -> requests.
    pub endpoints: HashMap<String, u64>,
}

/// Everything aggregated for one UTC day since the last flush.
#[derive(Debug, Default)]
pub struct DayAgg {
    pub records: u64,
    pub summary: Stats,
    pub endpoints: HashMap<String, Stats>,
    pub tenants: HashMap<String, TenantAgg>,
    pub slow: SlowTop,
}

impl DayAgg {
    fn record_endpoint(&mut self, endpoint: &str, status: u16, duration_us: u64) {
        if let Some(s) = self.endpoints.get_mut(endpoint) {
            s.record(status, duration_us);
        } else {
            let mut s = Stats::default();
            s.record(status, duration_us);
            self.endpoints.insert(endpoint.to_string(), s);
        }
    }
}

#[derive(Debug)]
pub struct Aggregate {
    days: BTreeMap<NaiveDate, DayAgg>,
    /// Tenants counted under their own name per day (kept across flushes for the cap).
    admitted: BTreeMap<NaiveDate, HashSet<String>>,
    /// Per day, the shortest duration still in the stored top list once it is full.
    slow_floor: BTreeMap<NaiveDate, u64>,
    max_tenants: usize,
    instance: String,
    next_id: u64,
    records: u64,
}

impl Aggregate {
    pub fn new(max_tenants: usize, instance: &str) -> Self {
        Self {
            days: BTreeMap::new(),
            admitted: BTreeMap::new(),
            slow_floor: BTreeMap::new(),
            max_tenants,
            instance: instance.chars().take(8).collect(),
            next_id: 0,
            records: 0,
        }
    }

    /// Records aggregated since the last `take`.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn admit(&mut self, day: NaiveDate, tenant: Cow<'static, str>) -> Cow<'static, str> {
        if tenant == ANONYMOUS || tenant == PLATFORM_ADMIN {
            return tenant;
        }
        let set = self.admitted.entry(day).or_default();
        if set.contains(tenant.as_ref()) {
            return tenant;
        }
        if set.len() >= self.max_tenants {
            return Cow::Borrowed(OVERFLOW_TENANT);
        }
        set.insert(tenant.to_string());
        tenant
    }

    pub fn add(&mut self, r: Record) {
        let day = r.ended_at.date_naive();
        let endpoint = super::record::endpoint_name(r.method, &r.route);
        self.records += 1;
        if r.client_cut() {
            // Its own endpoint only (Record::client_cut).
            let agg = self.days.entry(day).or_default();
            agg.records += 1;
            agg.record_endpoint(&endpoint, r.status, r.duration_us);
            return;
        }
        let tenant = self.admit(day, r.tenant);
        let floor = self.slow_floor.get(&day).copied();
        self.next_id += 1;
        let id = self.next_id;
        let agg = self.days.entry(day).or_default();
        agg.records += 1;
        agg.summary.record(r.status, r.duration_us);
        agg.record_endpoint(&endpoint, r.status, r.duration_us);
        let t = match agg.tenants.get_mut(tenant.as_ref()) {
            Some(t) => t,
            None => agg.tenants.entry(tenant.to_string()).or_default(),
        };
        t.stats.record(r.status, r.duration_us);
        match t.endpoints.get_mut(&endpoint) {
            Some(n) => *n += 1,
            None => {
                t.endpoints.insert(endpoint, 1);
            }
        }
        if floor.is_none_or(|f| r.duration_us > f) && agg.slow.admits(r.duration_us, SLOW_KEEP) {
            let entry = SlowEntry {
                duration_us: r.duration_us,
                status: r.status,
                method: r.method.to_string(),
                route: r.route,
                tenant: tenant.into_owned(),
                ended_at_ms: r.ended_at.timestamp_millis(),
                request_id: r.request_id,
                unique: format!("{}-{id}", self.instance),
            };
            agg.slow.offer(id, entry, SLOW_KEEP);
        }
    }

    /// Hands over everything aggregated so far; the tenant admissions of the two newest days
    /// stay (the cap is per day, not per flush).
    pub fn take(&mut self) -> BTreeMap<NaiveDate, DayAgg> {
        self.records = 0;
        let days = std::mem::take(&mut self.days);
        if let Some(newest) = self.admitted.keys().next_back().copied() {
            let keep_from = newest.pred_opt().unwrap_or(newest);
            self.admitted.retain(|d, _| *d >= keep_from);
            self.slow_floor.retain(|d, _| *d >= keep_from);
        }
        days
    }

    /// Drops the days for which `keep` is false; returns how many records they held.
    pub fn discard_days(&mut self, keep: impl Fn(NaiveDate) -> bool) -> u64 {
        let mut lost = 0;
        self.days.retain(|d, agg| {
            let k = keep(*d);
            if !k {
                lost += agg.records;
            }
            k
        });
        self.records -= lost;
        lost
    }

    pub fn set_slow_floor(&mut self, day: NaiveDate, floor: u64) {
        self.slow_floor.insert(day, floor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn rec(tenant: &str, route: &str, us: u64, at: chrono::DateTime<Utc>) -> Record {
        Record {
            route: route.into(),
            method: "GET",
            status: 200,
            duration_us: us,
            tenant: tenant.to_string().into(),
            request_id: format!("req-{us}"),
            ended_at: at,
        }
    }

    #[test]
    fn tenants_beyond_the_cap_go_to_overflow_and_memory_stays_flat() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let mut a = Aggregate::new(3, "inst");
        for i in 0..5_000 {
            a.add(rec(&format!("t{i}"), &format!("/r{}", i % 4), 100, at));
        }
        a.add(rec(ANONYMOUS, "/r0", 100, at));
        let days = a.take();
        let day = &days[&at.date_naive()];
        assert_eq!(day.records, 5_001);
        assert_eq!(day.tenants.len(), 5, "3 admitted + overflow + anonymous");
        assert_eq!(day.tenants[OVERFLOW_TENANT].stats.count, 4_997);
        assert_eq!(day.endpoints.len(), 4);
        assert_eq!(day.slow.len(), SLOW_KEEP);
        // The cap holds across flushes of the same day.
        a.add(rec("t-new", "/r0", 1, at));
        let days = a.take();
        assert!(days[&at.date_naive()].tenants.contains_key(OVERFLOW_TENANT));
    }

    #[test]
    fn requests_the_client_cut_count_under_their_own_endpoint_only() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let mut a = Aggregate::new(10, "inst");
        a.add(rec("t", "/x", 2_000, at));
        for status in [408, 499, 408] {
            let mut r = rec(ANONYMOUS, "TIMEOUT", 30_000_000, at);
            r.method = "POST";
            r.status = status;
            a.add(r);
        }
        assert_eq!(a.records(), 4);
        let days = a.take();
        let day = &days[&at.date_naive()];
        assert_eq!(day.records, 4);
        let cut = &day.endpoints["POST TIMEOUT"];
        assert_eq!((cut.count, cut.client_errors), (3, 3));
        assert_eq!(cut.max_us, Some(30_000_000));
        // The day's figures, the tenants and the slowest requests are the served request's.
        assert_eq!(day.summary.count, 1);
        assert_eq!(day.summary.max_us, Some(2_000));
        assert_eq!(day.tenants.len(), 1);
        assert!(!day.tenants.contains_key(ANONYMOUS));
        assert_eq!(day.slow.len(), 1);
        let slow = day.slow.clone_entries();
        assert_eq!(slow[0].duration_us, 2_000);
    }

    #[test]
    fn records_land_on_the_utc_day_they_ended_and_equal_durations_all_count() {
        let before = Utc.with_ymd_and_hms(2026, 12, 3, 23, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        let mut a = Aggregate::new(10, "inst");
        for _ in 0..3 {
            a.add(rec("t", "/x", 777, before));
        }
        a.add(rec("t", "/x", 777, after));
        let days = a.take();
        assert_eq!(days.len(), 2);
        let d1 = &days[&before.date_naive()];
        assert_eq!(d1.summary.count, 3);
        assert_eq!(d1.slow.len(), 3, "equal durations are distinct entries");
        assert_eq!(days[&after.date_naive()].summary.count, 1);
    }

    #[test]
    fn the_slow_floor_skips_requests_that_cannot_enter_the_top_list() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 1, 0, 0).unwrap();
        let mut a = Aggregate::new(10, "inst");
        a.set_slow_floor(at.date_naive(), 500);
        a.add(rec("t", "/x", 400, at));
        a.add(rec("t", "/x", 900, at));
        let days = a.take();
        let entries = days.into_values().next().unwrap().slow.into_entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].duration_us, 900);
    }
}
