use super::*;
use actix_web::body::MessageBody;

/// Content type, cache control, security policy and body of a 200 answer.
fn parts(resp: HttpResponse) -> (String, String, String, String) {
    let headers = resp.headers().clone();
    let get = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (ct, cache, csp) = (
        get(header::CONTENT_TYPE),
        get(header::CACHE_CONTROL),
        get(header::CONTENT_SECURITY_POLICY),
    );
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().try_into_bytes().expect("a static body");
    let body = String::from_utf8(body.to_vec()).expect("utf-8");
    (ct, cache, csp, body)
}

#[actix_web::test]
async fn each_file_has_its_content_type_and_the_policy() {
    for (resp, want_type, marker) in [
        (index().await, "text/html; charset=utf-8", "<!doctype html>"),
        (
            app_js().await,
            "text/javascript; charset=utf-8",
            "\"use strict\";",
        ),
        (style_css().await, "text/css; charset=utf-8", "body {"),
    ] {
        let (ct, cache, csp, body) = parts(resp);
        assert_eq!(ct, want_type);
        assert_eq!(cache, "no-cache");
        assert_eq!(csp, CONTENT_SECURITY_POLICY);
        assert!(body.contains(marker), "{want_type}: no {marker}");
    }
}

#[test]
fn the_page_loads_its_script_and_style_from_the_server_and_nothing_inline() {
    assert!(INDEX_HTML.contains(r#"<script src="/dashboard/app.js"></script>"#));
    assert!(INDEX_HTML.contains(r#"<link rel="stylesheet" href="/dashboard/style.css">"#));
    // The policy forbids inline script and style: one left in would silently not run.
    assert_eq!(INDEX_HTML.matches("<script").count(), 1);
    for inline in [
        "<style",
        " style=",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!INDEX_HTML.contains(inline), "inline {inline}");
    }
    for external in ["http://", "https://", "//cdn"] {
        assert!(!INDEX_HTML.contains(external), "external {external}");
        assert!(!APP_JS.contains(external), "external {external}");
    }
    assert!(
        !APP_JS.contains("innerHTML"),
        "text goes in with textContent"
    );
}
