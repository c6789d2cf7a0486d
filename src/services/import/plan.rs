//! Planning an import: each row's values checked (ИНН check digits, known OFD, dates), then
//! matched against the [`World`] — the client by ИНН, the cash register by serial number (or by
//! fiscal drive number when the row has no serial number), the contact by Telegram id, the
//! deadline by client, register and type — giving the row's outcome and the writes it needs.
//! An empty cell changes nothing; a row with an error writes nothing.

use chrono::NaiveDate;
use serde::Serialize;

use super::columns::Field;
use super::read::Cell;
use super::world::{ClientRec, ContactRec, DeadlineKey, DeadlineRec, RegisterRec, World};
use super::{Action, Change, Outcome, RowError, RowOutcome};

/// One write of an import. An update carries only the fields that change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Client {
        inn: String,
        id: Option<i32>,
        name: Option<String>,
        contact_person: Option<String>,
        phone: Option<String>,
        email: Option<String>,
        address: Option<String>,
    },
    CashRegister {
        serial_number: String,
        id: Option<i32>,
        inn: String,
        model: Option<String>,
        registration_number: Option<String>,
        fiscal_drive_number: Option<String>,
        ofd_provider_id: Option<i32>,
        address: Option<String>,
    },
    Contact {
        inn: String,
        telegram_id: i64,
        id: Option<i32>,
        name: Option<String>,
    },
    Deadline {
        inn: String,
        serial_number: Option<String>,
        deadline_type_id: i32,
        id: Option<i32>,
        date: NaiveDate,
    },
}

/// A row's values, checked.
#[derive(Default)]
struct Values {
    name: Option<String>,
    inn: Option<String>,
    contact_person: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    client_address: Option<String>,
    telegram_id: Option<i64>,
    contact_name: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
    registration_number: Option<String>,
    fiscal_drive_number: Option<String>,
    ofd_provider_id: Option<i32>,
    address: Option<String>,
    dates: Vec<(Field, i32, NaiveDate)>,
}

/// A date in a cell: typed by the spreadsheet, or written ДД.ММ.ГГГГ, ГГГГ-ММ-ДД or ДД/ММ/ГГГГ
/// (a time after it ignored); years 1900–2999.
pub fn parse_date(cell: &Cell) -> Option<NaiveDate> {
    use chrono::Datelike;
    let date = match cell {
        Cell::Date(d) => Some(*d),
        Cell::Text(s) => {
            let day = s.trim().split([' ', 'T']).next().unwrap_or_default();
            ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y"].iter().find_map(|f| NaiveDate::parse_from_str(day, f).ok())
        }
        Cell::Empty | Cell::Number(_) => None,
    };
    date.filter(|d| (1900..=2999).contains(&d.year()))
}

/// Plans rows against `world`, which comes out as it would be after them.
pub struct Planner<'a> {
    pub world: World,
    /// The file's header of each field it has.
    pub headers: &'a [(Field, usize, String)],
}

struct Row<'r> {
    number: usize,
    cells: &'r [Cell],
    errors: Vec<RowError>,
}

