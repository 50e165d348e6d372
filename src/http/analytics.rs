//! The admin analytics API (`/api/admin/analytics/…`, docs/analytics.md): platform admins read
//! every tenant; an org admin reads their own tenant only (`tenants/{id}`). Handlers parse and
//! authorize; the queries live in `unioneyes_actors::analytics::read`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use unioneyes_actors::analytics::keys::within_retention;
use unioneyes_actors::analytics::read::{self, Figures, Reader};
use unioneyes_actors::analytics::{LinkError, SLOW_KEEP};
use uuid::Uuid;

use super::get_or_head;
use super::openapi::{problems, schemas};
use crate::auth::{identity_of, unauthorized, AuthFailure, Authn, OrgRole};
use crate::error::{AppError, FieldProblem};
use crate::state::AppState;

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(summary, endpoints, slow, tenants, tenant, history))]
pub(super) struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head("/admin/analytics/summary", summary))
        .service(get_or_head("/admin/analytics/endpoints", endpoints))
        .service(get_or_head("/admin/analytics/slow", slow))
        .service(get_or_head("/admin/analytics/tenants", tenants))
        .service(get_or_head("/admin/analytics/tenants/{id}", tenant))
        .service(get_or_head("/admin/analytics/history", history));
}

/// Who may read what.
enum Access {
    All,
    Tenant(Uuid),
}

async fn access(req: &HttpRequest, state: &AppState) -> Result<Access, AppError> {
    match identity_of(req).authn {
        Authn::Anonymous => Err(unauthorized(AuthFailure::Missing)),
        Authn::Refused(f) => Err(unauthorized(f)),
        Authn::PlatformAdmin => Ok(Access::All),
        Authn::Session(s) => {
            if s.role != OrgRole::Admin {
                return Err(AppError::Forbidden(
                    "Analytics need the organization admin role.".into(),
                ));
            }
            let org = s.org_external_id.ok_or_else(|| {
                AppError::Forbidden("The session has no active organization.".into())
            })?;
            Ok(Access::Tenant(
                state.tenants.resolve(&state.db, &org).await?,
            ))
        }
    }
}

async fn platform_admin(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    match access(req, state).await? {
        Access::All => Ok(()),
        Access::Tenant(_) => Err(AppError::Forbidden(
            "Only platform admins read analytics across tenants; org admins read /api/admin/analytics/tenants/{their organization id}.".into(),
        )),
    }
}

fn reader(state: &AppState) -> Result<&Reader, AppError> {
    state
        .analytics
        .as_ref()
        .map(|a| &a.reader)
        .ok_or(AppError::Unavailable {
            code: "analytics_disabled",
            retry_after_secs: 60,
        })
}

fn unavailable(e: LinkError) -> AppError {
    log::warn!("analytics read failed: {}", e.class());
    AppError::Unavailable {
        code: "analytics_unavailable",
        retry_after_secs: 5,
    }
}

fn invalid(field: &str, code: &'static str, message: &str) -> AppError {
    AppError::validation(vec![FieldProblem::new(field, code, message)])
}

/// A `YYYY-MM-DD` date; `today` when absent.
/// The earliest day a query may name: a window reaching back from it stays within four-digit
/// years (`to=0000-01-03` once gave a `from` of `-0001-12-28`).
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

fn date(field: &str, value: Option<&str>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    let Some(v) = value else { return Ok(today) };
    let shaped = v.len() == 10
        && v.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
        .flatten()
        .filter(|d| *d >= EARLIEST)
        .ok_or_else(|| {
            invalid(
                field,
                "format",
                "must be a date YYYY-MM-DD (UTC), 1970-01-01 or later",
            )
        })
}

fn limit(value: Option<u32>, default: u32, max: u32) -> Result<usize, AppError> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n as usize),
        _ => Err(invalid(
            "limit",
            "range",
            &format!("must be between 1 and {max}"),
        )),
    }
}

/// The order of `items`: most requests, most errors, or slowest p95 first.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Sort {
    #[default]
    Count,
    Errors,
    P95,
}

impl Sort {
    fn as_str(self) -> &'static str {
        match self {
            Sort::Count => "count",
            Sort::Errors => "errors",
            Sort::P95 => "p95",
        }
    }

    fn order(self, a: &Figures, b: &Figures) -> std::cmp::Ordering {
        match self {
            Sort::Count => b.count.cmp(&a.count),
            Sort::Errors => b.errors.cmp(&a.errors).then(b.count.cmp(&a.count)),
            Sort::P95 => b.p95_ms.unwrap_or(0.0).total_cmp(&a.p95_ms.unwrap_or(0.0)),
        }
    }
}

