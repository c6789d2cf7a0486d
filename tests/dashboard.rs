//! The dashboard in a real browser: headless Chromium driven through chromedriver with the
//! fantoccini WebDriver client (`dashboard/browser.rs`), against the real server and the fake Bot API.
//! Waits are bounded polls of the page, never fixed sleeps. Screenshots of the main pages are
//! saved to `docs/screenshots/`.
//!
//! Without `/usr/bin/chromium` and `chromedriver` the test prints SKIPPED (and fails with CI=true);
//! `.ci/run` installs them (`apt-get install chromium chromium-driver`).

use std::time::Instant;

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::chat::file_request;
use crate::support::integration_test;
use crate::support::seed::date_in;
use crate::support::updates::User;

mod browser;
mod staff;
mod work;

use browser::{Browser, POLL, WAIT};

const ADMIN_TG: i64 = 900_000_001;
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

/// The texts of the QR codes a camera would read in a PNG (rqrr: detection and decoding).
fn read_qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a PNG of a sane size")];
    let info = reader.next_frame(&mut pixels).expect("a PNG frame");
    let channels = info.color_type.samples();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(info.width as usize, info.height as usize, |x, y| {
        let p = &pixels[y * info.line_size + x * channels..];
        if channels >= 3 { ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8 } else { p[0] }
    });
    image.detect_grids().iter().map(|grid| grid.decode().expect("a readable QR code").1).collect()
}

/// Waits until the invite dialog shows its QR code, checks that it is a labelled, whole and
/// large enough image inside the window, and reads it back from the screen: it must say `link`.
async fn check_invite_qr(browser: &Browser, link: &str) {
    let qr = browser
        .wait_js(
            "the invite's QR code",
            "const s = document.querySelector('dialog #invite-qr svg'); if (!s) return null; \
             const r = s.getBoundingClientRect(); const p = s.querySelector('path'); \
             return {role: s.getAttribute('role'), label: s.getAttribute('aria-label'), \
                     title: (s.querySelector('title') || {}).textContent, d: p ? p.getAttribute('d').length : 0, \
                     modules: Number(s.dataset.modules), width: r.width, height: r.height, left: r.left, \
                     right: r.right, viewport: document.documentElement.clientWidth};",
        )
        .await;
    assert_eq!(qr["role"], "img", "{qr}");
    assert_eq!(qr["label"], "QR-код ссылки-приглашения", "labelled for screen readers: {qr}");
    assert_eq!(qr["title"], qr["label"], "{qr}");
    let modules = qr["modules"].as_u64().unwrap();
    assert!(modules >= 21 && (modules - 17) % 4 == 0, "a QR code's size: {qr}");
    assert!(qr["d"].as_u64().unwrap() > 100, "dark modules drawn: {qr}");
    let (width, height) = (qr["width"].as_f64().unwrap(), qr["height"].as_f64().unwrap());
    // At least 4 px per module including the quiet zone, square, and wholly inside the window.
    assert!(width >= 4.0 * (modules as f64 + 8.0) && (width - height).abs() < 1.0, "size: {qr}");
    assert!(qr["left"].as_f64().unwrap() >= 0.0 && qr["right"].as_f64() <= qr["viewport"].as_f64(), "{qr}");
    let png = browser.element_png("dialog #invite-qr svg").await;
    assert_eq!(read_qr_codes(&png), [link], "the QR code on screen reads as the invite link");
}

// ================================================================== the server side

