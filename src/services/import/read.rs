//! Reading an uploaded file into a header and rows of cells: XLSX (and the older XLS) with
//! calamine, CSV with the csv crate after telling its encoding (UTF-8, with or without a byte
//! order mark, or Windows-1251, decoded with encoding_rs) and its separator (`;`, `,` or tab).

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xls, Xlsx};
use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, FieldError, Result};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 20_000;

/// One cell as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    /// A cell the spreadsheet types as a date.
    Date(NaiveDate),
}

impl Cell {
    /// The cell as text: a whole number without a fraction (an ИНН or a serial number typed as
    /// a number), a date as ДД.ММ.ГГГГ.
    pub fn text(&self) -> Option<String> {
        let text = match self {
            Cell::Empty => return None,
            Cell::Text(s) => s.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.format("%d.%m.%Y").to_string(),
        };
        (!text.is_empty()).then_some(text)
    }
}

/// How the file was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileFormat {
    /// `xlsx`, `xls` or `csv`.
    pub kind: &'static str,
    /// CSV: `utf-8` or `windows-1251`.
    pub encoding: Option<&'static str>,
    /// CSV: the separator.
    pub delimiter: Option<String>,
}

/// Rows of cells, each with its number in the file.
type Grid = Vec<(usize, Vec<Cell>)>;

/// A file's header and data rows; `numbers` are the rows' own numbers in the file (the header
/// is row 1 when it is the first line).
#[derive(Clone, Debug)]
pub struct Sheet {
    pub format: FileFormat,
    pub header: Vec<String>,
    pub rows: Grid,
}

fn unreadable(message: impl Into<String>) -> Error {
    Error::Validation(vec![FieldError::new("file", message)])
}

/// Reads `bytes` as XLSX, XLS or CSV (told apart by their first bytes).
pub fn read(bytes: &[u8]) -> Result<Sheet> {
    let (format, grid) = if bytes.starts_with(b"PK\x03\x04") {
        let book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
            .map_err(|e| unreadable(format!("not a readable XLSX file: {e}")))?;
        (FileFormat { kind: "xlsx", encoding: None, delimiter: None }, first_sheet(book)?)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        let book: Xls<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
            .map_err(|e| unreadable(format!("not a readable XLS file: {e}")))?;
        (FileFormat { kind: "xls", encoding: None, delimiter: None }, first_sheet(book)?)
    } else {
        csv_grid(bytes)?
    };
    let mut grid = grid.into_iter().filter(|(_, row)| row.iter().any(|c| *c != Cell::Empty));
    let (_, header) = grid.next().ok_or_else(|| unreadable("the file holds no rows"))?;
    let header = header.iter().map(|c| c.text().unwrap_or_default()).collect();
    let rows: Vec<_> = grid.collect();
    if rows.len() > MAX_ROWS {
        return Err(unreadable(format!("the file holds {} rows; at most {MAX_ROWS} are imported at once", rows.len())));
    }
    Ok(Sheet { format, header, rows })
}

/// The first worksheet's cells, with their row numbers.
fn first_sheet<RS, R>(mut book: R) -> Result<Grid>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: std::fmt::Display,
{
    let range = match book.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(e)) => return Err(unreadable(format!("the first sheet cannot be read: {e}"))),
        None => return Err(unreadable("the workbook has no sheet")),
    };
    let first = range.start().map_or(0, |(row, _)| row as usize);
    let columns_before = range.start().map_or(0, |(_, col)| col as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut row = vec![Cell::Empty; columns_before];
            row.extend(cells.iter().map(cell));
            (first + i + 1, row)
        })
        .collect())
}

fn cell(data: &Data) -> Cell {
    match data {
        Data::Empty | Data::Error(_) => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(n) => Cell::Number(*n as f64),
        Data::Float(n) => Cell::Number(*n),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(_) | Data::DateTimeIso(_) => data.as_date().map_or(Cell::Empty, Cell::Date),
        Data::DurationIso(s) => Cell::Text(s.clone()),
    }
}

