//! The steps of the bot's conversations, stored per chat in the dialog store.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Dialog {
    /// /request: the type keyboard is shown.
    ChoosingType,
    /// /request: a type is chosen, the description is asked.
    Describing { type_id: i32 },
    /// /request: the summary with Submit / Cancel is shown.
    Confirming { type_id: i32, description: String, photo: Option<String>, key: String },
    /// An administrator pressed Reject: the reason is asked.
    RejectReason { request_id: i32 },
}
