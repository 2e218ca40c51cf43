//! doveadm's `mailbox list|create|delete|rename|subscribe|unsubscribe` (Dovecot's
//! `doveadm-mail-mailbox.c`), through the user's storage as IMAP's LIST, CREATE, DELETE,
//! RENAME and SUBSCRIBE go, with doveadm's error lines and exit codes.

use std::io::Write;

use crate::storage::error::StorageResult;
use crate::storage::list::glob::Glob;
use crate::storage::mutf7;
use crate::storage::user::{ListOptions, MailUser};

use super::print::{render, Formatter, Header};
use super::{
    at_most, mail_options, terminal_columns, ExitCode, MailVerb, Parsed, UsageError,
    MAIL_USAGE_PREFIX,
};

/// A `mailbox` verb with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxVerb {
    /// `list [-7|-8] [-s] [mask ...]`.
    List {
        mutf7: bool,
        subscribed: bool,
        masks: Vec<String>,
    },
    /// `create [-s] name ...`.
    Create { subscribe: bool, names: Vec<String> },
    /// `delete [-e] [-r] [-s] name ...`: the names sorted as doveadm sorts them (reverse
    /// byte order, children before their parents).
    Delete {
        recursive: bool,
        unsubscribe: bool,
        require_empty: bool,
        names: Vec<String>,
    },
    /// `rename [-s] old new`.
    Rename {
        subscribe: bool,
        old: String,
        new: String,
    },
    /// `subscribe name ...` (`true`) or `unsubscribe name ...`.
    Subscribe { subscribe: bool, names: Vec<String> },
}

/// `mailbox <verb> ...`; `None` when not one of these (`mailbox status` has its module).
pub(super) fn parse(words: &[String]) -> Option<Result<Parsed, UsageError>> {
    let (first, rest) = words.split_first()?;
    if first != "mailbox" {
        return None;
    }
    let (verb, options) = rest.split_first()?;
    let (spec, usage) = match verb.as_str() {
        "list" => ("78s", "[-7|-8] [-s] [<mailbox mask> [...]]"),
        "create" => ("g:s", "[-s] [-g <guid>] <mailbox> [...]"),
        "delete" => ("ersZ", "[-e] [-r] [-s] [-Z] <mailbox> [...]"),
        "rename" => ("s", "[-s] <old name> <new name>"),
        "subscribe" | "unsubscribe" => ("", "<mailbox> [...]"),
        _ => return None,
    };
    let name = format!("mailbox {verb}");
    let usage = format!("{name} {MAIL_USAGE_PREFIX}{usage}");
    Some(parse_verb(verb, options, spec, &name, &usage))
}

fn parse_verb(
    verb: &str,
    words: &[String],
    spec: &str,
    name: &str,
    usage: &str,
) -> Result<Parsed, UsageError> {
    let mut o = mail_options(words, spec, name)?;
    let args = std::mem::take(&mut o.args);
    let help = || UsageError::Help(usage.to_string());
    for (letter, what) in [('g', "-g <guid>"), ('Z', "-Z (unsafe delete)")] {
        if o.has(letter) {
            return Err(UsageError::Fatal(format!(
                "mailbox {verb}: {what} is not supported by this build of cote yet"
            )));
        }
    }
    let parsed = match verb {
        "list" => {
            // The last of -7 and -8 counts.
            let mutf7 = o
                .flags
                .iter()
                .rev()
                .find(|(c, _)| matches!(c, '7' | '8'))
                .is_some_and(|(c, _)| *c == '7');
            MailboxVerb::List {
                mutf7,
                subscribed: o.has('s'),
                masks: args,
            }
        }
        "create" => {
            if args.is_empty() {
                return Err(help());
            }
            MailboxVerb::Create {
                subscribe: o.has('s'),
                names: args,
            }
        }
        "delete" => {
            if args.is_empty() {
                return Err(help());
            }
            let mut names = args;
            sort_reverse(&mut names);
            MailboxVerb::Delete {
                recursive: o.has('r'),
                unsubscribe: o.has('s'),
                require_empty: o.has('e'),
                names,
            }
        }
        "rename" => {
            at_most(&args, 2)?;
            let [old, new] = <[String; 2]>::try_from(args).map_err(|_| help())?;
            MailboxVerb::Rename {
                subscribe: o.has('s'),
                old,
                new,
            }
        }
        _ => {
            if args.is_empty() {
                return Err(help());
            }
            MailboxVerb::Subscribe {
                subscribe: verb == "subscribe",
                names: args,
            }
        }
    };
    Ok((MailVerb::Mailbox(parsed), o.user))
}

/// doveadm's order for deleting: reverse byte order, so children go before their parents.
fn sort_reverse(names: &mut [String]) {
    names.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
    // (doveadm's sort keeps duplicates; so does this one)
}

