//! `GET /api/openapi.json` (the OpenAPI document, `super::openapi`) and the docs UI at
//! `/api/docs/` (Swagger UI, served from the files the `utoipa-swagger-ui` crate embeds at build
//! time from its vendored copy: no CDN, nothing downloaded). Public: the document describes the
//! API and holds no data. Registered outside the `/api` scope, so no identity, rate limit or
//! CSRF middleware runs; the UI answers carry a Content-Security-Policy allowing only this
//! origin.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse, HttpResponseBuilder};
use utoipa_swagger_ui::Config;

use super::get_or_head;
use super::openapi::JSON;
use crate::error::AppError;

/// Where the UI lives (with its trailing slash: the UI's files are relative to it).
pub const UI_PATH: &str = "/api/docs/";
/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/openapi.json";

/// Scripts and styles from this origin only. Swagger UI sets inline `style` attributes and
/// `data:` images (icons); it fetches the document and "Try it out" requests from this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// This module's operations in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi_json, docs_redirect, docs_index, docs_file))]
pub(super) struct Api;

/// The UI's configuration: the document's URL, and no calls to Swagger's online validator.
static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::new([DOCUMENT_PATH]).validator_url("none")));

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_or_head(DOCUMENT_PATH, openapi_json))
        .service(get_or_head("/api/docs", docs_redirect))
        .service(get_or_head(UI_PATH, docs_index))
        .service(get_or_head("/api/docs/{file}", docs_file));
}

/// The OpenAPI document
///
/// OpenAPI 3.1, generated from the code. Public: it describes the API and holds no data.
#[utoipa::path(
    method(get, head),
    path = "/api/openapi.json",
    operation_id = "openapiDocument",
    tag = "docs",
    responses((status = 200, description = "This document.", content_type = "application/json",
        body = serde_json::Value)),
)]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(JSON.as_str())
}

/// The docs UI (redirect)
///
/// To `/api/docs/`, where the UI's relative links resolve.
#[utoipa::path(
    method(get, head),
    path = "/api/docs",
    operation_id = "docsRedirect",
    tag = "docs",
    responses((status = 308, description = "To `/api/docs/`.",
        headers(("Location" = String, description = "`/api/docs/`")))),
)]
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, UI_PATH))
        .finish()
}

/// The docs UI
///
/// Swagger UI on this document, every file served by this service (no CDN).
#[utoipa::path(
    method(get, head),
    path = "/api/docs/",
    operation_id = "docsUi",
    tag = "docs",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
async fn docs_index() -> Result<HttpResponse, AppError> {
    ui_file("index.html")
}

/// A file of the docs UI
#[utoipa::path(
    method(get, head),
    path = "/api/docs/{file}",
    operation_id = "docsUiFile",
    tag = "docs",
    params(("file" = String, Path, description = "e.g. `swagger-ui-bundle.js`")),
    responses(
        (status = 200, description = "The file: scripts, styles, images, source maps.", content(
            ("text/javascript"), ("text/css"), ("image/png"), ("text/html"), ("text/plain"),
        )),
        (status = 404, response = super::openapi::problems::NotFound),
    ),
)]
async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    ui_file(&file)
}

fn ui_file(name: &str) -> Result<HttpResponse, AppError> {
    let file = utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG))
        .map_err(|e| AppError::internal(format!("docs UI file {name}: {e}")))?
        .ok_or_else(|| AppError::NotFound("No such file of the docs UI.".into()))?;
    // The page and its configuration revalidate; Swagger UI's own files change only with the
    // binary.
    let cache = match name {
        "index.html" | "swagger-initializer.js" => "no-cache",
        _ => "public, max-age=3600",
    };
    let mut res = HttpResponse::Ok();
    secure(&mut res);
    Ok(res
        .content_type(file.content_type)
        .insert_header((header::CACHE_CONTROL, cache))
        .body(match file.bytes {
            // The embedded files: no copy per request.
            Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
            Cow::Owned(bytes) => web::Bytes::from(bytes),
        }))
}

fn secure(res: &mut HttpResponseBuilder) {
    res.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"))
    .insert_header((header::REFERRER_POLICY, "no-referrer"));
}
