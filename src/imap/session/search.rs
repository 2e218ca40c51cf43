//! SEARCH, with ESEARCH's RETURN options and SEARCHRES's SAVE.

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::esearch::esearch_response;
use crate::imap::mail_session::{MailError, MailErrorKind, MailMessage, MailSession};
use crate::imap::parser::search::{Search, SearchKey, SearchReturn};
use crate::imap::response::Code;
use crate::imap::search_eval::{Program, SearchEnv};
use crate::localtime::{now, utc_offset_minutes};

/// A matching message.
struct Hit {
    seq: u32,
    uid: u32,
    modseq: u64,
}

/// What the search found: one value per message, in sequence order.
pub(super) struct Found<T> {
    pub(super) items: Vec<T>,
    /// A message was expunged by another session while it was read (`[EXPUNGEISSUED]`).
    pub(super) lost: bool,
    /// The program as it ran, its sets resolved (what an updated search keeps).
    pub(super) program: Program,
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Runs `program` over the selected mailbox; `read` takes what is needed from each
    /// matching message (with its sequence number, and `true`) while it is open, and from
    /// the others too (with `false`) when `read_all`.
    pub(super) fn search_and_read<T>(
        &mut self,
        program: &[SearchKey],
        read_all: bool,
        mut read: impl FnMut(&mut S::Message<'_>, u32, bool) -> Result<T, MailError>,
    ) -> Result<Found<T>, MailError> {
        self.current.hold_expunges = program.iter().any(SearchKey::uses_sets);
        let uids = self
            .view
            .as_ref()
            .map(|v| v.uids.clone())
            .unwrap_or_default();
        let saved = self.saved_result.clone();
        let offset = |ts: i64| utc_offset_minutes(ts);
        let env = SearchEnv {
            now: now(),
            uids: &uids,
            saved: saved.as_ref(),
            utc_offset: &offset,
        };
        let program = Program::new(program, &env);
        let (mut items, mut lost) = (Vec::new(), false);
        for (i, &uid) in uids.iter().enumerate() {
            let recent = self.view.as_ref().is_some_and(|v| v.is_recent(uid));
            let result = self.mail.message(uid).and_then(|mut message| {
                let matched = program.matches(&mut message, recent, &env)?;
                if !matched && !read_all {
                    return Ok(None);
                }
                read(&mut message, i as u32 + 1, matched).map(Some)
            });
            match result {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {}
                Err(e) if e.kind == MailErrorKind::Expunged => lost = true,
                Err(e) => return Err(e),
            }
        }
        Ok(Found {
            items,
            lost,
            program,
        })
    }

    pub(super) fn search(&mut self, search: &Search) -> Step<Reply> {
        // Also when the search is refused below, as before it runs.
        self.current.hold_expunges = search.program.iter().any(SearchKey::uses_sets);
        let uses_modseq = search.program.iter().any(SearchKey::uses_modseq);
        if uses_modseq {
            self.enable_condstore()?;
        }
        if let Some(refused) = self.refuse_update(search.returns.as_ref()) {
            return Ok(refused);
        }
        let found = self.search_and_read(&search.program, false, |message, seq, _| {
            let modseq = if uses_modseq { message.modseq()? } else { 0 };
            Ok(Hit {
                seq,
                uid: message.uid(),
                modseq,
            })
        });
        let Found {
            items: found,
            lost,
            program,
        } = match found {
            Ok(found) => found,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if search.returns.is_some_and(|r| r.update) {
            let result = found.iter().map(|f| f.uid).collect();
            self.start_search_update(
                &search.program,
                program,
                search.uid,
                result,
                &search.update_fetch,
            )?;
        }
        let id = |f: &Hit| if search.uid { f.uid } else { f.seq };
        match search.returns.or_else(|| self.implicit_search_return()) {
            None => {
                let mut line = String::from("* SEARCH");
                for f in &found {
                    line.push_str(&format!(" {}", id(f)));
                }
                if uses_modseq {
                    if let Some(max) = found.iter().map(|f| f.modseq).max() {
                        line.push_str(&format!(" (MODSEQ {max})"));
                    }
                }
                self.line(line.as_bytes())?;
            }
            Some(ret) => self.esearch(&ret, search.uid, &found, uses_modseq, &id)?,
        }
        Ok(if lost {
            Reply::ok_with(Code::ExpungeIssued, "Search completed.")
        } else {
            Reply::ok("Search completed.")
        })
    }

    /// SAVE, and `* ESEARCH ...` (see [`esearch_response`]).
    fn esearch(
        &mut self,
        ret: &SearchReturn,
        uid: bool,
        found: &[Hit],
        uses_modseq: bool,
        id: &dyn Fn(&Hit) -> u32,
    ) -> Step {
        // Which results SAVE keeps and MODSEQ reports, as Dovecot decides: MIN's and MAX's
        // always; then all of them with ALL, those in range with PARTIAL (all for SAVE when
        // COUNT is asked too), all with COUNT, none more with MIN/MAX alone, all with SAVE
        // alone.
        let in_partial = |i: usize| {
            ret.partial
                .is_some_and(|(first, last)| (first as usize..=last as usize).contains(&(i + 1)))
        };
        let mut saved = Vec::new();
        let mut highest_modseq = None;
        let mut scored = 0;
        for (i, f) in found.iter().enumerate() {
            let counted = (ret.min && i == 0)
                || (ret.max && i + 1 == found.len())
                || if ret.all {
                    true
                } else if ret.partial.is_some() {
                    in_partial(i)
                } else {
                    ret.count || !(ret.min || ret.max)
                };
            if counted || (ret.partial.is_some() && ret.count && ret.save) {
                saved.push(f.uid);
            }
            if counted {
                highest_modseq = highest_modseq.max(Some(f.modseq));
                scored += 1;
            }
        }
        if ret.save {
            self.saved_result = Some(saved.into_iter().collect());
        }
        if !ret.sends_esearch(uses_modseq) {
            return Ok(());
        }
        let ids: Vec<u32> = found.iter().map(id).collect();
        let modseq = highest_modseq.filter(|_| uses_modseq);
        let line = esearch_response(&self.current.tag, uid, ret, &ids, modseq, scored);
        self.line(&line)
    }

    /// SEARCH/SORT RETURN (UPDATE ...) with a tag already updated: `BAD`, as Dovecot.
    pub(super) fn refuse_update(&self, returns: Option<&SearchReturn>) -> Option<Reply> {
        returns.filter(|r| r.update)?;
        self.has_search_update(&self.current.tag).then(|| {
            Reply::bad(format!(
                "Error in IMAP command {}: Duplicate search update tag",
                self.current.display_name
            ))
        })
    }
}
