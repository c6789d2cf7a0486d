//! The deadlines export: CSV that Russian-locale Excel opens as it is (UTF-8 with a byte order
//! mark, `;` between fields, dates as ДД.ММ.ГГГГ).

use chrono::NaiveDate;

use super::deadlines::DeadlineView;
use crate::entities::deadline::Status;

pub const HEADER: [&str; 9] =
    ["Клиент", "ИНН", "ККТ", "Заводской номер", "Тип срока", "Дата окончания", "Статус", "Осталось дней", "Примечание"];

/// Quotes a field when it holds a separator, a quote or a line break.
fn field(value: &str) -> String {
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Active => "активен",
        Status::Expired => "просрочен",
        Status::Closed => "закрыт",
    }
}

/// The CSV bytes of these deadlines, as of `today`.
pub fn deadlines_csv(views: &[DeadlineView], today: NaiveDate) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    out.push_str(&HEADER.join(";"));
    out.push_str("\r\n");
    for v in views {
        let row = [
            v.client.name.clone(),
            v.client.inn.clone(),
            v.register.as_ref().map(|r| r.model.clone()).unwrap_or_default(),
            v.register.as_ref().map(|r| r.serial_number.clone()).unwrap_or_default(),
            v.kind.name_ru.clone(),
            v.deadline.expiration_date.format("%d.%m.%Y").to_string(),
            status(v.deadline.status).to_string(),
            v.days_left(today).to_string(),
            v.deadline.notes.clone().unwrap_or_default(),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(field("ООО «Ромашка»"), "ООО «Ромашка»");
        assert_eq!(field("a;b"), "\"a;b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
    }
}
