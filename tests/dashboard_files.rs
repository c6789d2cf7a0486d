//! The dashboard's files as the server sends them, without a browser: content types, validators
//! and caching; and the sources' rule of inserting text only.

use std::path::Path;

use serde_json::Value;

use crate::support::{TestApp, integration_test};

integration_test!(static_files_are_served_with_types_and_caching);
async fn static_files_are_served_with_types_and_caching() {
    let app = TestApp::sqlite().await;
    let get = |path: &str, header: Option<(&'static str, String)>| {
        let mut req = app.http.get(app.url(path));
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        req.send()
    };
    let header = |res: &reqwest::Response, name: &str| {
        res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    };

    let index = get("/", None).await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(header(&index, "content-type").starts_with("text/html"), "{:?}", index.headers());
    assert_eq!(header(&index, "cache-control"), "no-cache", "index.html is always revalidated");
    let etag = header(&index, "etag");
    let modified = header(&index, "last-modified");
    assert!(etag.starts_with("W/\"") && !modified.is_empty(), "validators: {:?}", index.headers());
    let body = index.text().await.unwrap();
    assert!(body.contains(r#"<script type="module" src="/js/app.js"></script>"#), "the app: {body}");
    assert!(
        body.contains(r#"<script defer src="/vendor/qrcode-generator/qrcode.js"></script>"#),
        "the QR encoder, from our own origin: {body}"
    );

    // Conditional requests: both validators answer 304 with the caching headers.
    let again = get("/", Some(("if-none-match", etag.clone()))).await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "cache-control"), "no-cache");
    let again = get("/", Some(("if-modified-since", modified))).await.unwrap();
    assert_eq!(again.status(), 304);
    let changed = get("/", Some(("if-none-match", "W/\"other\"".to_string()))).await.unwrap();
    assert_eq!(changed.status(), 200);

    for (path, kind) in [
        ("/js/app.js", "text/javascript"),
        ("/css/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
        ("/js/qr.js", "text/javascript"),
        ("/vendor/qrcode-generator/qrcode.js", "text/javascript"),
        ("/index.html", "text/html"),
    ] {
        let res = get(path, None).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-type").starts_with(kind), "{path}: {:?}", res.headers());
        let cache = if path == "/index.html" { "no-cache" } else { "public, max-age=3600" };
        assert_eq!(header(&res, "cache-control"), cache, "{path}");
        assert!(!header(&res, "etag").is_empty(), "{path} has an ETag");
    }

    // Unknown API paths and missing files keep the JSON 404; so do other methods.
    for path in ["/api/no-such-route", "/api", "/no-such-file.js", "/../Cargo.toml"] {
        let res = get(path, None).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let res = app.http.post(app.url("/index.html")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

integration_test!(dashboard_sources_insert_text_only);
/// The dashboard's sources never build HTML from strings and carry no inline script or style, so
/// user text always reaches the page as text and the CSP holds.
async fn dashboard_sources_insert_text_only() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { files.push(path) }
        }
    }
    let mut checked = 0;
    for file in files {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !matches!(ext, "js" | "html") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!text.contains(banned), "{} uses {banned}", file.display());
        }
        if ext == "html" {
            assert!(!text.contains(" style="), "{} has an inline style", file.display());
            assert!(!text.contains("<style"), "{} has a style element", file.display());
            for script in text.split("<script").skip(1) {
                assert!(script.split('>').next().unwrap().contains("src="), "{} has an inline script", file.display());
            }
        }
        checked += 1;
    }
    assert!(checked >= 6, "the dashboard's files were found ({checked})");
}
