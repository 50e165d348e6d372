//! Schemas of the OpenAPI document for bodies the handlers read field by field or build with
//! `json!` (so there is no serde type to derive from): request bodies, list pages, health
//! answers. The string enums come from the handlers' own constants. tests/api/openapi.rs checks
//! real answers against these schemas, so a drift fails a test.

use chrono::{DateTime, NaiveDate, Utc};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::super::{claims, members};
use crate::db::claims::Claim;
use crate::db::members::Member;
use crate::db::organizations::Organization;
use unioneyes_actors::analytics::read::{EndpointRow, HistoryPoint, SlowRow, TenantRow};

fn one_of(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

/// `active`, `suspended` or `retired` (`members::STATUSES`).
pub fn member_status() -> ObjectBuilder {
    one_of(members::STATUSES)
}

/// `claims::STATUSES`.
pub fn claim_status() -> ObjectBuilder {
    one_of(claims::STATUSES)
}

/// `claims::PRIORITIES`.
pub fn claim_priority() -> ObjectBuilder {
    one_of(claims::PRIORITIES)
}

/// A SIN as accepted: 9 digits, optionally grouped `NNN NNN NNN` or `NNN-NNN-NNN`, with a valid
/// Luhn check digit.
fn sin() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^\d{3}[ -]?\d{3}[ -]?\d{3}$"))
        .description(Some(
            "Social Insurance Number: 9 digits, optionally grouped `NNN NNN NNN` or \
             `NNN-NNN-NNN`, with a valid Luhn check digit. Stored encrypted.",
        ))
}

fn nullable(builder: ObjectBuilder) -> ObjectBuilder {
    builder.schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}

fn nullable_sin() -> ObjectBuilder {
    nullable(sin())
}

/// `POST /api/members`. Strings are trimmed; unknown fields are refused.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(
    examples(json!({"firstName": "Ann", "lastName": "Lee", "email": "ann@local1.org",
                    "memberNumber": "L1-0042", "status": "active", "sin": "046 454 286"}))
)]
pub struct NewMember {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: String,
    /// Unique per organization, case-insensitively.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// Unique per organization.
    #[schema(min_length = 1, max_length = 50, nullable = false)]
    pub member_number: Option<String>,
    /// Default `active`.
    #[schema(schema_with = member_status)]
    pub status: Option<String>,
    #[schema(schema_with = sin)]
    pub sin: Option<String>,
}

/// `PATCH /api/members/{id}`: any of the fields; `memberNumber` and `sin` may be null to clear.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(examples(json!({"status": "suspended", "memberNumber": null})))]
pub struct MemberPatch {
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub last_name: Option<String>,
    #[schema(format = Email, min_length = 3, max_length = 254, nullable = false)]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 50)]
    pub member_number: Option<String>,
    #[schema(schema_with = member_status)]
    pub status: Option<String>,
    #[schema(schema_with = nullable_sin)]
    pub sin: Option<String>,
}

/// `POST /api/claims`. Unknown fields are refused.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(
    examples(json!({"memberId": "7d2f3c52-0b5e-4d59-9b1a-2f3f1a0c9e11",
                    "title": "Unpaid overtime", "description": "Three Saturdays in November.",
                    "status": "open", "priority": "high"}))
)]
pub struct NewClaim {
    /// A member of the caller's organization.
    pub member_id: Uuid,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 10000, nullable = false)]
    pub description: Option<String>,
    /// Default `open`.
    #[schema(schema_with = claim_status)]
    pub status: Option<String>,
    /// Default `normal`.
    #[schema(schema_with = claim_priority)]
    pub priority: Option<String>,
}

/// `PATCH /api/claims/{id}`: any of the fields.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(examples(json!({"status": "in_review"})))]
pub struct ClaimPatch {
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub title: Option<String>,
    #[schema(max_length = 10000, nullable = false)]
    pub description: Option<String>,
    #[schema(schema_with = claim_status)]
    pub status: Option<String>,
    #[schema(schema_with = claim_priority)]
    pub priority: Option<String>,
}

/// One page of members, oldest first.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MemberPage {
    pub items: Vec<Member>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// One page of claims, oldest first.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ClaimPage {
    pub items: Vec<Claim>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The organizations, oldest first.
#[derive(ToSchema)]
pub struct OrganizationList {
    pub items: Vec<Organization>,
}

/// A member's full SIN (`Cache-Control: no-store`; every reveal is audited).
#[derive(ToSchema)]
pub struct RevealedSin {
    pub id: Uuid,
    /// 9 digits, ungrouped.
    #[schema(pattern = r"^\d{9}$", examples("046454286"))]
    pub sin: String,
}

/// The session's CSRF token (also set as the `__Host-csrf-token` cookie).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CsrfToken {
    /// Send it as `x-csrf-token` on writes made with the session cookie.
    #[schema(min_length = 171, max_length = 171)]
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The acknowledgement of a Stripe event.
#[derive(ToSchema)]
pub struct WebhookAck {
    #[schema(value_type = bool, examples(true))]
    pub received: bool,
    /// True when this event id was processed before (a replay): not processed again.
    pub duplicate: bool,
}

