//! Invite codes: a single-use code behind a `t.me/<bot>?start=<code>` deep link that makes the
//! Telegram user who opens it a contact of the client.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub use crate::entities::invite::Model as Invite;
use crate::entities::{client, invite};
use crate::error::Result;

pub enum Redeemed {
    Linked(Box<client::Model>),
    Invalid,
}

/// Uses an invite: marks it used (only if unused and unexpired, in one conditional update) and
/// links the user to its client.
pub async fn redeem(db: &impl ConnectionTrait, code: &str, telegram_id: i64, name: Option<String>) -> Result<Redeemed> {
    if code.is_empty() || code.len() > 64 {
        return Ok(Redeemed::Invalid);
    }
    let now = Utc::now();
    let used = invite::Entity::update_many()
        .col_expr(invite::Column::UsedAt, now.into())
        .col_expr(invite::Column::UsedByTelegramId, telegram_id.into())
        .filter(invite::Column::Code.eq(code))
        .filter(invite::Column::UsedAt.is_null())
        .filter(invite::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if used.rows_affected == 0 {
        return Ok(Redeemed::Invalid);
    }
    let Some(invite) = invite::Entity::find().filter(invite::Column::Code.eq(code)).one(db).await? else {
        return Ok(Redeemed::Invalid);
    };
    let Some(client) = super::clients::find(db, invite.client_id).await?.filter(|c| c.is_active) else {
        return Ok(Redeemed::Invalid);
    };
    super::contacts::link(db, client.id, telegram_id, name).await?;
    Ok(Redeemed::Linked(Box::new(client)))
}

// ------------------------------------------------------------------ issuing (REST API)

use rand::Rng;
use sea_orm::{ActiveModelTrait, QueryOrder, Set};

use crate::error::Error;

/// Default lifetime of an invite.
pub const DEFAULT_VALID_DAYS: u32 = 7;
/// Longest lifetime an invite may be given.
pub const MAX_VALID_DAYS: u32 = 90;

/// A new random code: 24 characters of `[A-Za-z0-9]` (Telegram's `start` parameter allows
/// `A-Za-z0-9_-`, up to 64).
fn random_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..24).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Issues a single-use invite to an active client, valid for `valid_days` (1–90) days.
pub async fn create(
    db: &impl ConnectionTrait,
    client_id: i32,
    valid_days: u32,
    created_by_user_id: Option<i32>,
) -> Result<invite::Model> {
    let client = super::clients::get(db, client_id).await?;
    if !(1..=MAX_VALID_DAYS).contains(&valid_days) {
        return Err(Error::invalid("valid_days", format!("must be from 1 to {MAX_VALID_DAYS}")));
    }
    if !client.is_active {
        return Err(Error::Conflict("the client is deactivated".into()));
    }
    let now = Utc::now();
    Ok(invite::ActiveModel {
        code: Set(random_code()),
        client_id: Set(client_id),
        created_by_user_id: Set(created_by_user_id),
        expires_at: Set(now + chrono::Duration::days(i64::from(valid_days))),
        used_at: Set(None),
        used_by_telegram_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// A client's invites, newest first.
pub async fn of_client(db: &impl ConnectionTrait, client_id: i32) -> Result<Vec<invite::Model>> {
    super::clients::get(db, client_id).await?;
    Ok(invite::Entity::find()
        .filter(invite::Column::ClientId.eq(client_id))
        .order_by_desc(invite::Column::Id)
        .all(db)
        .await?)
}
