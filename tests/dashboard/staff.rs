//! The dashboard's staff pages in the browser: the audit log, filtered by entity and by action,
//! and an import — a file chosen, its preview row by row, then applied.

use serde_json::{Value, json};

use super::{Browser, api, login_token, sign_in, wait_heading};
use crate::staff::import::{ofd_export, seed};
use crate::support::TestApp;
use crate::support::integration_test;

/// The `data-action` of every audit row shown, once the list shows rows that all satisfy `test`
/// (a JavaScript expression over `a`, the action).
async fn audit_actions(browser: &Browser, what: &str, test: &str) -> Vec<String> {
    let script = format!(
        "if (document.querySelector('.list-body .state-loading')) return null; \
         const rows = Array.from(document.querySelectorAll('tr[data-audit-id]')).map(r => r.dataset.action); \
         return rows.length && rows.every(a => {test}) ? rows : null;"
    );
    let rows = browser.wait_js(what, &script).await;
    rows.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

integration_test!(dashboard_audit_log_and_import, threads: 2);
async fn dashboard_audit_log_and_import() {
    let app = TestApp::builder().spawn().await;
    let browser = Browser::start().await;
    let (email, password) = app.initial_admin.clone().expect("the first start creates an administrator");
    let token = login_token(&app, &email, &password).await;
    seed(&app, &token).await;

    // ---- the audit log: every action so far, then only the clients', then only sign-ins.
    sign_in(&browser, &app, &email, &password).await;
    browser.goto(&app.url("/#/audit")).await;
    wait_heading(&browser, "Журнал действий").await;
    let all = audit_actions(&browser, "the audit log", "true").await;
    for action in ["login.succeeded", "client.created", "cash_register.created"] {
        assert!(all.contains(&action.to_string()), "{action} in {all:?}");
    }
    browser.set_value(".filters select[name=entity]", "client").await;
    browser.click(".filters button[type=submit]").await;
    let clients = audit_actions(&browser, "the client records", "a.startsWith('client.')").await;
    assert_eq!(clients, ["client.created"]);
    // A list answer arriving after a newer one is dropped: the unfiltered reload the reset starts
    // answers late, after the filtered one, and the filtered rows stay.
    browser
        .js(
            "const plain = window.fetch; window.lateDone = false; \
             window.fetch = (url, options) => String(url).includes('entity=') || !String(url).startsWith('/api/audit') \
               ? plain(url, options) \
               : new Promise(r => setTimeout(r, 400)).then(() => plain(url, options)).then(async res => { \
                   await res.clone().text(); setTimeout(() => { window.lateDone = true; }, 300); return res; });",
            json!([]),
        )
        .await;
    browser.click(".filters button[type=reset]").await;
    browser.set_value(".filters select[name=entity]", "cash_register").await;
    browser.click(".filters button[type=submit]").await;
    browser.wait_js("the late answer to arrive", "return window.lateDone;").await;
    let registers = audit_actions(&browser, "the cash register records", "true").await;
    assert_eq!(registers, ["cash_register.created"], "the late unfiltered answer is not shown");
    browser.js("window.location.reload();", json!([])).await;
    wait_heading(&browser, "Журнал действий").await;
    audit_actions(&browser, "the audit log again", "true").await;
    browser.type_into(".filters input[name=action]", "login").await;
    browser.click(".filters button[type=submit]").await;
    let logins = audit_actions(&browser, "the sign-ins", "a.startsWith('login.')").await;
    assert_eq!(logins, ["login.succeeded", "login.succeeded"], "the API's sign-in and the browser's");
    browser.screenshot("audit").await;

    // ---- an import: the preview lists each row's outcome, the import applies it.
    browser.goto(&app.url("/#/import")).await;
    wait_heading(&browser, "Импорт клиентов и касс").await;
    let template =
        browser.js("return document.querySelector('#import-template').getAttribute('href');", json!([])).await;
    assert_eq!(template, "/api/import/template?format=xlsx");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ofd-export.xlsx");
    std::fs::write(&path, ofd_export()).unwrap();
    browser.choose_file("#import-file", path.to_str().unwrap()).await;
    browser.click("#import-preview").await;
    let outcomes = browser
        .wait_js(
            "the preview",
            "const rows = Array.from(document.querySelectorAll('tr[data-row]')); \
             return rows.length ? rows.map(r => [r.dataset.row, r.dataset.outcome]) : null;",
        )
        .await;
    let expected = [
        ("2", "update"),
        ("3", "new"),
        ("4", "error"),
        ("5", "error"),
        ("6", "error"),
        ("7", "unchanged"),
        ("8", "new"),
    ];
    assert_eq!(outcomes, json!(expected.map(|(r, o)| [r, o])));
    let error = browser.text("tr[data-row='4'] [data-col=details]").await;
    assert!(error.contains("ИНН пользователя:") && error.contains("7707083894"), "the column and the reason: {error}");
    let summary = browser.text("#import-summary").await;
    assert!(summary.contains("Новых: 2") && summary.contains("с ошибками: 3"), "{summary}");
    let registers = api(&app, &token, reqwest::Method::GET, "/api/cash-registers", None).await;
    assert_eq!(registers["total"], 1, "a preview writes nothing");
    browser.screenshot("import").await;
    browser.click("#import-apply").await;
    let done = browser
        .wait_js("the import", "const d = document.querySelector('#import-done'); return d && d.textContent;")
        .await;
    assert!(done.as_str().unwrap().contains("касс 3"), "two created, one completed: {done}");
    let registers = api(&app, &token, reqwest::Method::GET, "/api/cash-registers", None).await;
    assert_eq!(registers["total"], 3);

    // The same file again: nothing to change, and no button to import.
    browser.click("#import-preview").await;
    browser.find("#import-nothing").await;
    let buttons = browser.js("return document.querySelectorAll('#import-apply').length;", json!([])).await;
    assert_eq!(buttons, 0);

    // The import is in the audit log.
    browser.goto(&app.url("/#/audit")).await;
    browser.set_value(".filters select[name=entity]", "import").await;
    browser.click(".filters button[type=submit]").await;
    let imports = audit_actions(&browser, "the import's record", "a === 'import'").await;
    assert_eq!(imports, ["import"]);
    let changes: Value =
        browser.js("return document.querySelector('tr[data-audit-id] .audit-changes').textContent;", json!([])).await;
    assert!(changes.as_str().unwrap().contains("rows: 7"), "{changes}");
    assert_eq!(browser.alert_text().await, None);
    browser.quit().await;
}
