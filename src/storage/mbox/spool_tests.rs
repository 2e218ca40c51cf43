use super::*;
use crate::fs::lock::mbox::MboxLockMethod;
use crate::storage::error::ErrorKind;
use crate::storage::flags::MailFlags;
use std::time::Duration;

fn locks() -> MboxLockSettings {
    MboxLockSettings {
        read_locks: vec![MboxLockMethod::Fcntl],
        write_locks: vec![MboxLockMethod::Fcntl, MboxLockMethod::Dotlock],
        lock_timeout: Duration::ZERO,
        dotlock_change_timeout: Duration::from_secs(120),
    }
}

fn message<'a>(text: &'a [u8], flags: MailFlags, keywords: &'a [String]) -> NewMessage<'a> {
    NewMessage {
        sender: "bob@example.com",
        received: 1_764_000_000,
        local_offset_minutes: 0,
        uid: 0,
        flags,
        keywords,
        base: None,
        message: text,
        delivery_id: None,
    }
}

#[test]
fn appends_to_an_empty_file_then_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box");
    std::fs::write(&path, b"").unwrap();
    let policy = FsPolicy::dovecot_defaults();
    let kws = vec!["$Work".to_string()];
    let (validity, uids) = append_messages(
        &policy,
        &locks(),
        &path,
        &[
            message(b"Subject: 1\r\n\r\nFrom me\r\n", MailFlags::SEEN, &kws),
            message(b"Subject: 2\r\n\r\nx", MailFlags::empty(), &[]),
        ],
        777,
    )
    .unwrap();
    assert_eq!((validity, uids), (777, vec![1, 2]));
    let before = std::fs::read(&path).unwrap();
    let (_, uids) = append_messages(
        &policy,
        &locks(),
        &path,
        &[message(b"Subject: 3\r\n\r\n", MailFlags::FLAGGED, &kws)],
        1,
    )
    .unwrap();
    assert_eq!(uids, [3]);
    let after = std::fs::read(&path).unwrap();
    // only the last UID's ten digits changed in what was there
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(!changed.is_empty() && changed.len() <= 10, "{changed:?}");
    let snap = read_mbox(&policy, &locks(), &path).unwrap();
    let base = snap.file.base.clone().unwrap();
    assert_eq!((base.uid_validity, base.last_uid), (777, 3));
    assert_eq!(snap.uids.uid_next, 4);
    let got: Vec<(u32, MailFlags, Vec<String>, Vec<u8>)> = snap
        .file
        .messages
        .iter()
        .zip(&snap.uids.uids)
        .map(|(m, u)| {
            (
                u.uid,
                m.meta.flags,
                m.meta.keywords.clone(),
                m.visible(&snap.data),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                1,
                MailFlags::SEEN,
                kws.clone(),
                b"Subject: 1\n\nFrom me\n".to_vec()
            ),
            (2, MailFlags::empty(), vec![], b"Subject: 2\n\nx\n".to_vec()),
            (
                3,
                MailFlags::FLAGGED,
                kws.clone(),
                // (an empty body is saved as one LF, as Dovecot saves it)
                b"Subject: 3\n\n\n".to_vec()
            ),
        ]
    );
    assert!(!dir.path().join("box.lock").exists());
}

#[test]
fn refuses_what_needs_a_rewrite_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box");
    let policy = FsPolicy::dovecot_defaults();
    // delivered by an MTA: no X-UID
    let mta = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: x\n\nbody\n\n".to_vec();
    std::fs::write(&path, &mta).unwrap();
    let err = append_messages(
        &policy,
        &locks(),
        &path,
        &[message(b"S: 1\n\n", MailFlags::empty(), &[])],
        1,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplemented, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), mta);
    // a keyword the file's X-IMAPbase does not list
    std::fs::write(&path, b"").unwrap();
    append_messages(
        &policy,
        &locks(),
        &path,
        &[message(b"S: 1\n\n", MailFlags::empty(), &[])],
        9,
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    let kws = vec!["New".to_string()];
    let err = append_messages(
        &policy,
        &locks(),
        &path,
        &[message(b"S: 2\n\n", MailFlags::empty(), &kws)],
        9,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotImplemented, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_held_dotlock_makes_appends_wait_then_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box");
    std::fs::write(&path, b"").unwrap();
    std::fs::write(dir.path().join("box.lock"), b"1:elsewhere").unwrap();
    let err = append_messages(
        &FsPolicy::dovecot_defaults(),
        &locks(),
        &path,
        &[message(b"S: 1\n\n", MailFlags::empty(), &[])],
        1,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Temp, "{err}");
    assert!(std::fs::read(&path).unwrap().is_empty());
}

#[test]
fn flags_change_in_place_and_missing_uids_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("box");
    std::fs::write(&path, b"").unwrap();
    let policy = FsPolicy::dovecot_defaults();
    let kws = vec!["$Work".to_string(), "Later".to_string()];
    append_messages(
        &policy,
        &locks(),
        &path,
        &[
            message(b"Subject: 1\n\nbody\n", MailFlags::empty(), &kws[..1]),
            message(b"Subject: 2\n\nFrom x\n", MailFlags::SEEN, &kws),
        ],
        5,
    )
    .unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    let missing = update_flags(
        &policy,
        &locks(),
        &path,
        &[
            FlagUpdate {
                uid: 1,
                flags: MailFlags::ALL,
                keywords: &kws,
            },
            FlagUpdate {
                uid: 2,
                flags: MailFlags::empty(),
                keywords: &[],
            },
            FlagUpdate {
                uid: 9,
                flags: MailFlags::SEEN,
                keywords: &[],
            },
        ],
    )
    .unwrap();
    assert_eq!(missing, [9]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    let snap = read_mbox(&policy, &locks(), &path).unwrap();
    let m = &snap.file.messages;
    assert_eq!(
        (m[0].meta.flags, &m[0].meta.keywords),
        (MailFlags::ALL, &kws)
    );
    assert_eq!(
        (m[1].meta.flags, m[1].meta.keywords.len()),
        (MailFlags::empty(), 0)
    );
    assert_eq!(m[1].visible(&snap.data), b"Subject: 2\n\nFrom x\n");
    assert_eq!(snap.file.base.as_ref().map(|b| b.last_uid), Some(2));
}
