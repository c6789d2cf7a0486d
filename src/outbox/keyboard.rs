//! The inline keyboard of an outgoing message: teloxide's buttons, each with the `style` of Bot
//! API 9.4 (`success` green, `danger` red, `primary` blue), which teloxide's own type does not
//! carry yet. Stored in the outbox payload and sent as Telegram's `InlineKeyboardMarkup`; rows
//! stored before styles existed read back as they were.

use serde::{Deserialize, Serialize};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// How Telegram colours a button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    /// Green: a positive action (Approve).
    Success,
    /// Red: a destructive action (Reject).
    Danger,
    /// Blue: the main action.
    Primary,
}

/// One button: what it says and does (teloxide's), and its colour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Button {
    #[serde(flatten)]
    pub button: InlineKeyboardButton,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
}

impl Button {
    /// A button with a colour.
    pub fn styled(button: InlineKeyboardButton, style: ButtonStyle) -> Self {
        Self { button, style: Some(style) }
    }
}

impl From<InlineKeyboardButton> for Button {
    fn from(button: InlineKeyboardButton) -> Self {
        Self { button, style: None }
    }
}

/// An inline keyboard, as the Bot API's `reply_markup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keyboard {
    pub inline_keyboard: Vec<Vec<Button>>,
}

impl Keyboard {
    pub fn new(rows: impl IntoIterator<Item = impl IntoIterator<Item = Button>>) -> Self {
        Self { inline_keyboard: rows.into_iter().map(|row| row.into_iter().collect()).collect() }
    }
}

impl From<InlineKeyboardMarkup> for Keyboard {
    fn from(markup: InlineKeyboardMarkup) -> Self {
        Self::new(markup.inline_keyboard.into_iter().map(|row| row.into_iter().map(Button::from)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_are_sent_and_rows_stored_before_them_read_back() {
        let keyboard = Keyboard::new([[
            Button::styled(InlineKeyboardButton::callback("✅ Одобрить", "v1:ap:1"), ButtonStyle::Success),
            Button::from(InlineKeyboardButton::url("kktbot", "https://example.com".parse().unwrap())),
        ]]);
        let json = serde_json::to_value(&keyboard).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"inline_keyboard": [[
                {"text": "✅ Одобрить", "callback_data": "v1:ap:1", "style": "success"},
                {"text": "kktbot", "url": "https://example.com/"},
            ]]})
        );
        assert_eq!(serde_json::from_value::<Keyboard>(json).unwrap(), keyboard);
        let before = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("❌ Отклонить", "v1:rj:1")]]);
        let stored = serde_json::to_value(&before).unwrap();
        assert_eq!(serde_json::from_value::<Keyboard>(stored).unwrap(), Keyboard::from(before));
    }
}