impl Planner<'_> {
    fn column(&self, field: Field) -> String {
        self.headers.iter().find(|(f, ..)| *f == field).map_or_else(|| field.header().to_string(), |(.., h)| h.clone())
    }

    fn cell<'c>(&self, row: &Row<'c>, field: Field) -> Option<&'c Cell> {
        let (_, index, _) = self.headers.iter().find(|(f, ..)| *f == field)?;
        row.cells.get(*index).filter(|c| **c != Cell::Empty)
    }

    fn error(&self, row: &mut Row<'_>, field: Field, message: impl Into<String>) {
        row.errors.push(RowError { column: self.column(field), field: Some(field), message: message.into() });
    }

    /// A text cell, at most `max` characters.
    fn text(&self, row: &mut Row<'_>, field: Field, max: usize) -> Option<String> {
        let text = self.cell(row, field)?.text()?;
        if text.chars().count() > max {
            self.error(row, field, format!("is longer than {max} characters"));
            return None;
        }
        if text.contains('\0') {
            self.error(row, field, "must not contain U+0000");
            return None;
        }
        Some(text)
    }

    fn values(&self, row: &mut Row<'_>) -> Values {
        let mut v = Values {
            name: self.text(row, Field::ClientName, 255),
            contact_person: self.text(row, Field::ContactPerson, 255),
            phone: self.text(row, Field::Phone, 64),
            email: self.text(row, Field::Email, 255),
            client_address: self.text(row, Field::ClientAddress, 1000),
            contact_name: self.text(row, Field::ContactName, 255),
            model: self.text(row, Field::Model, 255),
            serial_number: self.text(row, Field::SerialNumber, 64),
            registration_number: self.text(row, Field::RegistrationNumber, 64),
            fiscal_drive_number: self.text(row, Field::FiscalDriveNumber, 64),
            address: self.text(row, Field::Address, 1000),
            ..Values::default()
        };
        match self.text(row, Field::Inn, 64).map(|t| t.split_whitespace().collect::<String>()) {
            None => self.error(row, Field::Inn, "is required"),
            Some(inn) if !crate::services::inn::is_valid(&inn) => {
                self.error(row, Field::Inn, format!("{inn} is not a valid ИНН (10 or 12 digits with check digits)"))
            }
            Some(inn) => v.inn = Some(inn),
        }
        if v.email.as_deref().is_some_and(|e| !e.contains('@')) {
            self.error(row, Field::Email, "is not an email address");
        }
        if let Some(text) = self.text(row, Field::TelegramId, 32) {
            match text.parse::<i64>() {
                Ok(id) if id > 0 => v.telegram_id = Some(id),
                _ => self.error(row, Field::TelegramId, format!("{text} is not a Telegram user id")),
            }
        }
        if let Some(text) = self.text(row, Field::Ofd, 255) {
            match self.world.ofd(&text) {
                Some(id) => v.ofd_provider_id = Some(id),
                None => self.error(row, Field::Ofd, format!("unknown OFD «{text}»")),
            }
        }
        for field in [Field::FiscalDriveExpiry, Field::OfdExpiry, Field::MaintenanceDue] {
            let Some(cell) = self.cell(row, field) else { continue };
            let Some(code) = field.deadline_type() else { continue };
            match (parse_date(cell), self.world.deadline_types.get(code)) {
                (Some(date), Some(type_id)) => v.dates.push((field, *type_id, date)),
                (None, _) => {
                    let shown = cell.text().unwrap_or_default();
                    self.error(row, field, format!("«{shown}» is not a date (ДД.ММ.ГГГГ)"))
                }
                (Some(_), None) => self.error(row, field, format!("the deadline type {code} does not exist")),
            }
        }
        v
    }

    /// Plans one row: its outcome and the writes it needs (none when it has an error).
    pub fn row(&mut self, number: usize, cells: &[Cell]) -> (RowOutcome, Vec<Op>) {
        let mut row = Row { number, cells, errors: Vec::new() };
        let v = self.values(&mut row);
        let mut changes = Vec::new();
        let mut ops = Vec::new();
        let mut pending = Pending::default();
        if let Some(inn) = v.inn.clone() {
            self.client(&mut row, &v, &inn, &mut changes, &mut ops, &mut pending);
            let serial = self.register(&mut row, &v, &inn, &mut changes, &mut ops, &mut pending);
            self.contact(&v, &inn, &mut changes, &mut ops, &mut pending);
            self.deadlines(&mut row, &v, &inn, serial, &mut changes, &mut ops, &mut pending);
        }
        let outcome = if !row.errors.is_empty() {
            ops.clear();
            changes.clear();
            Outcome::Error
        } else {
            pending.apply(&mut self.world);
            let main = changes.iter().find(|c| c.entity == "cash_register").or_else(|| changes.first());
            if main.is_some_and(|c| c.action == Action::New) {
                Outcome::New
            } else if changes.iter().any(|c| c.action != Action::Unchanged) {
                Outcome::Update
            } else {
                Outcome::Unchanged
            }
        };
        let outcome = RowOutcome {
            row: number,
            outcome,
            inn: v.inn,
            serial_number: v.serial_number,
            changes,
            errors: row.errors,
        };
        (outcome, ops)
    }

    fn client(
        &self,
        row: &mut Row<'_>,
        v: &Values,
        inn: &str,
        changes: &mut Vec<Change>,
        ops: &mut Vec<Op>,
        pending: &mut Pending,
    ) {
        let current = self.world.clients.get(inn).cloned();
        let mut rec = current.clone().unwrap_or_default();
        let mut fields = Vec::new();
        let mut set = |field: Field, name: &'static str, have: &mut Option<String>, given: &Option<String>| {
            let Some(given) = given else { return None };
            if have.as_ref() == Some(given) {
                return None;
            }
            fields.push(name);
            *have = Some(given.clone());
            Some((field, given.clone()))
        };
        let changed: Vec<(Field, String)> = [
            set(Field::ClientName, "name", &mut rec.name, &v.name),
            set(Field::ContactPerson, "contact_person", &mut rec.contact_person, &v.contact_person),
            set(Field::Phone, "phone", &mut rec.phone, &v.phone),
            set(Field::Email, "email", &mut rec.email, &v.email),
            set(Field::ClientAddress, "address", &mut rec.address, &v.client_address),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(earlier) = current.as_ref().and_then(|c| c.row) {
            for (field, _) in &changed {
                self.error(row, *field, format!("differs from row {earlier} of the same ИНН"));
            }
        }
        if rec.name.is_none() {
            self.error(row, Field::ClientName, "is required for a new client");
        }
        let action = match (&current, changed.is_empty()) {
            (None, _) => Action::New,
            (Some(_), true) => Action::Unchanged,
            (Some(_), false) => Action::Update,
        };
        changes.push(Change { entity: "client", key: inn.to_string(), action, fields });
        if action != Action::Unchanged {
            let value = |f: Field| changed.iter().find(|(c, _)| *c == f).map(|(_, v)| v.clone());
            ops.push(Op::Client {
                inn: inn.to_string(),
                id: rec.id,
                name: value(Field::ClientName),
                contact_person: value(Field::ContactPerson),
                phone: value(Field::Phone),
                email: value(Field::Email),
                address: value(Field::ClientAddress),
            });
        }
        // Later rows of the same ИНН must agree with the first one, changed or not.
        rec.row.get_or_insert(row.number);
        pending.client = Some((inn.to_string(), rec));
    }

    /// Plans the row's cash register; its serial number, if the row has one.
    fn register(
        &self,
        row: &mut Row<'_>,
        v: &Values,
        inn: &str,
        changes: &mut Vec<Change>,
        ops: &mut Vec<Op>,
        pending: &mut Pending,
    ) -> Option<String> {
        let by_drive = v.fiscal_drive_number.as_ref().and_then(|f| self.world.by_fiscal_drive.get(f)).cloned();
        let Some(serial) = v.serial_number.clone().or_else(|| by_drive.clone()) else {
            let has_register = v.model.is_some()
                || v.registration_number.is_some()
                || v.fiscal_drive_number.is_some()
                || v.ofd_provider_id.is_some()
                || v.address.is_some();
            if has_register {
                self.error(row, Field::SerialNumber, "is required for a new cash register");
            }
            return None;
        };
        if let Some(other) = by_drive.filter(|s| *s != serial) {
            self.error(row, Field::FiscalDriveNumber, format!("is the fiscal drive of the cash register {other}"));
        }
        let current = self.world.registers.get(&serial).cloned();
        if let Some(current) = &current {
            if let Some(earlier) = current.row {
                self.error(row, Field::SerialNumber, format!("repeats row {earlier}"));
            } else if current.inn != inn {
                self.error(row, Field::SerialNumber, format!("belongs to the client with ИНН {}", current.inn));
            }
        }
        let mut rec = current.clone().unwrap_or_else(|| RegisterRec { inn: inn.to_string(), ..Default::default() });
        let mut fields = Vec::new();
        let mut set = |name: &'static str, have: &mut Option<String>, given: &Option<String>| match given {
            Some(given) if have.as_ref() != Some(given) => {
                fields.push(name);
                *have = Some(given.clone());
                Some(given.clone())
            }
            _ => None,
        };
        let model = set("model", &mut rec.model, &v.model);
        let registration_number = set("registration_number", &mut rec.registration_number, &v.registration_number);
        let old_drive = rec.fiscal_drive_number.clone();
        let fiscal_drive_number = set("fiscal_drive_number", &mut rec.fiscal_drive_number, &v.fiscal_drive_number);
        let address = set("address", &mut rec.address, &v.address);
        let ofd_provider_id = v.ofd_provider_id.filter(|id| rec.ofd_provider_id != Some(*id));
        if let Some(id) = ofd_provider_id {
            fields.push("ofd_provider_id");
            rec.ofd_provider_id = Some(id);
        }
        if rec.model.is_none() {
            self.error(row, Field::Model, "is required for a new cash register");
        }
        let action = match (&current, fields.is_empty()) {
            (None, _) => Action::New,
            (Some(_), true) => Action::Unchanged,
            (Some(_), false) => Action::Update,
        };
        changes.push(Change { entity: "cash_register", key: serial.clone(), action, fields });
        rec.row = Some(row.number);
        if action != Action::Unchanged {
            ops.push(Op::CashRegister {
                serial_number: serial.clone(),
                id: rec.id,
                inn: inn.to_string(),
                model,
                registration_number,
                fiscal_drive_number: fiscal_drive_number.clone(),
                ofd_provider_id,
                address,
            });
        }
        if fiscal_drive_number.is_some() {
            pending.drive = Some((old_drive, rec.fiscal_drive_number.clone(), serial.clone()));
        }
        pending.register = Some((serial.clone(), rec));
        Some(serial)
    }

    fn contact(&self, v: &Values, inn: &str, changes: &mut Vec<Change>, ops: &mut Vec<Op>, pending: &mut Pending) {
        let Some(telegram_id) = v.telegram_id else { return };
        let key = (inn.to_string(), telegram_id);
        let current = self.world.contacts.get(&key).cloned();
        let mut fields = Vec::new();
        if v.contact_name.is_some() && current.as_ref().is_none_or(|c| c.name != v.contact_name) {
            fields.push("name");
        }
        if current.as_ref().is_some_and(|c| !c.is_active) {
            fields.push("is_active");
        }
        let action = match (&current, fields.is_empty()) {
            (None, _) => Action::New,
            (Some(_), true) => Action::Unchanged,
            (Some(_), false) => Action::Update,
        };
        changes.push(Change { entity: "contact", key: telegram_id.to_string(), action, fields });
        if action == Action::Unchanged {
            return;
        }
        let id = current.as_ref().and_then(|c| c.id);
        let name = v.contact_name.clone().or_else(|| current.and_then(|c| c.name));
        ops.push(Op::Contact { inn: inn.to_string(), telegram_id, id, name: name.clone() });
        pending.contact = Some((key, ContactRec { id, name, is_active: true }));
    }

    #[allow(clippy::too_many_arguments)]
    fn deadlines(
        &self,
        row: &mut Row<'_>,
        v: &Values,
        inn: &str,
        serial: Option<String>,
        changes: &mut Vec<Change>,
        ops: &mut Vec<Op>,
        pending: &mut Pending,
    ) {
        for (field, type_id, date) in &v.dates {
            // The fiscal drive's and the OFD's deadlines are the cash register's; maintenance too.
            let key: DeadlineKey = (inn.to_string(), serial.clone(), *type_id);
            let current = self.world.deadlines.get(&key).cloned();
            let action = match &current {
                None => Action::New,
                Some(c) if c.date == *date => Action::Unchanged,
                Some(c) => {
                    if let Some(earlier) = c.row {
                        self.error(row, *field, format!("differs from row {earlier}"));
                    }
                    Action::Update
                }
            };
            let fields = if action == Action::Update { vec!["expiration_date"] } else { Vec::new() };
            let code = field.deadline_type().unwrap_or_default();
            let shown = match &serial {
                Some(s) => format!("{code} {s}"),
                None => format!("{code} {inn}"),
            };
            changes.push(Change { entity: "deadline", key: shown, action, fields });
            let id = current.as_ref().and_then(|c| c.id);
            // Later rows with the same deadline must agree with the first one, changed or not.
            let first = current.and_then(|c| c.row).unwrap_or(row.number);
            pending.deadlines.push((key, DeadlineRec { id, date: *date, row: Some(first) }));
            if action != Action::Unchanged {
                ops.push(Op::Deadline {
                    inn: inn.to_string(),
                    serial_number: serial.clone(),
                    deadline_type_id: *type_id,
                    id,
                    date: *date,
                });
            }
        }
    }
}

/// What a row changes in the world, kept until the row is known to have no error.
#[derive(Default)]
struct Pending {
    client: Option<(String, ClientRec)>,
    register: Option<(String, RegisterRec)>,
    /// The register's fiscal drive number before and after, and its serial number.
    drive: Option<(Option<String>, Option<String>, String)>,
    contact: Option<((String, i64), ContactRec)>,
    deadlines: Vec<(DeadlineKey, DeadlineRec)>,
}

impl Pending {
    fn apply(self, world: &mut World) {
        if let Some((inn, rec)) = self.client {
            world.clients.insert(inn, rec);
        }
        if let Some((serial, rec)) = self.register {
            world.registers.insert(serial, rec);
        }
        if let Some((old, new, serial)) = self.drive {
            if let Some(old) = old {
                world.by_fiscal_drive.remove(&old);
            }
            if let Some(new) = new {
                world.by_fiscal_drive.insert(new, serial);
            }
        }
        if let Some((key, rec)) = self.contact {
            world.contacts.insert(key, rec);
        }
        for (key, rec) in self.deadlines {
            world.deadlines.insert(key, rec);
        }
    }
}