/// The mailboxes `masks` name, as doveadm's mailbox iterator finds them: one mask without
/// `*` or `%` → that name, unlisted (it need not exist, and is not checked against the
/// subscriptions); no mask → every mailbox; else the mailboxes listed for the masks (exact
/// names among them match only themselves). `selectable_only` leaves out `\Noselect` and
/// `\NonExistent` ones (what `mailbox status` looks at).
pub(super) fn find_mailboxes(
    user: &mut MailUser,
    masks: &[String],
    subscribed_only: bool,
    selectable_only: bool,
) -> StorageResult<Vec<String>> {
    if let [mask] = masks {
        if !mask.contains(['*', '%']) {
            return Ok(masks.to_vec());
        }
    }
    let patterns = if masks.is_empty() {
        vec!["*".to_string()]
    } else {
        masks.to_vec()
    };
    let entries = user.list(
        &patterns,
        ListOptions {
            subscribed_only,
            return_subscribed: false,
        },
    )?;
    // What the listing found is matched again as doveadm matches: exact names byte for byte
    // (`inbox` is not `INBOX` here), patterns as LIST's.
    let matches = |vname: &str, sep: char| {
        masks.is_empty()
            || masks.iter().any(|m| {
                if m.contains(['*', '%']) {
                    Glob::new(m, sep).matches(vname)
                } else {
                    m == vname
                }
            })
    };
    Ok(entries
        .into_iter()
        .filter(|e| !selectable_only || !(e.attributes.noselect || e.attributes.nonexistent))
        .filter(|e| matches(&e.vname, e.separator))
        .map(|e| e.vname)
        .collect())
}

/// The separator of the namespace `vname` is in (`None`: no namespace takes it).
fn separator_of(user: &mut MailUser, vname: &str) -> Option<char> {
    user.list_for(vname)
        .ok()
        .map(|(list, _)| list.namespace().separator)
}

pub(super) fn run(
    verb: &MailboxVerb,
    user: &mut MailUser,
    prefix: &str,
    formatter: Option<Formatter>,
    out: &mut dyn Write,
) -> u8 {
    let mut code = ExitCode::default();
    match verb {
        MailboxVerb::List {
            mutf7,
            subscribed,
            masks,
        } => match find_mailboxes(user, masks, *subscribed, false) {
            Ok(names) => {
                let rows: Vec<Vec<String>> = names
                    .into_iter()
                    .map(|n| vec![if *mutf7 { mutf7::encode(&n) } else { n }])
                    .collect();
                let text = render(
                    formatter.unwrap_or(Formatter::Flow),
                    &[Header::hidden("mailbox")],
                    &rows,
                    terminal_columns(),
                );
                let _ = out.write_all(text.as_bytes());
            }
            Err(e) => code.storage_error(prefix, "Listing mailboxes failed", &e),
        },
        MailboxVerb::Create { subscribe, names } => {
            for name in names {
                // A name ending with the separator makes a directory; doveadm's messages
                // name it without the separator.
                let sep = separator_of(user, name);
                let shown = match sep {
                    Some(sep) => name.strip_suffix(sep).unwrap_or(name),
                    None => name,
                };
                if let Err(e) = user.create(name) {
                    code.storage_error(prefix, &format!("Can't create mailbox {shown}"), &e);
                }
                if *subscribe {
                    if let Err(e) = user.set_subscribed(shown, true) {
                        code.storage_error(
                            prefix,
                            &format!("Can't subscribe to mailbox {shown}"),
                            &e,
                        );
                    }
                }
            }
        }
        MailboxVerb::Delete {
            recursive,
            unsubscribe,
            require_empty,
            names,
        } => {
            let mut names = names.clone();
            if *recursive {
                names = with_children(user, &names, prefix, &mut code);
            }
            for name in &names {
                let deleted = if *require_empty {
                    delete_empty(user, name)
                } else {
                    user.delete(name)
                };
                if let Err(e) = deleted {
                    code.storage_error(prefix, &format!("Can't delete mailbox {name}"), &e);
                }
                if *unsubscribe {
                    if let Err(e) = user.set_subscribed(name, false) {
                        code.storage_error(
                            prefix,
                            &format!("Can't unsubscribe mailbox {name}"),
                            &e,
                        );
                    }
                }
            }
        }
        MailboxVerb::Rename {
            subscribe,
            old,
            new,
        } => {
            if let Err(e) = user.rename(old, new) {
                code.storage_error(prefix, &format!("Can't rename mailbox {old} to {new}"), &e);
            }
            if *subscribe {
                if let Err(e) = user.set_subscribed(old, false) {
                    code.storage_error(prefix, &format!("Can't unsubscribe mailbox {old}"), &e);
                }
                if let Err(e) = user.set_subscribed(new, true) {
                    code.storage_error(prefix, &format!("Can't subscribe to mailbox {new}"), &e);
                }
            }
        }
        MailboxVerb::Subscribe { subscribe, names } => {
            let what = if *subscribe {
                "subscribe to"
            } else {
                "unsubscribe"
            };
            for name in names {
                if let Err(e) = user.set_subscribed(name, *subscribe) {
                    // doveadm 2.3 words this with the name and the verb swapped.
                    code.storage_error(prefix, &format!("Can't {name} mailbox {what}"), &e);
                }
            }
        }
    }
    code.0
}

