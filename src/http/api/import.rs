//! `POST /api/import/preview` and `POST /api/import/apply`: clients, contacts, cash registers
//! and deadlines from an XLSX or CSV file sent as the raw body (admin role, at most the API's
//! 10 MiB); `GET /api/import/template` is the file to fill in.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::Origin;
use super::extract::{ApiJson, ApiQuery};
use super::jwt::RequireAdmin;
use super::openapi::ErrorBody;
use crate::error::Error;
use crate::http::{ApiError, AppState};
use crate::services::export::Format;
use crate::services::import::{self, Applied, Preview};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview)).routes(routes!(apply)).routes(routes!(template))
}

/// What importing the file would do, row by row; nothing is written.
#[utoipa::path(post, path = "/import/preview", tag = "import",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file itself: XLSX, XLS or CSV (UTF-8 or Windows-1251, `;`, `,` or tab between fields), \
            a header row first. Recognised headers, Russian or English, are those of the template \
            (GET /api/import/template) and of OFD cabinets' cash-register exports; other columns are ignored."),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Preview, description = "Each row's outcome (new, update, unchanged, error with the column \
            and the reason) and the digest to confirm with POST /api/import/apply"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "The file is larger than 10 MiB"),
        (status = 422, body = ErrorBody, description = "Not a readable file, no ИНН column, two columns of one field, \
            more rows than 20,000"),
    ))]
async fn preview(
    _admin: RequireAdmin,
    State(db): State<DatabaseConnection>,
    body: Bytes,
) -> Result<ApiJson<Preview>, ApiError> {
    Ok(ApiJson(import::preview(&db, &body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyQuery {
    /// The `digest` of the preview being confirmed.
    #[param(max_length = 64, pattern = r"^[0-9a-f]{64}$")]
    pub digest: String,
}

/// Imports the file previewed: the rows without errors, in one transaction with the audit record.
#[utoipa::path(post, path = "/import/apply", tag = "import", params(ApplyQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The same file as previewed"),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = Applied, description = "The rows created and updated per entity"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The file or the data changed since the preview: \
            it no longer plans to the digest; nothing was written"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn apply(
    RequireAdmin(admin): RequireAdmin,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    ApiQuery(query): ApiQuery<ApplyQuery>,
    body: Bytes,
) -> Result<ApiJson<Applied>, ApiError> {
    let applied = import::apply(&db, &origin.of(&admin), &body, &query.digest, &mut || {}).await?;
    Ok(ApiJson(applied))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `xlsx` (the default) or `csv`.
    #[param(max_length = 4)]
    pub format: Option<String>,
}

/// An empty import file with every recognised column's header.
#[utoipa::path(get, path = "/import/template", tag = "import", params(TemplateQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The template: XLSX (`format=xlsx`) or CSV, UTF-8 with a byte order mark and `;`",
            content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/csv"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn template(
    _admin: RequireAdmin,
    ApiQuery(query): ApiQuery<TemplateQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let format = match query.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => Format::Xlsx,
        "csv" => Format::Csv,
        _ => return Err(Error::invalid("format", "must be xlsx or csv").into()),
    };
    let body = import::template(format)?;
    let disposition = format!("attachment; filename=\"kktbot-import.{}\"", format.as_str());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], body))
}
