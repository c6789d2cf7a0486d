//! Telegram's text formatting as the fake checks it: HTML, MarkdownV2 and legacy Markdown.

use super::*;

/// The text a user sees for `raw` under `parse_mode`, or Telegram's "can't parse entities" error.
pub(super) fn render(raw: &str, parse_mode: Option<&str>) -> Result<String, ApiError> {
    let parsed = match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => return Ok(raw.to_owned()),
        Some("html") => parse_html(raw),
        Some("markdownv2") => parse_markdown_v2(raw),
        Some("markdown") => parse_markdown(raw),
        Some(_) => return Err(ApiError::bad_request("unsupported parse_mode")),
    };
    parsed.map_err(|why| ApiError::bad_request(format!("can't parse entities: {why}")))
}

/// Telegram's HTML: supported tags only, properly nested, with `&lt;`-style and numeric entities.
pub(super) fn parse_html(text: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    ];
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(rest) = text.get(i..).filter(|rest| !rest.is_empty()) {
        if rest.starts_with('&')
            && let Some((decoded, len)) = html_entity(rest)
        {
            out.push(decoded);
            i += len;
            continue;
        }
        if !rest.starts_with('<') {
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let begin = i;
        if let Some(end_tag) = rest.strip_prefix("</") {
            let Some(expected) = open.pop() else {
                return Err(format!("Unexpected end tag at byte offset {begin}"));
            };
            let Some(close) = end_tag.find('>') else {
                return Err(format!("Unclosed end tag at byte offset {begin}"));
            };
            let name = end_tag[..close].trim().to_ascii_lowercase();
            if !name.is_empty() && name != expected {
                return Err(format!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{expected}>\", found \"</{name}>\""
                ));
            }
            i += 2 + close + 1;
            continue;
        }
        let tag = &rest[1..];
        let Some(name_len) = tag.find(|c: char| c.is_whitespace() || c == '>') else {
            return Err(format!("Unclosed start tag at byte offset {begin}"));
        };
        let name = tag[..name_len].to_ascii_lowercase();
        if !TAGS.contains(&name.as_str()) {
            return Err(format!("Unsupported start tag \"{name}\" at byte offset {begin}"));
        }
        let mut quote = None;
        let close = tag[name_len..].char_indices().find_map(|(j, c)| match (quote, c) {
            (None, '>') => Some(j),
            (None, '"' | '\'') => {
                quote = Some(c);
                None
            }
            (Some(q), c) if c == q => {
                quote = None;
                None
            }
            _ => None,
        });
        let Some(close) = close else {
            return Err(format!("Unclosed start tag at byte offset {begin}"));
        };
        if name == "span" && !tag[name_len..name_len + close].contains("tg-spoiler") {
            return Err(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"));
        }
        open.push(name);
        i += 1 + name_len + close + 1;
    }
    match open.last() {
        Some(tag) => Err(format!("Can't find end tag corresponding to start tag {tag}")),
        None => Ok(out),
    }
}

/// Decodes an HTML entity at the start of `text`, returning the character and the entity's length in bytes.
pub(super) fn html_entity(text: &str) -> Option<(char, usize)> {
    let end = text.char_indices().take(12).find(|&(_, c)| c == ';')?.0;
    let decoded = match &text[1..end] {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        name => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((decoded, end + 1))
}

/// Entities of MarkdownV2, named as in Telegram's errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MarkdownEntity {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre,
    TextUrl,
}

impl MarkdownEntity {
    pub(super) fn end_delimiter(self) -> &'static str {
        match self {
            Self::Bold => "*",
            Self::Italic => "_",
            Self::Underline => "__",
            Self::Strikethrough => "~",
            Self::Spoiler => "||",
            Self::Code => "`",
            Self::Pre => "```",
            Self::TextUrl => "]",
        }
    }
}

/// Whether `delimiter` occurs in `chars` at index `k`.
pub(super) fn delimiter_at(chars: &[(usize, char)], k: usize, delimiter: &str) -> bool {
    delimiter.chars().enumerate().all(|(j, d)| chars.get(k + j).is_some_and(|&(_, c)| c == d))
}

