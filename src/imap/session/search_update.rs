//! CONTEXT=SEARCH (RFC 5267 §4): `SEARCH`/`SORT RETURN (UPDATE)` keeps the result and tells
//! the client how it changes, `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)`,
//! until CANCELUPDATE or the mailbox is closed. As Dovecot 2.3 does it:
//!
//! - the program is kept with its sets resolved at the search (sequence sets and `$` became
//!   the UIDs they named then), and re-run on new messages, and on messages whose flags
//!   changed (from any session, this one's STOREs included) when it has a flag, keyword,
//!   `\Recent` or MODSEQ key;
//! - expunged messages leave the result before their EXPUNGE responses (with the sequence
//!   numbers they still have), other changes are reported after the EXISTS;
//! - the position is always 0, also for SORT (Dovecot keeps no order for updates);
//! - ten updating searches at most per session (`* NO [NOUPDATE "tag"]` for more).

use std::io::{Read, Write};

use super::fetch::Fetched;
use super::{Session, Step, WaitInput};
use crate::imap::mail_session::{MailErrorKind, MailSession};
use crate::imap::parser::fetch::{Fetch, FetchItem};
use crate::imap::parser::search::SearchKey;
use crate::imap::search_eval::{Program, SearchEnv};
use crate::imap::seqset::{format_set, SetArg};
use crate::index::uidset::UidSet;
use crate::localtime::{now, utc_offset_minutes};
use crate::mail::quote::append_nstring;

/// Dovecot's `CLIENT_MAX_SEARCH_UPDATES`.
pub(super) const MAX_SEARCH_UPDATES: usize = 10;

/// One search whose result the client is kept informed of.
#[derive(Debug, Clone)]
pub(super) struct SearchUpdate {
    tag: String,
    /// The numbers reported are UIDs (UID SEARCH/SORT), else sequence numbers.
    uid: bool,
    /// The program with its sets resolved when the search ran.
    program: Program,
    /// Flag changes can change whether a message matches.
    follows_flags: bool,
    /// The UIDs that match, as the client was told.
    result: UidSet,
    /// `UPDATE (fetch-att)` (Dovecot's extension): these items are fetched of new messages
    /// that join the result, before the update that adds them.
    fetch: Option<Fetch>,
}

/// Whether a key depends on a message's flags, keywords, `\Recent` or modseq (Dovecot's
/// `mailbox_search_result_analyze_args`).
fn follows_flags(key: &SearchKey) -> bool {
    match key {
        SearchKey::Flag(..)
        | SearchKey::Recent(_)
        | SearchKey::Keyword(..)
        | SearchKey::Modseq { .. } => true,
        SearchKey::Not(k) | SearchKey::Fuzzy(k) | SearchKey::InThread(_, k) => follows_flags(k),
        SearchKey::Or(a, b) => follows_flags(a) || follows_flags(b),
        SearchKey::And(keys) => keys.iter().any(follows_flags),
        _ => false,
    }
}

