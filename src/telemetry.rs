//! Logging: tracing-subscriber in pretty or JSON form, with every configured secret masked in
//! whatever is written (the bot token is part of every Bot API URL, and library errors print
//! URLs).

use std::io::{self, Write};
use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat};

/// Replaces each secret in a text with `[redacted]`.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
}

impl Redactor {
    pub fn new(mut secrets: Vec<String>) -> Self {
        secrets.retain(|s| !s.is_empty());
        // Longer secrets first, so one that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets: Arc::new(secrets) }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// A writer that buffers one log record and writes it redacted.
pub struct RedactingWriter<W: Write> {
    inner: W,
    redactor: Redactor,
    buf: Vec<u8>,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf);
            self.inner.write_all(self.redactor.redact(&text).as_bytes())?;
            self.buf.clear();
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Makes [`RedactingWriter`]s around another writer factory.
#[derive(Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> RedactingMakeWriter<M> {
    pub fn new(inner: M, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter { inner: self.inner.make_writer(), redactor: self.redactor.clone(), buf: Vec::new() }
    }
}

/// Installs the global subscriber: LOG_LEVEL as the filter, LOG_FORMAT json or pretty, to
/// standard error, secrets masked. A second call (tests) is a no-op.
pub fn init(log: &LogConfig, secrets: Vec<String>) {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = RedactingMakeWriter::new(io::stderr, Redactor::new(secrets));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    let _ = match log.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactor_masks_every_secret() {
        let r = Redactor::new(vec!["123:ABCDEF".into(), "hunter2hunter2".into(), String::new()]);
        let text = "POST https://api.telegram.org/bot123:ABCDEF/sendMessage failed; password hunter2hunter2";
        let out = r.redact(text);
        assert_eq!(out, "POST https://api.telegram.org/bot[redacted]/sendMessage failed; password [redacted]");
    }

    #[test]
    fn writer_redacts_what_passes_through() {
        let r = Redactor::new(vec!["s3cr3t-token".into()]);
        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter { inner: &mut sink, redactor: r, buf: Vec::new() };
            w.write_all(b"token=s3cr3t-").unwrap();
            w.write_all(b"token end\n").unwrap();
        }
        assert_eq!(String::from_utf8(sink).unwrap(), "token=[redacted] end\n");
    }
}
