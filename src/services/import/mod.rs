//! Importing clients, their contacts, cash registers and deadlines from an XLSX or CSV file.
//!
//! [`preview`] reads the file ([`read`]), recognises its columns ([`columns`]) and plans every
//! row against the database ([`plan`]) without writing anything: each row's outcome is `new`,
//! `update`, `unchanged` or `error` (with the column and the reason). The preview's `digest`
//! covers every outcome and every planned write. [`apply`] plans the same file again in one
//! transaction, refuses it if the digest differs from the one confirmed (the file or the data
//! changed since), carries out the writes of the rows without errors ([`write`]) and records the
//! import in the audit log, all committed together. Rows match by ИНН, serial number and fiscal
//! drive number, so importing the same file again changes nothing.

pub mod columns;
mod plan;
mod read;
mod world;
mod write;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use columns::Field;
pub use read::{FileFormat, MAX_ROWS};

use super::audit::{self, Actor, Entry};
use super::export;
use crate::error::{Error, FieldError, Result};

/// What importing a row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Creates its cash register (or, in a row without one, its client).
    New,
    /// Changes or adds something to what exists.
    Update,
    Unchanged,
    /// Not imported: see its errors.
    Error,
}

/// What importing a row does to one entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    New,
    Update,
    Unchanged,
}

/// One entity a row touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// `client`, `cash_register`, `contact` or `deadline`.
    pub entity: &'static str,
    /// The ИНН, the serial number, the Telegram id, or the deadline type and its register's
    /// serial number (or the client's ИНН).
    pub key: String,
    pub action: Action,
    /// The fields an update changes.
    pub fields: Vec<&'static str>,
}

/// Why a row is not imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The column's header as in the file (the expected header when the file has no such column).
    pub column: String,
    pub field: Option<Field>,
    pub message: String,
}

/// One row of the file and what importing it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowOutcome {
    /// The row's number in the file (the header's is 1 when it is the first line).
    pub row: usize,
    pub outcome: Outcome,
    pub inn: Option<String>,
    pub serial_number: Option<String>,
    pub changes: Vec<Change>,
    pub errors: Vec<RowError>,
}

/// A column of the file and the field recognised in its header (none: the column is ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Column {
    pub header: String,
    pub field: Option<Field>,
}

/// How many rows have each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub rows: usize,
    pub new: usize,
    pub update: usize,
    pub unchanged: usize,
    pub error: usize,
}

/// What importing a file would do.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub format: FileFormat,
    pub columns: Vec<Column>,
    pub rows: Vec<RowOutcome>,
    pub summary: Summary,
    /// How many rows would be written (created or updated) in all.
    pub writes: usize,
    /// SHA-256 of the outcomes and writes, hex: what applying the import confirms.
    pub digest: String,
}

/// Rows created and updated of one entity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub created: u64,
    pub updated: u64,
}

/// Rows created and updated, per entity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub clients: Tally,
    pub contacts: Tally,
    pub cash_registers: Tally,
    pub deadlines: Tally,
}

/// What an applied import did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Applied {
    pub summary: Summary,
    pub written: Counts,
    pub digest: String,
}

struct Planned {
    preview: Preview,
    ops: Vec<plan::Op>,
}

fn plan(world: world::World, sheet: read::Sheet) -> Result<Planned> {
    let mut headers: Vec<(Field, usize, String)> = Vec::new();
    let mut columns = Vec::new();
    for (index, header) in sheet.header.iter().enumerate() {
        let field = Field::recognise(header);
        if let Some(field) = field {
            if let Some((.., other)) = headers.iter().find(|(f, ..)| *f == field) {
                let message = format!("the columns «{other}» and «{header}» hold the same thing");
                return Err(Error::Validation(vec![FieldError::new("file", message)]));
            }
            headers.push((field, index, header.clone()));
        }
        columns.push(Column { header: header.clone(), field });
    }
    if !headers.iter().any(|(f, ..)| *f == Field::Inn) {
        let found = sheet.header.iter().map(|h| format!("«{h}»")).collect::<Vec<_>>().join(", ");
        let message = format!("no ИНН column among {found}; the template lists the headers recognised");
        return Err(Error::Validation(vec![FieldError::new("file", message)]));
    }
    let mut planner = plan::Planner { world, headers: &headers };
    let mut rows = Vec::with_capacity(sheet.rows.len());
    let mut ops = Vec::new();
    let mut summary = Summary::default();
    for (number, cells) in &sheet.rows {
        let (outcome, row_ops) = planner.row(*number, cells);
        summary.rows += 1;
        match outcome.outcome {
            Outcome::New => summary.new += 1,
            Outcome::Update => summary.update += 1,
            Outcome::Unchanged => summary.unchanged += 1,
            Outcome::Error => summary.error += 1,
        }
        rows.push(outcome);
        ops.extend(row_ops);
    }
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&rows).unwrap_or_default());
    hasher.update(serde_json::to_vec(&ops).unwrap_or_default());
    let digest = format!("{:x}", hasher.finalize());
    let preview = Preview { format: sheet.format, columns, rows, summary, writes: ops.len(), digest };
    Ok(Planned { preview, ops })
}

