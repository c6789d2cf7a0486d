//! Carrying out a planned import in the caller's transaction, in the file's order: a row's
//! client before its cash register, both before its contact and deadlines.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Set};

use super::Counts;
use super::plan::Op;
use crate::entities::deadline::Status;
use crate::entities::{cash_register, client, contact, deadline};
use crate::error::{Error, Result};

/// Runs `ops`; the rows created and updated, per entity. `on_op` is called after each write.
pub async fn run(db: &impl ConnectionTrait, ops: &[Op], on_op: &mut (dyn FnMut() + Send)) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut client_ids: HashMap<String, i32> = HashMap::new();
    let mut register_ids: HashMap<String, i32> = HashMap::new();
    let now = Utc::now();
    for op in ops {
        match op {
            Op::Client { inn, id, name, contact_person, phone, email, address } => {
                let row = match id {
                    None => {
                        counts.clients.created += 1;
                        client::ActiveModel {
                            name: Set(name.clone().ok_or(Error::invalid("name", "a new client needs a name"))?),
                            inn: Set(inn.clone()),
                            contact_person: Set(contact_person.clone()),
                            phone: Set(phone.clone()),
                            email: Set(email.clone()),
                            address: Set(address.clone()),
                            is_active: Set(true),
                            created_at: Set(now),
                            updated_at: Set(now),
                            ..Default::default()
                        }
                        .insert(db)
                        .await?
                    }
                    Some(id) => {
                        counts.clients.updated += 1;
                        let current =
                            client::Entity::find_by_id(*id).one(db).await?.ok_or(Error::NotFound("client"))?;
                        let mut row = current.into_active_model();
                        set(&mut row.name, name);
                        set_some(&mut row.contact_person, contact_person);
                        set_some(&mut row.phone, phone);
                        set_some(&mut row.email, email);
                        set_some(&mut row.address, address);
                        row.updated_at = Set(now);
                        row.update(db).await?
                    }
                };
                client_ids.insert(inn.clone(), row.id);
            }
            Op::CashRegister {
                serial_number,
                id,
                inn,
                model,
                registration_number,
                fiscal_drive_number,
                ofd_provider_id,
                address,
            } => {
                let row = match id {
                    None => {
                        counts.cash_registers.created += 1;
                        cash_register::ActiveModel {
                            client_id: Set(client_id(db, &mut client_ids, inn).await?),
                            model: Set(model.clone().ok_or(Error::invalid("model", "a new register needs a model"))?),
                            serial_number: Set(serial_number.clone()),
                            registration_number: Set(registration_number.clone()),
                            fiscal_drive_number: Set(fiscal_drive_number.clone()),
                            ofd_provider_id: Set(*ofd_provider_id),
                            address: Set(address.clone()),
                            is_active: Set(true),
                            created_at: Set(now),
                            updated_at: Set(now),
                            ..Default::default()
                        }
                        .insert(db)
                        .await?
                    }
                    Some(id) => {
                        counts.cash_registers.updated += 1;
                        let current = cash_register::Entity::find_by_id(*id)
                            .one(db)
                            .await?
                            .ok_or(Error::NotFound("cash register"))?;
                        let mut row = current.into_active_model();
                        set(&mut row.model, model);
                        set_some(&mut row.registration_number, registration_number);
                        set_some(&mut row.fiscal_drive_number, fiscal_drive_number);
                        if let Some(ofd) = ofd_provider_id {
                            row.ofd_provider_id = Set(Some(*ofd));
                        }
                        set_some(&mut row.address, address);
                        row.updated_at = Set(now);
                        row.update(db).await?
                    }
                };
                register_ids.insert(serial_number.clone(), row.id);
            }
            Op::Contact { inn, telegram_id, id, name } => match id {
                None => {
                    counts.contacts.created += 1;
                    contact::ActiveModel {
                        client_id: Set(client_id(db, &mut client_ids, inn).await?),
                        telegram_id: Set(*telegram_id),
                        name: Set(name.clone()),
                        notify: Set(true),
                        is_active: Set(true),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(db)
                    .await?;
                }
                Some(id) => {
                    counts.contacts.updated += 1;
                    let current = contact::Entity::find_by_id(*id).one(db).await?.ok_or(Error::NotFound("contact"))?;
                    let mut row = current.into_active_model();
                    row.name = Set(name.clone());
                    row.is_active = Set(true);
                    row.updated_at = Set(now);
                    row.update(db).await?;
                }
            },
            Op::Deadline { inn, serial_number, deadline_type_id, id, date } => match id {
                None => {
                    counts.deadlines.created += 1;
                    let register = match serial_number {
                        Some(serial) => Some(register_id(db, &mut register_ids, serial).await?),
                        None => None,
                    };
                    deadline::ActiveModel {
                        client_id: Set(client_id(db, &mut client_ids, inn).await?),
                        cash_register_id: Set(register),
                        deadline_type_id: Set(*deadline_type_id),
                        expiration_date: Set(*date),
                        status: Set(Status::Active),
                        notes: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(db)
                    .await?;
                }
                Some(id) => {
                    counts.deadlines.updated += 1;
                    let current =
                        deadline::Entity::find_by_id(*id).one(db).await?.ok_or(Error::NotFound("deadline"))?;
                    let mut row = current.into_active_model();
                    // A new date re-arms the reminders, which are keyed by the date.
                    row.expiration_date = Set(*date);
                    row.status = Set(Status::Active);
                    row.updated_at = Set(now);
                    row.update(db).await?;
                }
            },
        }
        on_op();
    }
    Ok(counts)
}

fn set(column: &mut sea_orm::ActiveValue<String>, value: &Option<String>) {
    if let Some(value) = value {
        *column = Set(value.clone());
    }
}

fn set_some(column: &mut sea_orm::ActiveValue<Option<String>>, value: &Option<String>) {
    if let Some(value) = value {
        *column = Set(Some(value.clone()));
    }
}

/// The id of the client with `inn`: created earlier in this import, or already there.
async fn client_id(db: &impl ConnectionTrait, ids: &mut HashMap<String, i32>, inn: &str) -> Result<i32> {
    if let Some(id) = ids.get(inn) {
        return Ok(*id);
    }
    let found = crate::services::clients::find_by_inn(db, inn).await?.ok_or(Error::NotFound("client"))?;
    ids.insert(inn.to_string(), found.id);
    Ok(found.id)
}

async fn register_id(db: &impl ConnectionTrait, ids: &mut HashMap<String, i32>, serial: &str) -> Result<i32> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if let Some(id) = ids.get(serial) {
        return Ok(*id);
    }
    let found = cash_register::Entity::find()
        .filter(cash_register::Column::SerialNumber.eq(serial))
        .one(db)
        .await?
        .ok_or(Error::NotFound("cash register"))?;
    ids.insert(serial.to_string(), found.id);
    Ok(found.id)
}