/// `* ESEARCH (TAG "t")[ UID][ REMOVEFROM (0 set)][ ADDTO (0 set)]`.
fn update_line(tag: &str, uid: bool, removed: &UidSet, added: &UidSet) -> Vec<u8> {
    let mut line = b"* ESEARCH (TAG ".to_vec();
    append_nstring(&mut line, Some(tag.as_bytes()));
    line.push(b')');
    if uid {
        line.extend_from_slice(b" UID");
    }
    if !removed.is_empty() {
        line.extend_from_slice(format!(" REMOVEFROM (0 {})", format_set(removed)).as_bytes());
    }
    if !added.is_empty() {
        line.extend_from_slice(format!(" ADDTO (0 {})", format_set(added)).as_bytes());
    }
    line
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Whether a search with this tag is being updated (a second one is refused).
    pub(super) fn has_search_update(&self, tag: &str) -> bool {
        self.search_updates.iter().any(|u| u.tag == tag)
    }

    /// Starts updating the result of the search being answered: `program` resolved as it
    /// ran, `result` the UIDs it matched. Past the limit, `* NO [NOUPDATE "tag"]` and no
    /// updates (the search is answered all the same).
    pub(super) fn start_search_update(
        &mut self,
        keys: &[SearchKey],
        program: Program,
        uid: bool,
        result: UidSet,
        fetch_items: &[FetchItem],
    ) -> Step {
        if self.search_updates.len() >= MAX_SEARCH_UPDATES {
            let mut line = b"* NO [NOUPDATE ".to_vec();
            append_nstring(&mut line, Some(self.current.tag.as_bytes()));
            line.push(b']');
            return self.line(&line);
        }
        self.search_updates.push(SearchUpdate {
            tag: self.current.tag.clone(),
            uid,
            program,
            follows_flags: keys.iter().any(follows_flags),
            result,
            fetch: (!fetch_items.is_empty()).then(|| Fetch {
                // Not used: the messages are given.
                set: SetArg::SavedResult,
                uid: false,
                items: fetch_items.to_vec(),
                changed_since: None,
                vanished: false,
            }),
        });
        Ok(())
    }

    /// This session changed these messages' flags: updated searches test them again at
    /// the next sync.
    pub(super) fn own_flags_changed(&mut self, uids: &UidSet) {
        if self.search_updates.is_empty() {
            return;
        }
        for uid in uids.iter() {
            self.own_flag_changes.insert(uid);
        }
    }

    /// CANCELUPDATE: the tags' updates end, in order; an unknown tag stops there with NO.
    pub(super) fn cancel_updates(&mut self, tags: &[String]) -> super::Reply {
        for tag in tags {
            let Some(i) = self.search_updates.iter().position(|u| &u.tag == tag) else {
                return super::Reply::no(None, "Unknown tag.");
            };
            self.search_updates.remove(i);
        }
        super::Reply::ok("Updates cancelled.")
    }

    /// Messages about to be reported expunged leave the results, reported while they
    /// still have their sequence numbers.
    pub(super) fn search_updates_expunged(&mut self, expunged: &UidSet) -> Step {
        if self.search_updates.is_empty() || expunged.is_empty() {
            return Ok(());
        }
        let Some(view) = self.view.as_ref() else {
            return Ok(());
        };
        let mut lines = Vec::new();
        for update in &mut self.search_updates {
            let gone: UidSet = expunged
                .iter()
                .filter(|&uid| update.result.contains(uid) && view.seq_of(uid).is_some())
                .collect();
            if gone.is_empty() {
                continue;
            }
            update.result = update
                .result
                .iter()
                .filter(|&u| !gone.contains(u))
                .collect();
            let numbers = if update.uid {
                gone
            } else {
                gone.iter().filter_map(|uid| view.seq_of(uid)).collect()
            };
            lines.push(update_line(
                &update.tag,
                update.uid,
                &numbers,
                &UidSet::new(),
            ));
        }
        for line in lines {
            self.line(&line)?;
        }
        Ok(())
    }

    /// After a sync: `flags_changed` (messages whose flags changed, by anyone) and `new`
    /// (messages just reported with EXISTS) are tested again; what joined or left each
    /// result is reported (after the FETCH responses an `UPDATE (fetch-att)` asks for the
    /// new messages that joined).
    pub(super) fn search_updates_changed(&mut self, flags_changed: &UidSet, new: &[u32]) -> Step {
        if self.search_updates.is_empty() {
            return Ok(());
        }
        let Some(view) = self.view.as_ref() else {
            return Ok(());
        };
        let offset = |ts: i64| utc_offset_minutes(ts);
        let env = SearchEnv {
            now: now(),
            uids: &view.uids,
            saved: None,
            utc_offset: &offset,
        };
        let mut updates = std::mem::take(&mut self.search_updates);
        let mut reports = Vec::new();
        for update in &mut updates {
            let mut candidates: UidSet = new.iter().copied().collect();
            if update.follows_flags {
                for uid in flags_changed.iter() {
                    if view.seq_of(uid).is_some() {
                        candidates.insert(uid);
                    }
                }
            }
            let (mut added, mut removed) = (UidSet::new(), UidSet::new());
            for uid in candidates.iter() {
                let recent = view.is_recent(uid);
                let matched = self
                    .mail
                    .message(uid)
                    .and_then(|mut message| update.program.matches(&mut message, recent, &env));
                let matched = match matched {
                    Ok(matched) => matched,
                    // Its EXPUNGE is on the way: it leaves the result then.
                    Err(e) if e.kind == MailErrorKind::Expunged => continue,
                    Err(e) => {
                        log::error!(
                            "SEARCH UPDATE {}: message UID {uid} could not be tested: {}",
                            update.tag,
                            e.text
                        );
                        continue;
                    }
                };
                match (matched, update.result.contains(uid)) {
                    (true, false) => added.insert(uid),
                    (false, true) => removed.insert(uid),
                    _ => {}
                }
            }
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            update.result = update
                .result
                .iter()
                .filter(|&u| !removed.contains(u))
                .chain(added.iter())
                .collect();
            let fetched: Vec<u32> = if update.fetch.is_some() {
                new.iter()
                    .copied()
                    .filter(|&uid| added.contains(uid))
                    .collect()
            } else {
                Vec::new()
            };
            let (removed, added) = if update.uid {
                (removed, added)
            } else {
                let seqs = |set: &UidSet| -> UidSet {
                    set.iter().filter_map(|uid| view.seq_of(uid)).collect()
                };
                (seqs(&removed), seqs(&added))
            };
            let fetch = update.fetch.clone().filter(|_| !fetched.is_empty());
            let line = update_line(&update.tag, update.uid, &removed, &added);
            reports.push((fetch, fetched, line));
        }
        self.search_updates = updates;
        for (fetch, fetched, line) in reports {
            if let Some(fetch) = fetch {
                self.fetch_for_update(&fetch, &fetched)?;
            }
            self.line(&line)?;
        }
        Ok(())
    }

    /// `* n FETCH` with an `UPDATE (fetch-att)`'s items for messages that joined its result.
    /// A message that cannot be read is left out (logged): the update goes out all the same.
    fn fetch_for_update(&mut self, fetch: &Fetch, uids: &[u32]) -> Step {
        let fetch = &Fetch {
            items: self.unsolicited_fetch_items(&fetch.items),
            ..fetch.clone()
        };
        let (items, set_seen, implicit_flags) = self.fetch_order(fetch);
        for &uid in uids {
            let Some(view) = self.view.as_ref() else {
                return Ok(());
            };
            let Some(seq) = view.seq_of(uid) else {
                continue;
            };
            let recent = view.is_recent(uid);
            match self.fetch_one(seq, uid, recent, fetch, &items, set_seen, implicit_flags) {
                Ok(Fetched::Response { line, .. }) => {
                    if let Some(line) = line {
                        self.line(&line)?;
                    }
                }
                Ok(Fetched::Expunged | Fetched::Unchanged) => {}
                Ok(Fetched::Failed { line, error }) => {
                    self.line(&line)?;
                    log::error!("SEARCH UPDATE FETCH of UID {uid} failed: {}", error.text);
                }
                Err(e) => log::error!("SEARCH UPDATE FETCH of UID {uid} failed: {}", e.text),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::parser::search::parse_search;
    use crate::imap::parser::Arg;

    fn program(text: &str) -> Vec<SearchKey> {
        let args: Vec<Arg> = text.split(' ').map(|w| Arg::Atom(w.into())).collect();
        parse_search(&args, false).unwrap().program
    }

    #[test]
    fn which_programs_follow_flags() {
        for text in [
            "FLAGGED",
            "NOT SEEN",
            "OR SUBJECT x KEYWORD k",
            "RECENT",
            "MODSEQ 5",
        ] {
            assert!(program(text).iter().any(follows_flags), "{text}");
        }
        let nested = SearchKey::And(vec![SearchKey::All, SearchKey::Recent(false)]);
        assert!(follows_flags(&nested));
        for text in [
            "ALL",
            "SUBJECT x",
            "1:3",
            "UID 4:*",
            "LARGER 10",
            "NOT BODY y",
        ] {
            assert!(!program(text).iter().any(follows_flags), "{text}");
        }
    }

    #[test]
    fn lines_as_dovecot_writes_them() {
        let set = |v: &[u32]| -> UidSet { v.iter().copied().collect() };
        assert_eq!(
            update_line("t1", false, &set(&[1]), &set(&[2, 6])),
            b"* ESEARCH (TAG \"t1\") REMOVEFROM (0 1) ADDTO (0 2,6)".to_vec()
        );
        assert_eq!(
            update_line("t2", true, &set(&[]), &set(&[3, 4, 5])),
            b"* ESEARCH (TAG \"t2\") UID ADDTO (0 3:5)".to_vec()
        );
        assert_eq!(
            update_line("a\"b", true, &set(&[7]), &set(&[])),
            b"* ESEARCH (TAG \"a\\\"b\") UID REMOVEFROM (0 7)".to_vec()
        );
    }
}
