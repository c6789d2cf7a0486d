//! Invite codes: a single-use code behind a `t.me/<bot>?start=<code>` deep link that makes the
//! Telegram user who opens it a contact of the client.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::{client, invite};
use crate::error::Result;

pub enum Redeemed {
    Linked(client::Model),
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
    let Some(client) = super::clients::get(db, invite.client_id).await?.filter(|c| c.is_active) else {
        return Ok(Redeemed::Invalid);
    };
    super::clients::link_contact(db, client.id, telegram_id, name).await?;
    Ok(Redeemed::Linked(client))
}