/// Unknown parameters are refused.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DayQuery {
    /// The UTC day, `YYYY-MM-DD`; default today. A day outside retention answers empty figures.
    #[param(format = Date, nullable = false)]
    date: Option<String>,
    /// Lists only (`endpoints`, `tenants`); default `count`.
    #[param(inline, nullable = false)]
    sort: Option<Sort>,
    /// Lists only: `endpoints` and `slow` 1 to 1000, `tenants` 1 to 10000; default 100.
    #[param(minimum = 1, maximum = 10000, default = 100, nullable = false)]
    limit: Option<u32>,
}

/// The day asked for, and whether it is still kept (outside retention: empty figures).
fn day(state: &AppState, q: &DayQuery, now: DateTime<Utc>) -> Result<(NaiveDate, bool), AppError> {
    let day = date("date", q.date.as_deref(), now.date_naive())?;
    Ok((
        day,
        within_retention(day, state.settings.analytics_retention_days, now),
    ))
}

/// A day's totals
///
/// Platform admins.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/summary",
    operation_id = "analyticsSummary",
    tag = "admin-analytics",
    params(DayQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The figures.", body = read::Summary),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn summary(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    platform_admin(&req, &state).await?;
    let reader = reader(&state)?;
    let (day, kept) = day(&state, &q, now)?;
    let body = if kept {
        serde_json::to_value(reader.summary(day).await.map_err(unavailable)?)
    } else {
        serde_json::to_value(unioneyes_actors::analytics::read::Summary {
            date: day,
            figures: Figures::default(),
            endpoints: 0,
            tenants: 0,
        })
    };
    Ok(HttpResponse::Ok().json(body.map_err(AppError::internal)?))
}

/// Figures per endpoint
///
/// Platform admins. Endpoints are `METHOD route template`; requests no route matched are
/// `UNMATCHED`.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/endpoints",
    operation_id = "analyticsEndpoints",
    tag = "admin-analytics",
    params(DayQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The figures.", body = schemas::AnalyticsEndpoints),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn endpoints(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    platform_admin(&req, &state).await?;
    let reader = reader(&state)?;
    let (day, kept) = day(&state, &q, now)?;
    let limit = limit(q.limit, 100, 1000)?;
    let sort = q.sort.unwrap_or_default();
    let mut items = if kept {
        reader.endpoints(day).await.map_err(unavailable)?
    } else {
        Vec::new()
    };
    items.sort_by(|a, b| sort.order(&a.figures, &b.figures));
    items.truncate(limit);
    Ok(HttpResponse::Ok().json(json!({ "date": day, "sort": sort.as_str(), "items": items })))
}

/// The day's slowest requests
///
/// Platform admins. Slowest first; the day keeps 1,000.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/slow",
    operation_id = "analyticsSlow",
    tag = "admin-analytics",
    params(DayQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The figures.", body = schemas::AnalyticsSlow),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn slow(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    platform_admin(&req, &state).await?;
    let reader = reader(&state)?;
    let (day, kept) = day(&state, &q, now)?;
    let limit = limit(q.limit, 100, SLOW_KEEP as u32)?;
    let items = if kept {
        reader.slow(day, limit).await.map_err(unavailable)?
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(json!({ "date": day, "items": items })))
}

/// Figures per tenant
///
/// Platform admins. Tenants are organization ids, `anonymous`, `platform-admin` and `_overflow`.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/tenants",
    operation_id = "analyticsTenants",
    tag = "admin-analytics",
    params(DayQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The figures.", body = schemas::AnalyticsTenants),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn tenants(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    platform_admin(&req, &state).await?;
    let reader = reader(&state)?;
    let (day, kept) = day(&state, &q, now)?;
    let limit = limit(q.limit, 100, 10_000)?;
    let sort = q.sort.unwrap_or_default();
    let mut items = if kept {
        reader.tenants(day).await.map_err(unavailable)?
    } else {
        Vec::new()
    };
    items.sort_by(|a, b| sort.order(&a.figures, &b.figures));
    items.truncate(limit);
    Ok(HttpResponse::Ok().json(json!({ "date": day, "sort": sort.as_str(), "items": items })))
}

