//! Queries of the admin API: one or two pipelines each, under the link's deadline. Percentiles
//! are computed from (summed) histogram buckets, never from stored percentiles. Durations are
//! milliseconds with the unit in the field name; a day with no data reads as zeros.

use std::collections::HashMap;

use bb8_redis::redis;
use chrono::{DateTime, NaiveDate, SecondsFormat};
use serde::Serialize;

use super::aggregate::SlowEntry;
use super::keys::{self, DayKeys};
use super::link::{parse, LinkError, RedisLink};
use super::stats::{decode_counts, Stats};

/// The figures of one endpoint, tenant or day. Durations in milliseconds; null when there
/// were no requests.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsFigures)]
pub struct Figures {
    pub count: u64,
    /// 4xx and 5xx answers.
    pub errors: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    /// errors / count (0 when there were no requests).
    pub error_rate: f64,
    #[schema(required = true)]
    pub avg_ms: Option<f64>,
    #[schema(required = true)]
    pub min_ms: Option<f64>,
    #[schema(required = true)]
    pub p50_ms: Option<f64>,
    #[schema(required = true)]
    pub p90_ms: Option<f64>,
    #[schema(required = true)]
    pub p95_ms: Option<f64>,
    #[schema(required = true)]
    pub p99_ms: Option<f64>,
    #[schema(required = true)]
    pub max_ms: Option<f64>,
}

fn ms(us: f64) -> f64 {
    (us / 1000.0 * 1000.0).round() / 1000.0
}

impl Figures {
    pub fn of(s: &Stats) -> Self {
        let p = |q: f64| s.histogram.percentile(q, s.min_us, s.max_us).map(ms);
        let avg = (s.count > 0).then(|| ms(s.total_us as f64 / s.count as f64));
        Figures {
            count: s.count,
            errors: s.errors(),
            client_errors: s.client_errors,
            server_errors: s.server_errors,
            error_rate: if s.count == 0 {
                0.0
            } else {
                (s.errors() as f64 / s.count as f64 * 10_000.0).round() / 10_000.0
            },
            avg_ms: avg,
            min_ms: s.min_us.map(|v| ms(v as f64)),
            p50_ms: p(50.0),
            p90_ms: p(90.0),
            p95_ms: p(95.0),
            p99_ms: p(99.0),
            max_ms: s.max_us.map(|v| ms(v as f64)),
        }
    }
}

/// A day's totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsSummary)]
pub struct Summary {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
    pub endpoints: u64,
    pub tenants: u64,
}

/// One endpoint's figures of a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsEndpoint)]
pub struct EndpointRow {
    pub method: String,
    pub route: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One tenant's figures of a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsTenant)]
pub struct TenantRow {
    pub tenant: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// How often a tenant called one endpoint that day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsEndpointCount)]
pub struct EndpointCount {
    pub method: String,
    pub route: String,
    pub count: u64,
}

/// One tenant's day: figures and count per endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsTenantDetail)]
pub struct TenantDetail {
    pub date: NaiveDate,
    pub tenant: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub endpoints: Vec<EndpointCount>,
}

/// One of the day's slowest requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsSlowRequest)]
pub struct SlowRow {
    pub duration_ms: f64,
    pub status: u16,
    pub method: String,
    pub route: String,
    pub tenant: String,
    pub ended_at: String,
    pub request_id: String,
}

/// One day of a history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsHistoryPoint)]
pub struct HistoryPoint {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

fn split_endpoint(name: &str) -> (String, String) {
    match name.split_once(' ') {
        Some((m, r)) => (m.to_string(), r.to_string()),
        None => (String::new(), name.to_string()),
    }
}

fn with_extremes(bytes: Option<Vec<u8>>, min: Option<f64>, max: Option<f64>) -> Stats {
    let mut s = Stats::decode(bytes.as_deref().unwrap_or(&[]));
    if s.count > 0 {
        s.min_us = min.map(|v| v as u64);
        s.max_us = max.map(|v| v as u64);
    }
    s
}

/// Reads analytics of one key prefix.
#[derive(Debug, Clone)]
pub struct Reader {
    link: RedisLink,
    prefix: String,
}

type Extremes = (Option<Vec<u8>>, Option<f64>, Option<f64>);

impl Reader {
    pub fn new(link: RedisLink, prefix: &str) -> Self {
        Self {
            link,
            prefix: prefix.to_string(),
        }
    }

