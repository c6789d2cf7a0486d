//! The columns an import recognises: each field with its Russian and English headers, the
//! headers of the usual spreadsheets and of OFD cabinets' cash-register exports among them.

use serde::Serialize;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    ClientName,
    Inn,
    ContactPerson,
    Phone,
    Email,
    ClientAddress,
    TelegramId,
    ContactName,
    Model,
    SerialNumber,
    RegistrationNumber,
    FiscalDriveNumber,
    FiscalDriveExpiry,
    Ofd,
    OfdExpiry,
    Address,
    MaintenanceDue,
}

/// Every field, in the template's order: the Russian header, the English one, then the other
/// headers recognised (compared after [`normalise`]).
pub const FIELDS: &[(Field, &str, &str, &[&str])] = &[
    (
        Field::ClientName,
        "Наименование",
        "Client name",
        &[
            "название",
            "клиент",
            "организация",
            "компания",
            "наименование клиента",
            "наименование организации",
            "наименование пользователя",
            "пользователь",
            "name",
            "client",
            "company",
            "organization",
            "organisation",
        ],
    ),
    (
        Field::Inn,
        "ИНН",
        "INN",
        &["инн клиента", "инн пользователя", "инн организации", "client inn", "tin", "taxpayer id"],
    ),
    (Field::ContactPerson, "Контактное лицо", "Contact person", &["контакт"]),
    (Field::Phone, "Телефон", "Phone", &["тел", "телефон клиента", "telephone", "phone number"]),
    (Field::Email, "Email", "E-mail", &["электронная почта", "эл почта", "почта", "адрес электронной почты"]),
    (Field::ClientAddress, "Адрес клиента", "Client address", &["юридический адрес", "legal address"]),
    (
        Field::TelegramId,
        "Telegram ID",
        "Telegram user id",
        &["telegram", "id telegram", "телеграм", "телеграм id", "tg id"],
    ),
    (Field::ContactName, "Имя контакта", "Contact name", &["имя контакта telegram", "telegram name"]),
    (
        Field::Model,
        "Модель ККТ",
        "Model",
        &["модель", "модель кассы", "ккт", "kkt model", "cash register model", "device model", "register model"],
    ),
    (
        Field::SerialNumber,
        "Заводской номер ККТ",
        "Serial number",
        &[
            "заводской номер",
            "зн ккт",
            "зн",
            "серийный номер",
            "серийный номер ккт",
            "serial",
            "kkt serial number",
            "cash register serial number",
            "factory number",
        ],
    ),
    (
        Field::RegistrationNumber,
        "Регистрационный номер ККТ",
        "Registration number",
        &["регистрационный номер", "рн ккт", "рнм", "рн", "reg number", "kkt registration number"],
    ),
    (
        Field::FiscalDriveNumber,
        "Номер ФН",
        "Fiscal drive number",
        &[
            "заводской номер фн",
            "зн фн",
            "фн",
            "фн номер",
            "номер фискального накопителя",
            "fn number",
            "fn",
            "fiscal drive serial number",
            "fiscal storage number",
        ],
    ),
    (
        Field::FiscalDriveExpiry,
        "Срок действия ФН",
        "Fiscal drive expiry",
        &[
            "дата окончания фн",
            "окончание срока фн",
            "окончание срока действия фн",
            "дата окончания срока действия фн",
            "срок фн",
            "фн действует до",
            "срок действия фискального накопителя",
            "fn expiry",
            "fn expiration date",
            "fiscal drive expiration date",
            "fiscal drive valid until",
        ],
    ),
    (
        Field::Ofd,
        "ОФД",
        "OFD",
        &["оператор фд", "оператор фискальных данных", "ofd provider", "ofd operator", "fiscal data operator"],
    ),
    (
        Field::OfdExpiry,
        "Оплачено ОФД до",
        "OFD paid until",
        &[
            "срок офд",
            "офд до",
            "оплачено до",
            "окончание договора офд",
            "дата окончания офд",
            "ofd expiry",
            "ofd expiration date",
        ],
    ),
    (
        Field::Address,
        "Адрес установки",
        "Address",
        &["адрес", "адрес установки ккт", "адрес расчетов", "место установки", "installation address", "kkt address"],
    ),
    (
        Field::MaintenanceDue,
        "Техобслуживание до",
        "Maintenance due",
        &["техобслуживание", "дата то", "то до", "maintenance", "maintenance date"],
    ),
];

impl Field {
    /// The Russian header (the template's, and the one error messages name when a column is
    /// missing).
    pub fn header(self) -> &'static str {
        FIELDS.iter().find(|(f, ..)| *f == self).map_or("", |(_, ru, ..)| ru)
    }

    /// The field a header names, if any.
    pub fn recognise(header: &str) -> Option<Field> {
        let wanted = normalise(header);
        if wanted.is_empty() {
            return None;
        }
        FIELDS.iter().find_map(|(field, ru, en, others)| {
            let known = [*ru, *en].into_iter().chain(others.iter().copied());
            known.into_iter().any(|h| normalise(h) == wanted).then_some(*field)
        })
    }

    /// The deadline type code a date column fills, for the date columns.
    pub fn deadline_type(self) -> Option<&'static str> {
        match self {
            Field::FiscalDriveExpiry => Some("fn"),
            Field::OfdExpiry => Some("ofd"),
            Field::MaintenanceDue => Some("maintenance"),
            _ => None,
        }
    }
}

/// A header as compared: lower case, `ё` as `е`, `№` as `номер`, text in parentheses dropped,
/// anything but letters and digits as one space.
pub fn normalise(header: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in header.trim_start_matches('\u{feff}').chars().flat_map(char::to_lowercase) {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            'ё' => out.push('е'),
            '№' => out.push_str(" номер "),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_english_and_ofd_export_headers_are_recognised() {
        for (header, field) in [
            ("ИНН", Field::Inn),
            ("инн пользователя", Field::Inn),
            ("Заводской номер ККТ", Field::SerialNumber),
            ("Заводской номер", Field::SerialNumber),
            ("Serial number", Field::SerialNumber),
            ("Регистрационный номер", Field::RegistrationNumber),
            ("РН ККТ", Field::RegistrationNumber),
            ("Номер ФН", Field::FiscalDriveNumber),
            ("№ ФН", Field::FiscalDriveNumber),
            ("Заводской номер ФН", Field::FiscalDriveNumber),
            ("Fiscal drive number", Field::FiscalDriveNumber),
            ("Срок действия ФН", Field::FiscalDriveExpiry),
            ("Дата окончания срока действия ФН (дд.мм.гггг)", Field::FiscalDriveExpiry),
            ("Fiscal drive expiry", Field::FiscalDriveExpiry),
            ("ОФД", Field::Ofd),
            ("OFD", Field::Ofd),
            ("Адрес", Field::Address),
            ("Адрес расчётов", Field::Address),
            ("address", Field::Address),
            ("Наименование", Field::ClientName),
            ("\u{feff}Client name", Field::ClientName),
            ("E-mail", Field::Email),
        ] {
            assert_eq!(Field::recognise(header), Some(field), "{header}");
        }
        assert_eq!(Field::recognise("Примечание"), None);
        assert_eq!(Field::recognise("  "), None);
    }

    #[test]
    fn no_header_names_two_fields() {
        let mut seen = std::collections::HashMap::new();
        for (field, ru, en, others) in FIELDS {
            for h in [*ru, *en].iter().chain(others.iter()) {
                if let Some(other) = seen.insert(normalise(h), *field) {
                    panic!("{h:?} names both {other:?} and {field:?}");
                }
            }
        }
    }
}
