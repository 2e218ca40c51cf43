//! Evaluating a SEARCH program on one message, over [`MailMessage`]: flags, sizes and dates
//! from the message's data, text keys through its matchers (the mail layer's, by default), and
//! what only the session knows — sequence numbers, `\Recent`, the saved result `$` — from a
//! [`SearchEnv`]. Date keys compare as Dovecot does: INTERNALDATE and the save date in the
//! server's time zone, the Date: header in its own.

use crate::imap::mail_session::{MailError, MailErrorKind, MailMessage};
use crate::imap::parser::search::{DateField, SearchKey};
use crate::imap::seqset::{SequenceSet, SetArg};
use crate::index::uidset::UidSet;
use crate::mail::search::{sent_matches, DateMatch};

/// What the session knows that a program needs.
pub struct SearchEnv<'a> {
    /// Now, as a UTC timestamp (OLDER/YOUNGER).
    pub now: i64,
    /// The UIDs of the selected mailbox in sequence order (sequence sets, `*` in UID sets).
    pub uids: &'a [u32],
    /// The saved result `$` (UIDs), if a search saved one.
    pub saved: Option<&'a UidSet>,
    /// Minutes east of UTC of the server's zone at a time.
    pub utc_offset: &'a dyn Fn(i64) -> i32,
}

/// A program with its message sets resolved against the mailbox, ready to test messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    keys: Vec<SearchKey>,
}

impl Program {
    /// Resolves the sets of `keys` once: sequence sets to UIDs, `$` to the saved UIDs.
    pub fn new(keys: &[SearchKey], env: &SearchEnv<'_>) -> Program {
        Program {
            keys: keys.iter().map(|k| resolve(k, env)).collect(),
        }
    }

    /// Whether the message `message`, `\Recent` in this session when `recent`, matches.
    pub fn matches<M: MailMessage + ?Sized>(
        &self,
        message: &mut M,
        recent: bool,
        env: &SearchEnv<'_>,
    ) -> Result<bool, MailError> {
        all(&self.keys, message, recent, env)
    }
}

/// Sequence and UID sets become sets of existing UIDs (keys `Uid(Set(..))`); `$` becomes the
/// saved UIDs (an empty set when nothing was saved: it matches nothing, as in Dovecot).
fn resolve(key: &SearchKey, env: &SearchEnv<'_>) -> SearchKey {
    let uids_of =
        |set: &UidSet| SearchKey::Uid(SetArg::Set(SequenceSet::from_numbers(set.clone())));
    match key {
        SearchKey::Sequence(SetArg::Set(set)) => {
            let seqs = set.seqs(env.uids.len() as u32);
            let uids: UidSet = seqs
                .iter()
                .filter_map(|seq| env.uids.get(seq as usize - 1).copied())
                .collect();
            uids_of(&uids)
        }
        SearchKey::Uid(SetArg::Set(set)) => uids_of(&set.uids(env.uids)),
        SearchKey::Sequence(SetArg::SavedResult) | SearchKey::Uid(SetArg::SavedResult) => {
            uids_of(&env.saved.cloned().unwrap_or_default())
        }
        SearchKey::Not(k) => SearchKey::Not(Box::new(resolve(k, env))),
        SearchKey::Fuzzy(k) => SearchKey::Fuzzy(Box::new(resolve(k, env))),
        SearchKey::InThread(a, k) => SearchKey::InThread(*a, Box::new(resolve(k, env))),
        SearchKey::Or(a, b) => SearchKey::Or(Box::new(resolve(a, env)), Box::new(resolve(b, env))),
        SearchKey::And(keys) => SearchKey::And(keys.iter().map(|k| resolve(k, env)).collect()),
        other => other.clone(),
    }
}