    fn keys(&self, day: NaiveDate) -> DayKeys {
        DayKeys::new(&self.prefix, day)
    }

    /// Stats of several members of one day (`ep:…` or `tn:…`), in order.
    async fn members(
        &self,
        day: NaiveDate,
        names: &[String],
        key: impl Fn(&DayKeys, &str) -> String,
        member: impl Fn(&str) -> String,
    ) -> Result<Vec<Stats>, LinkError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.keys(day);
        let mut pipe = redis::pipe();
        // A damaged key (wrong type) reads as empty instead of failing the whole answer.
        pipe.ignore_errors();
        for n in names {
            pipe.cmd("GET").arg(key(&k, n));
        }
        let members: Vec<String> = names.iter().map(|n| member(n)).collect();
        pipe.cmd("ZMSCORE").arg(k.min()).arg(&members);
        pipe.cmd("ZMSCORE").arg(k.max()).arg(&members);
        let mut values: Vec<redis::RedisResult<redis::Value>> = self.link.query(&pipe).await?;
        let mut next = || match values.pop() {
            Some(Ok(v)) => v,
            _ => redis::Value::Nil,
        };
        let maxs: Vec<Option<f64>> = parse(next())?;
        let mins: Vec<Option<f64>> = parse(next())?;
        let mut out = Vec::with_capacity(names.len());
        for (i, v) in values.into_iter().enumerate() {
            let bytes: Option<Vec<u8>> = v.ok().and_then(|v| parse(v).ok()).flatten();
            let min = mins.get(i).copied().flatten();
            let max = maxs.get(i).copied().flatten();
            out.push(with_extremes(bytes, min, max));
        }
        Ok(out)
    }

    pub async fn summary(&self, day: NaiveDate) -> Result<Summary, LinkError> {
        let k = self.keys(day);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(k.summary());
        pipe.cmd("ZSCORE").arg(k.min()).arg(keys::SUMMARY_MEMBER);
        pipe.cmd("ZSCORE").arg(k.max()).arg(keys::SUMMARY_MEMBER);
        pipe.cmd("HLEN").arg(k.endpoints());
        pipe.cmd("SCARD").arg(k.tenants());
        let (bytes, min, max, endpoints, tenants): (
            Option<Vec<u8>>,
            Option<f64>,
            Option<f64>,
            u64,
            u64,
        ) = self.link.query(&pipe).await?;
        Ok(Summary {
            date: day,
            figures: Figures::of(&with_extremes(bytes, min, max)),
            endpoints,
            tenants,
        })
    }

    pub async fn endpoints(&self, day: NaiveDate) -> Result<Vec<EndpointRow>, LinkError> {
        let mut pipe = redis::pipe();
        pipe.cmd("HKEYS").arg(self.keys(day).endpoints());
        let (mut names,): (Vec<String>,) = self.link.query(&pipe).await?;
        names.sort();
        let stats = self
            .members(day, &names, |k, n| k.endpoint(n), keys::endpoint_member)
            .await?;
        Ok(names
            .iter()
            .zip(stats)
            .map(|(n, s)| {
                let (method, route) = split_endpoint(n);
                EndpointRow {
                    method,
                    route,
                    figures: Figures::of(&s),
                }
            })
            .collect())
    }

