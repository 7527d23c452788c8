//! The dashboard page: three static files compiled into the binary, public because they
//! carry no data (the page reads everything from the guarded `/api/v1` with the caller's
//! own credentials).

use actix_web::http::header;
use actix_web::HttpResponse;

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const STYLE_CSS: &str = include_str!("../dashboard/style.css");

/// Scripts and styles only from this origin, none inline; data only from this origin's API;
/// the page may not be framed (clickjacking) nor post a form anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A static file with the headers every dashboard file gets: revalidated on each load, so
/// an upgraded orchestrator never runs with an old script.
fn file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(body)
}

/// `GET /`: the page.
pub async fn index() -> HttpResponse {
    file("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /dashboard/app.js`: the script that polls the API and renders it.
pub async fn app_js() -> HttpResponse {
    file("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /dashboard/style.css`.
pub async fn style_css() -> HttpResponse {
    file("text/css; charset=utf-8", STYLE_CSS)
}

#[cfg(test)]
mod tests;
