//! doveadm's `mailbox status [-t] [-f field] <fields> <mailbox mask> ...` (Dovecot's
//! `doveadm-mail-mailbox-status.c`): the fields asked for, per mailbox or summed with `-t`.

use std::io::Write;

use crate::storage::api::OpenOptions;
use crate::storage::error::StorageResult;
use crate::storage::maildir::uidlist::guid_hex;
use crate::storage::user::MailUser;

use super::mailbox::find_mailboxes;
use super::print::{render, Formatter, Header};
use super::{
    mail_options, terminal_columns, ExitCode, MailVerb, Parsed, UsageError, MAIL_USAGE_PREFIX,
};

/// A status field, in doveadm's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusField {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    HighestModseq,
    Vsize,
    Guid,
    FirstSaved,
}

const ALL: [StatusField; 9] = [
    StatusField::Messages,
    StatusField::Recent,
    StatusField::UidNext,
    StatusField::UidValidity,
    StatusField::Unseen,
    StatusField::HighestModseq,
    StatusField::Vsize,
    StatusField::Guid,
    StatusField::FirstSaved,
];

/// What `-t` can sum (and what `all` means with it).
const TOTALS: [StatusField; 4] = [
    StatusField::Messages,
    StatusField::Recent,
    StatusField::Unseen,
    StatusField::Vsize,
];

impl StatusField {
    fn name(self) -> &'static str {
        match self {
            StatusField::Messages => "messages",
            StatusField::Recent => "recent",
            StatusField::UidNext => "uidnext",
            StatusField::UidValidity => "uidvalidity",
            StatusField::Unseen => "unseen",
            StatusField::HighestModseq => "highestmodseq",
            StatusField::Vsize => "vsize",
            StatusField::Guid => "guid",
            StatusField::FirstSaved => "firstsaved",
        }
    }
}

/// `mailbox status` with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusVerb {
    /// `-t`: one line of sums.
    pub total: bool,
    /// The fields, each once, in output order.
    pub fields: Vec<StatusField>,
    pub masks: Vec<String>,
}

/// `mailbox status ...`; `None` when not that command.
pub(super) fn parse(words: &[String]) -> Option<Result<Parsed, UsageError>> {
    match words {
        [first, second, rest @ ..] if first == "mailbox" && second == "status" => {
            Some(parse_options(rest))
        }
        _ => None,
    }
}

fn parse_options(words: &[String]) -> Result<Parsed, UsageError> {
    let usage = format!("mailbox status {MAIL_USAGE_PREFIX}<fields> <mailbox> [...]");
    let o = mail_options(words, "tf:", "mailbox status")?;
    let help = || UsageError::Help(usage.clone());
    let total = o.has('t');
    // Fields given with -f (doveadm's `field` parameter) stand for the first word.
    let from_options: Vec<&str> = o.values('f').collect();
    let (fields, masks) = if from_options.is_empty() {
        match o.args.split_first() {
            Some((fields, masks)) => (fields.clone(), masks.to_vec()),
            None => return Err(help()),
        }
    } else {
        (from_options.join(" "), o.args.clone())
    };
    if masks.is_empty() {
        return Err(help());
    }
    let fields = parse_fields(&fields, total)?;
    Ok((
        MailVerb::Status(StatusVerb {
            total,
            fields,
            masks,
        }),
        o.user,
    ))
}

