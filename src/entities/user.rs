use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A dashboard account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub name: Option<String>,
    pub role: Role,
    pub is_active: bool,
    /// Raised by a password reset, a password change or a deactivation: tokens carrying an
    /// older version are refused.
    pub token_version: i32,
    /// Set by an administrator's reset: the user must choose a new password before anything else.
    pub must_change_password: bool,
    pub last_login_at: Option<DateTimeUtc>,
    /// The user's own Telegram id: requests assigned to them reach them there too.
    #[sea_orm(unique)]
    pub telegram_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The searched fields, lower-cased, one per line (email, name): see `entities::search`.
    #[serde(skip)]
    pub search: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "operator")]
    Operator,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::search::searched!(email, name);