    pub async fn tenants(&self, day: NaiveDate) -> Result<Vec<TenantRow>, LinkError> {
        let mut pipe = redis::pipe();
        pipe.cmd("SMEMBERS").arg(self.keys(day).tenants());
        let (mut names,): (Vec<String>,) = self.link.query(&pipe).await?;
        names.sort();
        let stats = self
            .members(day, &names, |k, n| k.tenant(n), keys::tenant_member)
            .await?;
        Ok(names
            .into_iter()
            .zip(stats)
            .map(|(tenant, s)| TenantRow {
                tenant,
                figures: Figures::of(&s),
            })
            .collect())
    }

    pub async fn tenant(&self, day: NaiveDate, tenant: &str) -> Result<TenantDetail, LinkError> {
        let k = self.keys(day);
        let member = keys::tenant_member(tenant);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(k.tenant(tenant));
        pipe.cmd("ZSCORE").arg(k.min()).arg(&member);
        pipe.cmd("ZSCORE").arg(k.max()).arg(&member);
        pipe.cmd("GET").arg(k.tenant_endpoints(tenant));
        pipe.cmd("HGETALL").arg(k.endpoints());
        type Reply = (
            Option<Vec<u8>>,
            Option<f64>,
            Option<f64>,
            Option<Vec<u8>>,
            HashMap<String, u64>,
        );
        let (bytes, min, max, counts, registry): Reply = self.link.query(&pipe).await?;
        let counts = decode_counts(counts.as_deref().unwrap_or(&[]));
        let mut endpoints: Vec<EndpointCount> = registry
            .into_iter()
            .filter_map(|(name, id)| {
                let count = counts.get(id as usize).copied().unwrap_or(0);
                (count > 0).then(|| {
                    let (method, route) = split_endpoint(&name);
                    EndpointCount {
                        method,
                        route,
                        count,
                    }
                })
            })
            .collect();
        endpoints.sort_by(|a, b| b.count.cmp(&a.count).then(a.route.cmp(&b.route)));
        Ok(TenantDetail {
            date: day,
            tenant: tenant.to_string(),
            figures: Figures::of(&with_extremes(bytes, min, max)),
            endpoints,
        })
    }

    pub async fn slow(&self, day: NaiveDate, limit: usize) -> Result<Vec<SlowRow>, LinkError> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE")
            .arg(self.keys(day).slow())
            .arg(0)
            .arg(limit.max(1) as i64 - 1)
            .arg("REV");
        let (members,): (Vec<String>,) = self.link.query(&pipe).await?;
        Ok(members
            .iter()
            .filter_map(|m| serde_json::from_str::<SlowEntry>(m).ok())
            .map(|e| SlowRow {
                duration_ms: ms(e.duration_us as f64),
                status: e.status,
                method: e.method,
                route: e.route,
                tenant: e.tenant,
                ended_at: DateTime::from_timestamp_millis(e.ended_at_ms)
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                    .unwrap_or_default(),
                request_id: e.request_id,
            })
            .collect())
    }

    /// One point per day from `from` to `to` (inclusive): the day's totals, or one endpoint's.
    pub async fn history(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        endpoint: Option<&str>,
    ) -> Result<Vec<HistoryPoint>, LinkError> {
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let mut pipe = redis::pipe();
        for day in &days {
            let k = self.keys(*day);
            let (key, member) = match endpoint {
                Some(e) => (k.endpoint(e), keys::endpoint_member(e)),
                None => (k.summary(), keys::SUMMARY_MEMBER.to_string()),
            };
            pipe.cmd("GET").arg(key);
            pipe.cmd("ZSCORE").arg(k.min()).arg(&member);
            pipe.cmd("ZSCORE").arg(k.max()).arg(&member);
        }
        let values: Vec<redis::Value> = self.link.query(&pipe).await?;
        let mut points = Vec::with_capacity(days.len());
        for (day, chunk) in days.iter().zip(values.chunks(3)) {
            let parsed: Extremes = (
                parse(chunk[0].clone())?,
                parse(chunk[1].clone())?,
                parse(chunk[2].clone())?,
            );
            points.push(HistoryPoint {
                date: *day,
                figures: Figures::of(&with_extremes(parsed.0, parsed.1, parsed.2)),
            });
        }
        Ok(points)
    }
}
