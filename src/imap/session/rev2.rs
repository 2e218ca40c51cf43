//! IMAP4rev2 (RFC 9051) for a client that sent `ENABLE IMAP4rev2`. cote advertises both
//! revisions (RFC 9051 Appendix A); without the ENABLE everything stays IMAP4rev1 as Dovecot
//! 2.3 answers it. After it, what RFC 9051 Appendix E changes for the client:
//!
//! - mailbox names are UTF-8 on the wire, in both directions (item 16), as after UTF8=ACCEPT;
//! - no message is `\Recent` and no `* n RECENT` is sent (item 12); STATUS RECENT and the
//!   search keys RECENT, NEW and OLD are refused as not part of the revision (the parser,
//!   `ParseContext::rev2`), STATUS DELETED is known (item 3);
//! - SELECT/EXAMINE send no `[UNSEEN n]` (item 11) and send the mailbox's LIST response
//!   (item 10); `[CLOSED]` is sent when a selected mailbox is closed, as in rev1 mode
//!   (item 9, as Dovecot always does);
//! - LIST answers as LIST-EXTENDED does (a parent that does not exist is `\NonExistent`,
//!   §6.3.9.6), always with `\HasChildren`/`\HasNoChildren` (§6.3.9.5: a server MAY);
//! - SEARCH without RETURN answers with ESEARCH as for `RETURN (ALL)` (item 4);
//! - unsolicited FETCH responses carry the UID (item 21): flag changes, NOTIFY's
//!   MessageNew and an updated search's FETCH.
//!
//! CHECK, LSUB and RFC822/RFC822.HEADER/RFC822.TEXT, which RFC 9051 removed or deprecated
//! (items 17 to 19), keep working: they carry nothing a rev2 client could misread, and a
//! server that offers IMAP4rev1 too has them anyway.

use std::io::{Read, Write};

use super::{Session, Step, WaitInput};
use crate::imap::mail_session::{MailErrorKind, MailSession};
use crate::imap::mailbox_name::NameEncoding;
use crate::imap::parser::fetch::FetchItem;
use crate::imap::parser::list::{List, ListReturn};
use crate::imap::parser::search::SearchReturn;

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// How this session writes and reads mailbox names: UTF-8 after `ENABLE IMAP4rev2`,
    /// modified UTF-7 otherwise.
    pub(super) fn names(&self) -> NameEncoding {
        if self.enabled.rev2 {
            NameEncoding::Utf8
        } else {
            NameEncoding::ModifiedUtf7
        }
    }

    /// `ENABLE IMAP4rev2` (the caller checked that it is advertised).
    pub(super) fn enable_rev2(&mut self) {
        self.enabled.rev2 = true;
        if let Some(view) = self.view.as_mut() {
            view.rev2 = true;
        }
    }

    /// What SEARCH without RETURN answers: nothing else under IMAP4rev1 (a `* SEARCH`
    /// response), ESEARCH with ALL under IMAP4rev2 (RFC 9051 §6.4.4).
    pub(super) fn implicit_search_return(&self) -> Option<SearchReturn> {
        self.enabled.rev2.then(|| SearchReturn {
            all: true,
            ..SearchReturn::default()
        })
    }

    /// The items of an unsolicited FETCH (NOTIFY's MessageNew, an updated search's): under
    /// IMAP4rev2 with UID first when it is not asked for, since every unsolicited FETCH has
    /// to carry it (RFC 9051 Appendix E item 21; flag updates add it in `send_flags`).
    pub(super) fn unsolicited_fetch_items(&self, items: &[FetchItem]) -> Vec<FetchItem> {
        let mut items = items.to_vec();
        if self.enabled.rev2 && !items.contains(&FetchItem::Uid) {
            items.insert(0, FetchItem::Uid);
        }
        items
    }

    /// SELECT/EXAMINE's `* LIST (attributes) "/" name` under IMAP4rev2 (RFC 9051 §6.3.2):
    /// the mailbox as LIST shows it. Nothing when LIST no longer finds it (another session
    /// deleted it meanwhile); a storage error is reported untagged.
    pub(super) fn send_selected_list(&mut self, mailbox: &str) -> Step {
        let request = List {
            lsub: false,
            reference: String::new(),
            patterns: vec![mailbox.to_string()],
            selection: Default::default(),
            returns: ListReturn {
                children: true,
                ..ListReturn::default()
            },
            extended: true,
        };
        let entries = match self.mail.list(&request) {
            Ok(entries) => entries,
            Err(e) if e.kind == MailErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return self.untagged(crate::imap::response::Status::No, None, &e.text);
            }
        };
        let Some(entry) = entries
            .iter()
            .find(|e| super::commands::same_mailbox_name(&e.name, mailbox))
        else {
            return Ok(());
        };
        let line = self.list_line("LIST", entry);
        self.line(&line)
    }
}
