//! What a change to an mbox file writes (pure byte code): given the file as read, the
//! messages' UIDs and the changes asked for (expunges, new flags and keywords, new keyword
//! names, UIDs for messages that have no valid `X-UID:` yet), the headers rewritten in place
//! where they fit, and the tail of the file rewritten from the first message where they
//! don't (see [`super::rewrite_journal`] for how that tail is written safely).

use std::collections::{HashMap, HashSet};

use super::format::{
    pseudo_message, regenerate_message, rewrite_header, HeaderUpdate, ImapBase, MboxFile,
    MboxMessage, UidAssignment,
};
use super::rewrite_journal::TailRewrite;
use crate::storage::flags::MailFlags;

/// The changes asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits {
    pub expunge: HashSet<u32>,
    /// New flags and keywords by UID.
    pub set: HashMap<u32, (MailFlags, Vec<String>)>,
    /// Keyword names `X-IMAPbase:` must list.
    pub new_keywords: Vec<String>,
    /// Messages whose `Status:` must get `O` (no longer \Recent) if it lacks it.
    pub mark_old: HashSet<u32>,
    /// The session took the messages' \Recent (SELECT): every header it writes gets `O`,
    /// as Dovecot's sync writes it whenever it rewrites a header in such a session.
    pub drop_recent: bool,
}

impl Edits {
    /// Whether `msg`'s `Status:` has `O` once its header is written.
    fn old_when_written(&self, msg: &MboxMessage, uid: u32) -> bool {
        msg.meta.old || self.drop_recent || self.mark_old.contains(&uid)
    }
}

/// What to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes {
    /// Headers rewritten in place: (offset, bytes of the same length).
    pub in_place: Vec<(u64, Vec<u8>)>,
    /// The file from an offset on, when something could not be done in place.
    pub tail: Option<TailRewrite>,
    /// `X-IMAPbase:`'s last UID is raised in place to this value (its ten digits in the
    /// pseudo message, which is never rewritten otherwise).
    pub last_uid: Option<u32>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.in_place.is_empty() && self.tail.is_none() && self.last_uid.is_none()
    }
}

/// How pseudo messages are dated and signed.
#[derive(Debug, Clone, Copy)]
pub struct PseudoStamp<'a> {
    pub now: i64,
    pub local_offset_minutes: i32,
    pub hostname: &'a str,
}

/// The keywords a message has: its `X-Keywords:` names that `X-IMAPbase:` lists (others
/// do not count, as in Dovecot).
pub fn listed_keywords(base: Option<&ImapBase>, keywords: &[String]) -> Vec<String> {
    let listed = base.map_or(&[][..], |b| &b.keywords[..]);
    keywords
        .iter()
        .filter(|k| listed.iter().any(|l| l.eq_ignore_ascii_case(k)))
        .cloned()
        .collect()
}

/// Whether the file needs writing before its UIDs can be trusted by others: a message
/// without a valid `X-UID:`, or messages without `X-IMAPbase:`.
pub fn needs_uid_headers(file: &MboxFile, uids: &UidAssignment) -> bool {
    !file.messages.is_empty() && (file.base.is_none() || uids.uids.iter().any(|u| !u.in_file))
}

