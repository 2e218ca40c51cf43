//! Running the commands that are not FETCH/STORE, SEARCH, APPEND or IDLE.

use std::io::{Read, Write};

use super::view::View;
use super::{Disconnect, Reply, Session, Step, WaitInput};
use crate::imap::id::{id_log_text, id_reply};
use crate::imap::mail_session::{MailErrorKind, MailSession, NamespaceKind};
use crate::imap::parser::list::{List, StatusItems};
use crate::imap::parser::select::Select;
use crate::imap::parser::{Command, CommandName};
use crate::imap::response::{Code, Status};
use crate::imap::seqset::SetArg;
use crate::index::uidset::UidSet;
use crate::mail::quote::{append_astring, append_nstring};

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Runs a parsed command; returns its tagged answer.
    pub(super) fn execute(&mut self, name: CommandName, command: Command) -> Step<Reply> {
        match command {
            Command::Capability => {
                let caps = format!("* CAPABILITY {}", self.settings.capability);
                self.line(caps.as_bytes())?;
                Ok(Reply::ok("Capability completed."))
            }
            Command::Noop => Ok(Reply::ok("NOOP completed.")),
            Command::Logout => {
                self.untagged(Status::Bye, None, "Logging out")?;
                self.tagged(Reply::ok("Logout completed."))?;
                self.flush()?;
                Err(Disconnect::Logout)
            }
            Command::Id(params) => {
                if !self.id_logged {
                    self.id_logged = true;
                    if let Some(text) = params
                        .as_ref()
                        .and_then(|p| id_log_text(p, &self.settings.id_log))
                    {
                        log::info!("ID sent: {text}");
                    }
                }
                let mut line = b"* ID ".to_vec();
                line.extend_from_slice(&id_reply(&self.settings.id_send));
                self.line(&line)?;
                Ok(Reply::ok("ID completed."))
            }
            Command::Enable(names) => self.enable(&names),
            Command::Namespace => self.namespace(),
            Command::Idle => self.idle(),
            Command::Compress(mechanism) => self.compress(&mechanism),
            Command::Select(select) => self.select(select),
            Command::Create(mailbox) => Ok(match self.mail.create(&mailbox) {
                Ok(()) => Reply::ok("Create completed."),
                Err(e) => Reply::mail_error(&e, false),
            }),
            Command::Delete(mailbox) => {
                if is_inbox(&mailbox) {
                    return Ok(Reply::no(None, "INBOX can't be deleted."));
                }
                let selected = self.mail.is_selected(&mailbox);
                if selected {
                    // Deleting the selected mailbox closes it first (Dovecot).
                    self.forget_selected();
                    if let Err(e) = self.mail.close(false) {
                        return Ok(Reply::mail_error(&e, false));
                    }
                }
                let reply = match self.mail.delete(&mailbox) {
                    Ok(()) => Reply::ok("Delete completed."),
                    // A mailbox with children: no NONEXISTENT-style code.
                    Err(e) if e.kind == MailErrorKind::Exists => Reply::no(None, e.text),
                    Err(e) => Reply::mail_error(&e, true),
                };
                if !selected {
                    return Ok(reply);
                }
                // The client's view is gone: as Dovecot, answer, then end the session.
                self.tagged(reply)?;
                let text = "Selected mailbox was deleted, have to disconnect.";
                self.bye(text);
                Err(Disconnect::MailboxInconsistent(text.to_string()))
            }
            Command::Rename { from, to } => {
                // Dovecot refuses box -> box/child: it may break clients and has no use.
                if self.is_own_child(&from, &to) {
                    return Ok(Reply::no(None, "Can't rename mailbox under its own child."));
                }
                Ok(match self.mail.rename(&from, &to) {
                    Ok(()) => Reply::ok("Rename completed."),
                    Err(e) => Reply::mail_error(&e, true),
                })
            }
            Command::Subscribe(mailbox) => {
                // Only a name that exists (as a mailbox, or a parent of some) is subscribed,
                // as Dovecot's SUBSCRIBE checks; no response code, as Dovecot's.
                match self.mailbox_exists(&mailbox) {
                    Ok(true) => {}
                    Ok(false) => {
                        let text = format!("Mailbox doesn't exist: {mailbox}");
                        return Ok(Reply::no(None, text));
                    }
                    Err(e) => return Ok(Reply::mail_error(&e, false)),
                }
                Ok(match self.mail.set_subscribed(&mailbox, true) {
                    Ok(()) => Reply::ok("Subscribe completed."),
                    Err(e) => Reply::mail_error(&e, false),
                })
            }
            Command::Unsubscribe(mailbox) => Ok(match self.mail.set_subscribed(&mailbox, false) {
                Ok(()) => Reply::ok("Unsubscribe completed."),
                Err(e) => Reply::mail_error(&e, true),
            }),
            Command::List(list) => self.list(&list, name == CommandName::Lsub),
            Command::Status(status) => {
                let result = self.mail.status(&status.mailbox, &status.items);
                let mut values = match result {
                    Ok(values) => values,
                    Err(e) => return Ok(Reply::mail_error(&e, false)),
                };
                if self.mail.is_selected(&status.mailbox) {
                    if let Err(e) = self.status_from_view(&status.items, &mut values) {
                        return Ok(Reply::mail_error(&e, false));
                    }
                }
                if status.items.highest_modseq {
                    self.enable_condstore()?;
                }
                self.send_status(&status.mailbox, &status.items, &values)?;
                if self.mail.is_selected_by_name(&status.mailbox) {
                    Ok(Reply::ok_with(
                        Code::ClientBug,
                        "Status on selected mailbox completed.",
                    ))
                } else {
                    Ok(Reply::ok("Status completed."))
                }
            }
            Command::Check => Ok(match self.mail.check() {
                Ok(()) => Reply::ok("Check completed."),
                Err(e) => Reply::mail_error(&e, false),
            }),
            Command::Close => {
                let read_only = self.view.as_ref().is_some_and(|v| v.read_only);
                self.forget_selected();
                Ok(match self.mail.close(!read_only) {
                    Ok(expunged) => {
                        self.stats.expunged += expunged.len();
                        Reply::ok("Close completed.")
                    }
                    Err(e) => Reply::mail_error(&e, false),
                })
            }
            Command::Unselect => {
                self.forget_selected();
                Ok(match self.mail.close(false) {
                    Ok(_) => Reply::ok("Unselect completed."),
                    Err(e) => Reply::mail_error(&e, false),
                })
            }
            Command::Expunge => self.expunge(None),
            Command::UidExpunge(set) => {
                let uids = self.resolve_uids(&set);
                self.expunge(Some(&uids))
            }
            Command::Copy {
                set,
                uid,
                mailbox,
                moving,
            } => self.copy(&set, uid, &mailbox, moving),
            Command::Fetch(fetch) => self.fetch(&fetch),
            Command::Store(store) => self.store(&store),
            Command::Search(search) => self.search(&search),
            Command::Sort(sort) => self.sort(&sort),
            Command::Thread(thread) => self.thread(&thread),
            Command::CancelUpdate(tags) => Ok(self.cancel_updates(&tags)),
            Command::GetQuotaRoot(mailbox) => self.getquotaroot(&mailbox),
            Command::GetQuota(root) => self.getquota(&root),
            Command::SetQuota => self.setquota(),
            Command::GetMetadata(get) => self.getmetadata(&get),
            Command::MyRights(mailbox) => self.myrights(&mailbox),
            Command::GetAcl(mailbox) => self.getacl(&mailbox),
            Command::ListRights {
                mailbox,
                identifier,
            } => self.listrights(&mailbox, &identifier),
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.setacl(&mailbox, &identifier, &rights),
            Command::DeleteAcl {
                mailbox,
                identifier,
            } => self.deleteacl(&mailbox, &identifier),
            Command::Notify(notify) => self.notify(notify),
            Command::GenUrlAuth(gen) => self.genurlauth(&gen),
            Command::ResetKey(reset) => self.resetkey(&reset),
            Command::UrlFetch(urls) => self.urlfetch(&urls),
        }
    }

    /// ENABLE: `* ENABLED` lists the extensions enabled now (Dovecot lists them again when
    /// they already were).
    fn enable(&mut self, names: &[String]) -> Step<Reply> {
        let mut enabled = Vec::new();
        for name in names {
            // Only what the capability list promises can be enabled.
            if !self.advertises(name) {
                continue;
            }
            match name.as_str() {
                "CONDSTORE" => {
                    self.enable_condstore()?;
                    enabled.push(name.as_str());
                }
                "QRESYNC" => {
                    self.enable_condstore()?;
                    self.enabled.qresync = true;
                    enabled.push(name.as_str());
                }
                "IMAP4REV2" => {
                    self.enable_rev2();
                    enabled.push("IMAP4rev2");
                }
                _ => {}
            }
        }
        if !enabled.is_empty() {
            self.line(format!("* ENABLED {}", enabled.join(" ")).as_bytes())?;
        }
        Ok(Reply::ok("Enabled."))
    }

    /// CONDSTORE becomes enabled (explicitly or by a command that uses modseqs): a selected
    /// mailbox's HIGHESTMODSEQ is reported then.
    pub(super) fn enable_condstore(&mut self) -> Step {
        if self.enabled.condstore {
            return Ok(());
        }
        self.enabled.condstore = true;
        self.mail.enable_condstore();
        if self.view.as_ref().is_some_and(|v| !v.no_modseq) {
            let code = Code::HighestModseq(self.mail.highest_modseq());
            self.untagged(Status::Ok, Some(&code), "Highest")?;
        }
        Ok(())
    }

    fn namespace(&mut self) -> Step<Reply> {
        let namespaces = self.mail.namespaces();
        let mut line = b"* NAMESPACE".to_vec();
        for kind in [
            NamespaceKind::Private,
            NamespaceKind::Shared,
            NamespaceKind::Public,
        ] {
            line.push(b' ');
            let of_kind: Vec<_> = namespaces.iter().filter(|n| n.kind == kind).collect();
            if of_kind.is_empty() {
                line.extend_from_slice(b"NIL");
                continue;
            }
            line.push(b'(');
            for ns in of_kind {
                line.push(b'(');
                let prefix = self.names().encode(&ns.prefix);
                append_nstring(&mut line, Some(prefix.as_bytes()));
                line.push(b' ');
                write_separator(&mut line, ns.separator);
                line.push(b')');
            }
            line.push(b')');
        }
        self.line(&line)?;
        Ok(Reply::ok("Namespace completed."))
    }

    fn select(&mut self, select: Select) -> Step<Reply> {
        self.close_selected()?;
        if select.condstore {
            self.enable_condstore()?;
        }
        let selected = match self.mail.select(&select.mailbox, select.read_only) {
            Ok(selected) => selected,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        let mut view = View::new(&selected);
        view.examined = select.read_only;
        view.name = select.mailbox.clone();
        self.line(view.flags_line().as_bytes())?;
        self.line(view.permanent_flags_line().as_bytes())?;
        self.line(format!("* {} EXISTS", view.messages()).as_bytes())?;
        // IMAP4rev2 deprecated RECENT and [UNSEEN] (RFC 9051 Appendix E items 11, 12).
        let rev2 = self.enabled.rev2;
        if !rev2 {
            self.line(format!("* {} RECENT", view.recent_sent).as_bytes())?;
        }
        view.rev2 = rev2;
        let read_only = view.read_only;
        self.view = Some(view);
        let first_unseen = selected
            .first_unseen_uid
            .and_then(|uid| self.view.as_ref().and_then(|v| v.seq_of(uid)));
        if let Some(seq) = first_unseen.filter(|_| !rev2) {
            self.untagged(Status::Ok, Some(&Code::Unseen(seq)), "First unseen.")?;
        }
        self.untagged(
            Status::Ok,
            Some(&Code::UidValidity(selected.uid_validity)),
            "UIDs valid",
        )?;
        self.untagged(
            Status::Ok,
            Some(&Code::UidNext(selected.uid_next)),
            "Predicted next UID",
        )?;
        match selected.highest_modseq {
            None => self.untagged(
                Status::Ok,
                Some(&Code::NoModseq),
                "No permanent modsequences",
            )?,
            // Also without CONDSTORE once a client has used modseqs on the mailbox (Dovecot
            // sends it whenever the mailbox's index tracks modseqs).
            Some(modseq) if self.enabled.condstore || selected.modseq_tracking => {
                self.untagged(Status::Ok, Some(&Code::HighestModseq(modseq)), "Highest")?
            }
            Some(_) => {}
        }
        if rev2 {
            self.send_selected_list(&select.mailbox)?;
        }
        let qresync = select.qresync.as_ref().filter(|q| {
            q.uid_validity == selected.uid_validity
                && selected.uid_validity != 0
                && selected.highest_modseq.is_some()
        });
        if let Some(qresync) = qresync {
            if let Err(e) = self.qresync_select(qresync)? {
                // As Dovecot: the error, and no mailbox selected.
                self.view = None;
                if let Err(close) = self.mail.close(false) {
                    log::error!("Closing after a failed QRESYNC: {close}");
                }
                return Ok(Reply::mail_error(&e, false));
            }
        }
        // The text names the command; the code says what the mailbox is (a SELECT of a
        // mailbox the user's ACL does not let change is READ-ONLY too).
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        let text = if select.read_only {
            "Examine completed."
        } else {
            "Select completed."
        };
        Ok(Reply::ok_with(code, text))
    }

    /// `* LIST (attributes) "sep" name [(CHILDINFO (...))]` (or LSUB) for one entry.
    pub(super) fn list_line(
        &self,
        word: &str,
        entry: &crate::imap::mail_session::ListEntry,
    ) -> Vec<u8> {
        let mut line = format!("* {word} (").into_bytes();
        line.extend_from_slice(entry.attributes.join(" ").as_bytes());
        line.extend_from_slice(b") ");
        write_separator(&mut line, entry.separator);
        line.push(b' ');
        self.names().append(&mut line, &entry.name);
        for info in &entry.child_info {
            line.extend_from_slice(format!(" (CHILDINFO (\"{info}\"))").as_bytes());
        }
        line
    }

    fn list(&mut self, list: &List, lsub: bool) -> Step<Reply> {
        let mut request = list.clone();
        if lsub && self.settings.workarounds.tb_lsub_flags {
            request.returns.children = true;
        }
        // IMAP4rev2's LIST is LIST-EXTENDED's (a missing parent is `\NonExistent`, RFC 9051
        // §6.3.9.6), with the child attributes always (§6.3.9.5 allows it).
        if self.enabled.rev2 && !lsub {
            request.extended = true;
            request.returns.children = true;
        }
        let entries = match self.mail.list(&request) {
            Ok(entries) => entries,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        let word = if lsub { "LSUB" } else { "LIST" };
        for entry in entries {
            let line = self.list_line(word, &entry);
            self.line(&line)?;
            if let (Some(items), true) = (list.returns.status.as_ref(), entry.selectable) {
                match self.mail.status(&entry.name, items) {
                    Ok(values) => self.send_status(&entry.name, items, &values)?,
                    // A mailbox that went away meanwhile has no status.
                    Err(e) if e.kind == MailErrorKind::NotFound => {}
                    Err(e) => self.untagged(Status::No, None, &e.text)?,
                }
            }
        }
        Ok(Reply::ok(if lsub {
            "Lsub completed."
        } else {
            "List completed."
        }))
    }

    /// STATUS on the selected mailbox answers, as Dovecot, what this session has told its
    /// client (the counts as of its last reported changes, messages expunged elsewhere that
    /// it has not reported yet included), not the mailbox as it is now.
    fn status_from_view(
        &mut self,
        items: &StatusItems,
        values: &mut crate::imap::mail_session::MailboxStatus,
    ) -> Result<(), crate::imap::mail_session::MailError> {
        let Some(view) = self.view.as_ref() else {
            return Ok(());
        };
        values.messages = view.messages();
        values.recent = view.recent.len() as u32;
        values.uid_next = view.uid_next;
        if items.unseen || items.deleted || items.size || items.x_size {
            let uids = view.uids.clone();
            let totals = self.mail.view_totals(&uids)?;
            values.unseen = totals.unseen;
            values.deleted = totals.deleted;
            values.size = totals.size;
        }
        Ok(())
    }

    /// `* STATUS name (ITEM n ...)` in Dovecot's item order.
    pub(super) fn send_status(
        &mut self,
        mailbox: &str,
        items: &StatusItems,
        values: &crate::imap::mail_session::MailboxStatus,
    ) -> Step {
        let mut line = b"* STATUS ".to_vec();
        self.names().append(&mut line, mailbox);
        line.extend_from_slice(b" (");
        let mut parts = Vec::new();
        if items.messages {
            parts.push(format!("MESSAGES {}", values.messages));
        }
        if items.recent {
            parts.push(format!("RECENT {}", values.recent));
        }
        if items.uid_next {
            parts.push(format!("UIDNEXT {}", values.uid_next));
        }
        if items.uid_validity {
            parts.push(format!("UIDVALIDITY {}", values.uid_validity));
        }
        if items.unseen {
            parts.push(format!("UNSEEN {}", values.unseen));
        }
        if items.deleted {
            parts.push(format!("DELETED {}", values.deleted));
        }
        if items.highest_modseq {
            parts.push(format!("HIGHESTMODSEQ {}", values.highest_modseq));
        }
        if items.size {
            parts.push(format!("SIZE {}", values.size));
        }
        if items.x_size {
            parts.push(format!("X-SIZE {}", values.size));
        }
        line.extend_from_slice(parts.join(" ").as_bytes());
        if items.x_guid {
            if !parts.is_empty() {
                line.push(b' ');
            }
            line.extend_from_slice(b"X-GUID ");
            append_astring(&mut line, values.guid.as_bytes());
        }
        line.push(b')');
        self.line(&line)
    }

    /// The UIDs a UID set argument names in the view (`$`: the saved result).
    pub(super) fn resolve_uids(&self, set: &SetArg) -> UidSet {
        let Some(view) = self.view.as_ref() else {
            return UidSet::new();
        };
        match set {
            SetArg::Set(set) => set.uids(&view.uids),
            SetArg::SavedResult => self.saved_uids(),
        }
    }

    /// The UIDs of a message set argument (sequence numbers, or UIDs with `uid`).
    pub(super) fn resolve_set(&self, set: &SetArg, uid: bool) -> UidSet {
        let Some(view) = self.view.as_ref() else {
            return UidSet::new();
        };
        match set {
            SetArg::Set(set) if uid => set.uids(&view.uids),
            SetArg::Set(set) => set
                .seqs(view.messages())
                .iter()
                .filter_map(|seq| view.uid_of(seq))
                .collect(),
            SetArg::SavedResult => self.saved_uids(),
        }
    }

    /// The saved result, as far as those messages still exist.
    fn saved_uids(&self) -> UidSet {
        let (Some(view), Some(saved)) = (self.view.as_ref(), self.saved_result.as_ref()) else {
            return UidSet::new();
        };
        saved.iter().filter(|&u| view.seq_of(u).is_some()).collect()
    }

    fn expunge(&mut self, uids: Option<&UidSet>) -> Step<Reply> {
        if self.view.as_ref().is_some_and(|v| v.read_only) {
            // Dovecot answers OK and expunges nothing in a read-only mailbox.
            return Ok(Reply::ok("Expunge completed."));
        }
        match self.mail.expunge(uids) {
            Ok(expunged) => {
                self.stats.expunged += expunged.len();
                self.send_expunges(&expunged)?;
                Ok(Reply::ok("Expunge completed."))
            }
            // ACLs without the expunge right: Dovecot answers OK and expunges nothing.
            Err(e) if e.kind == MailErrorKind::Perm => {
                Ok(Reply::ok(format!("Expunge ignored: {}.", e.text)))
            }
            Err(e) => Ok(Reply::mail_error(&e, false)),
        }
    }

    fn copy(&mut self, set: &SetArg, uid: bool, mailbox: &str, moving: bool) -> Step<Reply> {
        let uids = self.resolve_set(set, uid);
        if uids.is_empty() {
            return Ok(Reply::ok("No messages found."));
        }
        let moving = moving && !self.view.as_ref().is_some_and(|v| v.read_only);
        let result = match self.mail.copy(&uids, mailbox, moving) {
            Ok(result) => result,
            Err(e) if e.kind == MailErrorKind::NotFound => {
                return Ok(Reply::no(Some(Code::TryCreate), e.text))
            }
            // Another session expunged some of them: nothing was copied (Dovecot's text).
            Err(e) if e.kind == MailErrorKind::Expunged => {
                return Ok(Reply::no(
                    Some(Code::ExpungeIssued),
                    "Some of the requested messages no longer exist.",
                ))
            }
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if result.destination_is_trash {
            self.stats.trashed += result.source.len();
        }
        let destination: UidSet = result.destination.iter().copied().collect();
        let code = (!result.destination.is_empty())
            .then(|| Code::CopyUid(result.uid_validity, result.source.clone(), destination));
        if moving {
            if let Some(code) = &code {
                self.untagged(Status::Ok, Some(code), "Moved UIDs.")?;
            }
            self.send_expunges(&result.source)?;
            return Ok(Reply::ok("Move completed."));
        }
        Ok(match code {
            Some(code) => Reply::ok_with(code, "Copy completed."),
            None => Reply::ok("Copy completed."),
        })
    }
}

/// `"/"`, `"\\"` or NIL.
pub(super) fn write_separator(out: &mut Vec<u8>, separator: Option<char>) {
    match separator {
        Some(sep) => {
            let mut buf = [0u8; 4];
            crate::mail::quote::append_quoted(out, sep.encode_utf8(&mut buf).as_bytes())
        }
        None => out.extend_from_slice(b"NIL"),
    }
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Whether `to` is below `from` in `from`'s namespace hierarchy.
    fn is_own_child(&self, from: &str, to: &str) -> bool {
        let separator = self
            .mail
            .namespaces()
            .into_iter()
            .filter(|ns| from.starts_with(ns.prefix.as_str()))
            .max_by_key(|ns| ns.prefix.len())
            .and_then(|ns| ns.separator);
        separator.is_some_and(|sep| {
            to.strip_prefix(from)
                .is_some_and(|rest| rest.starts_with(sep))
        })
    }

    /// Whether `name` is a mailbox or the parent of one (what LIST shows for it). A name
    /// with LIST wildcards cannot be asked that way and counts as existing.
    fn mailbox_exists(&mut self, name: &str) -> Result<bool, crate::imap::mail_session::MailError> {
        if name.contains(['*', '%']) {
            return Ok(true);
        }
        let request = List {
            lsub: false,
            reference: String::new(),
            patterns: vec![name.to_string()],
            selection: Default::default(),
            returns: Default::default(),
            extended: false,
        };
        Ok(self
            .mail
            .list(&request)?
            .iter()
            .any(|e| same_mailbox_name(&e.name, name)))
    }
}

/// Whether LIST's `listed` is the client's `name`: equal, or equal but for the case of an
/// INBOX first level (LIST shows `INBOX.Sub` for `inbox.Sub`).
pub(super) fn same_mailbox_name(listed: &str, name: &str) -> bool {
    if listed == name || (is_inbox(listed) && is_inbox(name)) {
        return true;
    }
    match (listed.get(..5), name.get(..5)) {
        (Some("INBOX"), Some(head)) => is_inbox(head) && listed[5..] == name[5..],
        _ => false,
    }
}

fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}