/// Calls the REST API with a bearer token; panics unless it answers 2xx.
async fn api(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn login_token(app: &TestApp, email: &str, password: &str) -> String {
    let res: Value = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["token"].as_str().unwrap_or_else(|| panic!("login failed: {res}")).to_string()
}

/// Waits (bounded) until the bot has sent `chat` a message containing every one of `parts`.
async fn wait_for_message(app: &TestApp, chat: i64, parts: &[&str]) -> String {
    let started = Instant::now();
    loop {
        if let Some(text) = app.tg().sent_texts_to(chat).into_iter().find(|t| parts.iter().all(|p| t.contains(p))) {
            return text;
        }
        assert!(started.elapsed() < WAIT, "no message to {chat} with {parts:?}: {:?}", app.tg().sent_texts_to(chat));
        app.settle().await;
        tokio::time::sleep(POLL).await;
    }
}

// ================================================================== the test

/// Signs in through the login page.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.goto(&app.url("/")).await;
    browser.type_into(".login-form input[name=email]", email).await;
    browser.type_into(".login-form input[name=password]", password).await;
    browser.click(".login-form button[type=submit]").await;
    browser.find("#logout").await;
}

/// The type cell's text, the client cell's text and the client link's target of a request row.
async fn request_cells(browser: &Browser, row: &str) -> [Value; 3] {
    let script = format!(
        "const r = document.querySelector(\"{row}\"); if (!r) return null; \
         const a = r.querySelector('[data-col=client] a'); \
         return [r.querySelector('[data-col=type]').textContent, r.querySelector('[data-col=client]').textContent, \
                 a ? a.getAttribute('href') : null];"
    );
    let cells = browser.wait_js(&format!("the cells of {row}"), &script).await;
    [cells[0].clone(), cells[1].clone(), cells[2].clone()]
}

/// No cell of the list shows an id in place of a name (`#12`).
async fn assert_no_ids_in_table(browser: &Browser) {
    let ids = browser
        .js(
            "return Array.from(document.querySelectorAll('main table td')).map(td => td.textContent).filter(t => /#\\d/.test(t));",
            json!([]),
        )
        .await;
    assert_eq!(ids, json!([]), "cells showing ids");
}

/// Waits until the main view shows a page whose h1 reads `title`.
async fn wait_heading(browser: &Browser, title: &str) {
    let script =
        format!("const h = document.querySelector('main h1'); return h && h.textContent === {};", json!(title));
    browser.wait_js(&format!("the heading {title:?}"), &script).await;
}

/// The server the browser tests open: the bot on (against the fake Bot API), [`ADMIN_TG`] an
/// administrator, Telegram's limits lifted so the test need not wait for them.
async fn dashboard_app() -> TestApp {
    TestApp::builder()
        .telegram()
        .env("ADMIN_TELEGRAM_IDS", &ADMIN_TG.to_string())
        .env("TELEGRAM_RATE_CHAT_PER_SECOND", "1000")
        .env("TELEGRAM_RATE_GLOBAL_PER_SECOND", "1000")
        .spawn()
        .await
}

