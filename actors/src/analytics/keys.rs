//! Redis key names and expiry. Every key is `{prefix}analytics:v1:{YYYY-MM-DD}:…`: the
//! configured prefix, the schema version, and the UTC day as a Redis Cluster hash tag so one
//! day's keys share a slot (one flush script per day touches only that day's keys).
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `sum` | string (BITFIELD) | the day's totals and histogram |
//! | `ep:{METHOD route}` | string (BITFIELD) | one endpoint's figures |
//! | `tn:{tenant}` | string (BITFIELD) | one tenant's figures |
//! | `tne:{tenant}` | string (BITFIELD) | one tenant's count per endpoint number |
//! | `endpoints` | hash | endpoint name → number: the endpoints seen that day |
//! | `tenants` | set | the tenants seen that day |
//! | `min`, `max` | sorted set | `sum`, `ep:…`, `tn:…` → minimum / maximum duration (µs) |
//! | `slow` | sorted set | the day's slowest requests (duration µs → JSON) |
//! | `flushes` | hash | per writer instance, the last applied flush number (exactly once) |

use chrono::{Duration, NaiveDate, NaiveTime, Utc};

pub const SCHEMA: &str = "v1";

/// Members of the `min`/`max` sorted sets.
pub const SUMMARY_MEMBER: &str = "sum";

pub fn endpoint_member(endpoint: &str) -> String {
    format!("ep:{endpoint}")
}

pub fn tenant_member(tenant: &str) -> String {
    format!("tn:{tenant}")
}

/// The key names of one day.
#[derive(Debug, Clone)]
pub struct DayKeys {
    base: String,
}

impl DayKeys {
    pub fn new(prefix: &str, day: NaiveDate) -> Self {
        Self {
            base: format!("{prefix}analytics:{SCHEMA}:{{{}}}:", day.format("%Y-%m-%d")),
        }
    }

    fn key(&self, rest: &str) -> String {
        let mut k = String::with_capacity(self.base.len() + rest.len());
        k.push_str(&self.base);
        k.push_str(rest);
        k
    }

    pub fn summary(&self) -> String {
        self.key(SUMMARY_MEMBER)
    }
    pub fn endpoint(&self, endpoint: &str) -> String {
        self.key(&endpoint_member(endpoint))
    }
    pub fn tenant(&self, tenant: &str) -> String {
        self.key(&tenant_member(tenant))
    }
    pub fn tenant_endpoints(&self, tenant: &str) -> String {
        self.key(&format!("tne:{tenant}"))
    }
    pub fn endpoints(&self) -> String {
        self.key("endpoints")
    }
    pub fn tenants(&self) -> String {
        self.key("tenants")
    }
    pub fn min(&self) -> String {
        self.key("min")
    }
    pub fn max(&self) -> String {
        self.key("max")
    }
    pub fn slow(&self) -> String {
        self.key("slow")
    }
    pub fn flushes(&self) -> String {
        self.key("flushes")
    }
}

/// The absolute expiry of a day's keys (unix seconds): the end of that UTC day plus the
/// retention.
pub fn expire_at(day: NaiveDate, retention_days: u32) -> i64 {
    let end = day + Duration::days(1 + i64::from(retention_days));
    end.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// Whether a day's figures are still kept at `now` (its keys have not expired).
pub fn within_retention(day: NaiveDate, retention_days: u32, now: chrono::DateTime<Utc>) -> bool {
    expire_at(day, retention_days) > now.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_prefix_version_and_one_tag_per_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let k = DayKeys::new("unioneyes:", day);
        assert_eq!(
            k.endpoint("GET /api/members/{id}"),
            "unioneyes:analytics:v1:{2026-12-03}:ep:GET /api/members/{id}"
        );
        for key in [k.summary(), k.tenants(), k.slow(), k.tenant_endpoints("t")] {
            assert!(key.starts_with("unioneyes:analytics:v1:{2026-12-03}:"));
            // The first {...} is the day: every key of the day hashes to one cluster slot.
            let tag = &key[key.find('{').unwrap() + 1..key.find('}').unwrap()];
            assert_eq!(tag, "2026-12-03");
        }
    }

    #[test]
    fn expiry_is_end_of_day_plus_retention() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        // 2026-12-04T00:00Z + 30 days = 2027-01-03T00:00Z
        assert_eq!(expire_at(day, 30), 1_798_934_400);
        let just_before = chrono::DateTime::from_timestamp(1_798_934_399, 0).unwrap();
        assert!(within_retention(day, 30, just_before));
        assert!(!within_retention(
            day,
            30,
            just_before + Duration::seconds(1)
        ));
    }
}
