//! FETCH and STORE.

use std::io::{Read, Write};

use super::{Disconnect, Reply, Session, Step, WaitInput};
use crate::imap::fetch_response::{
    expunged_value, flags_value, write_item, DataSent, FetchResponse, ItemContext,
};
use crate::imap::flags::{check_new_keyword, FlagList};
use crate::imap::mail_session::{FlagChange, MailError, MailErrorKind, MailMessage, MailSession};
use crate::imap::parser::fetch::{Fetch, FetchItem};
use crate::imap::parser::store::{Store, StoreMode};
use crate::imap::response::{Code, Status};
use crate::imap::seqset::SetArg;
use crate::index::uidset::UidSet;
use crate::storage::flags::MailFlags;

/// How one message's FETCH went.
pub(super) enum Fetched {
    /// The response to send (none when there was nothing to say); `lost`: the message was
    /// expunged meanwhile and some items got Dovecot's empty values (`[EXPUNGEISSUED]`).
    Response { line: Option<Vec<u8>>, lost: bool },
    /// Expunged meanwhile and unknown to storage: left out (`[EXPUNGEISSUED]`).
    Expunged,
    /// Not changed since CHANGEDSINCE.
    Unchanged,
    /// An item failed in a way FETCH answers with NO (BINARY's decoding): the response
    /// so far, closed, goes out first.
    Failed { line: Vec<u8>, error: MailError },
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn fetch(&mut self, fetch: &Fetch) -> Step<Reply> {
        if fetch.items.contains(&FetchItem::Modseq) {
            self.enable_condstore()?;
        }
        if let (true, Some(since)) = (fetch.vanished, fetch.changed_since) {
            let filter = match &fetch.set {
                SetArg::Set(set) => super::qresync::uid_set(set),
                SetArg::SavedResult => self.resolve_uids(&fetch.set),
            };
            if let Err(e) = self.send_vanished_earlier(&filter, since, None)? {
                return Ok(Reply::mail_error(&e, false));
            }
        }
        let (items, set_seen, implicit_flags) = self.fetch_order(fetch);
        let uids = self.resolve_set(&fetch.set, fetch.uid);
        let mut expunged = false;
        for uid in uids.iter() {
            let Some(seq) = self.view.as_ref().and_then(|v| v.seq_of(uid)) else {
                continue;
            };
            let recent = self.view.as_ref().is_some_and(|v| v.is_recent(uid));
            match self.fetch_one(seq, uid, recent, fetch, &items, set_seen, implicit_flags) {
                Ok(Fetched::Response { line, lost }) => {
                    if let Some(line) = line {
                        self.line(&line)?;
                    }
                    expunged |= lost;
                }
                Ok(Fetched::Unchanged) => {}
                Ok(Fetched::Expunged) => expunged = true,
                Ok(Fetched::Failed { line, error }) => {
                    self.line(&line)?;
                    return self.fetch_failed(error);
                }
                Err(e) => return self.fetch_failed(e),
            }
        }
        Ok(if expunged {
            Reply::ok_with(Code::ExpungeIssued, "Some messages were already expunged.")
        } else {
            Reply::ok("Fetch completed.")
        })
    }

