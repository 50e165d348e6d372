//! Documentation-only operations for routes that have no handler function to annotate: the
//! admin dashboard's page and static files (`super::super::admin_page` serves them with
//! closures over embedded files). The completeness test (tests/api/openapi.rs) fails when
//! these and the registered routes part ways.

// The functions only carry `#[utoipa::path]`; the routes are served elsewhere.
#![allow(dead_code)]

/// The operations of this module.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    admin_page,
    admin_redirect,
    admin_dashboard_js,
    admin_format_js,
    admin_css
))]
pub(in crate::http) struct Api;

/// The admin dashboard
///
/// A static page (strict Content-Security-Policy, no inline script or style) that reads the
/// analytics API from the browser with the credentials the user types in; it holds no data.
#[utoipa::path(
    method(get, head),
    path = "/admin",
    operation_id = "adminDashboard",
    tag = "admin-dashboard",
    responses((status = 200, description = "The page.", content_type = "text/html; charset=utf-8",
        body = String)),
)]
fn admin_page() {}

/// The admin dashboard (redirect)
#[utoipa::path(
    method(get, head),
    path = "/admin/",
    operation_id = "adminDashboardRedirect",
    tag = "admin-dashboard",
    responses((status = 308, description = "To `/admin`.",
        headers(("Location" = String, description = "`/admin`")))),
)]
fn admin_redirect() {}

/// The dashboard's script
#[utoipa::path(
    method(get, head),
    path = "/admin/dashboard.js",
    operation_id = "adminDashboardJs",
    tag = "admin-dashboard",
    responses((status = 200, description = "An ES module.",
        content_type = "text/javascript; charset=utf-8", body = String)),
)]
fn admin_dashboard_js() {}

/// The dashboard's formatting module
#[utoipa::path(
    method(get, head),
    path = "/admin/format.js",
    operation_id = "adminFormatJs",
    tag = "admin-dashboard",
    responses((status = 200, description = "An ES module.",
        content_type = "text/javascript; charset=utf-8", body = String)),
)]
fn admin_format_js() {}

/// The dashboard's stylesheet
#[utoipa::path(
    method(get, head),
    path = "/admin/dashboard.css",
    operation_id = "adminDashboardCss",
    tag = "admin-dashboard",
    responses((status = 200, description = "The stylesheet.",
        content_type = "text/css; charset=utf-8", body = String)),
)]
fn admin_css() {}
