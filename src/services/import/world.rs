//! What the database holds, as an import matches it: clients by ИНН, cash registers by serial
//! number (and fiscal drive number), contacts by client and Telegram id, open deadlines by
//! client, register and type. Rows of the file are planned against it one after another, each
//! seeing what the rows before it would do.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::deadline::Status;
use crate::entities::{cash_register, client, contact, deadline, deadline_type, ofd_provider};
use crate::error::Result;

/// A client as it is (or will be, after earlier rows); `row` is the file row that created or
/// changed it.
#[derive(Clone, Debug, Default)]
pub struct ClientRec {
    pub id: Option<i32>,
    pub name: Option<String>,
    pub contact_person: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub row: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct RegisterRec {
    pub id: Option<i32>,
    /// The ИНН of its client.
    pub inn: String,
    pub model: Option<String>,
    pub registration_number: Option<String>,
    pub fiscal_drive_number: Option<String>,
    pub ofd_provider_id: Option<i32>,
    pub address: Option<String>,
    pub row: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct ContactRec {
    pub id: Option<i32>,
    pub name: Option<String>,
    pub is_active: bool,
}

#[derive(Clone, Debug)]
pub struct DeadlineRec {
    pub id: Option<i32>,
    pub date: NaiveDate,
    pub row: Option<usize>,
}

/// A deadline's key: the client's ИНН, the register's serial number (none for a deadline of
/// the client), the deadline type.
pub type DeadlineKey = (String, Option<String>, i32);

#[derive(Clone, Debug, Default)]
pub struct World {
    pub clients: HashMap<String, ClientRec>,
    pub registers: HashMap<String, RegisterRec>,
    /// Fiscal drive number → serial number of its register.
    pub by_fiscal_drive: HashMap<String, String>,
    pub contacts: HashMap<(String, i64), ContactRec>,
    pub deadlines: HashMap<DeadlineKey, DeadlineRec>,
    /// OFD providers: the matching form of the name ([`ofd_key`]), the provider's ИНН, its id.
    pub ofds: Vec<(String, Option<String>, i32)>,
    /// Deadline type code → id.
    pub deadline_types: HashMap<String, i32>,
}

/// An OFD's name as matched: lower case, letters and digits only, a legal form (ООО, АО, …)
/// dropped, so `ООО «Первый ОФД»`, `первый офд` and `Первый ОФД` are the same.
pub fn ofd_key(name: &str) -> String {
    const FORMS: &[&str] = &["ооо", "ао", "пао", "зао", "оао", "llc", "jsc"];
    let lower = name.to_lowercase().replace('ё', "е");
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FORMS.contains(w))
        .collect::<Vec<_>>()
        .concat()
}

fn some(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

impl World {
    /// Reads everything an import matches against (a handful of queries, whatever the size).
    pub async fn load(db: &impl ConnectionTrait) -> Result<World> {
        let mut world = World::default();
        let mut inn_of = HashMap::new();
        for c in client::Entity::find().all(db).await? {
            inn_of.insert(c.id, c.inn.clone());
            let rec = ClientRec {
                id: Some(c.id),
                name: Some(c.name),
                contact_person: some(&c.contact_person),
                phone: some(&c.phone),
                email: some(&c.email),
                address: some(&c.address),
                row: None,
            };
            world.clients.insert(c.inn, rec);
        }
        let mut serial_of = HashMap::new();
        for r in cash_register::Entity::find().all(db).await? {
            let Some(inn) = inn_of.get(&r.client_id) else { continue };
            serial_of.insert(r.id, r.serial_number.clone());
            if let Some(fiscal_drive) = some(&r.fiscal_drive_number) {
                world.by_fiscal_drive.insert(fiscal_drive, r.serial_number.clone());
            }
            let rec = RegisterRec {
                id: Some(r.id),
                inn: inn.clone(),
                model: Some(r.model),
                registration_number: some(&r.registration_number),
                fiscal_drive_number: some(&r.fiscal_drive_number),
                ofd_provider_id: r.ofd_provider_id,
                address: some(&r.address),
                row: None,
            };
            world.registers.insert(r.serial_number, rec);
        }
        for c in contact::Entity::find().all(db).await? {
            let Some(inn) = inn_of.get(&c.client_id) else { continue };
            let rec = ContactRec { id: Some(c.id), name: some(&c.name), is_active: c.is_active };
            world.contacts.insert((inn.clone(), c.telegram_id), rec);
        }
        let open = deadline::Entity::find()
            .filter(deadline::Column::Status.is_in([Status::Active, Status::Expired]))
            .all(db)
            .await?;
        for d in open {
            let Some(inn) = inn_of.get(&d.client_id) else { continue };
            let serial = d.cash_register_id.and_then(|id| serial_of.get(&id).cloned());
            let key = (inn.clone(), serial, d.deadline_type_id);
            // Of two open deadlines of one kind, the later one is the one an import renews.
            if world.deadlines.get(&key).is_none_or(|old| old.date < d.expiration_date) {
                world.deadlines.insert(key, DeadlineRec { id: Some(d.id), date: d.expiration_date, row: None });
            }
        }
        for p in ofd_provider::Entity::find().all(db).await? {
            world.ofds.push((ofd_key(&p.name), p.inn, p.id));
        }
        for t in deadline_type::Entity::find().all(db).await? {
            world.deadline_types.insert(t.code, t.id);
        }
        Ok(world)
    }

    /// The OFD provider a cell names: by name ([`ofd_key`]) or by the provider's ИНН.
    pub fn ofd(&self, text: &str) -> Option<i32> {
        let key = ofd_key(text);
        let inn = text.trim();
        self.ofds.iter().find(|(k, i, _)| *k == key || i.as_deref() == Some(inn)).map(|(.., id)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofd_names_match_with_or_without_a_legal_form() {
        assert_eq!(ofd_key("ООО «Первый ОФД»"), ofd_key("Первый ОФД"));
        assert_eq!(ofd_key("ОФД.ру"), "офдру");
        assert_eq!(ofd_key("АО \"Такском\""), "такском");
        assert_ne!(ofd_key("Такском"), ofd_key("Контур.ОФД"));
    }
}