    /// The items of `fetch` in the order Dovecot writes them — the short ones first, in
    /// the order asked, then the others — whether it sets `\Seen`, and where an implicit
    /// FLAGS (for a `\Seen` it set) goes: after the short ones.
    pub(super) fn fetch_order<'f>(
        &self,
        fetch: &'f Fetch,
    ) -> (Vec<&'f FetchItem>, bool, Option<usize>) {
        let read_only = self.view.as_ref().is_none_or(|v| v.read_only);
        let set_seen = fetch.sets_seen() && !read_only;
        let mut items: Vec<&FetchItem> = fetch.items.iter().filter(|i| i.is_early()).collect();
        let implicit_flags = (set_seen && !fetch.has_flags()).then_some(items.len());
        items.extend(fetch.items.iter().filter(|i| !i.is_early()));
        (items, set_seen, implicit_flags)
    }

    /// One message's `* n FETCH`. `implicit_flags`: where FLAGS goes when this FETCH set
    /// `\Seen` without FLAGS being asked for.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fetch_one(
        &mut self,
        seq: u32,
        uid: u32,
        recent: bool,
        fetch: &Fetch,
        items: &[&FetchItem],
        set_seen: bool,
        implicit_flags: Option<usize>,
    ) -> Result<Fetched, MailError> {
        // One message for the whole response; it is let go only when setting \Seen needs the
        // session.
        let mut message = match self.mail.message(uid) {
            Ok(message) => message,
            Err(e) if e.kind == MailErrorKind::Expunged => return Ok(Fetched::Expunged),
            Err(e) => return Err(e),
        };
        if let Some(since) = fetch.changed_since {
            if message.modseq()? <= since {
                return Ok(Fetched::Unchanged);
            }
        }
        if fetch.items.contains(&FetchItem::Modseq) {
            self.modseqs.sent(message.modseq()?);
        }
        let needs_flags = set_seen || fetch.has_flags();
        let mut flags = if needs_flags {
            Some(message.flags()?)
        } else {
            None
        };
        let seen_set = set_seen
            && flags
                .as_ref()
                .is_some_and(|f| !f.system.contains(MailFlags::SEEN));
        if seen_set {
            drop(message);
            let change = FlagChange {
                mode: StoreMode::Add,
                flags: FlagList {
                    system: MailFlags::SEEN,
                    keywords: Vec::new(),
                },
                unchanged_since: None,
            };
            let single: UidSet = [uid].into_iter().collect();
            match self.mail.store(&single, &change) {
                Ok(_) => {
                    self.own_flags_changed(&single);
                    if self.enabled.condstore && self.view.as_ref().is_some_and(|v| !v.no_modseq) {
                        self.seen_by_fetch.insert(uid);
                    }
                    if let Some(flags) = flags.as_mut() {
                        flags.system.insert(MailFlags::SEEN);
                    }
                }
                Err(e) if e.kind == MailErrorKind::Expunged => return Ok(Fetched::Expunged),
                Err(e) => return Err(e),
            }
            message = match self.mail.message(uid) {
                Ok(message) => message,
                Err(e) if e.kind == MailErrorKind::Expunged => return Ok(Fetched::Expunged),
                Err(e) => return Err(e),
            };
        }
        let mut response = FetchResponse::new(seq);
        let ctx = ItemContext { recent };
        let mut lost = false;
        for (i, item) in items.iter().enumerate() {
            if implicit_flags == Some(i) && seen_set {
                if let Some(flags) = &flags {
                    response.item("FLAGS", &flags_value(flags, recent));
                }
            }
            match write_item(&mut response, &mut message, item, ctx, flags.as_ref()) {
                Ok(DataSent::None) => {}
                Ok(DataSent::Header(bytes)) => {
                    self.stats.fetch_hdr_count += 1;
                    self.stats.fetch_hdr_bytes += bytes;
                }
                Ok(DataSent::Body(bytes)) => {
                    self.stats.fetch_body_count += 1;
                    self.stats.fetch_body_bytes += bytes;
                }
                // Another session expunged it and this one has not told the client yet:
                // what storage no longer has is answered empty, as Dovecot does.
                Err(e) if e.kind == MailErrorKind::Expunged => {
                    response.item(&item.reply_name(), expunged_value(item));
                    lost = true;
                }
                // Dovecot has sent the response's start by then: it ends it (with the UID
                // when nothing else went in, as an empty `FETCH ()` is not allowed), stops
                // the FETCH there and answers NO.
                Err(e)
                    if matches!(
                        e.kind,
                        MailErrorKind::Conversion | MailErrorKind::InvalidData
                    ) =>
                {
                    if response.is_empty() {
                        response.number("UID", uid.into());
                    }
                    return Ok(Fetched::Failed {
                        line: response.finish(),
                        error: e,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        if implicit_flags == Some(items.len()) && seen_set {
            if let Some(flags) = &flags {
                response.item("FLAGS", &flags_value(flags, recent));
            }
        }
        Ok(Fetched::Response {
            line: (!response.is_empty()).then(|| response.finish()),
            lost,
        })
    }

    /// A FETCH that could not read a message: `NO` for data BINARY cannot decode and for
    /// what this build cannot do; otherwise Dovecot's default, `* BYE` and the end.
    fn fetch_failed(&mut self, e: MailError) -> Step<Reply> {
        match e.kind {
            MailErrorKind::Conversion => Ok(Reply::no(Some(Code::UnknownCte), e.text)),
            MailErrorKind::InvalidData => Ok(Reply::no(Some(Code::Parse), e.text)),
            MailErrorKind::NotPossible => Ok(Reply::no(Some(Code::Cannot), e.text)),
            _ => {
                self.bye(&format!("FETCH failed: {}", e.text));
                Err(Disconnect::FetchFailed(e.text))
            }
        }
    }

    pub(super) fn store(&mut self, store: &Store) -> Step<Reply> {
        if store.unchanged_since.is_some() {
            self.enable_condstore()?;
        }
        // Dovecot ignores STORE after EXAMINE; a mailbox read-only by ACLs takes it, and
        // storage drops what the rights do not allow.
        let examined = self.view.as_ref().is_none_or(|v| v.examined);
        if examined {
            return Ok(if store.unchanged_since.is_some() {
                Reply::no(None, "CONDSTORE failed: Mailbox is read-only.")
            } else {
                Reply::ok("Store ignored with read-only mailbox.")
            });
        }
        let known = self.mail.keywords();
        for keyword in &store.flags.keywords {
            if known.contains(keyword) {
                continue;
            }
            if let Err(e) = check_new_keyword(keyword, self.settings.max_keyword_length) {
                return Ok(Reply::no(Some(Code::Cannot), e.to_string()));
            }
        }
        let uids = self.resolve_set(&store.set, store.uid);
        let deleting =
            store.flags.system.contains(MailFlags::DELETED) && store.mode != StoreMode::Remove;
        let newly_deleted = if deleting {
            self.count_without(&uids, MailFlags::DELETED)
        } else {
            0
        };
        let change = FlagChange {
            mode: store.mode,
            flags: store.flags.clone(),
            unchanged_since: store.unchanged_since,
        };
        let result = match self.mail.store(&uids, &change) {
            Ok(result) => result,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if deleting {
            self.stats.deleted += newly_deleted.min(result.changed.len());
        }
        self.own_flags_changed(&result.changed);
        self.announce_keywords()?;
        let condstore = self.enabled.condstore;
        for uid in result.changed.iter() {
            let Some(seq) = self.view.as_ref().and_then(|v| v.seq_of(uid)) else {
                continue;
            };
            // After UID STORE its EXPUNGE follows at once, and Dovecot says nothing more.
            if store.uid && self.mail.expunged_unreported(uid) {
                continue;
            }
            if !store.silent {
                self.send_flags(seq, uid, store.uid)?;
            } else if condstore {
                // RFC 7162 §3.1.3: .SILENT still reports the new modseq.
                self.send_modseq(seq, uid, store.uid)?;
            }
        }
        if result.modified.is_empty() {
            return Ok(Reply::ok("Store completed."));
        }
        let modified = if store.uid {
            result.modified
        } else {
            let view = self.view.as_ref();
            result
                .modified
                .iter()
                .filter_map(|uid| view.and_then(|v| v.seq_of(uid)))
                .collect()
        };
        Ok(Reply::ok_with(
            Code::Modified(modified),
            "Conditional store failed.",
        ))
    }

    /// How many of `uids` lack `flag` (for the logout line's `deleted`).
    fn count_without(&mut self, uids: &UidSet, flag: MailFlags) -> u64 {
        uids.iter()
            .filter(|&uid| {
                self.mail
                    .message(uid)
                    .and_then(|mut m| m.flags())
                    .is_ok_and(|f| !f.system.contains(flag))
            })
            .count() as u64
    }

    /// `* seq FETCH ([UID n ]MODSEQ (m))` (with UID after UID STORE, and always under
    /// QRESYNC).
    pub(super) fn send_modseq(&mut self, seq: u32, uid: u32, with_uid: bool) -> Step {
        let with_uid = with_uid || self.enabled.qresync;
        let modseq = match self.mail.message(uid).and_then(|mut m| m.modseq()) {
            Ok(modseq) => modseq,
            Err(e) if e.kind == MailErrorKind::Expunged => return Ok(()),
            Err(e) => return self.untagged(Status::No, None, &e.text),
        };
        self.modseq_sent(modseq);
        let mut response = FetchResponse::new(seq);
        if with_uid {
            response.item("UID", uid.to_string().as_bytes());
        }
        response.item("MODSEQ", format!("({modseq})").as_bytes());
        self.line(&response.finish())
    }
}
