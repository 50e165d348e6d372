//! The admin dashboard page (docs/dashboard.md): `GET /admin` and its script, modules and
//! stylesheet, embedded in the binary (no CDN, no build step) and served with a strict
//! Content-Security-Policy. The page holds no data: it reads the analytics JSON API from the
//! browser with the credentials the user gives it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpResponse};

use super::method_not_allowed;
use crate::state::AppState;

const INDEX_HTML: &str = include_str!("../../static/admin/index.html");
const DASHBOARD_JS: &str = include_str!("../../static/admin/dashboard.js");
const FORMAT_JS: &str = include_str!("../../static/admin/format.js");
const DASHBOARD_CSS: &str = include_str!("../../static/admin/dashboard.css");

/// Replaced in the page by ANALYTICS_RETENTION_DAYS (the date picker's lower bound).
const RETENTION_PLACEHOLDER: &str = "__ANALYTICS_RETENTION_DAYS__";

/// Scripts, styles and API calls from this origin only; no inline script or style, no
/// plugins, no framing, and the sign-in form can never be submitted (so a token typed into it
/// cannot end up in a URL, even when the script failed to load).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes: outside /api (static files that never read the session), listed in
/// `EXEMPT_ROUTES`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head("/admin", web::to(page)))
        .service(get_or_head("/admin/", web::to(to_page)))
        .service(get_or_head(
            "/admin/dashboard.js",
            web::to(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }),
        ))
        .service(get_or_head(
            "/admin/format.js",
            web::to(|| async { asset("text/javascript; charset=utf-8", FORMAT_JS) }),
        ))
        .service(get_or_head(
            "/admin/dashboard.css",
            web::to(|| async { asset("text/css; charset=utf-8", DASHBOARD_CSS) }),
        ));
}

/// A GET/HEAD resource with a 405 for every other method.
fn get_or_head(path: &'static str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route.guard(guard::Any(guard::Get()).or(guard::Head())))
        .default_service(method_not_allowed("GET, HEAD"))
}

/// Headers every dashboard file carries.
fn base(content_type: &'static str) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        // Small files: revalidate each time, so a new binary's page is never mixed with an old
        // cached script.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("cross-origin-resource-policy", "same-origin"));
    res
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    base(content_type).body(body)
}

/// The page, with the retention window filled in.
pub fn render_page(retention_days: u32) -> String {
    INDEX_HTML.replace(RETENTION_PLACEHOLDER, &retention_days.to_string())
}

async fn page(state: web::Data<AppState>) -> HttpResponse {
    base("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header(("cross-origin-opener-policy", "same-origin"))
        .body(render_page(state.settings.analytics_retention_days))
}

/// `/admin/` → `/admin` (the page's asset paths are absolute either way).
async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/admin"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style_and_names_its_retention() {
        let page = render_page(30);
        assert!(page.contains(r#"<meta name="ue-retention-days" content="30">"#));
        assert!(!page.contains(RETENTION_PLACEHOLDER));
        // Every script is an external module; no inline handlers or style attributes.
        for bad in [
            "<script>",
            "<style",
            " style=",
            " onclick=",
            " onload=",
            "javascript:",
        ] {
            assert!(!page.contains(bad), "{bad}");
        }
        assert!(page.contains(r#"<script type="module" src="/admin/dashboard.js"></script>"#));
    }

    #[test]
    fn the_scripts_never_use_html_sinks() {
        for (name, js) in [("dashboard.js", DASHBOARD_JS), ("format.js", FORMAT_JS)] {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!js.contains(sink), "{name} uses {sink}");
            }
        }
    }
}
