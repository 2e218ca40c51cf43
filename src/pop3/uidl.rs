//! POP3 UIDLs as Dovecot makes them: the storage's own (a `P` record in `dovecot-uidlist`,
//! written by an earlier migration or `pop3_save_uidl`), else the message's `X-UIDL` header
//! when `pop3_reuse_xuidl` is set, else `pop3_uidl_format` expanded with the message's
//! `%v` UIDVALIDITY, `%u` UID, `%m` header MD5, `%f` file name and `%g` GUID.
//!
//! A UIDL must never change for a message, or every client downloads the mailbox again: the
//! values here are the ones Dovecot computes on the same Maildir.

use std::fmt;

use crate::config::var_expand::{self, short_keys, Vars};
use crate::storage::error::StorageError;
use crate::storage::mail::Mail;

/// A `pop3_uidl_format`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidlFormat {
    template: String,
    md5: bool,
    filename: bool,
    guid: bool,
}

/// Why a UIDL could not be made (logged; the session then ends, as Dovecot's does).
#[derive(Debug)]
pub enum UidlError {
    /// `%m`: Maildir has no header MD5 (Dovecot keeps it for mbox only).
    NoHeaderMd5,
    Storage(StorageError),
    Expand(String),
}

impl fmt::Display for UidlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UidlError::NoHeaderMd5 => f.write_str(
                "UIDL: Header MD5 not found (pop3_uidl_format=%m not supported by storage?)",
            ),
            UidlError::Storage(e) => write!(
                f,
                "UIDL: Message lookup failed: {}",
                e.internal().unwrap_or(e.client_text())
            ),
            UidlError::Expand(e) => write!(f, "UIDL: Failed to expand pop3_uidl_format: {e}"),
        }
    }
}

impl UidlFormat {
    /// The format, if it uses at least one of the UIDL variables (else Dovecot refuses to
    /// start a session: `Invalid pop3_uidl_format`).
    pub fn new(template: &str) -> Option<UidlFormat> {
        let keys = short_keys(template);
        let has = |k: u8| keys.contains(&k);
        if !keys.iter().any(|k| b"vumfg".contains(k)) {
            return None;
        }
        Some(UidlFormat {
            template: template.to_string(),
            md5: has(b'm'),
            filename: has(b'f'),
            guid: has(b'g'),
        })
    }

    /// The UIDL of `mail` in a mailbox with `uidvalidity`; `reuse_xuidl`: an `X-UIDL` header
    /// wins over the format.
    pub fn uidl(
        &self,
        uidvalidity: u32,
        mail: &mut Mail,
        reuse_xuidl: bool,
    ) -> Result<String, UidlError> {
        match mail.pop3_uidl() {
            // An empty `P` record means "the file name" (Dovecot's migration shortcut).
            Some("") => return Ok(mail.storage_id()),
            Some(uidl) => return Ok(uidl.to_string()),
            None => {}
        }
        if reuse_xuidl {
            if let Some(uidl) = x_uidl(mail)? {
                return Ok(uidl);
            }
        }
        let md5 = match (self.md5, mail.header_md5()) {
            (false, _) => None,
            (true, Some(md5)) => Some(md5.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            (true, None) => return Err(UidlError::NoHeaderMd5),
        };
        let uidvalidity = uidvalidity.to_string();
        let uid = mail.uid.to_string();
        let filename = self.filename.then(|| mail.storage_id());
        let guid = self.guid.then(|| mail.guid().to_string());
        let mut vars = Vars::new();
        vars.set(Some(b'v'), Some("uidvalidity"), Some(&uidvalidity));
        vars.set(Some(b'u'), Some("uid"), Some(&uid));
        vars.set(Some(b'm'), Some("md5"), md5.as_deref());
        vars.set(Some(b'f'), Some("filename"), filename.as_deref());
        vars.set(Some(b'g'), Some("guid"), guid.as_deref());
        var_expand::expand(&self.template, &vars).map_err(|e| UidlError::Expand(e.to_string()))
    }
}

/// The first `X-UIDL:` header's value, unfolded, as Dovecot reads it (whitespace after the
/// colon skipped, trailing whitespace kept); `None` when there is none.
fn x_uidl(mail: &mut Mail) -> Result<Option<String>, UidlError> {
    let message = mail.message().map_err(UidlError::Storage)?;
    Ok(message
        .header_fields()
        .into_iter()
        .find(|f| f.is("X-UIDL"))
        .map(|f| String::from_utf8_lossy(&f.value_oneline()).into_owned()))
}

/// `pop3_uidl_duplicates = rename`: a UIDL seen before gets `-2`, `-3`, ... (the count of
/// that UIDL so far), until it is unique.
#[derive(Debug, Default)]
pub struct DuplicateRenamer {
    seen: std::collections::HashMap<String, u32>,
}

impl DuplicateRenamer {
    pub fn unique(&mut self, mut uidl: String) -> String {
        while let Some(count) = self.seen.get_mut(&uidl) {
            *count += 1;
            uidl = format!("{uidl}-{count}");
        }
        self.seen.insert(uidl.clone(), 1);
        uidl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(UidlFormat::new("%08Xu%08Xv").is_some());
        assert!(UidlFormat::new("%{uid}").is_none());
        assert!(UidlFormat::new("plain").is_none());
        assert!(UidlFormat::new("%%u").is_none());
        let f = UidlFormat::new("%v.%f%g").unwrap();
        assert!(f.filename && f.guid && !f.md5);
    }

    #[test]
    fn default_format_expands_in_hex() {
        let f = UidlFormat::new("%08Xu%08Xv").unwrap();
        let mut vars = Vars::new();
        vars.set(Some(b'v'), None, Some("1700000000"));
        vars.set(Some(b'u'), None, Some("26"));
        assert_eq!(
            var_expand::expand(&f.template, &vars).unwrap(),
            "0000001a6553f100"
        );
    }

    #[test]
    fn duplicates_renamed() {
        let mut r = DuplicateRenamer::default();
        assert_eq!(r.unique("a".into()), "a");
        assert_eq!(r.unique("a".into()), "a-2");
        assert_eq!(r.unique("a".into()), "a-3");
        assert_eq!(r.unique("b".into()), "b");
        assert_eq!(r.unique("a-2".into()), "a-2-2");
    }
}