integration_test!(dashboard_in_a_browser, threads: 2);
async fn dashboard_in_a_browser() {
    let app = dashboard_app().await;
    let browser = Browser::start().await;
    let (admin_email, admin_password) = app.initial_admin.clone().expect("the first start creates an administrator");
    let token = login_token(&app, &admin_email, &admin_password).await;
    let post = reqwest::Method::POST;

    // ---- seed: two clients, a cash register, deadlines overdue / in 3, 10 and 20 days.
    let acme =
        api(&app, &token, post.clone(), "/api/clients", Some(json!({"name": "ООО Ромашка", "inn": "7707083893"})))
            .await;
    api(&app, &token, post.clone(), "/api/clients", Some(json!({"name": "ИП Васильков", "inn": "7736207543"}))).await;
    let acme_id = acme["id"].as_i64().unwrap();
    let register = api(
        &app,
        &token,
        post.clone(),
        "/api/cash-registers",
        Some(json!({"client_id": acme_id, "model": "АТОЛ 30Ф", "serial_number": "00106712345678"})),
    )
    .await;
    let types = api(&app, &token, reqwest::Method::GET, "/api/deadline-types", None).await;
    let type_id = types["items"][0]["id"].as_i64().expect("seeded deadline types");
    for days in [-2, 3, 10, 20] {
        let body = json!({"client_id": acme_id, "cash_register_id": register["id"], "deadline_type_id": type_id,
                          "expiration_date": date_in(days)});
        api(&app, &token, post.clone(), "/api/deadlines", Some(body)).await;
    }
    // Two pending requests, filed in Telegram: Ivan is a contact of ООО Ромашка, so his request
    // has that client; Maria is nobody's contact yet.
    let ivan = User::ru(7_100_000_001, "Иван");
    let maria = User::ru(7_100_000_002, "Мария");
    api(&app, &token, post.clone(), "/api/contacts", Some(json!({"client_id": acme_id, "telegram_id": ivan.id}))).await;
    file_request(&app, &ivan, Some("Замена ФН"), "Не печатает чек, ошибка ФН").await;
    file_request(&app, &maria, Some("Продление ОФД"), "Нужно продлить ОФД").await;
    let pending = api(&app, &token, reqwest::Method::GET, "/api/requests?status=pending&sort=number", None).await;
    assert_eq!(pending["total"], 2, "two pending requests: {pending}");
    let ivan_no = pending["items"][0]["number"].as_i64().unwrap();
    let maria_no = pending["items"][1]["number"].as_i64().unwrap();

    // ---- log in; the overview shows the seeded figures and the chart.
    sign_in(&browser, &app, &admin_email, &admin_password).await;
    wait_heading(&browser, "Обзор").await;
    let figures = browser
        .wait_js(
            "the figures",
            "const out = {}; for (const f of document.querySelectorAll('[data-figure]')) \
               out[f.dataset.figure] = f.querySelector('.figure-value').textContent; \
             return Object.keys(out).length ? out : null;",
        )
        .await;
    for (key, value) in [
        ("fig_clients", "2"),
        ("fig_active_cash_registers", "1"),
        ("fig_due_7", "1"),
        ("fig_due_14", "2"),
        ("fig_due_30", "3"),
        ("fig_overdue", "1"),
        ("fig_pending", "2"),
    ] {
        assert_eq!(figures[key], value, "{key} in {figures}");
    }
    let bars = browser
        .wait_js(
            "the chart",
            "return Array.from(document.querySelectorAll('svg.chart .bar')).map(b => b.dataset.count);",
        )
        .await;
    let bars: Vec<&str> = bars.as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
    assert_eq!(bars.len(), 13, "overdue + 12 weeks: {bars:?}");
    assert_eq!(bars[0], "1", "overdue shown apart");
    assert_eq!(bars[1..].iter().map(|b| b.parse::<u32>().unwrap()).sum::<u32>(), 3, "three upcoming deadlines");
    browser.screenshot("overview").await;

    // ---- pending requests: approve Ivan's, reject Maria's with a reason.
    browser.goto(&app.url("/#/requests")).await;
    let ivan_row = format!("tr[data-number='{ivan_no}']");
    let maria_row = format!("tr[data-number='{maria_no}']");
    browser.find(&maria_row).await;
    // Rows name the request type and the client (a link to it), never `#<id>`.
    let ivan_cells = [json!("Замена ФН"), json!("ООО Ромашка"), json!(format!("#/clients/{acme_id}"))];
    let maria_cells = [json!("Продление ОФД"), json!("—"), Value::Null];
    assert_eq!(request_cells(&browser, &ivan_row).await, ivan_cells);
    assert_eq!(request_cells(&browser, &maria_row).await, maria_cells);
    assert_no_ids_in_table(&browser).await;
    browser.screenshot("requests").await;
    browser.click(&format!("{ivan_row} button[data-action=approve]")).await;
    browser
        .wait_js("the approved request to leave the list", &format!("return !document.querySelector(\"{ivan_row}\");"))
        .await;
    wait_for_message(&app, ivan.id, &[&format!("Заявка №{ivan_no} одобрена")]).await;

    browser.click(&format!("{maria_row} button[data-action=reject]")).await;
    browser.type_into("dialog textarea[name=reason]", "Нет договора на обслуживание").await;
    browser.click("dialog button[type=submit]").await;
    browser
        .wait_js("the rejected request to leave the list", &format!("return !document.querySelector(\"{maria_row}\");"))
        .await;
    wait_for_message(&app, maria.id, &[&format!("Заявка №{maria_no} отклонена"), "Нет договора на обслуживание"]).await;

    // The history shows both decisions; a request's page shows its events.
    browser.goto(&app.url("/#/requests/history")).await;
    browser.find(&format!("{maria_row} .badge-rejected")).await;
    browser.find(&format!("{ivan_row} .badge-approved")).await;
    assert_eq!(request_cells(&browser, &ivan_row).await, ivan_cells);
    assert_eq!(request_cells(&browser, &maria_row).await, maria_cells);
    assert_no_ids_in_table(&browser).await;
    browser.screenshot("request-history").await;
    // In English the type's English name is shown.
    browser.click("#lang").await;
    let english = format!(
        "const c = document.querySelector(\"{ivan_row} [data-col=type]\"); return c && c.textContent === 'Fiscal drive replacement';"
    );
    browser.wait_js("the English type name", &english).await;
    browser.click("#lang").await;
    browser.wait_js("the Russian type name", &english.replace("Fiscal drive replacement", "Замена ФН")).await;
    browser.click(&format!("{ivan_row} a")).await;
    browser.wait_js("the request's events", "return document.querySelectorAll('ol.events li').length >= 2;").await;
    let props = browser.text(".page-request .props").await;
    assert!(props.contains("Замена ФН") && props.contains("ООО Ромашка"), "the request's page names both: {props}");
    assert_eq!(browser.text(".page-request .props a").await, "ООО Ромашка");

    // ---- a client, its cash register and a deadline in 5 days (orange: ≤ 7 days).
    browser.goto(&app.url("/#/clients")).await;
    browser.click("#new-client").await;
    browser.type_into("dialog input[name=name]", "ООО Лютик").await;
    browser.type_into("dialog input[name=inn]", "7707083894").await;
    browser.click("dialog button[type=submit]").await;
    // A wrong ИНН is refused before anything is sent.
    let inn_error = browser.text("dialog input[name=inn] ~ .field-error").await;
    assert!(!inn_error.is_empty(), "the wrong ИНН is marked");
    browser.type_into("dialog input[name=inn]", "7728168971").await;
    browser.click("dialog button[type=submit]").await;
    wait_heading(&browser, "ООО Лютик").await;
    let lutik_page = browser.js("return location.href;", json!([])).await.as_str().unwrap().to_string();

    browser.click("#new-cash-register").await;
    browser.type_into("dialog input[name=model]", "Эвотор 7.2").await;
    browser.type_into("dialog input[name=serial_number]", "00307200112233").await;
    browser.click("dialog button[type=submit]").await;
    browser.find("tr[data-cash-register-id]").await;

    browser.click("#new-deadline").await;
    let type_value = browser
        .wait_js("deadline types", "const o = document.querySelector('dialog select[name=deadline_type_id] option:nth-child(2)'); return o && o.value;")
        .await;
    browser.set_value("dialog select[name=deadline_type_id]", type_value.as_str().unwrap()).await;
    let register_value = browser
        .js(
            "return document.querySelector('dialog select[name=cash_register_id] option:nth-child(2)').value;",
            json!([]),
        )
        .await;
    browser.set_value("dialog select[name=cash_register_id]", register_value.as_str().unwrap()).await;
    browser.set_value("dialog input[name=expiration_date]", &date_in(5)).await;
    browser.click("dialog button[type=submit]").await;
    let urgency = browser.wait_js("the deadline's urgency", "const u = document.querySelector('tr[data-deadline-id] [data-urgency]'); return u && [u.dataset.urgency, getComputedStyle(u).backgroundColor];").await;
    assert_eq!(urgency[0], "d7", "5 days left is the ≤ 7 days colour");
    assert_eq!(urgency[1], "rgb(234, 122, 12)", "orange");

    // ---- an invite: the deep link with the code, and its QR code.
    browser.click("#create-invite").await;
    let link = browser
        .wait_js("the invite link", "const i = document.querySelector('#invite-link'); return i && i.value;")
        .await;
    let link = link.as_str().unwrap().to_string();
    assert!(link.starts_with("https://t.me/") && link.contains("?start="), "a deep link: {link}");
    let code = link.rsplit("?start=").next().unwrap();
    assert!(code.len() >= 8, "a code: {link}");
    browser.find("#copy-invite").await;
    check_invite_qr(&browser, &link).await;
    browser.screenshot("client").await;
    browser.click("dialog .dialog-close").await;
    browser.wait_js("the dialog to close", "return !document.querySelector('dialog');").await;
    // Editing the client.
    browser.click("#edit-client").await;
    browser.type_into("dialog input[name=phone]", "+7 495 123-45-67").await;
    browser.click("dialog button[type=submit]").await;
    browser
        .wait_js("the edited phone", "return !document.querySelector('dialog') && document.querySelector('.props').textContent.includes('+7 495 123-45-67');")
        .await;

    // ---- a client named like markup is shown as text and runs nothing.
    browser.goto(&app.url("/#/clients")).await;
    browser.click("#new-client").await;
    browser.type_into("dialog input[name=name]", XSS_NAME).await;
    browser.type_into("dialog input[name=inn]", "7702070139").await;
    browser.click("dialog button[type=submit]").await;
    wait_heading(&browser, XSS_NAME).await;
    browser.goto(&app.url("/#/clients")).await;
    let shown = browser
        .wait_js(
            "the client list",
            &format!(
                "const a = Array.from(document.querySelectorAll('tr[data-client-id] a')).find(a => a.textContent === {}); \
                 return a ? [a.textContent, document.querySelectorAll('main img').length] : null;",
                json!(XSS_NAME)
            ),
        )
        .await;
    assert_eq!(shown, json!([XSS_NAME, 0]), "the name is literal text and no image element exists");
    assert_eq!(browser.alert_text().await, None, "no alert ran");
    browser.screenshot("clients").await;

    // ---- the other main pages.
    browser.goto(&app.url("/#/deadlines")).await;
    browser.find("tr[data-deadline-id] [data-urgency=overdue]").await;
    let colours = browser
        .js(
            "const out = {}; for (const u of document.querySelectorAll('tr[data-deadline-id] [data-urgency]')) \
               out[u.dataset.urgency] = getComputedStyle(u).backgroundColor; return out;",
            json!([]),
        )
        .await;
    assert_eq!(colours["overdue"], "rgb(220, 38, 38)", "overdue is red: {colours}");
    assert_eq!(colours["d7"], "rgb(234, 122, 12)", "≤ 7 days is orange: {colours}");
    assert_eq!(colours["d14"], "rgb(234, 179, 8)", "≤ 14 days is yellow: {colours}");
    browser.screenshot("deadlines").await;
    // Renewing the overdue deadline moves it out of the red.
    browser.click("tr[data-deadline-id]:has([data-urgency=overdue]) button").await;
    browser.set_value("dialog input[name=expiration_date]", &date_in(60)).await;
    browser.click("dialog button[type=submit]").await;
    browser
        .wait_js(
            "the renewed deadline",
            "return !document.querySelector('dialog') && document.querySelectorAll('tr[data-deadline-id]').length === 5 \
               && !document.querySelector('[data-urgency=overdue]');",
        )
        .await;
    browser.goto(&app.url("/#/notifications")).await;
    wait_heading(&browser, "Журнал уведомлений").await;
    browser.wait_js("the notification log", "return document.querySelector('.state-empty, table');").await;
    browser.goto(&app.url("/#/users")).await;
    browser.find("#nav-nav_users").await;
    browser
        .wait_js("the user list", &format!("return document.body.textContent.includes({});", json!(admin_email)))
        .await;
    browser.screenshot("users").await;
    // The API's field errors appear next to their fields (a password the server finds too short).
    browser.click("#new-user").await;
    browser.type_into("dialog input[name=email]", "short@kktbot.local").await;
    browser.type_into("dialog input[name=password]", "short").await;
    browser.click("dialog button[type=submit]").await;
    let error = browser
        .wait_js("the password's error", "const e = document.querySelector('dialog input[name=password] ~ .field-error'); return e && e.textContent;")
        .await;
    assert!(error.as_str().unwrap().contains("at least"), "the server's message: {error}");
    browser.click("dialog .dialog-close").await;
    // An undelivered message is listed with its error and sent again from its page.
    const LOST_CHAT: i64 = 7_100_000_099;
    app.tg().lose_chat(LOST_CHAT);
    kktbot::outbox::enqueue(app.db(), kktbot::outbox::Outgoing::text(LOST_CHAT, "Повтор из панели")).await.unwrap();
    app.settle().await;
    app.tg().find_chat(LOST_CHAT);
    browser.goto(&app.url("/#/outbox")).await;
    wait_heading(&browser, "Недоставленные сообщения").await;
    let row = browser
        .wait_js(
            "the failed message",
            "const r = document.querySelector('tr[data-outbox-id]'); return r && r.textContent;",
        )
        .await;
    assert!(row.as_str().unwrap().contains("chat not found"), "the error is shown: {row}");
    browser.screenshot("outbox").await;
    browser.click(&format!("[data-replay-chat='{LOST_CHAT}']")).await;
    browser
        .wait_js(
            "the emptied list",
            "return !document.querySelector('tr[data-outbox-id]') && document.querySelector('.state-empty');",
        )
        .await;
    wait_for_message(&app, LOST_CHAT, &["Повтор из панели"]).await;
    browser.goto(&app.url("/#/administrators")).await;
    browser.wait_js("the administrators", &format!("return document.body.textContent.includes('{ADMIN_TG}');")).await;
    // English on request, Russian again after.
    browser.click("#lang").await;
    wait_heading(&browser, "Telegram administrators").await;
    browser.click("#lang").await;
    wait_heading(&browser, "Администраторы Telegram").await;
    // Phone width: the pending requests stay usable.
    browser.set_window(390, 844).await;
    browser.goto(&app.url("/#/requests/history")).await;
    browser.find(&format!("{ivan_row} .badge-approved")).await;
    browser.screenshot("phone-requests").await;
    // … and an invite's QR code fits the phone's screen and still reads.
    browser.goto(&lutik_page).await;
    wait_heading(&browser, "ООО Лютик").await;
    browser.click("#create-invite").await;
    let link = browser
        .wait_js("the invite link", "const i = document.querySelector('#invite-link'); return i && i.value;")
        .await;
    check_invite_qr(&browser, link.as_str().unwrap()).await;
    browser.click("dialog .dialog-close").await;
    browser.set_window(1280, 900).await;

    // ---- logout ends the session.
    browser.goto(&app.url("/#/")).await;
    browser.click("#logout").await;
    browser.find(".login-form").await;
    let me = browser.fetch_status("/api/auth/me").await;
    assert_eq!(me, 401, "after logout the browser has no session");
    browser.goto(&app.url("/#/clients")).await;
    browser.find(".login-form").await;

    // ---- an operator sees no users page and is refused it.
    let operator_password = "operator-password-0123";
    api(
        &app,
        &token,
        post.clone(),
        "/api/users",
        Some(json!({"email": "operator@kktbot.local", "password": operator_password, "name": "Оператор", "role": "operator"})),
    )
    .await;
    sign_in(&browser, &app, "operator@kktbot.local", operator_password).await;
    browser.find("#nav-nav_clients").await;
    let links =
        browser.js("return document.querySelectorAll('#nav-nav_users, #nav-nav_admins').length;", json!([])).await;
    assert_eq!(links, 0, "no users or administrators link for an operator");
    browser.goto(&app.url("/#/users")).await;
    browser.find(".page-forbidden").await;
    let users_status = browser.fetch_status("/api/users").await;
    assert_eq!(users_status, 403, "the API refuses the operator too");

    assert_eq!(browser.alert_text().await, None, "no alert ran at any point");
    browser.quit().await;
}