/// Plans `edits` (plus the UID headers every message must have) over `data`.
pub fn plan(
    data: &[u8],
    file: &MboxFile,
    uids: &UidAssignment,
    edits: &Edits,
    new_uid_validity: u32,
    stamp: PseudoStamp<'_>,
) -> Writes {
    let old_base = file.base.clone();
    let mut base = old_base.clone().unwrap_or(ImapBase {
        uid_validity: new_uid_validity,
        last_uid: 0,
        keywords: Vec::new(),
    });
    for k in &edits.new_keywords {
        if !base.keywords.iter().any(|b| b.eq_ignore_ascii_case(k)) {
            base.keywords.push(k.clone());
        }
    }
    base.last_uid = base.last_uid.max(uids.uid_next.saturating_sub(1));
    let layout_changed = old_base
        .as_ref()
        .is_none_or(|old| old.uid_validity != base.uid_validity || old.keywords != base.keywords);
    let digits_changed = old_base
        .as_ref()
        .is_some_and(|old| old.last_uid != base.last_uid);
    let has_pseudo = file.pseudo.is_some();
    let kept: Vec<usize> = (0..file.messages.len())
        .filter(|&i| !edits.expunge.contains(&uids.uids[i].uid))
        .collect();
    let first_kept = kept.first().copied();
    let mut writes = Writes::default();
    // the first message that must be moved: from there on, the tail is rewritten
    let mut rewrite_from: Option<usize> = None;
    if layout_changed && (has_pseudo || !file.messages.is_empty()) {
        rewrite_from = Some(0);
    }
    if let Some(i) = (0..file.messages.len()).find(|i| !kept.contains(i)) {
        rewrite_from = Some(rewrite_from.map_or(i, |r| r.min(i)));
    }
    let mut updates: Vec<Option<(MailFlags, Vec<String>)>> = vec![None; file.messages.len()];
    for &i in &kept {
        let msg = &file.messages[i];
        let assigned = uids.uids[i];
        let current = (
            msg.meta.flags,
            listed_keywords(old_base.as_ref(), &msg.meta.keywords),
        );
        let wanted = edits.set.get(&assigned.uid).cloned();
        let carries_base = !has_pseudo && Some(i) == first_kept;
        let base_moves = carries_base && (i != 0 || digits_changed || layout_changed);
        let changed = wanted.as_ref().is_some_and(|w| *w != current);
        let ages = !msg.meta.old && edits.mark_old.contains(&assigned.uid);
        if changed || !assigned.in_file || base_moves || ages {
            updates[i] = Some(wanted.unwrap_or(current));
        }
    }
    let stop = rewrite_from.unwrap_or(file.messages.len());
    for (i, update) in updates.iter().enumerate().take(stop) {
        let Some((flags, keywords)) = update else {
            continue;
        };
        let msg = &file.messages[i];
        let header = HeaderUpdate {
            uid: uids.uids[i].uid,
            flags: *flags,
            keywords,
            old: edits.old_when_written(msg, uids.uids[i].uid),
            base: (!has_pseudo && Some(i) == first_kept).then_some(&base),
        };
        match rewrite_header(data, msg, &header) {
            Some(bytes) => writes.in_place.push((msg.header_offset as u64, bytes)),
            None => {
                rewrite_from = Some(i);
                break;
            }
        }
    }
    if let Some(from) = rewrite_from {
        // (the in-place writes planned are all of messages before `from`)
        let offset = match file.messages.get(from) {
            Some(m) if !(from == 0 && layout_changed) => m.from_offset,
            _ => 0,
        };
        let mut bytes = Vec::new();
        if offset == 0 && has_pseudo {
            pseudo_message(
                &mut bytes,
                &base,
                stamp.now,
                stamp.local_offset_minutes,
                stamp.hostname,
            );
        }
        let mut wrote_any = false;
        for &i in kept.iter().filter(|&&i| i >= from) {
            let msg = &file.messages[i];
            let current = (
                msg.meta.flags,
                listed_keywords(old_base.as_ref(), &msg.meta.keywords),
            );
            let (flags, keywords) = updates[i].clone().unwrap_or(current);
            let header = HeaderUpdate {
                uid: uids.uids[i].uid,
                flags,
                keywords: &keywords,
                old: edits.old_when_written(msg, uids.uids[i].uid),
                base: (!has_pseudo && Some(i) == first_kept).then_some(&base),
            };
            regenerate_message(&mut bytes, data, msg, &header);
            wrote_any = true;
        }
        if offset == 0 && !has_pseudo && !wrote_any && !file.messages.is_empty() {
            // Every message expunged: the pseudo message keeps UIDVALIDITY and the last UID.
            pseudo_message(
                &mut bytes,
                &base,
                stamp.now,
                stamp.local_offset_minutes,
                stamp.hostname,
            );
        }
        writes.tail = Some(TailRewrite {
            offset: offset as u64,
            bytes,
        });
    }
    let pseudo_rewritten = writes.tail.as_ref().is_some_and(|t| t.offset == 0);
    if has_pseudo && digits_changed && !pseudo_rewritten {
        writes.last_uid = Some(base.last_uid);
    }
    writes
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