/// The space-separated `fields`, as doveadm checks them.
fn parse_fields(fields: &str, total: bool) -> Result<Vec<StatusField>, UsageError> {
    let mut out: Vec<StatusField> = Vec::new();
    let words: Vec<&str> = fields.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Err(UsageError::Fatal("No status fields".into()));
    }
    for word in words {
        if word == "all" {
            out.extend(if total { &TOTALS[..] } else { &ALL[..] });
        } else {
            match ALL.iter().find(|f| f.name() == word) {
                Some(f) => out.push(*f),
                None => return Err(UsageError::Fatal(format!("Unknown status field: {word}"))),
            }
        }
        if total && out.iter().any(|f| !TOTALS.contains(f)) {
            return Err(UsageError::Fatal(format!(
                "Status field {word} can't be used with -t"
            )));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One mailbox's values, for `fields`.
fn mailbox_values(
    user: &mut MailUser,
    vname: &str,
    fields: &[StatusField],
) -> StorageResult<Vec<(StatusField, u64, String)>> {
    let mut mailbox = user.open(vname, OpenOptions::ACCESS)?;
    let status = mailbox.status()?;
    let mut out = Vec::new();
    for &field in fields {
        let number = match field {
            StatusField::Messages => u64::from(status.messages),
            StatusField::Recent => u64::from(status.recent),
            StatusField::UidNext => u64::from(status.uidnext),
            StatusField::UidValidity => u64::from(status.uidvalidity),
            StatusField::Unseen => u64::from(status.unseen),
            StatusField::HighestModseq => status.highest_modseq,
            StatusField::Vsize => status.vsize,
            StatusField::Guid => {
                out.push((field, 0, guid_hex(&mailbox.guid()?)));
                continue;
            }
            StatusField::FirstSaved => {
                // The save date of the first message, `never` in an empty mailbox.
                let first = mailbox.seqs().uids().first().copied();
                let text = match first {
                    Some(uid) => mailbox.mail(uid)?.save_date()?.to_string(),
                    None => "never".to_string(),
                };
                out.push((field, 0, text));
                continue;
            }
        };
        out.push((field, number, number.to_string()));
    }
    Ok(out)
}

pub(super) fn run(
    verb: &StatusVerb,
    user: &mut MailUser,
    prefix: &str,
    formatter: Option<Formatter>,
    out: &mut dyn Write,
) -> u8 {
    let mut code = ExitCode::default();
    let names = match find_mailboxes(user, &verb.masks, false, true) {
        Ok(names) => names,
        Err(e) => {
            code.storage_error(prefix, "Listing mailboxes failed", &e);
            Vec::new()
        }
    };
    let mut rows = Vec::new();
    let mut sums = vec![0u64; verb.fields.len()];
    for name in names {
        match mailbox_values(user, &name, &verb.fields) {
            Ok(values) if verb.total => {
                for (sum, (_, n, _)) in sums.iter_mut().zip(&values) {
                    *sum = sum.saturating_add(*n);
                }
            }
            Ok(values) => {
                let mut row = vec![name];
                row.extend(values.into_iter().map(|(_, _, text)| text));
                rows.push(row);
            }
            Err(e) => code.storage_error(
                prefix,
                &format!("Mailbox {name}: Failed to lookup mailbox status"),
                &e,
            ),
        }
    }
    let mut headers = Vec::new();
    if verb.total {
        rows.push(sums.iter().map(u64::to_string).collect());
    } else {
        headers.push(Header::hidden("mailbox"));
    }
    headers.extend(verb.fields.iter().map(|f| Header::simple(f.name())));
    let text = render(
        formatter.unwrap_or(Formatter::Flow),
        &headers,
        &rows,
        terminal_columns(),
    );
    let _ = out.write_all(text.as_bytes());
    code.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn status(w: &[&str]) -> Result<StatusVerb, UsageError> {
        let mut all = words(&["mailbox", "status"]);
        all.extend(words(w));
        match parse(&all) {
            Some(Ok((MailVerb::Status(v), _))) => Ok(v),
            Some(Ok(other)) => panic!("{other:?}"),
            Some(Err(e)) => Err(e),
            None => panic!("not mailbox status"),
        }
    }

    #[test]
    fn fields_as_doveadm_takes_them() {
        use StatusField::*;
        let v = status(&["-u", "a", "unseen  messages unseen", "INBOX", "*"]).unwrap();
        assert_eq!(v.fields, [Messages, Unseen]);
        assert_eq!(v.masks, words(&["INBOX", "*"]));
        assert!(!v.total);
        assert_eq!(status(&["all", "x"]).unwrap().fields, ALL);
        assert_eq!(
            status(&["-t", "all", "x"]).unwrap().fields,
            [Messages, Recent, Unseen, Vsize]
        );
        // -f gives the fields; every word is then a mailbox.
        let v = status(&["-f", "messages", "-f", "guid", "INBOX"]).unwrap();
        assert_eq!(v.fields, [Messages, Guid]);
        assert_eq!(v.masks, words(&["INBOX"]));
        assert_eq!(
            status(&["bogus", "INBOX"]),
            Err(UsageError::Fatal("Unknown status field: bogus".into()))
        );
        assert_eq!(
            status(&["-t", "uidnext", "*"]),
            Err(UsageError::Fatal(
                "Status field uidnext can't be used with -t".into()
            ))
        );
        assert_eq!(
            status(&["", "INBOX"]),
            Err(UsageError::Fatal("No status fields".into()))
        );
        assert!(matches!(
            status(&["messages"]),
            Err(UsageError::Help(usage)) if usage.starts_with("mailbox status [-u")
        ));
    }
}
