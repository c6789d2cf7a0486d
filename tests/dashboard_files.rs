//! The dashboard's files as the server sends them, without a browser: content types, validators,
//! caching and compression, compiled into the binary or from STATIC_DIR; and the sources' rule of
//! inserting text only.

use std::path::Path;

use serde_json::Value;

use crate::support::servers::free_port;
use crate::support::{TestApp, integration_test};

/// `GET path` with an optional request header.
async fn get(app: &TestApp, path: &str, header: Option<(&'static str, &str)>) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A file of the repository's static/.
fn source(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("static").join(path.trim_start_matches('/'))).unwrap()
}

/// What every way of serving the dashboard answers: types, caching, validators, the JSON 404.
async fn assert_served_with_types_and_caching(app: &TestApp) {
    let index = get(app, "/", None).await;
    assert_eq!(index.status(), 200);
    assert!(header(&index, "content-type").starts_with("text/html"), "{:?}", index.headers());
    assert_eq!(header(&index, "cache-control"), "no-cache", "index.html is always revalidated");
    let etag = header(&index, "etag");
    assert!(etag.ends_with('"') && etag.len() > 8, "a validator: {:?}", index.headers());
    let body = index.text().await.unwrap();
    assert!(body.contains(r#"<script type="module" src="/js/app.js"></script>"#), "the app: {body}");
    assert!(
        body.contains(r#"<script defer src="/vendor/qrcode-generator/qrcode.js"></script>"#),
        "the QR encoder, from our own origin: {body}"
    );

    // A conditional request with the ETag answers 304 with the caching headers.
    let again = get(app, "/", Some(("if-none-match", &etag))).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "cache-control"), "no-cache");
    let listed = format!("\"other\", {etag}");
    assert_eq!(get(app, "/", Some(("if-none-match", &listed))).await.status(), 304, "one of a list");
    let changed = get(app, "/", Some(("if-none-match", "\"other\""))).await;
    assert_eq!(changed.status(), 200);

    for (path, kind) in [
        ("/js/app.js", "text/javascript"),
        ("/css/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
        ("/js/qr.js", "text/javascript"),
        ("/vendor/qrcode-generator/qrcode.js", "text/javascript"),
        ("/index.html", "text/html"),
    ] {
        let res = get(app, path, None).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(header(&res, "content-type").starts_with(kind), "{path}: {:?}", res.headers());
        let cache = if path == "/index.html" { "no-cache" } else { "public, max-age=3600" };
        assert_eq!(header(&res, "cache-control"), cache, "{path}");
        assert!(!header(&res, "etag").is_empty(), "{path} has an ETag");
        assert_eq!(res.bytes().await.unwrap(), source(path), "{path}");
    }

    // Unknown API paths and missing files keep the JSON 404; so do other methods.
    for path in ["/api/no-such-route", "/api", "/no-such-file.js", "/../Cargo.toml", "/js/"] {
        let res = get(app, path, None).await;
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let res = app.http.post(app.url("/index.html")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

integration_test!(compiled_in_files_are_served_with_types_and_caching);
async fn compiled_in_files_are_served_with_types_and_caching() {
    let app = TestApp::sqlite().await;
    assert_served_with_types_and_caching(&app).await;
    // Strong validators: the files' SHA-256.
    let etag = header(&get(&app, "/js/app.js", None).await, "etag");
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
}

integration_test!(static_dir_overrides_the_compiled_in_files);
/// STATIC_DIR serves a directory instead, read on every request: an edit shows without a rebuild.
async fn static_dir_overrides_the_compiled_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        let status = std::process::Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap();
        assert!(status.success());
    };
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("static"), dir.path());
    let static_dir = dir.path().join("static");
    let app = TestApp::builder().env("STATIC_DIR", static_dir.to_str().unwrap()).spawn().await;
    assert_served_with_types_and_caching(&app).await;

    // Weak validators from the file's time and length; If-Modified-Since works too.
    let res = get(&app, "/css/app.css", None).await;
    assert!(header(&res, "etag").starts_with("W/\""), "{:?}", res.headers());
    let modified = header(&res, "last-modified");
    assert_eq!(get(&app, "/css/app.css", Some(("if-modified-since", &modified))).await.status(), 304);

    std::fs::write(static_dir.join("js/app.js"), "export const edited = true;\n").unwrap();
    let res = get(&app, "/js/app.js", None).await;
    assert_eq!(
        res.text().await.unwrap(),
        "export const edited = true;\n",
        "the directory's file, not the built-in one"
    );
    app.shutdown().await;
}

integration_test!(the_binary_alone_in_an_empty_directory_serves_the_dashboard);
/// The kktbot binary copied alone into an empty directory and started there (SQLite, no bot):
/// the whole dashboard comes from the binary, compressed as the client allows.
async fn the_binary_alone_in_an_empty_directory_serves_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("kktbot");
    std::fs::copy(env!("CARGO_BIN_EXE_kktbot"), &binary).unwrap();
    let port = free_port();
    let mut child = ChildGuard(
        std::process::Command::new(&binary)
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("DATABASE_URL", "sqlite://kktbot.db?mode=rwc")
            .env("API_HOST", "127.0.0.1")
            .env("API_PORT", port.to_string())
            .env("LOG_LEVEL", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kktbot starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(child.0.try_wait().unwrap().is_none(), "kktbot exited");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "kktbot did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!names.iter().any(|n| n == "static"), "nothing but the binary and its database: {names:?}");
    let get = |path: &str, headers: &[(&'static str, &str)]| {
        let mut req = http.get(format!("{base}{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send()
    };

    let index = get("/", &[]).await.unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.bytes().await.unwrap(), source("/index.html"));

    let app_js = source("/js/app.js");
    let plain = get("/js/app.js", &[]).await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none(), "no compression unless asked for");
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    let etag = plain.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(plain.bytes().await.unwrap(), app_js);
    let not_modified = get("/js/app.js", &[("if-none-match", &etag)]).await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert!(not_modified.bytes().await.unwrap().is_empty());

    let gzip = get("/js/app.js", &[("accept-encoding", "gzip")]).await.unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(gzip.headers()["etag"], etag.as_str());
    let body = gzip.bytes().await.unwrap();
    assert!(body.len() < app_js.len());
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut decoded).unwrap();
    assert_eq!(decoded, app_js, "the gzip body is the file");

    let br = get("/js/app.js", &[("accept-encoding", "gzip, deflate, br")]).await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let body = br.bytes().await.unwrap();
    assert!(body.len() < app_js.len());
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut brotli::Decompressor::new(&body[..], 4096), &mut decoded).unwrap();
    assert_eq!(decoded, app_js, "the brotli body is the file");
}

/// Kills the child process when dropped, also when the test fails.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
