//! `GET /api/export/{file}`: deadlines, clients with their cash registers, requests or the
//! reminder log as CSV or XLSX (`deadlines.csv`, `clients.xlsx`, …). Each export is audited.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use futures::TryStreamExt;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{Origin, begin};
use super::jwt::CurrentUser;
use super::params::today;
use crate::config::Config;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::export::{self, Export, Format};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download))
}

#[utoipa::path(get, path = "/export/{file}", tag = "export",
    params(("file" = String, Path, description = "`<dataset>.<format>`: dataset `deadlines`, `clients` (a row per cash register), \
        `requests` or `reminders` (the reminder log); format `csv` or `xlsx`")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "CSV: UTF-8 with a byte order mark, `;`-separated, dates as ДД.ММ.ГГГГ. \
            XLSX: one sheet, a frozen bold header, typed dates. Text cells starting with =, +, -, @, tab or CR begin with '",
            content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 422, body = super::openapi::ErrorBody, description = "Unknown dataset or format"),
        (status = 503, body = super::openapi::ErrorBody, description = "The database is unavailable")))]
async fn download(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
    Path(file): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let wanted = Export::parse(&file, "file")?;
    let today = today(&config);
    let txn = begin(&db).await?;
    let (rows, body) = match wanted.format {
        // CSV is written as it is read, a page at a time (memory flat in the rows); the export
        // is recorded with the rows it holds as it starts.
        Format::Csv => {
            let rows = export::count_rows(&txn, wanted.dataset).await?;
            let stream = export::csv_stream(db.clone(), wanted.dataset, today).inspect_err(|e| {
                tracing::error!(error = %e, "an export failed while it was being sent; the download is cut short");
            });
            (rows, Body::from_stream(stream))
        }
        // XLSX is a zip archive written whole: its rows are read in the transaction that records it.
        Format::Xlsx => {
            let table = export::table(&txn, wanted.dataset, today).await?;
            (table.rows.len() as u64, Body::from(export::render(&table, wanted.format)?))
        }
    };
    let details = serde_json::json!({
        "dataset": wanted.dataset.as_str(), "format": wanted.format.as_str(), "rows": rows,
    });
    audit::commit(txn, &origin.of(&user), Entry::general("export", "export").with_details(details)).await?;
    let disposition = format!("attachment; filename=\"{}\"", wanted.file_name(today));
    Ok((
        [(header::CONTENT_TYPE, wanted.format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    ))
}
