//! Writing a [`Table`] as CSV (the `csv` crate) or XLSX (`rust_xlsxwriter`).

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

use super::{Cell, Table, neutralise};
use crate::error::{Error, Result};

/// UTF-8 with a byte order mark, `;` between fields, CRLF line ends, dates as ДД.ММ.ГГГГ and
/// times as ДД.ММ.ГГГГ ЧЧ:ММ (UTC).
pub fn csv(table: &Table) -> Vec<u8> {
    csv_part(table, true)
}

/// A part of a CSV file: the table's rows, after the byte order mark and the header when it is
/// the `first` part.
pub fn csv_part(table: &Table, first: bool) -> Vec<u8> {
    let mut out = if first { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
    let mut writer =
        ::csv::WriterBuilder::new().delimiter(b';').terminator(::csv::Terminator::CRLF).from_writer(&mut out);
    let header: Vec<String> = table.columns.iter().map(|c| neutralise(c.header).into_owned()).collect();
    let rows = table.rows.iter().map(|row| row.iter().map(csv_field).collect::<Vec<String>>());
    for record in std::iter::once(header).filter(|_| first).chain(rows) {
        // Writing into a Vec cannot fail.
        let _ = writer.write_record(&record);
    }
    let _ = writer.flush();
    drop(writer);
    out
}

fn csv_field(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => neutralise(s).into_owned(),
        Cell::Number(n) => n.to_string(),
        Cell::Date(d) => d.format("%d.%m.%Y").to_string(),
        Cell::DateTime(t) => t.format("%d.%m.%Y %H:%M").to_string(),
        Cell::Empty => String::new(),
    }
}

fn failed(e: XlsxError) -> Error {
    Error::Conflict(format!("cannot write the spreadsheet: {e}"))
}

/// One sheet: a bold header row, frozen; column widths; dates and times as Excel dates.
pub fn xlsx(table: &Table) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(table.sheet).map_err(failed)?;
    let bold = CellFormat::new().set_bold();
    let date = CellFormat::new().set_num_format("dd.mm.yyyy");
    let time = CellFormat::new().set_num_format("dd.mm.yyyy hh:mm");
    for (col, column) in table.columns.iter().enumerate() {
        let col = col as u16;
        sheet.write_string_with_format(0, col, neutralise(column.header), &bold).map_err(failed)?;
        sheet.set_column_width(col, column.width).map_err(failed)?;
    }
    for (row, cells) in table.rows.iter().enumerate() {
        let row = row as u32 + 1;
        for (col, cell) in cells.iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(row, col, neutralise(s)).map(drop),
                Cell::Number(n) => sheet.write_number(row, col, *n as f64).map(drop),
                Cell::Date(d) => sheet.write_date_with_format(row, col, d, &date).map(drop),
                Cell::DateTime(t) => sheet.write_datetime_with_format(row, col, t.naive_utc(), &time).map(drop),
                Cell::Empty => Ok(()),
            }
            .map_err(failed)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    workbook.save_to_buffer().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::export::Column;

    #[test]
    fn csv_quotes_separators_and_neutralises_formulas() {
        let table = Table {
            sheet: "t",
            columns: vec![Column { header: "a", width: 1.0 }, Column { header: "b", width: 1.0 }],
            rows: vec![
                vec![Cell::Text("a;b".into()), Cell::Text("say \"hi\"".into())],
                vec![Cell::Text("=1+1".into()), Cell::Number(-3)],
                vec![Cell::Date(chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()), Cell::Empty],
            ],
        };
        let text = String::from_utf8(csv(&table)).unwrap();
        assert_eq!(text, "\u{feff}a;b\r\n\"a;b\";\"say \"\"hi\"\"\"\r\n'=1+1;-3\r\n01.03.2027;\r\n");
    }
}