/// Decodes CSV text: UTF-8 (a byte order mark dropped) when it is valid UTF-8, else Windows-1251.
fn decode(bytes: &[u8]) -> (String, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), "utf-8"),
        Err(_) => (encoding_rs::WINDOWS_1251.decode_without_bom_handling(bytes).0.into_owned(), "windows-1251"),
    }
}

/// The separator of the first line: whichever of `;`, `,` and tab it holds most of outside
/// quotes (`,` when none).
fn delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in first.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| *d == b) {
            entry.1 += 1;
        }
    }
    counts.iter().filter(|(_, n)| *n > 0).max_by_key(|(_, n)| *n).map_or(b',', |(d, _)| *d)
}

fn csv_grid(bytes: &[u8]) -> Result<(FileFormat, Grid)> {
    if bytes.contains(&0) {
        return Err(unreadable("not an XLSX, XLS or CSV file"));
    }
    let (text, encoding) = decode(bytes);
    let separator = delimiter(&text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(separator).from_reader(text.as_bytes());
    let mut grid = Vec::new();
    // Line numbers from byte offsets: the csv crate's own count leaves out the empty lines.
    let (mut line, mut counted) = (1, 0);
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(format!("not a readable CSV file: {e}")))?;
        let mut start = record.position().map_or(counted, |p| p.byte() as usize);
        // A record's position is where reading it began, before the empty lines it skipped.
        while matches!(text.as_bytes().get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += text.as_bytes()[counted..start.max(counted)].iter().filter(|b| **b == b'\n').count();
        counted = start.max(counted);
        let cells =
            record.iter().map(|s| if s.trim().is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect();
        grid.push((line, cells));
        if grid.len() > MAX_ROWS + 1 {
            return Err(unreadable(format!("the file holds more than {MAX_ROWS} rows")));
        }
    }
    let shown = if separator == b'\t' { "\\t".to_string() } else { (separator as char).to_string() };
    Ok((FileFormat { kind: "csv", encoding: Some(encoding), delimiter: Some(shown) }, grid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1251_with_semicolons_is_told_apart_from_utf8_with_commas() {
        let (cp1251, _, _) =
            encoding_rs::WINDOWS_1251.encode("ИНН;Наименование\n7707083893;\"ООО \"\"Ромашка; и Ко\"\"\"\n");
        let sheet = read(&cp1251).unwrap();
        assert_eq!(sheet.format.encoding, Some("windows-1251"));
        assert_eq!(sheet.format.delimiter.as_deref(), Some(";"));
        assert_eq!(sheet.header, ["ИНН", "Наименование"]);
        assert_eq!(
            sheet.rows,
            [(2, vec![Cell::Text("7707083893".into()), Cell::Text("ООО \"Ромашка; и Ко\"".into())])]
        );

        let sheet = read("\u{feff}\"ИНН, номер\",Name\n\n7707083893,ООО Ромашка\n".as_bytes()).unwrap();
        assert_eq!((sheet.format.encoding, sheet.format.delimiter.as_deref()), (Some("utf-8"), Some(",")));
        assert_eq!(sheet.header, ["ИНН, номер", "Name"]);
        assert_eq!(sheet.rows[0].0, 3, "the row keeps its line number past an empty line");
    }

    #[test]
    fn numbers_read_as_text_keep_every_digit() {
        assert_eq!(Cell::Number(7707083893.0).text().as_deref(), Some("7707083893"));
        assert_eq!(Cell::Number(1.5).text().as_deref(), Some("1.5"));
        assert_eq!(Cell::Text("  ".into()).text(), None);
    }

    #[test]
    fn an_empty_or_binary_file_is_refused() {
        assert!(read(b"").is_err());
        assert!(read(b"\x00\x01\x02").is_err());
        assert!(read(b"PK\x03\x04garbage").is_err());
    }
}