fn all<M: MailMessage + ?Sized>(
    keys: &[SearchKey],
    message: &mut M,
    recent: bool,
    env: &SearchEnv<'_>,
) -> Result<bool, MailError> {
    for key in keys {
        if !matches(key, message, recent, env)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn date_matches(date: i64, how: DateMatch, day: i64) -> bool {
    match how {
        DateMatch::Before => date < day,
        DateMatch::On => date >= day && date < day + 86_400,
        DateMatch::Since => date >= day,
    }
}

fn matches<M: MailMessage + ?Sized>(
    key: &SearchKey,
    message: &mut M,
    recent: bool,
    env: &SearchEnv<'_>,
) -> Result<bool, MailError> {
    Ok(match key {
        SearchKey::All => true,
        SearchKey::Uid(SetArg::Set(set)) => set.contains(message.uid()),
        // Resolved by Program::new.
        SearchKey::Sequence(_) | SearchKey::Uid(SetArg::SavedResult) => false,
        SearchKey::Flag(flag, set) => message.flags()?.system.contains(*flag) == *set,
        SearchKey::Recent(set) => recent == *set,
        SearchKey::Keyword(name, set) => {
            let has = message
                .flags()?
                .keywords
                .iter()
                .any(|k| k.eq_ignore_ascii_case(name));
            has == *set
        }
        SearchKey::Date(DateField::Internal, how, day) => {
            let date = message.internal_date()?;
            date_matches(date + i64::from((env.utc_offset)(date)) * 60, *how, *day)
        }
        SearchKey::Date(DateField::Saved, how, day) => match message.save_date()? {
            Some(date) => date_matches(date + i64::from((env.utc_offset)(date)) * 60, *how, *day),
            None => false,
        },
        SearchKey::Date(DateField::Sent, how, day) => {
            sent_matches(message.sent_date()?, *how, *day)
        }
        SearchKey::SaveDateSupported => message.save_date()?.is_some(),
        SearchKey::Larger(size) => message.virtual_size()? > *size,
        SearchKey::Smaller(size) => message.virtual_size()? < *size,
        SearchKey::Header { field, value, how } => message.header_contains(field, value, *how)?,
        SearchKey::Body(text) => message.body_contains(text)?,
        SearchKey::Text(text) => message.text_contains(text)?,
        // WITHIN (RFC 5032), as Dovecot: OLDER n is "at least n seconds old".
        SearchKey::Younger(secs) => message.internal_date()? >= env.now - i64::from(*secs),
        SearchKey::Older(secs) => message.internal_date()? <= env.now - i64::from(*secs),
        // Per-flag modseqs are not kept: the message's modseq stands for all of them.
        SearchKey::Modseq { modseq, .. } => message.modseq()? >= *modseq,
        SearchKey::Not(k) => !matches(k, message, recent, env)?,
        SearchKey::Or(a, b) => {
            matches(a, message, recent, env)? || matches(b, message, recent, env)?
        }
        SearchKey::And(keys) => all(keys, message, recent, env)?,
        SearchKey::Fuzzy(k) => matches(k, message, recent, env)?,
        SearchKey::Guid(guid) => message.guid()? == *guid,
        SearchKey::RealUid(set) => set.contains(message.uid()),
        SearchKey::InThread(..) => return Err(unsupported("INTHREAD")),
        SearchKey::Mailbox(_) => return Err(unsupported("X-MAILBOX")),
    })
}

fn unsupported(key: &str) -> MailError {
    MailError::new(
        MailErrorKind::NotPossible,
        format!("SEARCH {key} is not supported by this build of cote yet"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::flags::FlagList;
    use crate::imap::parser::search::parse_search;
    use crate::imap::parser::Arg;
    use crate::mail::date::utc_timestamp;
    use crate::mail::Message;
    use crate::storage::flags::MailFlags;

    struct TestMessage {
        uid: u32,
        flags: FlagList,
        internal: i64,
        message: Message,
    }

    impl MailMessage for TestMessage {
        fn uid(&self) -> u32 {
            self.uid
        }
        fn flags(&mut self) -> Result<FlagList, MailError> {
            Ok(self.flags.clone())
        }
        fn modseq(&mut self) -> Result<u64, MailError> {
            Ok(u64::from(self.uid) + 10)
        }
        fn internal_date(&mut self) -> Result<i64, MailError> {
            Ok(self.internal)
        }
        fn save_date(&mut self) -> Result<Option<i64>, MailError> {
            Ok(None)
        }
        fn virtual_size(&mut self) -> Result<u64, MailError> {
            Ok(self.message.virtual_size())
        }
        fn guid(&mut self) -> Result<String, MailError> {
            Ok(format!("guid{}", self.uid))
        }
        fn parsed(&mut self) -> Result<&Message, MailError> {
            Ok(&self.message)
        }
    }

    fn messages() -> Vec<TestMessage> {
        let body = |subject: &str, text: &str| {
            Message::parse(
                format!("Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nFrom: Bob <bob@example.com>\r\nSubject: {subject}\r\n\r\n{text}\r\n")
                    .into_bytes(),
            )
        };
        vec![
            TestMessage {
                uid: 3,
                flags: FlagList {
                    system: MailFlags::SEEN,
                    keywords: vec!["$Label1".into()],
                },
                internal: utc_timestamp(2003, 6, 1, 23, 30, 0),
                message: body("first", "apple"),
            },
            TestMessage {
                uid: 7,
                flags: FlagList::default(),
                internal: utc_timestamp(2003, 6, 2, 8, 0, 0),
                message: body("second", "banana"),
            },
            TestMessage {
                uid: 9,
                flags: FlagList {
                    system: MailFlags::DELETED | MailFlags::FLAGGED,
                    keywords: vec![],
                },
                internal: utc_timestamp(2003, 6, 3, 12, 0, 0),
                message: body("third", "cherry apple"),
            },
        ]
    }

    /// The UIDs matching `program` (words split at spaces).
    fn search(program: &str, offset: i32) -> Vec<u32> {
        let args: Vec<Arg> = program.split(' ').map(|w| Arg::Atom(w.into())).collect();
        let search = parse_search(&args, false).unwrap();
        let mut msgs = messages();
        let uids: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
        let saved: UidSet = [7].into_iter().collect();
        let tz = move |_ts: i64| offset;
        let env = SearchEnv {
            now: utc_timestamp(2003, 6, 3, 12, 0, 30),
            uids: &uids,
            saved: Some(&saved),
            utc_offset: &tz,
        };
        let program = Program::new(&search.program, &env);
        let mut found = Vec::new();
        for (i, m) in msgs.iter_mut().enumerate() {
            if program.matches(m, i == 1, &env).unwrap() {
                found.push(m.uid);
            }
        }
        found
    }

    #[test]
    fn keys() {
        assert_eq!(search("ALL", 0), [3, 7, 9]);
        assert_eq!(search("SEEN", 0), [3]);
        assert_eq!(search("UNSEEN UNDELETED", 0), [7]);
        assert_eq!(search("OR SEEN FLAGGED", 0), [3, 9]);
        assert_eq!(search("NOT OR SEEN FLAGGED", 0), [7]);
        assert_eq!(search("KEYWORD $label1", 0), [3]);
        assert_eq!(search("UNKEYWORD $Label1", 0), [7, 9]);
        assert_eq!(search("RECENT", 0), [7]);
        assert_eq!(search("NEW", 0), [7]);
        assert_eq!(search("2:*", 0), [7, 9]);
        assert_eq!(search("*", 0), [9]);
        assert_eq!(search("UID 1:7", 0), [3, 7]);
        assert_eq!(search("UID 99:*", 0), [9]);
        assert_eq!(search("$", 0), [7]);
        assert_eq!(search("UID $", 0), [7]);
        assert_eq!(search("BODY apple", 0), [3, 9]);
        assert_eq!(search("SUBJECT second", 0), [7]);
        assert_eq!(search("FROM bob", 0), [3, 7, 9]);
        assert_eq!(search("MODSEQ 17", 0), [7, 9]);
        assert_eq!(search("X-GUID guid9", 0), [9]);
        assert_eq!(search("YOUNGER 60", 0), [9]);
        assert_eq!(search("OLDER 60", 0), [3, 7]);
    }

    #[test]
    fn dates_in_the_server_zone() {
        // 23:30 UTC on 1 Jul is 2 Jul in a zone 60 minutes east.
        assert_eq!(search("ON 1-Jul-2003", 0), [3]);
        assert_eq!(search("ON 2-Jul-2003", 60), [3, 7]);
        assert_eq!(search("BEFORE 2-Jul-2003", 0), [3]);
        assert_eq!(search("SINCE 3-Jul-2003", 0), [9]);
        // SENT* use the Date: header in its own zone.
        assert_eq!(search("SENTON 1-Jul-2003", 600), [3, 7, 9]);
    }

    #[test]
    fn unsupported_keys_say_so() {
        let args: Vec<Arg> = ["INTHREAD", "REFERENCES", "ALL"]
            .map(|w| Arg::Atom(w.into()))
            .to_vec();
        let search = parse_search(&args, false).unwrap();
        let mut msgs = messages();
        let tz = |_ts: i64| 0;
        let env = SearchEnv {
            now: 0,
            uids: &[3, 7, 9],
            saved: None,
            utc_offset: &tz,
        };
        let err = Program::new(&search.program, &env)
            .matches(&mut msgs[0], false, &env)
            .unwrap_err();
        assert_eq!(err.kind, MailErrorKind::NotPossible);
    }
}
