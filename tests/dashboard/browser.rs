//! Headless Chromium for the dashboard's browser tests, driven through chromedriver with
//! [fantoccini] (a WebDriver client): waits that poll with a bound, clicks that survive a
//! re-render, and screenshots for `docs/screenshots/`.
//!
//! [fantoccini]: https://docs.rs/fantoccini

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::support::harness::skip;
use crate::support::servers::free_port;

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long any one wait may take.
pub const WAIT: Duration = Duration::from_secs(20);
pub const POLL: Duration = Duration::from_millis(50);

fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())
}

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: Child,
    client: Client,
    /// `http://127.0.0.1:<port>/session/<id>`, to end the session after a failure.
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; skips the test when they are not
    /// installed.
    pub async fn start() -> Browser {
        let driver_path = chromedriver();
        if !Path::new(CHROMIUM).exists() || driver_path.is_none() {
            skip("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)");
        }
        let port = free_port();
        let mut driver = Command::new(driver_path.unwrap())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let capabilities = json!({
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900", "--lang=ru",
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("an object") };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        // chromedriver takes a moment to listen: connect until it answers, within the bound.
        let started = Instant::now();
        let client = loop {
            match builder.connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(client) => break client,
                Err(e) if started.elapsed() > WAIT => {
                    let _ = driver.kill();
                    panic!("no WebDriver session: {e}");
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        let id = client.session_id().await.ok().flatten().expect("a WebDriver session id");
        Browser { driver, client, session: format!("http://127.0.0.1:{port}/session/{id}"), _profile: profile }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("WebDriver goto {url}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` are `args`, a JSON array) in the page.
    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.try_js(script, args).await.unwrap_or_else(|e| panic!("WebDriver script failed: {e}\n{script}"))
    }

    async fn try_js(&self, script: &str, args: Value) -> Result<Value, CmdError> {
        let Value::Array(args) = args else { panic!("script arguments are a JSON array: {args}") };
        self.client.execute(script, args).await
    }

    /// Polls `script` until it returns something other than null/false/""; returns that.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            match self.try_js(script, json!([])).await {
                Ok(Value::Null | Value::Bool(false)) => {}
                Ok(Value::String(s)) if s.is_empty() => {}
                Ok(v) => return v,
                Err(CmdError::Standard(e)) if e.error == ErrorStatus::UnexpectedAlertOpen => {
                    panic!("an alert opened while waiting for {what}: {e}")
                }
                Err(_) => {}
            }
            if started.elapsed() > WAIT {
                panic!("timed out waiting for {what}; the page says:\n{}", self.page_text().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn page_text(&self) -> String {
        self.js("return document.body.innerText", json!([])).await.as_str().unwrap_or_default().to_string()
    }

    /// Waits for the first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                return el;
            }
            if started.elapsed() > WAIT {
                panic!("no element {css}; the page says:\n{}", self.page_text().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn click(&self, css: &str) {
        // A control may be re-rendered between finding and clicking it: retry within the bound.
        let started = Instant::now();
        while let Err(e) = self.find(css).await.click().await {
            assert!(started.elapsed() < WAIT, "cannot click {css}: {e}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clears a text field and types into it as a user would.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        el.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Chooses a file in a file input (`path`, a file on this machine), as a user picking it.
    pub async fn choose_file(&self, css: &str, path: &str) {
        self.find(css).await.send_keys(path).await.unwrap_or_else(|e| panic!("cannot choose a file in {css}: {e}"));
    }

    /// Sets a value the keyboard enters awkwardly (dates, selects) and fires input/change.
    pub async fn set_value(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        self.js(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true})); \
             arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            json!([el, value]),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.js("return arguments[0].textContent", json!([el])).await.as_str().unwrap_or_default().to_string()
    }

    /// The status the server answers the page's own `fetch` of `path` (with its cookies).
    pub async fn fetch_status(&self, path: &str) -> u16 {
        let script = "const done = arguments[1]; \
                      fetch(arguments[0], {credentials: 'same-origin'}).then(r => done(r.status));";
        let status = self.client.execute_async(script, vec![json!(path)]).await;
        let status = status.unwrap_or_else(|e| panic!("fetch {path} in the page: {e}"));
        status.as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or_else(|| panic!("a status: {status}"))
    }

    /// The text of an open alert, if one is open.
    pub async fn alert_text(&self) -> Option<String> {
        self.client.get_alert_text().await.ok()
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap_or_else(|e| panic!("cannot size the window: {e}"));
    }

    /// A PNG of one element as the browser draws it.
    pub async fn element_png(&self, css: &str) -> Vec<u8> {
        self.find(css).await.screenshot().await.unwrap_or_else(|e| panic!("no screenshot of {css}: {e}"))
    }

    /// Saves a PNG of the viewport to `docs/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("no screenshot: {e}"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the session (which closes Chromium), then chromedriver.
    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failure: end the session (which closes Chromium), then chromedriver. From a
        // thread of its own, as the test's runtime is unwinding.
        if let Ok(None) = self.driver.try_wait() {
            let session = self.session.clone();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    let _ = reqwest::Client::new().delete(&session).timeout(Duration::from_secs(10)).send().await;
                });
            })
            .join();
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
    }
}
