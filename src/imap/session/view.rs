//! The selected mailbox as the client knows it: the UIDs behind its sequence numbers, which
//! messages are `\Recent` for it, the keywords it was told of. Changes reach the view only
//! through untagged responses, so the client's sequence numbers stay right.

use std::io::{Read, Write};

use super::{Session, Step, WaitInput};
use crate::imap::fetch_response::{flags_value, FetchResponse};
use crate::imap::flags::write_flags;
use crate::imap::flags::FlagList;
use crate::imap::mail_session::{
    MailError, MailErrorKind, MailMessage, MailSession, SelectedMailbox,
};
use crate::imap::response::{Code, Status};
use crate::imap::seqset::format_set;
use crate::index::uidset::{find_uid, UidSet};
use crate::storage::flags::MailFlags;

#[derive(Debug, Clone)]
pub(super) struct View {
    /// The mailbox's name as selected.
    pub name: String,
    /// UIDs in sequence order.
    pub uids: Vec<u32>,
    pub recent: UidSet,
    pub read_only: bool,
    /// Opened with EXAMINE (not merely read-only by the user's ACL).
    pub examined: bool,
    /// The keywords announced in FLAGS.
    pub keywords: Vec<String>,
    pub permanent_keywords: bool,
    pub allow_new_keywords: bool,
    /// Flags left out of PERMANENTFLAGS (ACLs).
    pub denied_flags: MailFlags,
    /// The mailbox has no permanent modseqs.
    pub no_modseq: bool,
    /// Expunges not yet reported (held back during FETCH, STORE, SEARCH).
    pub pending_expunges: UidSet,
    /// New messages not yet reported (`delay-newmail`), and which of them are recent.
    pub pending_new: Vec<u32>,
    pub pending_new_recent: UidSet,
    /// The RECENT count last sent.
    pub recent_sent: u32,
    /// UIDNEXT as the client knows it: SELECT's, then above every new message reported.
    pub uid_next: u32,
    /// The client enabled IMAP4rev2: no message is `\Recent` for it and no RECENT count
    /// is sent (RFC 9051 deprecated both).
    pub rev2: bool,
}

impl View {
    pub fn new(selected: &SelectedMailbox) -> View {
        View {
            name: String::new(),
            uids: selected.uids.clone(),
            recent: selected.recent.clone(),
            read_only: selected.read_only,
            examined: selected.read_only,
            keywords: selected.keywords.clone(),
            permanent_keywords: selected.permanent_keywords,
            allow_new_keywords: selected.allow_new_keywords,
            denied_flags: selected.denied_flags,
            no_modseq: selected.highest_modseq.is_none(),
            pending_expunges: UidSet::new(),
            pending_new: Vec::new(),
            pending_new_recent: UidSet::new(),
            recent_sent: selected.recent.len() as u32,
            uid_next: selected.uid_next,
            rev2: false,
        }
    }

    pub fn messages(&self) -> u32 {
        self.uids.len() as u32
    }

