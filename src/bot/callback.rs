//! Callback data of the bot's inline buttons: `v1:<action>[:<argument>]`, at most 64 bytes
//! (Telegram's limit), versioned, and parsed strictly before use.

use crate::services::export::Export;

/// What a button asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// The client picked a request type.
    RequestType(i32),
    /// The client submits the composed request (its submit key).
    Submit(String),
    /// The client leaves the dialog.
    CancelDialog,
    /// The client withdraws one of their pending requests.
    CancelRequest(i32),
    /// An administrator approves a request.
    Approve(i32),
    /// An administrator rejects a request (a reason is asked next).
    Reject(i32),
    /// An administrator rejects without giving a reason.
    SkipReason(i32),
    /// An administrator starts (or resumes) the work on a request.
    Start(i32),
    /// An administrator marks a request done.
    Done(i32),
    /// The user picks a language.
    Lang(String),
    /// An administrator asks for an export (`deadlines.xlsx`, …).
    Export(Export),
}

const VERSION: &str = "v1";
pub const MAX_LEN: usize = 64;

impl Callback {
    pub fn encode(&self) -> String {
        let data = match self {
            Callback::RequestType(id) => format!("{VERSION}:rt:{id}"),
            Callback::Submit(key) => format!("{VERSION}:sub:{key}"),
            Callback::CancelDialog => format!("{VERSION}:cx"),
            Callback::CancelRequest(id) => format!("{VERSION}:cr:{id}"),
            Callback::Approve(id) => format!("{VERSION}:ap:{id}"),
            Callback::Reject(id) => format!("{VERSION}:rj:{id}"),
            Callback::SkipReason(id) => format!("{VERSION}:sk:{id}"),
            Callback::Start(id) => format!("{VERSION}:st:{id}"),
            Callback::Done(id) => format!("{VERSION}:dn:{id}"),
            Callback::Lang(code) => format!("{VERSION}:lang:{code}"),
            Callback::Export(export) => format!("{VERSION}:ex:{}", export.name()),
        };
        debug_assert!(data.len() <= MAX_LEN, "callback data over 64 bytes: {data}");
        data
    }

    /// Parses callback data; anything malformed, of another version or unknown is `None`.
    pub fn parse(data: &str) -> Option<Callback> {
        if data.len() > MAX_LEN {
            return None;
        }
        let mut parts = data.split(':');
        if parts.next()? != VERSION {
            return None;
        }
        let action = parts.next()?;
        let arg = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let id = || arg.and_then(|a| a.parse::<i32>().ok()).filter(|id| *id > 0);
        Some(match (action, arg) {
            ("rt", _) => Callback::RequestType(id()?),
            ("sub", Some(key)) if is_key(key) => Callback::Submit(key.to_string()),
            ("cx", None) => Callback::CancelDialog,
            ("cr", _) => Callback::CancelRequest(id()?),
            ("ap", _) => Callback::Approve(id()?),
            ("rj", _) => Callback::Reject(id()?),
            ("sk", _) => Callback::SkipReason(id()?),
            ("st", _) => Callback::Start(id()?),
            ("dn", _) => Callback::Done(id()?),
            ("lang", Some(code @ ("ru" | "en"))) => Callback::Lang(code.to_string()),
            ("ex", Some(name)) => Callback::Export(Export::parse(name, "export").ok()?),
            _ => return None,
        })
    }
}

/// Submit keys are short random alphanumeric strings.
fn is_key(key: &str) -> bool {
    (8..=32).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_within_64_bytes() {
        for cb in [
            Callback::RequestType(1),
            Callback::Submit("a1B2c3D4e5F6g7H8".into()),
            Callback::CancelDialog,
            Callback::CancelRequest(i32::MAX),
            Callback::Approve(i32::MAX),
            Callback::Reject(42),
            Callback::SkipReason(42),
            Callback::Start(i32::MAX),
            Callback::Done(7),
            Callback::Lang("en".into()),
            Callback::Export(Export::parse("reminders.xlsx", "export").unwrap()),
        ] {
            let data = cb.encode();
            assert!(data.len() <= MAX_LEN);
            assert_eq!(Callback::parse(&data), Some(cb));
        }
    }

    #[test]
    fn malformed_data_is_refused() {
        for data in [
            "",
            "v1",
            "v2:ap:1",
            "v1:ap",
            "v1:ap:x",
            "v1:ap:-1",
            "v1:ap:0",
            "v1:ap:1:2",
            "v1:zz:1",
            "v1:lang:de",
            "v1:sub:short",
            "v1:sub:has space here",
            "v1:ex:users.csv",
            "v1:ex:deadlines.pdf",
            "v1:ap:99999999999",
            "v1:st",
            "v1:dn:0",
            "' OR 1=1 --",
        ] {
            assert_eq!(Callback::parse(data), None, "{data:?}");
        }
        assert_eq!(Callback::parse(&format!("v1:sub:{}", "a".repeat(70))), None);
    }
}
