//! Reading an update from the bytes Telegram sent, for both transports. Text is kept as sent,
//! except U+0000, which no PostgreSQL text column stores: it becomes U+FFFD (the replacement
//! character), on every database alike.

use std::borrow::Cow;

use teloxide::types::Update;

/// The update in `body` and the body as it was read (U+0000 replaced), or serde's error: a
/// syntax error when the body is not JSON, a data error when it is JSON but not an update.
pub fn update(body: &[u8]) -> Result<(Update, Cow<'_, [u8]>), serde_json::Error> {
    let body = without_nul(body);
    let update = serde_json::from_slice(&body)?;
    Ok((update, body))
}

/// `body` with each JSON escape of U+0000 (`\u0000`) turned into U+FFFD's (`\ufffd`). A raw NUL
/// byte is no JSON (control characters in strings must be escaped), so escapes are all there is.
fn without_nul(body: &[u8]) -> Cow<'_, [u8]> {
    const NUL: &[u8] = b"\\u0000";
    if !body.windows(NUL.len()).any(|w| w == NUL) {
        return Cow::Borrowed(body);
    }
    let mut out = body.to_vec();
    let mut i = 0;
    while i < out.len() {
        if out[i] != b'\\' {
            i += 1;
        } else if out.get(i + 1..i + 6) == Some(b"u0000") {
            out[i + 2..i + 6].copy_from_slice(b"fffd");
            i += 6;
        } else {
            // Any other escape, `\\` among them: the next byte is not the start of one.
            i += 2;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(json: &str) -> String {
        String::from_utf8(without_nul(json.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn nul_escapes_become_replacement_characters() {
        assert_eq!(cleaned(r#"{"a":"Nu\u0000l"}"#), r#"{"a":"Nu\ufffdl"}"#);
        assert_eq!(cleaned(r#"["\u0000\u0000"]"#), r#"["\ufffd\ufffd"]"#);
        let value: serde_json::Value = serde_json::from_str(&cleaned(r#"{"a":"x\u0000"}"#)).unwrap();
        assert_eq!(value["a"], "x\u{FFFD}");
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text() {
        // `\\u0000` is a backslash and the letters u0000, no NUL.
        assert_eq!(cleaned(r#"{"a":"\\u0000"}"#), r#"{"a":"\\u0000"}"#);
        assert_eq!(cleaned(r#"{"a":"\\\u0000"}"#), r#"{"a":"\\\ufffd"}"#);
        assert!(matches!(without_nul(br#"{"a":"plain"}"#), Cow::Borrowed(_)));
    }
}
