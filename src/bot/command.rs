//! The bot's commands (`/cmd@bot args`), parsed by teloxide's `BotCommands` derive.
//!
//! [`of_text`] puts a message's text into the shape the derive expects first: the command's
//! name in lower case (`/Help` is `/help`), its arguments after one space whatever whitespace
//! the user typed (`/reject 12⏎reason`), and a mention of any bot accepted while the bot's own
//! @username is unknown (Telegram's `getMe` failed at start).

use teloxide::utils::command::{BotCommands, ParseError};

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// `/start [invite code]`.
    #[command(parse_with = optional)]
    Start(Option<String>),
    Help,
    Cancel,
    #[command(alias = "language")]
    Lang,
    #[command(alias = "new")]
    Request,
    MyRequests,
    Pending,
    /// `/approve N`.
    Approve(String),
    /// `/reject N [reason]`.
    Reject(String),
    /// `/ask N question`: a question to the client; the request waits for the answer.
    Ask(String),
    /// `/reopen N [comment]`.
    Reopen(String),
    /// `/mine`: an administrator's open requests.
    Mine,
    /// `/note N text`: an internal note on a request (never sent to the client).
    Note(String),
    List,
    Today,
    /// `/search text`.
    Search(String),
    Export,
}

/// A command addressed to this bot that it does not know (its name, without the `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCommand(pub String);

/// What a message's text says as a command: `None` when it is not a command or is addressed to
/// another bot (`/start@other_bot`).
pub type Parsed = Result<Command, UnknownCommand>;

/// `/start`'s argument: the invite code, if one follows.
fn optional(args: String) -> Result<(Option<String>,), ParseError> {
    Ok((Some(args).filter(|a| !a.is_empty()),))
}

/// The command a text starts with, for a bot called `bot_username` (empty when unknown).
pub fn of_text(text: &str, bot_username: &str) -> Option<Parsed> {
    let rest = text.trim_start().strip_prefix('/')?;
    let (head, args) = match rest.split_once(char::is_whitespace) {
        Some((head, args)) => (head, args.trim()),
        None => (rest, ""),
    };
    let head = match head.split_once('@') {
        Some((name, _)) if bot_username.is_empty() => name,
        _ => head,
    };
    let normalised = format!("/{} {args}", head.to_lowercase());
    match Command::parse(normalised.trim_end(), bot_username) {
        Ok(command) => Some(Ok(command)),
        Err(ParseError::WrongBotName(_)) => None,
        Err(_) => {
            let name = head.split_once('@').map_or(head, |(name, _)| name);
            Some(Err(UnknownCommand(name.to_lowercase())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Parsed> {
        of_text(text, "kkt_bot")
    }

    #[test]
    fn commands_with_arguments_and_mentions() {
        assert_eq!(parse("/start"), Some(Ok(Command::Start(None))));
        assert_eq!(parse("/start inv_abc123"), Some(Ok(Command::Start(Some("inv_abc123".into())))));
        assert_eq!(parse("/reject@KKT_bot 12 нет ФН"), Some(Ok(Command::Reject("12 нет ФН".into()))));
        assert_eq!(parse("/reject 12\nнет ФН "), Some(Ok(Command::Reject("12\nнет ФН".into()))));
        assert_eq!(parse("/ask 3 какой заводской номер?"), Some(Ok(Command::Ask("3 какой заводской номер?".into()))));
        assert_eq!(parse("/reopen 3"), Some(Ok(Command::Reopen("3".into()))));
        assert_eq!(parse("/mine"), Some(Ok(Command::Mine)));
        assert_eq!(
            parse("/note 3 звонил, перезвонить в 15:00"),
            Some(Ok(Command::Note("3 звонил, перезвонить в 15:00".into())))
        );
        assert_eq!(parse("/approve"), Some(Ok(Command::Approve(String::new()))));
        assert_eq!(parse("  /HELP"), Some(Ok(Command::Help)));
        assert_eq!(parse("/MyRequests"), Some(Ok(Command::MyRequests)));
        assert_eq!(parse("/language"), Some(Ok(Command::Lang)));
        assert_eq!(parse("/new"), Some(Ok(Command::Request)));
        assert_eq!(parse("/help extra words"), Some(Ok(Command::Help)));
        assert_eq!(parse("/help@other_bot"), None);
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("/frobnicate"), Some(Err(UnknownCommand("frobnicate".into()))));
        assert_eq!(parse("/"), Some(Err(UnknownCommand(String::new()))));
        assert_eq!(of_text("/help@whoever_bot", ""), Some(Ok(Command::Help)));
    }
}
