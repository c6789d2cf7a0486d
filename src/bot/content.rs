//! What a message carries, as the conversation cares: text, a photo (with its caption), or
//! something else.

use teloxide::types::{MediaKind, Message, MessageKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// The largest size's file id, and the caption if there is one.
    Photo {
        file_id: String,
        caption: Option<String>,
    },
    Other,
}

impl Content {
    pub fn of(msg: Message) -> Content {
        let MessageKind::Common(common) = &msg.kind else { return Content::Other };
        match &common.media_kind {
            MediaKind::Text(t) => Content::Text(t.text.clone()),
            MediaKind::Photo(p) => Content::Photo {
                file_id: p
                    .photo
                    .iter()
                    .max_by_key(|s| s.width * s.height)
                    .map(|s| s.file.id.to_string())
                    .unwrap_or_default(),
                caption: p.caption.clone(),
            },
            _ => Content::Other,
        }
    }
}
