//! What a message carries, as the conversation cares: text, a photo or a document (with its
//! caption), or something else.

use teloxide::types::{MediaKind, Message, MessageKind};

use crate::services::thread::{Attachment, AttachmentKind, Kind, NewMessage};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// The largest size's file id, and the caption if there is one.
    Photo {
        file_id: String,
        caption: Option<String>,
    },
    /// A file: its id, name and media type as the sender's app gave them, and the caption.
    Document {
        file_id: String,
        name: Option<String>,
        mime: Option<String>,
        caption: Option<String>,
    },
    Other,
}

impl Content {
    /// The message as a message of a request's thread; `None` for anything but text, a photo or
    /// a document.
    pub fn into_thread_message(self, kind: Kind) -> Option<NewMessage> {
        let (text, attachment) = match self {
            Content::Text(text) => (Some(text), None),
            Content::Photo { file_id, caption } => {
                (caption, Some(Attachment { kind: AttachmentKind::Photo, file_id, name: None, mime: None }))
            }
            Content::Document { file_id, name, mime, caption } => {
                (caption, Some(Attachment { kind: AttachmentKind::Document, file_id, name, mime }))
            }
            Content::Other => return None,
        };
        Some(NewMessage { kind, text, attachment })
    }

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
            MediaKind::Document(d) => Content::Document {
                file_id: d.document.file.id.to_string(),
                name: d.document.file_name.clone(),
                mime: d.document.mime_type.as_ref().map(ToString::to_string),
                caption: d.caption.clone(),
            },
            _ => Content::Other,
        }
    }
}
