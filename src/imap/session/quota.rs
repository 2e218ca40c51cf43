//! QUOTA (RFC 2087) as Dovecot 2.3's `imap_quota` plugin answers it: GETQUOTAROOT,
//! GETQUOTA, and SETQUOTA refused (limits are changed by an admin, which no IMAP user of
//! cote is). Without the plugin the commands do not exist (the session's command lookup).

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{MailSession, QuotaRoot};
use crate::mail::quote::append_astring;

/// The capability `imap_quota` adds.
pub const CAPABILITY: &str = "QUOTA";

const INTERNAL_ERROR: &str = "Internal quota calculation error.";

/// `* QUOTA "root" (STORAGE 1 10 MESSAGE 2 5)`, or nothing for a root without limits.
fn quota_line(root: &QuotaRoot) -> Option<Vec<u8>> {
    let resources = root.resources.as_ref().ok()?;
    if resources.is_empty() {
        return None;
    }
    let mut line = b"* QUOTA ".to_vec();
    append_astring(&mut line, root.name.as_bytes());
    let items: Vec<String> = resources
        .iter()
        .map(|(name, value, limit)| format!("{name} {value} {limit}"))
        .collect();
    line.extend_from_slice(format!(" ({})", items.join(" ")).as_bytes());
    Some(line)
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn getquotaroot(&mut self, mailbox: &str) -> Step<Reply> {
        let roots = match self.mail.quota_roots(mailbox) {
            Ok(Some(roots)) => roots,
            Ok(None) => return Ok(Reply::ok("No quota.")),
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if roots.iter().any(|r| r.resources.is_err()) {
            return Ok(Reply::no(None, INTERNAL_ERROR));
        }
        let quota_lines: Vec<Vec<u8>> = roots.iter().filter_map(quota_line).collect();
        if quota_lines.is_empty() {
            return Ok(Reply::ok("No quota."));
        }
        let mut line = b"* QUOTAROOT ".to_vec();
        self.names().append(&mut line, mailbox);
        for root in &roots {
            line.push(b' ');
            append_astring(&mut line, root.name.as_bytes());
        }
        self.line(&line)?;
        for quota in quota_lines {
            self.line(&quota)?;
        }
        Ok(Reply::ok("Getquotaroot completed."))
    }

    pub(super) fn getquota(&mut self, name: &str) -> Step<Reply> {
        let Some(root) = self.mail.quota_root(name) else {
            return Ok(Reply::no(None, "Quota root doesn't exist."));
        };
        if root.resources.is_err() {
            return Ok(Reply::no(None, INTERNAL_ERROR));
        }
        if let Some(line) = quota_line(&root) {
            self.line(&line)?;
        }
        Ok(Reply::ok("Getquota completed."))
    }

    pub(super) fn setquota(&mut self) -> Step<Reply> {
        Ok(Reply::no(None, "Quota can be changed only by admin."))
    }
}
