//! The admin dashboard page (docs/dashboard.md): `GET /admin` and its modules and stylesheet
//! (`GET /admin/{file}`, looked up in `ASSETS`), embedded in the binary (no CDN, no build step)
//! and served with a strict Content-Security-Policy. The page holds no data: it reads the
//! analytics JSON API from the browser with the credentials the user gives it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use super::get_or_head;
use crate::error::AppError;
use crate::state::AppState;

const INDEX_HTML: &str = include_str!("../../static/admin/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads besides itself: (name under `/admin/`, content type, body). The
/// ES modules import each other by these paths (`/admin/dom.js`); dashboard.js is the entry.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "dashboard.css",
        CSS,
        include_str!("../../static/admin/dashboard.css"),
    ),
    (
        "dashboard.js",
        JS,
        include_str!("../../static/admin/dashboard.js"),
    ),
    ("api.js", JS, include_str!("../../static/admin/api.js")),
    ("chart.js", JS, include_str!("../../static/admin/chart.js")),
    ("day.js", JS, include_str!("../../static/admin/day.js")),
    ("dom.js", JS, include_str!("../../static/admin/dom.js")),
    (
        "format.js",
        JS,
        include_str!("../../static/admin/format.js"),
    ),
    (
        "health.js",
        JS,
        include_str!("../../static/admin/health.js"),
    ),
    (
        "history.js",
        JS,
        include_str!("../../static/admin/history.js"),
    ),
    (
        "signin.js",
        JS,
        include_str!("../../static/admin/signin.js"),
    ),
    ("state.js", JS, include_str!("../../static/admin/state.js")),
    (
        "tables.js",
        JS,
        include_str!("../../static/admin/tables.js"),
    ),
];

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
    cfg.service(get_or_head("/admin", page))
        .service(get_or_head("/admin/", to_page))
        .service(get_or_head("/admin/{file}", file));
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

/// `/admin/{file}`: a file of `ASSETS`, or a problem+json 404.
async fn file(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(known, _, _)| *known == name.as_str())
        .ok_or_else(|| AppError::NotFound("No such file of the admin dashboard.".into()))?;
    Ok(base(content_type).body(*body))
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

    fn scripts() -> impl Iterator<Item = (&'static str, &'static str)> {
        ASSETS
            .iter()
            .filter(|(_, content_type, _)| *content_type == JS)
            .map(|(name, _, body)| (*name, *body))
    }

    #[test]
    fn the_scripts_never_use_html_sinks() {
        assert!(scripts().count() >= 2);
        for (name, js) in scripts() {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "setHTMLUnsafe",
                "parseHTMLUnsafe",
                "createContextualFragment",
                "DOMParser",
            ] {
                assert!(!js.contains(sink), "{name} uses {sink}");
            }
        }
    }

    #[test]
    fn every_file_of_static_admin_is_served_and_says_what_it_owns() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static/admin");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name != "index.html")
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = ASSETS.iter().map(|(n, _, _)| n.to_string()).collect();
        served.sort();
        served.dedup();
        assert_eq!(served.len(), ASSETS.len(), "a name listed twice");
        assert_eq!(served, on_disk, "ASSETS and static/admin/ part ways");
        for (name, content_type, body) in ASSETS {
            let expected = if name.ends_with(".js") { JS } else { CSS };
            assert_eq!(*content_type, expected, "{name}");
            // The leading comment: every line up to the first blank one.
            let head: Vec<&str> = body.lines().take_while(|l| !l.is_empty()).collect();
            let opener = if *content_type == JS { "// " } else { "/* " };
            assert!(
                head.first().is_some_and(|l| l.starts_with(opener))
                    && head.join(" ").contains(&format!("served at /admin/{name}")),
                "{name} starts with a comment saying what it owns and where it is served: {head:?}"
            );
        }
    }

    #[test]
    fn every_module_import_is_served() {
        let mut imported = Vec::new();
        for (name, js) in scripts() {
            // `import … from "…";`, or the last line of an import over several lines.
            let froms = js
                .lines()
                .filter(|l| l.starts_with("import ") || l.starts_with("} from "))
                .filter_map(|l| l.rsplit_once(" from "));
            for (_, from) in froms {
                let path = from.trim_end_matches(';').trim_matches('"');
                match path.strip_prefix("/admin/") {
                    Some(file) => assert!(
                        scripts().any(|(known, _)| known == file),
                        "{name} imports {path}, which is not served"
                    ),
                    None => assert_eq!(path, "/static/csrf.js", "{name}"),
                }
                imported.push(path.to_string());
            }
        }
        // Every module but the entry is imported by another (no dead file).
        for (name, _) in scripts().filter(|(n, _)| *n != "dashboard.js") {
            assert!(
                imported.contains(&format!("/admin/{name}")),
                "{name} is never imported"
            );
        }
    }
}