/// One tenant's day
///
/// Platform admins; an org admin for their own organization id.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/tenants/{id}",
    operation_id = "analyticsTenant",
    tag = "admin-analytics",
    params(
        ("id" = String, Path,
            description = "An organization id, `anonymous`, `platform-admin` or `_overflow`."),
        DayQuery,
    ),
    security(("adminToken" = []), ("sessionBearer" = []), ("sessionCookie" = [])),
    responses(
        (status = 200, description = "The figures.", body = read::TenantDetail),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn tenant(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<DayQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    let id = id.into_inner();
    if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid_path_parameter",
            "The tenant id must be 1 to 100 printable characters.",
        ));
    }
    if let Access::Tenant(own) = access(&req, &state).await? {
        if own.to_string() != id {
            return Err(AppError::Forbidden(
                "Org admins read their own organization's analytics only.".into(),
            ));
        }
    }
    let reader = reader(&state)?;
    let (day, kept) = day(&state, &q, now)?;
    let detail = if kept {
        reader.tenant(day, &id).await.map_err(unavailable)?
    } else {
        unioneyes_actors::analytics::read::TenantDetail {
            date: day,
            tenant: id,
            figures: Figures::default(),
            endpoints: Vec::new(),
        }
    };
    Ok(HttpResponse::Ok().json(detail))
}

/// Unknown parameters are refused; the range may span at most `ANALYTICS_RETENTION_DAYS`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// First UTC day, `YYYY-MM-DD`; default `to` − 6 days.
    #[param(format = Date, nullable = false)]
    from: Option<String>,
    /// Last UTC day, `YYYY-MM-DD`; default today.
    #[param(format = Date, nullable = false)]
    to: Option<String>,
    /// `METHOD route template`, e.g. `GET /api/members/{id}`; default the day's totals.
    #[param(max_length = 300, nullable = false)]
    endpoint: Option<String>,
}

/// Figures per day over a range
///
/// Platform admins. One point per day, for one endpoint or the totals.
#[utoipa::path(
    method(get, head),
    path = "/api/admin/analytics/history",
    operation_id = "analyticsHistory",
    tag = "admin-analytics",
    params(HistoryQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, description = "The figures.", body = schemas::AnalyticsHistory),
        (status = 400, response = problems::BadRequest),
        (status = 403, response = problems::Forbidden),
        problems::Common,
    )
)]
async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    platform_admin(&req, &state).await?;
    let reader = reader(&state)?;
    let retention = state.settings.analytics_retention_days;
    let to = date("to", q.to.as_deref(), now.date_naive())?;
    let default_from = (to - Duration::days(6)).max(EARLIEST);
    let from = date("from", q.from.as_deref(), default_from)?;
    if from > to {
        return Err(invalid("from", "range", "must not be after to"));
    }
    if (to - from).num_days() > i64::from(retention) {
        let msg = format!("the range may span at most {retention} days (ANALYTICS_RETENTION_DAYS)");
        return Err(invalid("from", "range", &msg));
    }
    let endpoint = q.endpoint.as_deref();
    if let Some(e) = endpoint {
        if e.len() > 300 || !e.contains(' ') || e.chars().any(char::is_control) {
            return Err(invalid(
                "endpoint",
                "format",
                "must be METHOD and route template, e.g. GET /api/members/{id}",
            ));
        }
    }
    // Only days still kept are read; the others are empty points.
    let first_kept = from
        .iter_days()
        .take_while(|d| *d <= to)
        .find(|d| within_retention(*d, retention, now));
    let mut points = match first_kept {
        Some(f) => reader.history(f, to, endpoint).await.map_err(unavailable)?,
        None => Vec::new(),
    };
    let mut all = Vec::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        match points.first() {
            Some(p) if p.date == d => all.push(points.remove(0)),
            _ => all.push(unioneyes_actors::analytics::read::HistoryPoint {
                date: d,
                figures: Figures::default(),
            }),
        }
    }
    Ok(HttpResponse::Ok()
        .json(json!({ "from": from, "to": to, "endpoint": endpoint, "points": all })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_four_digit_days_from_1970() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(date("to", None, today).unwrap(), today);
        assert_eq!(
            date("to", Some("1970-01-01"), today).unwrap(),
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
        );
        for bad in [
            "0000-01-03",
            "1969-12-31",
            "2026-02-30",
            "2026-1-01",
            "+2026-01-01",
            "2026-01-01T00:00:00Z",
            "",
        ] {
            assert!(date("to", Some(bad), today).is_err(), "{bad}");
        }
    }
}