/// `delete -r`: each name's children (every mailbox below it in its namespace; all of them
/// for an empty name) and the name itself, children first.
fn with_children(
    user: &mut MailUser,
    names: &[String],
    prefix: &str,
    code: &mut ExitCode,
) -> Vec<String> {
    let mut all = Vec::new();
    for name in names {
        let pattern = if name.is_empty() {
            "*".to_string()
        } else {
            match separator_of(user, name) {
                Some(sep) => format!("{name}{sep}*"),
                None => format!("{name}*"),
            }
        };
        match user.list(&[pattern], ListOptions::default()) {
            Ok(entries) => all.extend(entries.into_iter().map(|e| e.vname)),
            Err(e) => code.storage_error(prefix, "Listing mailboxes failed", &e),
        }
        if !name.is_empty() {
            all.push(name.clone());
        }
    }
    sort_reverse(&mut all);
    all
}

/// `delete -e`: only a mailbox without messages.
fn delete_empty(user: &mut MailUser, name: &str) -> StorageResult<()> {
    // (INBOX is refused as such first, whatever it holds)
    if !name.eq_ignore_ascii_case("INBOX") && user.status(name)?.messages > 0 {
        return Err(crate::storage::error::StorageError::exists(
            "Mailbox isn't empty",
        ));
    }
    user.delete(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn verb(w: &[&str]) -> Result<(MailboxVerb, Option<String>), UsageError> {
        match parse(&words(w)) {
            Some(Ok((MailVerb::Mailbox(v), user))) => Ok((v, user)),
            Some(Ok(other)) => panic!("{other:?}"),
            Some(Err(e)) => Err(e),
            None => panic!("not a mailbox verb: {w:?}"),
        }
    }

    #[test]
    fn list_options_anywhere_as_getopt_permutes() {
        assert_eq!(
            verb(&["mailbox", "list", "INBOX", "-u", "alice", "-s7"]),
            Ok((
                MailboxVerb::List {
                    mutf7: true,
                    subscribed: true,
                    masks: words(&["INBOX"])
                },
                Some("alice".into())
            ))
        );
        assert_eq!(
            verb(&["mailbox", "list", "-7", "-8", "-ualice", "--", "-s"]),
            Ok((
                MailboxVerb::List {
                    mutf7: false,
                    subscribed: false,
                    masks: words(&["-s"])
                },
                Some("alice".into())
            ))
        );
        let e = verb(&["mailbox", "list", "-x"]).unwrap_err();
        assert_eq!(e.text("coteadm"), "list: invalid option -- 'x'\n");
        let e = verb(&["mailbox", "create", "-u", "a"]).unwrap_err();
        assert_eq!(
            e.text("coteadm"),
            "coteadm mailbox create [-u <user>|-A] [-S <socket_path>] [-s] [-g <guid>] \
             <mailbox> [...]\n"
        );
        assert!(parse(&words(&["mailbox", "status"])).is_none());
        assert!(parse(&words(&["mailbox"])).is_none());
    }

    #[test]
    fn verbs_and_their_usage_errors() {
        assert_eq!(
            verb(&["mailbox", "delete", "-rs", "A", "B", "A.x"])
                .unwrap()
                .0,
            MailboxVerb::Delete {
                recursive: true,
                unsubscribe: true,
                require_empty: false,
                names: words(&["B", "A.x", "A"]),
            }
        );
        assert_eq!(
            verb(&["mailbox", "rename", "-s", "a", "b"]).unwrap().0,
            MailboxVerb::Rename {
                subscribe: true,
                old: "a".into(),
                new: "b".into()
            }
        );
        assert_eq!(
            verb(&["mailbox", "unsubscribe", "x"]).unwrap().0,
            MailboxVerb::Subscribe {
                subscribe: false,
                names: words(&["x"])
            }
        );
        for bad in [
            &["mailbox", "create"][..],
            &["mailbox", "delete", "-r"],
            &["mailbox", "rename", "a"],
            &["mailbox", "subscribe"],
        ] {
            assert!(matches!(verb(bad), Err(UsageError::Help(_))), "{bad:?}");
        }
        assert_eq!(
            verb(&["mailbox", "rename", "a", "b", "c"]),
            Err(UsageError::Error("Extraneous arguments found: c".into()))
        );
        // subscribe takes no -s (doveadm's getopt string for it is empty).
        assert!(matches!(
            verb(&["mailbox", "subscribe", "-s", "x"]),
            Err(UsageError::Getopt(_))
        ));
        assert!(matches!(
            verb(&["mailbox", "create", "-g"]),
            Err(UsageError::Getopt(c)) if c.contains("requires an argument")
        ));
        for refused in [
            &["mailbox", "create", "-g", "0123", "x"][..],
            &["mailbox", "delete", "-Z", "x"],
            &["mailbox", "list", "-A"],
        ] {
            assert!(
                matches!(verb(refused), Err(UsageError::Fatal(t)) if t.contains("not supported")),
                "{refused:?}"
            );
        }
    }
}
