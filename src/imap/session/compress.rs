//! COMPRESS=DEFLATE (RFC 4978), as Dovecot 2.3's `imap_zlib` plugin offers it: after the
//! tagged OK both directions are raw deflate until the connection ends. Every flush of the
//! answers is a sync flush, so the client can decode each answer (and IDLE's updates) as soon
//! as it arrives.
//!
//! A TLS client's bytes reach this process as plaintext through its login process's proxy
//! (`net::tls_proxy`), so compression sits inside TLS, as RFC 4978 §3 wants.

use std::io::{self, Read, Write};
use std::os::fd::BorrowedFd;
use std::time::Duration;

use super::{Reply, Session, Step, WaitInput, Wake};
use crate::config::Settings;
use crate::imap::mail_session::MailSession;
use crate::imap::response::Code;
use crate::net::deflate::InflateReader;

/// Dovecot's `IMAP_COMPRESS_DEFAULT_LEVEL`... in effect zlib's default.
const DEFAULT_LEVEL: u32 = 6;
/// The compression mechanisms Dovecot 2.3 knows besides deflate: cote has none of them
/// (Dovecot's "Unsupported" rather than "Unknown").
const OTHER_KNOWN_MECHANISMS: &[&str] = &["gz", "bz2", "xz", "lz4", "zstd"];

/// The capability `imap_zlib` adds.
pub const CAPABILITY: &str = "COMPRESS=DEFLATE";

/// Whether `mail_plugins` loads the plugin `name` (Dovecot's module names, with or without
/// the `_plugin` suffix).
pub fn plugin_loaded(settings: &Settings, name: &str) -> bool {
    settings
        .str("mail_plugins")
        .split([' ', ','])
        .any(|p| p == name || p.strip_suffix("_plugin") == Some(name))
}

/// COMPRESS's level when `mail_plugins` loads `imap_zlib` (`None`: no COMPRESS), from the
/// plugin setting `imap_compress_deflate_level` (0-9; another value is logged and the
/// default used, as Dovecot).
pub fn compress_level(settings: &Settings) -> Option<u32> {
    if !plugin_loaded(settings, "imap_zlib") {
        return None;
    }
    let setting = "imap_compress_deflate_level";
    let value = settings
        .strlist("plugin")
        .into_iter()
        .find(|(k, _)| *k == setting)
        .map(|(_, v)| v);
    Some(match value {
        None => DEFAULT_LEVEL,
        Some(v) => match v.parse::<u32>() {
            Ok(level) if level <= 9 => level,
            _ => {
                log::error!("{setting}: Level must be between 0..9");
                DEFAULT_LEVEL
            }
        },
    })
}

/// Input inflated but not read yet counts as input.
impl<R: WaitInput> WaitInput for InflateReader<R> {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        if self.has_pending() {
            return Ok(Wake::Input);
        }
        self.get_ref().wait_input(timeout, change)
    }
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// COMPRESS: checks the request; compression starts once the OK is out
    /// ([`Session::start_requested_compression`]).
    pub(super) fn compress(&mut self, mechanism: &str) -> Step<Reply> {
        let Some(level) = self.settings.compress_level else {
            // Not loaded: `command` answers that the command does not exist.
            return Ok(Reply::bad("Unknown command."));
        };
        if self.reader.get_ref().get_ref().is_active() {
            return Ok(Reply::no(
                Some(Code::Other("COMPRESSIONACTIVE".into())),
                "COMPRESSION=DEFLATE already enabled.",
            ));
        }
        let mechanism = mechanism.to_ascii_lowercase();
        if mechanism != "deflate" {
            let text = if OTHER_KNOWN_MECHANISMS.contains(&mechanism.as_str()) {
                "Unsupported compression mechanism"
            } else {
                "Unknown compression mechanism"
            };
            return Ok(Reply::no(None, text));
        }
        self.compression_requested = Some(level);
        Ok(Reply::ok("Begin compression."))
    }

    /// After COMPRESS's OK: the OK goes out uncompressed, everything after it compressed.
    /// What the client sent after the COMPRESS line is compressed already.
    pub(super) fn start_requested_compression(&mut self) -> Step {
        let Some(level) = self.compression_requested.take() else {
            return Ok(());
        };
        self.flush()?;
        let buffered = self.reader.take_buffered();
        self.reader.get_mut().get_mut().start(buffered);
        self.writer.get_mut().get_mut().start(level);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn level(text: &str) -> Option<u32> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        compress_level(&Config::load(&path).unwrap().global())
    }

    #[test]
    fn switched_on_by_imap_zlib_only() {
        assert_eq!(level(""), None);
        // `zlib` is the storage plugin (compressed mail files), not COMPRESS.
        assert_eq!(level("mail_plugins = zlib\n"), None);
        assert_eq!(level("mail_plugins = zlib imap_zlib\n"), Some(6));
        assert_eq!(
            level("mail_plugins = imap_zlib\nplugin {\n  imap_compress_deflate_level = 1\n}\n"),
            Some(1)
        );
        // Out of range: the default, as Dovecot (which logs the error).
        assert_eq!(
            level("mail_plugins = imap_zlib\nplugin {\n  imap_compress_deflate_level = 10\n}\n"),
            Some(6)
        );
    }
}
