//! Parsing the bot's commands from a message's text (`/cmd@bot args`).

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Start(Option<String>),
    Help,
    Cancel,
    Lang,
    Request,
    MyRequests,
    Pending,
    Approve(String),
    Reject(String),
    /// `/ask N question`: a question to the client; the request waits for the answer.
    Ask(String),
    /// `/reopen N [comment]`.
    Reopen(String),
    List,
    Today,
    Search(String),
    Export,
    Unknown(String),
}

impl Command {
    /// The command a text starts with, if it starts with `/`. A command addressed to another
    /// bot (`/start@other_bot`) is not ours.
    pub fn parse(text: &str, bot_username: &str) -> Option<Command> {
        let text = text.trim_start();
        let rest = text.strip_prefix('/')?;
        let (head, args) = match rest.split_once(char::is_whitespace) {
            Some((head, args)) => (head, args.trim()),
            None => (rest, ""),
        };
        let name = match head.split_once('@') {
            Some((name, to)) if bot_username.is_empty() || to.eq_ignore_ascii_case(bot_username) => name,
            Some(_) => return None,
            None => head,
        };
        let args = args.to_string();
        Some(match name.to_ascii_lowercase().as_str() {
            "start" => Command::Start(Some(args).filter(|a| !a.is_empty())),
            "help" => Command::Help,
            "cancel" => Command::Cancel,
            "lang" | "language" => Command::Lang,
            "request" | "new" => Command::Request,
            "myrequests" => Command::MyRequests,
            "pending" => Command::Pending,
            "approve" => Command::Approve(args),
            "reject" => Command::Reject(args),
            "ask" => Command::Ask(args),
            "reopen" => Command::Reopen(args),
            "list" => Command::List,
            "today" => Command::Today,
            "search" => Command::Search(args),
            "export" => Command::Export,
            other => Command::Unknown(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_with_arguments_and_mentions() {
        assert_eq!(Command::parse("/start", "kkt_bot"), Some(Command::Start(None)));
        assert_eq!(Command::parse("/start inv_abc123", "kkt_bot"), Some(Command::Start(Some("inv_abc123".into()))));
        assert_eq!(Command::parse("/reject@KKT_bot 12 нет ФН", "kkt_bot"), Some(Command::Reject("12 нет ФН".into())));
        assert_eq!(
            Command::parse("/ask 3 какой заводской номер?", "kkt_bot"),
            Some(Command::Ask("3 какой заводской номер?".into()))
        );
        assert_eq!(Command::parse("/reopen 3", "kkt_bot"), Some(Command::Reopen("3".into())));
        assert_eq!(Command::parse("/help@other_bot", "kkt_bot"), None);
        assert_eq!(Command::parse("hello", "kkt_bot"), None);
        assert_eq!(Command::parse("/frobnicate", "kkt_bot"), Some(Command::Unknown("frobnicate".into())));
    }
}
