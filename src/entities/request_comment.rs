use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One message of a request's thread: a client's comment, a staff reply or question to the
/// client, or an internal note; a photo or document is kept as its Telegram file id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_comments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub request_id: i32,
    pub kind: Kind,
    /// `telegram` or `api`.
    pub channel: String,
    /// `client`, `administrator` or `user`.
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub body: Option<String>,
    pub attachment_kind: Option<AttachmentKind>,
    pub attachment_file_id: Option<String>,
    pub attachment_name: Option<String>,
    pub attachment_mime: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Who a thread message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The client's, to staff.
    #[sea_orm(string_value = "comment")]
    Comment,
    /// Staff's, to the client.
    #[sea_orm(string_value = "reply")]
    Reply,
    /// Staff ask the client (the request waits for the answer).
    #[sea_orm(string_value = "question")]
    Question,
    /// Internal: never reaches the client.
    #[sea_orm(string_value = "note")]
    Note,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    #[sea_orm(string_value = "photo")]
    Photo,
    #[sea_orm(string_value = "document")]
    Document,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
