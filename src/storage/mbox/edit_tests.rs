use super::*;
use crate::storage::mbox::format::{append_message, assign_uids, parse_mbox, NewMessage};
use proptest::prelude::*;

const STAMP: PseudoStamp<'static> = PseudoStamp {
    now: 1_764_000_000,
    local_offset_minutes: 0,
    hostname: "vm",
};

/// A file as Dovecot writes it, `count` messages, the first with keyword `$Work`.
fn dovecot_file(count: u32) -> Vec<u8> {
    let kws = vec!["$Work".to_string()];
    let base = ImapBase {
        uid_validity: 42,
        last_uid: count,
        keywords: kws.clone(),
    };
    let mut out = Vec::new();
    for uid in 1..=count {
        let body = format!("Subject: m{uid}\n\nFrom the body {uid}\n");
        append_message(
            &mut out,
            &NewMessage {
                sender: "a@b",
                received: 1_764_000_000,
                local_offset_minutes: 0,
                uid,
                flags: MailFlags::empty(),
                keywords: if uid == 1 { &kws } else { &[] },
                base: (uid == 1).then_some(&base),
                message: body.as_bytes(),
                delivery_id: None,
            },
        );
    }
    out
}

fn apply(data: &[u8], writes: &Writes) -> Vec<u8> {
    let mut out = data.to_vec();
    for (offset, bytes) in &writes.in_place {
        let at = *offset as usize;
        out[at..at + bytes.len()].copy_from_slice(bytes);
    }
    if let Some(tail) = &writes.tail {
        out.truncate(tail.offset as usize);
        out.extend_from_slice(&tail.bytes);
    }
    out
}

fn planned(data: &[u8], edits: &Edits) -> (Writes, Vec<u8>) {
    let file = parse_mbox(data).unwrap();
    let uids = assign_uids(&file);
    let writes = plan(data, &file, &uids, edits, 99, STAMP);
    let after = apply(data, &writes);
    (writes, after)
}

/// (uid, flags, keywords, visible message).
type ReadMessage = (u32, MailFlags, Vec<String>, Vec<u8>);

/// Every message, all UIDs in the file.
fn read(data: &[u8]) -> (ImapBase, Vec<ReadMessage>) {
    let file = parse_mbox(data).unwrap();
    let uids = assign_uids(&file);
    assert!(!needs_uid_headers(&file, &uids));
    let base = file.base.clone().unwrap();
    let msgs = file
        .messages
        .iter()
        .zip(&uids.uids)
        .map(|(m, u)| {
            (
                u.uid,
                m.meta.flags,
                listed_keywords(Some(&base), &m.meta.keywords),
                m.visible(data),
            )
        })
        .collect();
    (base, msgs)
}

#[test]
fn a_flag_change_that_fits_is_written_in_place() {
    let data = dovecot_file(3);
    let mut edits = Edits::default();
    edits
        .set
        .insert(2, (MailFlags::SEEN, vec!["$Work".to_string()]));
    let (writes, after) = planned(&data, &edits);
    assert_eq!((writes.in_place.len(), writes.tail.is_none()), (1, true));
    assert_eq!(after.len(), data.len());
    let (_, msgs) = read(&after);
    assert_eq!(
        (msgs[1].1, msgs[1].2.clone()),
        (MailFlags::SEEN, vec!["$Work".into()])
    );
}

#[test]
fn a_new_keyword_name_rewrites_from_the_start() {
    let data = dovecot_file(2);
    let mut edits = Edits::default();
    edits.new_keywords.push("Later".into());
    edits
        .set
        .insert(2, (MailFlags::empty(), vec!["Later".into()]));
    let (writes, after) = planned(&data, &edits);
    assert_eq!(writes.tail.as_ref().map(|t| t.offset), Some(0));
    let (base, msgs) = read(&after);
    assert_eq!(base.keywords, ["$Work", "Later"]);
    assert_eq!(msgs[1].2, ["Later"]);
    assert_eq!(msgs[0].2, ["$Work"]);
}

