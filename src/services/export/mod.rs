//! Exports of the company's data — deadlines, clients with their cash registers, requests and
//! the reminder log — as CSV that Russian-locale Excel opens as it is (UTF-8 with a byte order
//! mark, `;` between fields, dates as ДД.ММ.ГГГГ) or as XLSX (typed dates, a bold frozen header
//! row, column widths).
//!
//! Every text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
//! neutralised with a leading `'` (OWASP's rule against formula injection), in both formats.
//! Numbers kktbot computes itself (days left, attempts) are written as numbers.

mod sheets;
mod stream;
mod write;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::error::{Error, Result};

pub use sheets::DEADLINES_HEADER as HEADER;
pub use stream::{PAGE, count as count_rows, csv as csv_stream};

/// What is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    Deadlines,
    /// Clients with their cash registers, a row per register.
    Clients,
    Requests,
    /// The reminder log.
    Reminders,
}

impl Dataset {
    pub const ALL: [Dataset; 4] = [Dataset::Deadlines, Dataset::Clients, Dataset::Requests, Dataset::Reminders];

    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Deadlines => "deadlines",
            Dataset::Clients => "clients",
            Dataset::Requests => "requests",
            Dataset::Reminders => "reminders",
        }
    }
}

/// In which format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// One export: a dataset in a format, named `<dataset>.<format>` (`deadlines.xlsx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export {
    pub dataset: Dataset,
    pub format: Format,
}

impl Export {
    /// Parses `<dataset>.<format>`; anything else is a validation error naming `field`.
    pub fn parse(name: &str, field: &'static str) -> Result<Export> {
        let invalid = || {
            let names: Vec<String> = Dataset::ALL.iter().map(|d| format!("{}.csv|xlsx", d.as_str())).collect();
            Error::invalid(field, format!("must be one of {}", names.join(", ")))
        };
        let (dataset, format) = name.rsplit_once('.').ok_or_else(invalid)?;
        let dataset = Dataset::ALL.into_iter().find(|d| d.as_str() == dataset).ok_or_else(invalid)?;
        let format = match format {
            "csv" => Format::Csv,
            "xlsx" => Format::Xlsx,
            _ => return Err(invalid()),
        };
        Ok(Export { dataset, format })
    }

    pub fn name(self) -> String {
        format!("{}.{}", self.dataset.as_str(), self.format.as_str())
    }

    /// The file name for a download made on `today`: `deadlines-2026-12-01.xlsx`.
    pub fn file_name(self, today: NaiveDate) -> String {
        format!("{}-{}.{}", self.dataset.as_str(), today.format("%Y-%m-%d"), self.format.as_str())
    }
}

/// One cell of a sheet.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(i64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        s.to_string().into()
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Cell::Empty, Cell::from)
    }
}

impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Self {
        Cell::Date(d)
    }
}

impl From<Option<DateTime<Utc>>> for Cell {
    fn from(d: Option<DateTime<Utc>>) -> Self {
        d.map_or(Cell::Empty, Cell::DateTime)
    }
}

/// A column: its header and its width in characters (XLSX).
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub header: &'static str,
    pub width: f64,
}

/// A table to export: its sheet name, columns and rows.
#[derive(Clone, Debug)]
pub struct Table {
    pub sheet: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// A text cell made safe for a spreadsheet: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'`, so it is shown as text and never run as a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The rows of a dataset as of `today` (what "days left" counts from).
pub async fn table(db: &impl ConnectionTrait, dataset: Dataset, today: NaiveDate) -> Result<Table> {
    match dataset {
        Dataset::Deadlines => {
            let views = super::deadlines::all(db).await?;
            Ok(sheets::deadlines(&views, today))
        }
        Dataset::Clients => sheets::clients(db).await,
        Dataset::Requests => sheets::requests(db).await,
        Dataset::Reminders => sheets::reminders(db).await,
    }
}

/// The file's bytes.
pub fn render(table: &Table, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Csv => Ok(write::csv(table)),
        Format::Xlsx => write::xlsx(table),
    }
}

/// The CSV bytes of these deadlines, as of `today`.
pub fn deadlines_csv(views: &[super::deadlines::DeadlineView], today: NaiveDate) -> Vec<u8> {
    write::csv(&sheets::deadlines(views, today))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised() {
        for text in ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(text), format!("'{text}"), "{text:?}");
        }
        for text in ["ООО «Ромашка»", "1-2", "a=b", ""] {
            assert_eq!(neutralise(text), text);
        }
    }

    #[test]
    fn export_names_parse_strictly() {
        let e = Export::parse("clients.xlsx", "file").unwrap();
        assert_eq!((e.dataset, e.format, e.name()), (Dataset::Clients, Format::Xlsx, "clients.xlsx".to_string()));
        assert_eq!(e.file_name(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()), "clients-2026-12-01.xlsx");
        for bad in ["clients", "clients.pdf", "users.csv", ".csv", "deadlines.csv.xlsx"] {
            assert!(Export::parse(bad, "file").is_err(), "{bad}");
        }
    }
}
