//! Documentation-only operations for routes that have no handler function to annotate: the
//! admin dashboard's page and static files (`super::super::admin_page` serves them from the
//! files embedded in the binary). The completeness test (tests/api/openapi.rs) fails when
//! these and the registered routes part ways.

// The functions only carry `#[utoipa::path]`; the routes are served elsewhere.
#![allow(dead_code)]

/// The operations of this module.
#[derive(utoipa::OpenApi)]
#[openapi(paths(admin_page, admin_redirect, admin_file))]
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

/// A file of the dashboard
///
/// The page's ES modules (`dashboard.js`, the entry, and the modules it imports) and its
/// stylesheet (`dashboard.css`), embedded in the binary.
#[utoipa::path(
    method(get, head),
    path = "/admin/{file}",
    operation_id = "adminDashboardFile",
    tag = "admin-dashboard",
    params(("file" = String, Path, description = "e.g. `dashboard.js`, `format.js`, `dashboard.css`")),
    responses(
        (status = 200, description = "An ES module or the stylesheet.", content(
            (String = "text/javascript; charset=utf-8"), (String = "text/css; charset=utf-8"),
        )),
        (status = 404, response = super::problems::NotFound),
        (status = 405, description = "Another method than GET or HEAD.",
            content_type = "application/problem+json", body = crate::error::Problem,
            headers(("Allow" = String, description = "`GET, HEAD`"))),
    ),
)]
fn admin_file() {}
