//! doveadm's `force-resync [-f] <mailbox mask> ...`: every selectable mailbox the masks
//! list gets its index rebuilt from its mail files (`Mailbox::force_resync`).

use crate::storage::api::OpenOptions;
use crate::storage::user::{ListOptions, MailUser};

use super::{mail_options, ExitCode, MailVerb, Parsed, UsageError, MAIL_USAGE_PREFIX};

/// `force-resync` with its mask (one, as doveadm takes). (`-f`, doveadm's index fsck, is taken: a rebuild from the
/// mail files checks and replaces the whole index anyway.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResyncVerb {
    pub masks: Vec<String>,
}

/// `force-resync ...`; `None` when not that command.
pub(super) fn parse(words: &[String]) -> Option<Result<Parsed, UsageError>> {
    let (first, rest) = words.split_first()?;
    if first != "force-resync" {
        return None;
    }
    let usage = format!("force-resync {MAIL_USAGE_PREFIX}[-f] <mailbox mask>");
    Some(mail_options(rest, "f", "force-resync").and_then(|o| {
        o.at_most(1)?;
        if o.args.is_empty() {
            return Err(UsageError::Help(usage));
        }
        Ok((MailVerb::ForceResync(ResyncVerb { masks: o.args }), o.user))
    }))
}

pub(super) fn run(verb: &ResyncVerb, user: &mut MailUser, prefix: &str) -> u8 {
    let mut code = ExitCode::default();
    // Exact names are listed too: one that does not exist is no error, as in doveadm.
    let entries = match user.list(&verb.masks, ListOptions::default()) {
        Ok(entries) => entries,
        Err(e) => {
            code.storage_error(prefix, "Listing mailboxes failed", &e);
            return code.0;
        }
    };
    for entry in entries {
        if entry.attributes.noselect || entry.attributes.nonexistent {
            continue;
        }
        let name = entry.vname;
        match user.open(&name, OpenOptions::ACCESS) {
            Ok(mut mailbox) => {
                if let Err(e) = mailbox.force_resync() {
                    code.storage_error(
                        prefix,
                        &format!("Forcing a resync on mailbox {name} failed"),
                        &e,
                    );
                }
            }
            Err(e) => code.storage_error(prefix, &format!("Opening mailbox {name} failed"), &e),
        }
    }
    code.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_required() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&words(&["force-resync", "-f", "-u", "a", "*"])),
            Some(Ok((
                MailVerb::ForceResync(ResyncVerb {
                    masks: words(&["*"])
                }),
                Some("a".into())
            )))
        );
        assert_eq!(
            parse(&words(&["force-resync", "-u", "a"]))
                .unwrap()
                .unwrap_err()
                .text("coteadm"),
            "coteadm force-resync [-u <user>|-A] [-S <socket_path>] [-f] <mailbox mask>\n"
        );
        assert_eq!(
            parse(&words(&["force-resync", "INBOX", "a", "b"])),
            Some(Err(UsageError::Error(
                "Extraneous arguments found: a b".into()
            )))
        );
        assert_eq!(parse(&words(&["forceresync"])), None);
    }
}