/// Index just past the `)` closing a link URL that starts at `k`, honouring `\` escapes.
pub(super) fn link_end(chars: &[(usize, char)], mut k: usize) -> Option<usize> {
    while let Some(&(_, c)) = chars.get(k) {
        match c {
            '\\' => k += 2,
            ')' => return Some(k + 1),
            _ => k += 1,
        }
    }
    None
}

/// Telegram's MarkdownV2: reserved characters must be escaped and every entity closed.
pub(super) fn parse_markdown_v2(text: &str) -> Result<String, String> {
    use MarkdownEntity::*;
    const RESERVED: &str = "_*[]()~`>#+-=|{}.!";
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(MarkdownEntity, usize)> = Vec::new();
    let mut k = 0;
    while let Some(&(offset, c)) = chars.get(k) {
        if c == '\\' && at(k + 1).is_some_and(|next| ('\u{1}'..='\u{7e}').contains(&next)) {
            out.push(chars[k + 1].1);
            k += 2;
            continue;
        }
        let in_code = matches!(open.last(), Some((Code | Pre, _)));
        if (in_code && c != '`') || !RESERVED.contains(c) {
            out.push(c);
            k += 1;
            continue;
        }
        if let Some(&(entity, _)) = open.last() {
            let delimiter = entity.end_delimiter();
            let italic_meets_underline = entity == Italic && at(k + 1) == Some('_');
            if delimiter_at(&chars, k, delimiter) && !italic_meets_underline {
                open.pop();
                k += delimiter.len();
                if entity == TextUrl && at(k) == Some('(') {
                    k = link_end(&chars, k + 1)
                        .ok_or_else(|| format!("Can't find end of a URL at byte offset {}", chars[k].0))?;
                }
                continue;
            }
        }
        let reserved = || format!("Character '{c}' is reserved and must be escaped with the preceding '\\'");
        if in_code {
            return Err(reserved());
        }
        let (entity, len) = match c {
            '_' if at(k + 1) == Some('_') => (Underline, 2),
            '_' => (Italic, 1),
            '*' => (Bold, 1),
            '~' => (Strikethrough, 1),
            '|' if at(k + 1) == Some('|') => (Spoiler, 2),
            '[' => (TextUrl, 1),
            '`' if delimiter_at(&chars, k, "```") => (Pre, 3),
            '`' => (Code, 1),
            '>' if k == 0 || at(k - 1) == Some('\n') => {
                k += 1;
                continue;
            }
            _ => return Err(reserved()),
        };
        open.push((entity, offset));
        k += len;
        if entity == Pre {
            // A language name on the opening line is not part of the text.
            let line_end = (k..chars.len()).find(|&j| matches!(at(j), Some('\n' | '`')));
            if let Some(newline) = line_end.filter(|&j| at(j) == Some('\n'))
                && (k..newline).all(|j| at(j).is_some_and(|c| !c.is_whitespace()))
            {
                k = newline + 1;
            }
        }
    }
    match open.last() {
        Some((entity, offset)) => Err(format!("Can't find end of {entity:?} entity at byte offset {offset}")),
        None => Ok(out),
    }
}

/// Telegram's legacy Markdown: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`.
pub(super) fn parse_markdown(text: &str) -> Result<String, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while let Some(&(offset, c)) = chars.get(k) {
        if c == '\\' && at(k + 1).is_some_and(|next| "_*`[".contains(next)) {
            out.push(chars[k + 1].1);
            k += 2;
            continue;
        }
        if !"_*`[".contains(c) {
            out.push(c);
            k += 1;
            continue;
        }
        let end = match c {
            '[' => "]",
            '`' if delimiter_at(&chars, k, "```") => "```",
            '`' => "`",
            '_' => "_",
            _ => "*",
        };
        let unclosed = || format!("Can't find end of the entity starting at byte offset {offset}");
        // Every opening delimiter is as long as its closing one.
        let start = k + end.len();
        let close = (start..chars.len()).find(|&j| delimiter_at(&chars, j, end)).ok_or_else(unclosed)?;
        out.extend(chars[start..close].iter().map(|&(_, c)| c));
        k = close + end.len();
        if c == '[' && at(k) == Some('(') {
            k = link_end(&chars, k + 1).ok_or_else(unclosed)?;
        }
    }
    Ok(out)
}
