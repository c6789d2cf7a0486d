//! `GET /api/export/deadlines.csv`: every deadline as CSV for Excel.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::Origin;
use super::jwt::CurrentUser;
use super::params::today;
use crate::config::Config;
use crate::http::{ApiError, AppState};
use crate::services::audit::{self, Entry};
use crate::services::{deadlines, export};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deadlines_csv))
}

#[utoipa::path(get, path = "/export/deadlines.csv", tag = "export", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "UTF-8 CSV with a byte order mark, `;`-separated, dates as ДД.ММ.ГГГГ",
            content_type = "text/csv", body = String),
        (status = 401, body = super::openapi::ErrorBody, description = "Not signed in"),
        (status = 503, body = super::openapi::ErrorBody, description = "The database is unavailable")))]
async fn deadlines_csv(
    user: CurrentUser,
    origin: Origin,
    State(db): State<DatabaseConnection>,
    State(config): State<Arc<Config>>,
) -> Result<impl IntoResponse, ApiError> {
    let today = today(&config);
    let views = deadlines::all(&db).await?;
    let body = export::deadlines_csv(&views, today);
    let details = serde_json::json!({"format": "csv", "rows": views.len()});
    audit::record_alone(&db, &origin.of(&user), Entry::general("export", "deadline").with_details(details)).await?;
    let disposition = format!("attachment; filename=\"deadlines-{}.csv\"", today.format("%Y-%m-%d"));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    ))
}