/// What importing `bytes` would do; nothing is written.
pub async fn preview(db: &impl ConnectionTrait, bytes: &[u8]) -> Result<Preview> {
    let sheet = read::read(bytes)?;
    Ok(plan(world::World::load(db).await?, sheet)?.preview)
}

/// Imports `bytes` in one transaction with its audit record, provided it still plans to the
/// `digest` of the preview that was confirmed (409 otherwise). Rows with errors are left out.
/// `on_write` is called after each row written.
pub async fn apply(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: &[u8],
    digest: &str,
    on_write: &mut (dyn FnMut() + Send),
) -> Result<Applied> {
    let sheet = read::read(bytes)?;
    let txn = audit::begin(db).await?;
    let planned = plan(world::World::load(&txn).await?, sheet)?;
    let preview = planned.preview;
    if preview.digest != digest.trim() {
        return Err(Error::Conflict(
            "the file or the data changed since the preview that was confirmed; preview it again".into(),
        ));
    }
    // Another import or edit of the same rows committed since this plan was read (PostgreSQL
    // lets both read first): refused like a changed file, nothing written.
    let written = write::run(&txn, &planned.ops, on_write).await.map_err(|e| match e {
        Error::Database(db) if super::is_unique_violation(&db) => {
            Error::Conflict("the same clients or cash registers were written meanwhile; preview the file again".into())
        }
        other => other,
    })?;
    let details = serde_json::json!({
        "format": preview.format.kind, "rows": preview.summary.rows, "new": preview.summary.new,
        "update": preview.summary.update, "unchanged": preview.summary.unchanged, "error": preview.summary.error,
        "written": written, "digest": preview.digest,
    });
    audit::commit(txn, actor, Entry::general("import", "import").with_details(details)).await?;
    Ok(Applied { summary: preview.summary, written, digest: preview.digest })
}

/// An empty file with the Russian header of every recognised column, to fill in.
pub fn template(format: export::Format) -> Result<Vec<u8>> {
    let columns = columns::FIELDS
        .iter()
        .map(|(_, ru, ..)| export::Column { header: ru, width: (ru.chars().count() as f64 + 4.0).max(14.0) })
        .collect();
    export::render(&export::Table { sheet: "Импорт", columns, rows: Vec::new() }, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_the_usual_ways_and_anything_else_is_not_a_date() {
        use chrono::NaiveDate;
        use read::Cell;
        let day = NaiveDate::from_ymd_opt(2027, 3, 1);
        for text in ["01.03.2027", "2027-03-01", "01/03/2027", "01.03.2027 00:00:00", "2027-03-01T00:00:00"] {
            assert_eq!(plan::parse_date(&Cell::Text(text.into())), day, "{text}");
        }
        assert_eq!(plan::parse_date(&Cell::Date(day.unwrap())), day);
        for text in ["скоро", "31.02.2027", "01.03.3500", ""] {
            assert_eq!(plan::parse_date(&Cell::Text(text.into())), None, "{text}");
        }
        assert_eq!(plan::parse_date(&Cell::Number(46082.0)), None, "an untyped number is not taken for a date");
    }

    #[test]
    fn the_template_holds_every_field_and_reads_back() {
        let csv = template(export::Format::Csv).unwrap();
        let sheet = read::read(&csv).unwrap();
        let fields: Vec<Option<Field>> = sheet.header.iter().map(|h| Field::recognise(h)).collect();
        let all: Vec<Option<Field>> = columns::FIELDS.iter().map(|(f, ..)| Some(*f)).collect();
        assert_eq!(fields, all);
        assert!(sheet.rows.is_empty());
        let xlsx = template(export::Format::Xlsx).unwrap();
        assert_eq!(read::read(&xlsx).unwrap().header, sheet.header);
    }
}