/// `GET /api/admin/analytics/endpoints`.
#[derive(ToSchema)]
pub struct AnalyticsEndpoints {
    pub date: NaiveDate,
    #[schema(schema_with = sort)]
    pub sort: String,
    pub items: Vec<EndpointRow>,
}

/// `GET /api/admin/analytics/tenants`.
#[derive(ToSchema)]
pub struct AnalyticsTenants {
    pub date: NaiveDate,
    #[schema(schema_with = sort)]
    pub sort: String,
    /// Organization ids, `anonymous`, `platform-admin`, `_overflow`.
    pub items: Vec<TenantRow>,
}

/// `GET /api/admin/analytics/slow`: slowest first.
#[derive(ToSchema)]
pub struct AnalyticsSlow {
    pub date: NaiveDate,
    pub items: Vec<SlowRow>,
}

/// `GET /api/admin/analytics/history`: one point per day from `from` to `to`.
#[derive(ToSchema)]
pub struct AnalyticsHistory {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The endpoint asked for (`METHOD route`), null for the day's totals.
    #[schema(required = true)]
    pub endpoint: Option<String>,
    pub points: Vec<HistoryPoint>,
}

fn sort() -> ObjectBuilder {
    one_of(&["count", "errors", "p95"])
}

fn member_filter() -> ObjectBuilder {
    member_status().description(Some("Only members with this status."))
}

fn claim_filter() -> ObjectBuilder {
    claim_status().description(Some("Only claims with this status."))
}

/// The `status` filter of `GET /api/members`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    #[param(schema_with = member_filter)]
    pub status: Option<String>,
}

/// The `status` filter of `GET /api/claims`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimFilter {
    #[param(schema_with = claim_filter)]
    pub status: Option<String>,
}

/// The tenant a platform admin reads (tenant routes, reads only).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct TenantHeader {
    /// Platform admins (admin token) name the organization they read with its uuid; ignored
    /// for session tokens.
    #[param(rename = "x-organization-id", nullable = false)]
    pub organization: Option<Uuid>,
}

fn verdict() -> ObjectBuilder {
    one_of(&["healthy", "degraded", "unhealthy"])
}

fn check_status() -> ObjectBuilder {
    one_of(&["healthy", "degraded", "unhealthy", "disabled"])
}

fn ietf_status() -> ObjectBuilder {
    one_of(&["pass", "warn", "fail"])
}

/// `GET /api/health` as `application/json` (the cached report; 503 when `unhealthy`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct HealthReport {
    #[schema(schema_with = verdict)]
    pub status: String,
    /// The check (or `stale`, `starting`, `shutting_down`) that decided the verdict.
    #[schema(required = true)]
    pub reason: Option<String>,
    pub version: String,
    pub uptime_seconds: u64,
    pub checked_at: DateTime<Utc>,
    pub checks: Vec<HealthCheck>,
}

/// One check of the health report.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `database`, `redis`, `analytics`, `sentry`, `clerk`, `stripe`, …
    pub name: String,
    #[schema(schema_with = check_status)]
    pub status: String,
    #[schema(required = true)]
    pub response_time_ms: Option<f64>,
    pub checked_at: DateTime<Utc>,
    pub message: String,
    /// Admin token only: e.g. `connection_refused`, `timeout`, `auth_failed`.
    pub error_class: Option<String>,
    /// Admin token only: e.g. pool `max`/`size`/`available`/`waiting`.
    #[schema(value_type = Option<Value>)]
    pub details: Option<serde_json::Value>,
}

/// `GET /api/health` as `application/health+json` (the IETF health-check draft): the same
/// verdict.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct HealthJson {
    #[schema(schema_with = ietf_status)]
    pub status: String,
    pub version: String,
    pub release_id: String,
    pub service_id: String,
    pub description: String,
    /// What decided a verdict other than healthy.
    #[schema(nullable = false)]
    pub output: Option<String>,
    /// Keyed `database:responseTime`, `redis:responseTime`, `analytics:status`, `sentry:configuration`, …
    pub checks: std::collections::BTreeMap<String, Vec<HealthJsonCheck>>,
}

/// One check in the IETF format.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct HealthJsonCheck {
    /// `datastore` or `component`.
    pub component_type: String,
    #[schema(schema_with = ietf_status)]
    pub status: String,
    pub time: DateTime<Utc>,
    pub output: String,
    #[schema(nullable = false)]
    pub observed_value: Option<f64>,
    /// `ms`.
    #[schema(nullable = false)]
    pub observed_unit: Option<String>,
    /// Admin token only.
    pub error_class: Option<String>,
    /// Admin token only.
    #[schema(value_type = Option<Value>)]
    pub details: Option<serde_json::Value>,
}

/// `GET /livez`.
#[derive(ToSchema)]
pub struct Liveness {
    #[schema(value_type = String, examples("alive"))]
    pub status: String,
}

/// `GET /readyz`: `ready`, or `not_ready` with the reason.
#[derive(ToSchema)]
pub struct Readiness {
    #[schema(schema_with = readiness)]
    pub status: String,
    /// `starting`, `database`, `stale`, `shutting_down`, … (only when not ready).
    #[schema(nullable = false)]
    pub reason: Option<String>,
}

fn readiness() -> ObjectBuilder {
    one_of(&["ready", "not_ready"])
}
