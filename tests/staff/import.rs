//! Import through the API: an XLSX laid out like an OFD cabinet's cash-register export and a
//! Windows-1251 `;` CSV, each with good and bad rows, preview row by row exactly, apply, and
//! preview and apply again as no change; a file or data changed since the preview is refused;
//! a failed audit record leaves nothing imported; only admins import.

use chrono::NaiveDate;
use kktbot::entities::{cash_register, client, contact, deadline};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use super::audit::break_audit;
use super::{admin_token, builder, call, code, create_user, ok, token};
use crate::support::{Backend, TestApp, backend_test, count_rows};

/// A cell of a test spreadsheet.
pub enum X {
    S(&'static str),
    N(f64),
    /// A typed date, `YYYY-MM-DD`.
    D(&'static str),
    E,
}

/// An XLSX file with one sheet: `header`, then `rows`.
pub fn xlsx(header: &[&str], rows: &[Vec<X>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    for (col, h) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (col, cell) in row.iter().enumerate() {
            let (r, col) = (r as u32 + 1, col as u16);
            match cell {
                X::S(s) => drop(sheet.write_string(r, col, *s).unwrap()),
                X::N(n) => drop(sheet.write_number(r, col, *n).unwrap()),
                X::D(d) => drop(sheet.write_date_with_format(r, col, day(d), &date).unwrap()),
                X::E => {}
            }
        }
    }
    book.save_to_buffer().unwrap()
}

pub fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// The OFD-export-like workbook: the seeded client's register completed, a new client with two
/// registers and a contact, three rows with errors and a row that changes nothing.
pub fn ofd_export() -> Vec<u8> {
    use X::*;
    let header = [
        "Наименование пользователя",
        "ИНН пользователя",
        "Модель ККТ",
        "Заводской номер ККТ",
        "Регистрационный номер ККТ",
        "Заводской номер ФН",
        "Дата окончания срока действия ФН",
        "ОФД",
        "Адрес расчётов",
        "Telegram ID",
        "Примечание",
    ];
    let rows = vec![
        vec![
            S("ООО Ромашка"),
            S("7707083893"),
            S("АТОЛ 30Ф"),
            S("00106700000001"),
            S("0000000001012345"),
            S("9960440300000001"),
            D("2027-06-30"),
            S("Первый ОФД"),
            S("г. Москва, ул. Ленина, 1"),
            E,
            S("касса в зале"),
        ],
        vec![
            S("ИП Васильков"),
            N(7736207543.0),
            S("Эвотор 7.2"),
            S("00307200000002"),
            E,
            S("9960440300000002"),
            S("15.09.2027"),
            S("ООО «Такском»"),
            E,
            N(7100000001.0),
        ],
        vec![S("ООО Ошибка"), S("7707083894"), S("Меркурий"), S("00400000000009")],
        vec![S("ООО Лютик"), S("7728168971"), S("Меркурий"), S("00400000000003"), E, E, E, S("Неизвестный ОФД")],
        vec![S("ООО Василёк"), S("7702070139"), S("Меркурий"), S("00400000000004"), E, E, S("скоро")],
        vec![S("ООО Ромашка"), S("7707083893")],
        vec![S("ИП Васильков"), S("7736207543"), S("Эвотор 7.2"), S("00307200000005"), E, E, D("2028-01-31")],
    ];
    xlsx(&header, &rows)
}

/// The Windows-1251 CSV with `;`: the new client's contact person, phone and contact's name,
/// another new client with a contact and an OFD deadline, two rows with errors, and an OFD
/// deadline for the seeded register.
pub fn cp1251_csv() -> Vec<u8> {
    let text = "ИНН;Наименование;Контактное лицо;Телефон;Telegram ID;Имя контакта;Оплачено ОФД до;Заводской номер ККТ\r\n\
        7736207543;ИП Васильков;Василий Петрович;+7 900 000-00-00;7100000001;Василий;;\r\n\
        7710140679;\"ООО \"\"Север; и Ко\"\"\";;;7100000002;;31.12.2027;\r\n\
        7707083893;ООО Ромашка;;;abc;;;\r\n\
        7707083893;ООО Ромашка;;;;;32.13.2027;00106700000001\r\n\
        7707083893;ООО Ромашка;;;;;01.07.2027;00106700000001\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

pub async fn post_file(app: &TestApp, token: &str, path: &str, file: &[u8]) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Each row as `(row, outcome, the columns of its errors)`.
fn outcomes(preview: &Value) -> Vec<(u64, String, Vec<String>)> {
    let rows = preview["rows"].as_array().unwrap_or_else(|| panic!("a preview: {preview}"));
    rows.iter()
        .map(|r| {
            let columns = r["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap().into());
            (r["row"].as_u64().unwrap(), r["outcome"].as_str().unwrap().into(), columns.collect())
        })
        .collect()
}

/// A row's changes as `entity key action [fields]`.
fn changes(preview: &Value, row: u64) -> Vec<String> {
    let row = preview["rows"].as_array().unwrap().iter().find(|r| r["row"] == row).unwrap();
    let change = |c: &Value| {
        let fields: Vec<&str> = c["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        format!(
            "{} {} {} {fields:?}",
            c["entity"].as_str().unwrap(),
            c["key"].as_str().unwrap(),
            c["action"].as_str().unwrap()
        )
    };
    row["changes"].as_array().unwrap().iter().map(change).collect()
}

fn row(n: u64, outcome: &str, errors: &[&str]) -> (u64, String, Vec<String>) {
    (n, outcome.into(), errors.iter().map(|e| e.to_string()).collect())
}

/// Previews `file`, applies it and returns (preview, applied).
async fn preview_and_apply(app: &TestApp, admin: &str, file: &[u8]) -> (Value, Value) {
    let (status, preview) = post_file(app, admin, "/api/import/preview", file).await;
    assert_eq!(status, 200, "{preview}");
    let digest = preview["digest"].as_str().unwrap();
    let (status, applied) = post_file(app, admin, &format!("/api/import/apply?digest={digest}"), file).await;
    assert_eq!(status, 200, "{applied}");
    (preview, applied)
}

fn written(applied: &Value) -> Value {
    applied["written"].clone()
}

/// `written` of an import that changed nothing.
fn nothing() -> Value {
    let none = json!({"created": 0, "updated": 0});
    json!({"clients": none, "contacts": none, "cash_registers": none, "deadlines": none})
}

/// Seeds the client ООО Ромашка with one bare cash register.
pub async fn seed(app: &TestApp, admin: &str) -> i64 {
    let client = json!({"name": "ООО Ромашка", "inn": "7707083893"});
    let id = ok(app, admin, Method::POST, "/api/clients", Some(client)).await["id"].as_i64().unwrap();
    let register = json!({"client_id": id, "model": "АТОЛ 30Ф", "serial_number": "00106700000001"});
    ok(app, admin, Method::POST, "/api/cash-registers", Some(register)).await;
    id
}

backend_test!(an_xlsx_and_a_windows_1251_csv_preview_exactly_apply_and_apply_again_as_no_change);
async fn an_xlsx_and_a_windows_1251_csv_preview_exactly_apply_and_apply_again_as_no_change(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    seed(&app, &admin).await;
    let file = ofd_export();

    let (status, preview) = post_file(&app, &admin, "/api/import/preview", &file).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["format"]["kind"], "xlsx");
    let expected = vec![
        row(2, "update", &[]),
        row(3, "new", &[]),
        row(4, "error", &["ИНН пользователя"]),
        row(5, "error", &["ОФД"]),
        row(6, "error", &["Дата окончания срока действия ФН"]),
        row(7, "unchanged", &[]),
        row(8, "new", &[]),
    ];
    assert_eq!(outcomes(&preview), expected);
    assert_eq!(
        changes(&preview, 2),
        [
            "client 7707083893 unchanged []",
            "cash_register 00106700000001 update [\"registration_number\", \"fiscal_drive_number\", \"address\", \"ofd_provider_id\"]",
            "deadline fn 00106700000001 new []",
        ]
    );
    assert_eq!(
        changes(&preview, 3),
        [
            "client 7736207543 new [\"name\"]",
            "cash_register 00307200000002 new [\"model\", \"fiscal_drive_number\", \"ofd_provider_id\"]",
            "contact 7100000001 new []",
            "deadline fn 00307200000002 new []",
        ]
    );
    let errors = &preview["rows"][2]["errors"][0];
    assert!(errors["message"].as_str().unwrap().contains("not a valid ИНН"), "{errors}");
    assert!(preview["rows"][3]["errors"][0]["message"].as_str().unwrap().contains("unknown OFD «Неизвестный ОФД»"));
    assert!(preview["rows"][4]["errors"][0]["message"].as_str().unwrap().contains("«скоро» is not a date"));
    let ignored: Vec<&Value> = preview["columns"].as_array().unwrap().iter().filter(|c| c["field"].is_null()).collect();
    assert_eq!(ignored.len(), 1, "only Примечание is ignored: {ignored:?}");
    assert_eq!(preview["summary"], json!({"rows": 7, "new": 2, "update": 1, "unchanged": 1, "error": 3}));
    assert_eq!(count_rows(app.db(), "deadlines").await, 0, "a preview writes nothing");

    let digest = preview["digest"].as_str().unwrap();
    let (status, applied) = post_file(&app, &admin, &format!("/api/import/apply?digest={digest}"), &file).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(
        written(&applied),
        json!({"clients": {"created": 1, "updated": 0}, "contacts": {"created": 1, "updated": 0},
               "cash_registers": {"created": 2, "updated": 1}, "deadlines": {"created": 3, "updated": 0}})
    );
    let register = cash_register::Entity::find()
        .filter(cash_register::Column::SerialNumber.eq("00106700000001"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(register.registration_number.as_deref(), Some("0000000001012345"));
    assert_eq!(register.fiscal_drive_number.as_deref(), Some("9960440300000001"));
    assert_eq!(register.address.as_deref(), Some("г. Москва, ул. Ленина, 1"));
    assert!(register.ofd_provider_id.is_some());
    let vasilkov = client::Entity::find().filter(client::Column::Inn.eq("7736207543")).one(app.db()).await.unwrap();
    let vasilkov = vasilkov.expect("the new client, its ИНН read from a number cell");
    assert_eq!(vasilkov.name, "ИП Васильков");
    let dates: Vec<NaiveDate> = deadline::Entity::find()
        .filter(deadline::Column::ClientId.eq(vasilkov.id))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.expiration_date)
        .collect();
    assert_eq!(dates.len(), 2);
    assert!(dates.contains(&day("2027-09-15")) && dates.contains(&day("2028-01-31")), "{dates:?}");
    for table in ["clients", "cash_registers"] {
        assert_eq!(count_rows(app.db(), table).await, 2 + i64::from(table == "cash_registers"), "{table}");
    }

    // The same file again: every good row unchanged, nothing written.
    let (again, applied) = preview_and_apply(&app, &admin, &file).await;
    let unchanged: Vec<_> = expected
        .iter()
        .map(|(n, o, e)| (*n, if o == "error" { o.clone() } else { "unchanged".into() }, e.clone()))
        .collect();
    assert_eq!(outcomes(&again), unchanged);
    assert_eq!(written(&applied), nothing());

    // The CSV in Windows-1251 with `;`.
    let csv = cp1251_csv();
    let (preview, applied) = preview_and_apply(&app, &admin, &csv).await;
    assert_eq!(
        (preview["format"]["encoding"].as_str(), preview["format"]["delimiter"].as_str()),
        (Some("windows-1251"), Some(";"))
    );
    assert_eq!(
        outcomes(&preview),
        [
            row(2, "update", &[]),
            row(3, "new", &[]),
            row(4, "error", &["Telegram ID"]),
            row(5, "error", &["Оплачено ОФД до"]),
            row(6, "update", &[])
        ]
    );
    assert_eq!(
        changes(&preview, 2),
        ["client 7736207543 update [\"contact_person\", \"phone\"]", "contact 7100000001 update [\"name\"]"]
    );
    assert_eq!(
        changes(&preview, 3),
        ["client 7710140679 new [\"name\"]", "contact 7100000002 new []", "deadline ofd 7710140679 new []"]
    );
    assert_eq!(
        written(&applied),
        json!({"clients": {"created": 1, "updated": 1}, "contacts": {"created": 1, "updated": 1},
               "cash_registers": {"created": 0, "updated": 0}, "deadlines": {"created": 2, "updated": 0}})
    );
    let north =
        client::Entity::find().filter(client::Column::Inn.eq("7710140679")).one(app.db()).await.unwrap().unwrap();
    assert_eq!(north.name, "ООО \"Север; и Ко\"", "a quoted separator is part of the name");
    let named = contact::Entity::find().filter(contact::Column::TelegramId.eq(7_100_000_001_i64)).one(app.db()).await;
    assert_eq!(named.unwrap().unwrap().name.as_deref(), Some("Василий"));
    let (again, applied) = preview_and_apply(&app, &admin, &csv).await;
    assert_eq!(
        outcomes(&again),
        [
            row(2, "unchanged", &[]),
            row(3, "unchanged", &[]),
            row(4, "error", &["Telegram ID"]),
            row(5, "error", &["Оплачено ОФД до"]),
            row(6, "unchanged", &[])
        ]
    );
    assert_eq!(written(&applied), nothing());

    // Each import is one audit record with its figures.
    let records = ok(&app, &admin, Method::GET, "/api/audit?action=import&per_page=100", None).await;
    let records = records["items"].as_array().unwrap();
    assert_eq!(records.len(), 4, "{records:?}");
    assert_eq!(records[3]["changes"]["written"]["cash_registers"]["created"], 2);
    assert_eq!(records[3]["changes"]["error"], 3);
    app.shutdown().await;
}

backend_test!(an_import_is_all_or_nothing_and_confirms_what_was_previewed);
async fn an_import_is_all_or_nothing_and_confirms_what_was_previewed(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    seed(&app, &admin).await;
    let file = ofd_export();
    let (_, preview) = post_file(&app, &admin, "/api/import/preview", &file).await;
    let digest = preview["digest"].as_str().unwrap().to_string();
    let apply = format!("/api/import/apply?digest={digest}");
    let counts = || async {
        let mut out = Vec::new();
        for table in ["clients", "cash_registers", "contacts", "deadlines", "audit_log"] {
            out.push(count_rows(app.db(), table).await);
        }
        out
    };
    let before = counts().await;

    // The audit record cannot be written: nothing of the import is either.
    break_audit(&app, true).await;
    let (status, body) = post_file(&app, &admin, &apply, &file).await;
    assert_eq!((status, code(&body)), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{body}");
    break_audit(&app, false).await;
    assert_eq!(counts().await, before, "no row of the import, and no record");
    let register = cash_register::Entity::find()
        .filter(cash_register::Column::SerialNumber.eq("00106700000001"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(register.fiscal_drive_number, None, "the update was undone too");

    // Another file, or the same file once the data changed, does not match the digest.
    let (status, body) = post_file(&app, &admin, &apply, &cp1251_csv()).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "conflict"));
    let other = json!({"name": "ИП Васильков", "inn": "7736207543"});
    ok(&app, &admin, Method::POST, "/api/clients", Some(other)).await;
    let (status, _) = post_file(&app, &admin, &apply, &file).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(count_rows(app.db(), "deadlines").await, 0);
    // A fresh preview applies.
    let (_, applied) = preview_and_apply(&app, &admin, &file).await;
    assert_eq!(applied["written"]["clients"]["created"], 0, "the client exists now");
    assert_eq!(applied["written"]["cash_registers"]["created"], 2);

    // Files that are not imports, and who may import.
    let (status, body) = post_file(&app, &admin, "/api/import/preview", b"name;phone\nx;y\n").await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    assert!(body["error"]["details"]["fields"][0]["message"].as_str().unwrap().contains("no ИНН column"), "{body}");
    let (status, _) = post_file(&app, &admin, "/api/import/preview", b"").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = post_file(&app, &admin, "/api/import/preview", b"PK\x03\x04broken").await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    create_user(&app, &admin, "op@example.com", "operator-password-1", "operator").await;
    let operator = token(&app, "op@example.com", "operator-password-1").await;
    let (status, body) = post_file(&app, &operator, "/api/import/preview", &file).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = call(&app, &operator, Method::GET, "/api/import/template", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.shutdown().await;
}

backend_test!(the_template_lists_every_recognised_column_and_previews_empty);
async fn the_template_lists_every_recognised_column_and_previews_empty(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    for format in ["xlsx", "csv"] {
        let res =
            app.http.get(app.url(&format!("/api/import/template?format={format}"))).bearer_auth(&admin).send().await;
        let res = res.unwrap();
        assert_eq!(res.status(), 200);
        let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
        assert!(disposition.ends_with(&format!(".{format}\"")), "{disposition}");
        let file = res.bytes().await.unwrap();
        let (status, preview) = post_file(&app, &admin, "/api/import/preview", &file).await;
        assert_eq!(status, 200, "{preview}");
        let columns = preview["columns"].as_array().unwrap();
        assert_eq!(columns.len(), kktbot::services::import::columns::FIELDS.len());
        assert!(columns.iter().all(|c| !c["field"].is_null()), "every header recognised: {columns:?}");
        assert_eq!(preview["summary"]["rows"], 0);
    }
    let (status, _) = call(&app, &admin, Method::GET, "/api/import/template?format=pdf", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The document names both of the template's content types.
    let doc = ok(&app, &admin, Method::GET, "/api/openapi.json", None).await;
    let content = &doc["paths"]["/api/import/template"]["get"]["responses"]["200"]["content"];
    assert!(content.get("text/csv").is_some(), "{content}");
    assert!(content.get("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet").is_some(), "{content}");
    let preview = &doc["paths"]["/api/import/preview"]["post"];
    assert!(preview["requestBody"]["content"].get("application/octet-stream").is_some(), "{preview}");
    assert!(preview["responses"].get("415").is_none(), "any file is taken: no 415");
    app.shutdown().await;
}