#[test]
fn mta_mail_gets_uids_and_the_rest_stays() {
    let mut data = dovecot_file(2);
    let first_two = data.clone();
    data.extend_from_slice(b"From mta@x  Sun Nov 29 01:02:03 2026\nSubject: new\n\nhi\n\n");
    let (writes, after) = planned(&data, &Edits::default());
    let tail = writes.tail.as_ref().unwrap();
    assert_eq!(tail.offset as usize, first_two.len());
    let (base, msgs) = read(&after);
    assert_eq!(base.last_uid, 3);
    assert_eq!(msgs.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(msgs[2].3, b"Subject: new\n\nhi\n");
}

#[test]
fn expunging_everything_leaves_the_pseudo_message() {
    let data = dovecot_file(2);
    let edits = Edits {
        expunge: [1, 2].into_iter().collect(),
        ..Edits::default()
    };
    let (_, after) = planned(&data, &edits);
    let file = parse_mbox(&after).unwrap();
    assert!(file.messages.is_empty());
    let base = file.base.unwrap();
    assert_eq!((base.uid_validity, base.last_uid), (42, 2));
    assert_eq!(assign_uids(&parse_mbox(&after).unwrap()).uid_next, 3);
}

proptest! {
    /// Any mix of expunges and flag changes leaves exactly the other messages, their
    /// bodies byte for byte, with the flags asked for and their UIDs.
    #[test]
    fn edits_keep_everything_else(
        count in 1u32..6,
        expunge in proptest::collection::vec(any::<bool>(), 6),
        flag_bits in proptest::collection::vec(proptest::option::of(0u8..32), 6),
        new_kw in any::<bool>(),
    ) {
        let data = dovecot_file(count);
        let (_, before) = read(&data);
        let mut edits = Edits::default();
        if new_kw {
            edits.new_keywords.push("Added".into());
        }
        for uid in 1..=count {
            let i = uid as usize - 1;
            if expunge[i] {
                edits.expunge.insert(uid);
            } else if let Some(bits) = flag_bits[i] {
                let kw = if new_kw { vec!["Added".to_string()] } else { vec![] };
                edits.set.insert(uid, (MailFlags::from_bits_truncate(bits), kw));
            }
        }
        let (_, after) = planned(&data, &edits);
        let (base, msgs) = read(&after);
        prop_assert_eq!(base.uid_validity, 42);
        prop_assert_eq!(base.last_uid, count);
        let wanted: Vec<_> = before
            .into_iter()
            .filter(|m| !edits.expunge.contains(&m.0))
            .map(|(uid, flags, kw, text)| match edits.set.get(&uid) {
                Some((f, k)) => (uid, *f, k.clone(), text),
                None => (uid, flags, kw, text),
            })
            .collect();
        prop_assert_eq!(msgs, wanted);
    }
}

/// `Status:` of each message of `data`, as (O present, whole value).
fn statuses(data: &[u8]) -> Vec<(bool, Option<Vec<u8>>)> {
    parse_mbox(data)
        .unwrap()
        .messages
        .iter()
        .map(|m| (m.meta.old, m.meta.status_other.clone()))
        .collect()
}

#[test]
fn marked_messages_get_o_in_place_and_others_stay() {
    let data = dovecot_file(3);
    let edits = Edits {
        mark_old: [2].into_iter().collect(),
        ..Edits::default()
    };
    let (writes, after) = planned(&data, &edits);
    assert!(writes.tail.is_none());
    assert_eq!(writes.in_place.len(), 1);
    let old: Vec<bool> = statuses(&after).into_iter().map(|s| s.0).collect();
    assert_eq!(old, [false, true, false]);
    // marking what already has O writes nothing
    let (writes, _) = planned(&after, &edits);
    assert!(writes.is_empty());
}

#[test]
fn a_session_dropping_recent_writes_o_into_every_header_it_writes() {
    let data = dovecot_file(3);
    let edits = Edits {
        set: [(3, (MailFlags::FLAGGED, Vec::new()))]
            .into_iter()
            .collect(),
        drop_recent: true,
        ..Edits::default()
    };
    let (_, after) = planned(&data, &edits);
    let old: Vec<bool> = statuses(&after).into_iter().map(|s| s.0).collect();
    assert_eq!(old, [false, false, true]);
    // an expunge moves the messages after it: their headers are written, with O
    let edits = Edits {
        expunge: [1].into_iter().collect(),
        drop_recent: true,
        ..Edits::default()
    };
    let (_, after) = planned(&data, &edits);
    let old: Vec<bool> = statuses(&after).into_iter().map(|s| s.0).collect();
    assert_eq!(old, [true, true]);
}

#[test]
fn foreign_status_bytes_are_kept_and_no_status_is_added_without_a_letter() {
    let data = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: x\nStatus: U\n\nbody\n\n\
From a@b Thu Nov 29 22:33:52 2001\nSubject: y\n\nbody\n\n";
    let edits = Edits {
        mark_old: [1].into_iter().collect(),
        ..Edits::default()
    };
    let (_, after) = planned(data, &edits);
    let text = String::from_utf8_lossy(&after);
    assert!(text.contains("Status: UO\n"), "{text}");
    assert_eq!(text.matches("Status:").count(), 1, "{text}");
}
