//! Membership: a user blocking the bot in their private chat (`kicked`) or coming back
//! (`member`), from `my_chat_member` updates: the user is marked blocked or unblocked.

use std::sync::Arc;

use teloxide::types::{ChatMemberKind, ChatMemberUpdated};

use super::HandlerResult;
use super::context::Ctx;
use crate::services::telegram_users;

pub async fn my_chat_member(ctx: Arc<Ctx>, update: ChatMemberUpdated) -> HandlerResult {
    if !update.chat.is_private() {
        return Ok(());
    }
    let blocked = match update.new_chat_member.kind {
        ChatMemberKind::Banned(_) => true,
        ChatMemberKind::Member { .. } => false,
        _ => return Ok(()),
    };
    telegram_users::set_blocked(&ctx.txn, update.from.id.0 as i64, blocked).await?;
    Ok(())
}