    /// The sequence number of a UID the client knows.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        find_uid(&self.uids, uid, |&u| u).ok().map(|i| i as u32 + 1)
    }

    pub fn uid_of(&self, seq: u32) -> Option<u32> {
        self.uids.get((seq as usize).checked_sub(1)?).copied()
    }

    /// Whether the message is `\Recent` for this client (never under IMAP4rev2).
    pub fn is_recent(&self, uid: u32) -> bool {
        !self.rev2 && self.recent.contains(uid)
    }

    /// `* FLAGS (...)`.
    pub fn flags_line(&self) -> String {
        let mut line = String::from("* FLAGS (");
        write_flags(
            &mut line,
            MailFlags::ALL,
            false,
            self.keywords.iter().map(String::as_str),
        );
        line.push(')');
        line
    }

    /// `* OK [PERMANENTFLAGS (...)] ...`.
    pub fn permanent_flags_line(&self) -> String {
        let mut flags = String::new();
        if !self.read_only {
            let keywords: &[String] = if self.permanent_keywords {
                &self.keywords
            } else {
                &[]
            };
            let mut permitted = MailFlags::ALL;
            permitted.remove(self.denied_flags);
            write_flags(
                &mut flags,
                permitted,
                false,
                keywords.iter().map(String::as_str),
            );
            if self.allow_new_keywords {
                flags.push_str(" \\*");
            }
        }
        let text = if self.read_only {
            "Read-only mailbox."
        } else {
            "Flags permitted."
        };
        format!("* OK [{}] {text}", Code::PermanentFlags(flags))
    }

    /// Removes expunged UIDs; returns the sequence numbers they had, highest first (the order
    /// EXPUNGE responses go out in, so each number is right when it is read).
    pub fn remove(&mut self, expunged: &UidSet) -> Vec<u32> {
        let mut seqs: Vec<u32> = expunged.iter().filter_map(|uid| self.seq_of(uid)).collect();
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        for &seq in &seqs {
            let uid = self.uids.remove(seq as usize - 1);
            self.recent = self.recent.iter().filter(|&u| u != uid).collect();
        }
        seqs
    }
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Reports what changed in the selected mailbox: flag changes, then expunges (when
    /// `expunges` allows them, else they wait), then new messages (when `new_mail` allows
    /// them) and the RECENT count. `with_uid`: FETCH responses carry UID (after UID STORE, as
    /// Dovecot).
    pub(super) fn sync(&mut self, expunges: bool, new_mail: bool, with_uid: bool) -> Step {
        let changes = match self.mail.sync() {
            Ok(changes) => changes,
            Err(e) if e.kind == MailErrorKind::Temp => {
                // Nothing could be learnt this time: the client keeps its view.
                return self.untagged(Status::No, None, &e.text);
            }
            Err(e) => {
                let text = "IMAP session state is inconsistent, please relogin.";
                self.bye(text);
                return Err(super::Disconnect::MailboxInconsistent(format!(
                    "{text} ({e})"
                )));
            }
        };
        self.announce_keywords()?;
        if expunges {
            let mut expunged = changes.expunged.clone();
            if let Some(view) = self.view.as_ref() {
                for uid in view.pending_expunges.iter() {
                    expunged.insert(uid);
                }
            }
            self.search_updates_expunged(&expunged)?;
        }
        let mut flags_changed = std::mem::take(&mut self.own_flag_changes);
        for uid in changes.flags_changed.iter() {
            flags_changed.insert(uid);
        }
        // Also for a message whose expunge is held back: it keeps its number until then, and
        // storage shows its flags as they were last (as Dovecot does). One whose EXPUNGE goes
        // out now gets no FETCH first.
        for uid in changes.flags_changed.iter() {
            let Some(view) = self.view.as_ref() else {
                return Ok(());
            };
            let expunged_now =
                expunges && (changes.expunged.contains(uid) || view.pending_expunges.contains(uid));
            // NOTIFY without FlagChange for the selected mailbox: not sent.
            if let (false, Some(seq), true) = (expunged_now, view.seq_of(uid), self.updates.flags) {
                self.send_flags(seq, uid, with_uid)?;
            }
        }
        // Another viewer's private flag, or a \Seen this session's FETCH set: CONDSTORE
        // sessions get the new modseq alone (Dovecot's hidden changes).
        let seen_by_fetch = std::mem::take(&mut self.seen_by_fetch);
        let mut modseq_changed = changes.modseq_changed.clone();
        for uid in seen_by_fetch.iter() {
            modseq_changed.insert(uid);
        }
        for uid in modseq_changed.iter() {
            let Some(view) = self.view.as_ref() else {
                return Ok(());
            };
            let expunged_now =
                expunges && (changes.expunged.contains(uid) || view.pending_expunges.contains(uid));
            let condstore = self.enabled.condstore && !view.no_modseq;
            // A FLAGS line sent now carries the modseq already.
            let flags_sent = if seen_by_fetch.contains(uid) {
                changes.flags_changed.contains(uid)
            } else {
                flags_changed.contains(uid)
            };
            if !condstore || flags_sent || expunged_now || !self.updates.flags {
                continue;
            }
            if let Some(seq) = view.seq_of(uid) {
                self.send_modseq(seq, uid, with_uid)?;
            }
        }
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        for uid in changes.expunged.iter() {
            view.pending_expunges.insert(uid);
        }
        if expunges && !view.pending_expunges.is_empty() {
            let pending = std::mem::take(&mut view.pending_expunges);
            self.send_expunges(&pending)?;
        }
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        view.pending_new.extend(&changes.new);
        view.uid_next = view.uid_next.max(changes.last_uid.saturating_add(1));
        for uid in changes.new_recent.iter() {
            view.pending_new_recent.insert(uid);
        }
        if !new_mail {
            return self.search_updates_changed(&flags_changed, &[]);
        }
        let before = view.messages();
        for uid in std::mem::take(&mut view.pending_new) {
            if view.pending_expunges.contains(uid) {
                continue;
            }
            if view.uids.last().is_none_or(|&last| uid > last) {
                view.uids.push(uid);
            }
        }
        for uid in std::mem::take(&mut view.pending_new_recent).iter() {
            if view.seq_of(uid).is_some() {
                view.recent.insert(uid);
            }
        }
        let messages = view.messages();
        let recent = view.recent.len() as u32;
        let new = view.uids[before as usize..].to_vec();
        // NOTIFY without MessageNew for the selected mailbox: the counts change silently.
        if self.updates.counts {
            if messages != before {
                self.line(format!("* {messages} EXISTS").as_bytes())?;
            }
            self.send_recent_if_changed(recent)?;
            self.notify_new_messages(&new)?;
        }
        self.search_updates_changed(&flags_changed, &new)
    }

    /// `* n EXPUNGE` for each (or `* VANISHED` under QRESYNC), removing them from the view.
    /// The RECENT count follows with the next sync, once for the whole command.
    pub(super) fn send_expunges(&mut self, uids: &UidSet) -> Step {
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        let known: UidSet = uids.iter().filter(|&u| view.seq_of(u).is_some()).collect();
        self.search_updates_expunged(&known)?;
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        let seqs = view.remove(&known);
        self.mail.expunges_reported(&known);
        if !self.updates.counts {
            // NOTIFY without MessageExpunge for the selected mailbox.
        } else if self.enabled.qresync {
            if !known.is_empty() {
                self.line(format!("* VANISHED {}", format_set(&known)).as_bytes())?;
            }
        } else {
            for seq in seqs {
                self.line(format!("* {seq} EXPUNGE").as_bytes())?;
            }
        }
        Ok(())
    }

    /// NOTIFY's MessageNew with a fetch-att list: the new messages' FETCH responses.
    fn notify_new_messages(&mut self, new: &[u32]) -> Step {
        let Some(items) = self.notify_fetch.as_deref() else {
            return Ok(());
        };
        let items = self.unsolicited_fetch_items(items);
        let Some(view) = self.view.as_ref() else {
            return Ok(());
        };
        let seqs: UidSet = new.iter().filter_map(|&uid| view.seq_of(uid)).collect();
        if seqs.is_empty() {
            return Ok(());
        }
        let fetch = crate::imap::parser::fetch::Fetch {
            set: crate::imap::seqset::SetArg::Set(crate::imap::seqset::SequenceSet::from_numbers(
                seqs,
            )),
            uid: false,
            items,
            changed_since: None,
            vanished: false,
        };
        let reply = self.fetch(&fetch)?;
        if reply.status != Status::Ok {
            self.untagged(Status::No, None, &reply.text)?;
        }
        Ok(())
    }

    fn send_recent_if_changed(&mut self, recent: u32) -> Step {
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        if view.recent_sent != recent && !view.rev2 {
            view.recent_sent = recent;
            self.line(format!("* {recent} RECENT").as_bytes())?;
        }
        Ok(())
    }

    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` when the mailbox's keywords changed.
    pub(super) fn announce_keywords(&mut self) -> Step {
        let keywords = self.mail.keywords();
        let Some(view) = self.view.as_mut() else {
            return Ok(());
        };
        if view.keywords == keywords {
            return Ok(());
        }
        view.keywords = keywords;
        let flags = view.flags_line();
        let permanent = view.permanent_flags_line();
        self.line(flags.as_bytes())?;
        self.line(permanent.as_bytes())
    }

    /// `* seq FETCH ([UID n ][MODSEQ (m) ]FLAGS (...))` for a flag change (with UID after
    /// UID STORE, and always under QRESYNC).
    pub(super) fn send_flags(&mut self, seq: u32, uid: u32, with_uid: bool) -> Step {
        // IMAP4rev2 wants UID in every unsolicited FETCH (RFC 9051 Appendix E item 21).
        let with_uid = with_uid || self.enabled.qresync || self.enabled.rev2;
        let recent = self.view.as_ref().is_some_and(|v| v.is_recent(uid));
        let with_modseq =
            self.enabled.condstore && !self.view.as_ref().is_some_and(|v| v.no_modseq);
        let (flags, modseq) = match read_flags(&mut *self.mail, uid, with_modseq) {
            Ok(found) => found,
            // Gone meanwhile: its EXPUNGE comes with a later sync.
            Err(e) if e.kind == MailErrorKind::Expunged => return Ok(()),
            Err(e) => return self.untagged(Status::No, None, &e.text),
        };
        let mut response = FetchResponse::new(seq);
        if with_uid {
            response.item("UID", uid.to_string().as_bytes());
        }
        if let Some(modseq) = modseq {
            self.modseq_sent(modseq);
            response.item("MODSEQ", format!("({modseq})").as_bytes());
        }
        response.item("FLAGS", &flags_value(&flags, recent));
        self.line(&response.finish())
    }

    /// The client's view of the selected mailbox ends, and with it `$` and the searches
    /// kept up to date.
    pub(super) fn forget_selected(&mut self) -> Option<View> {
        self.saved_result = None;
        self.search_updates.clear();
        self.own_flag_changes = UidSet::new();
        self.seen_by_fetch = UidSet::new();
        self.view.take()
    }

    /// Closes the selected mailbox for SELECT/EXAMINE (`* OK [CLOSED]`, RFC 7162).
    pub(super) fn close_selected(&mut self) -> Step {
        if self.forget_selected().is_none() {
            return Ok(());
        }
        if let Err(e) = self.mail.close(false) {
            return self.untagged(Status::No, None, &e.text);
        }
        self.untagged(Status::Ok, Some(&Code::Closed), "Previous mailbox closed.")
    }
}

/// A message's flags, and its modseq when `with_modseq`.
fn read_flags<S: MailSession>(
    mail: &mut S,
    uid: u32,
    with_modseq: bool,
) -> Result<(FlagList, Option<u64>), MailError> {
    let mut message = mail.message(uid)?;
    let flags = message.flags()?;
    let modseq = if with_modseq {
        Some(message.modseq()?)
    } else {
        None
    };
    Ok((flags, modseq))
}
