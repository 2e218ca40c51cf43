use super::*;
use crate::storage::flags::MailFlags;
use proptest::prelude::*;

/// The file Dovecot 2.3 wrote in reference §3.9 (padding shortened).
const DOVECOT_FILE: &[u8] = b"From alice@vm  Sat Nov 28 15:09:59 2026\n\
From: a@example.com\n\
Subject: mbox test\n\
X-IMAPbase: 1795878599 0000000002 $Work\n\
X-UID: 1\n\
Status: R\n\
X-Keywords: $Work          \n\
Content-Length: 25\n\
\n\
hello\n\
From the body line\n\
\n\
From alice@vm  Sat Nov 28 15:09:59 2026\n\
Subject: two\n\
X-UID: 2\n\
Status: \n\
X-Keywords:                \n\
Content-Length: 4\n\
\n\
abc\n\
\n";

#[test]
fn reads_a_dovecot_file() {
    let file = parse_mbox(DOVECOT_FILE).unwrap();
    let base = file.base.clone().unwrap();
    assert_eq!((base.uid_validity, base.last_uid), (1795878599, 2));
    assert_eq!(base.keywords, ["$Work"]);
    assert_eq!(file.messages.len(), 2);
    let (a, b) = (&file.messages[0], &file.messages[1]);
    assert!(a.content_length_trusted && b.content_length_trusted);
    assert_eq!(
        a.visible(DOVECOT_FILE),
        b"From: a@example.com\nSubject: mbox test\n\nhello\nFrom the body line\n"
    );
    assert_eq!(a.meta.flags, MailFlags::SEEN);
    assert_eq!(a.meta.keywords, ["$Work"]);
    assert_eq!(b.visible(DOVECOT_FILE), b"Subject: two\n\nabc\n");
    assert_eq!(b.from_offset, a.end_offset + 1);
    assert_eq!(b.end_offset, DOVECOT_FILE.len() - 1);
    let uids = assign_uids(&file);
    assert_eq!(uids.uid_validity, Some(1795878599));
    assert_eq!(uids.uid_next, 3);
    assert!(uids.uids.iter().all(|u| u.in_file));
    assert_eq!(uids.uids.iter().map(|u| u.uid).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn mta_written_file_splits_at_from_lines() {
    // Postfix/procmail style: no Content-Length, ">From " quoted (and served as stored).
    let data = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: 1\n\nbody\n>From quoted\n\
                 From here on, text\n\nFrom c@d  Fri Nov 30 01:02:03 2001\nSubject: 2\n\nx\n";
    let file = parse_mbox(data).unwrap();
    assert_eq!(file.base, None);
    assert_eq!(file.messages.len(), 2);
    assert_eq!(
        file.messages[0].body(data),
        b"body\n>From quoted\nFrom here on, text\n"
    );
    assert_eq!(file.messages[1].body(data), b"x");
    assert_eq!(file.messages[1].from.sender, b"c@d");
    let uids = assign_uids(&file);
    assert_eq!(uids.uid_validity, None);
    assert_eq!(uids.uids.iter().map(|u| u.uid).collect::<Vec<_>>(), [1, 2]);
    assert!(uids.uids.iter().all(|u| !u.in_file));
}

#[test]
fn wrong_content_length_is_not_trusted() {
    for len in ["3", "400", "10"] {
        let text = format!(
            "From a@b Thu Nov 29 22:33:52 2001\nContent-Length: {len}\n\nabc\nFrom x\n\n\
             From a@b Thu Nov 29 22:33:52 2001\n\nsecond\n"
        );
        let data = text.as_bytes();
        let file = parse_mbox(data).unwrap();
        assert_eq!(file.messages.len(), 2, "{len}");
        assert_eq!(file.messages[0].body(data), b"abc\nFrom x\n");
        assert!(!file.messages[0].content_length_trusted);
        assert_eq!(file.messages[1].body(data), b"second");
    }
}

#[test]
fn pseudo_message_is_hidden_and_holds_the_base() {
    let data = b"From MAILER-DAEMON  Sat Nov 28 15:09:59 2026\n\
                 From: Mail System Internal Data <MAILER-DAEMON@vm>\n\
                 Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\
                 X-IMAP: 1795878599 0000000007 $Work\nStatus: RO\n\nThis text is part of the internal format\n\n\
                 From a@b  Sat Nov 28 15:09:59 2026\nX-UID: 7\nStatus: O\nX-Status: F\n\nhi\n\n";
    let file = parse_mbox(data).unwrap();
    assert!(file.pseudo.is_some());
    assert_eq!(file.base.as_ref().map(|b| b.last_uid), Some(7));
    assert_eq!(file.messages.len(), 1);
    assert_eq!(file.messages[0].meta.flags, MailFlags::FLAGGED);
    let uids = assign_uids(&file);
    assert_eq!(
        uids.uids[0],
        AssignedUid {
            uid: 7,
            in_file: true
        }
    );
    assert_eq!(uids.uid_next, 8);
}

#[test]
fn forged_and_unordered_uids_get_new_ones() {
    let data = b"From a@b Thu Nov 29 22:33:52 2001\nX-IMAPbase: 5 0000000003\nX-UID: 2\n\n1\n\n\
                 From a@b Thu Nov 29 22:33:52 2001\nX-UID: 4000000000\n\n2\n\n\
                 From a@b Thu Nov 29 22:33:52 2001\nX-UID: 1\n\n3\n\n\
                 From a@b Thu Nov 29 22:33:52 2001\nX-UID: 4\n\n4\n\n";
    let file = parse_mbox(data).unwrap();
    let uids = assign_uids(&file);
    let got: Vec<(u32, bool)> = uids.uids.iter().map(|u| (u.uid, u.in_file)).collect();
    assert_eq!(got, [(2, true), (4, false), (5, false), (6, false)]);
    assert_eq!(uids.uid_next, 7);
    // X-UID on the first message without X-IMAPbase is not trusted either
    let data = b"From a@b Thu Nov 29 22:33:52 2001\nX-UID: 1\n\n1\n";
    let uids = assign_uids(&parse_mbox(data).unwrap());
    assert_eq!(
        uids.uids[0],
        AssignedUid {
            uid: 1,
            in_file: false
        }
    );
}

#[test]
fn crlf_files_and_headers_without_body() {
    let data = b"From a@b Thu Nov 29 22:33:52 2001\r\nSubject: x\r\n\r\nbody\r\n\r\n\
                 From a@b Thu Nov 29 22:33:52 2001\r\nSubject: only header\r\n";
    let file = parse_mbox(data).unwrap();
    assert_eq!(file.messages.len(), 2);
    assert_eq!(
        file.messages[0].visible(data),
        b"Subject: x\r\n\r\nbody\r\n"
    );
    assert_eq!(file.messages[1].visible(data), b"Subject: only header");
    assert!(!file.messages[1].has_eoh);
}

#[test]
fn not_an_mbox() {
    assert_eq!(
        parse_mbox(b"Subject: x\n\n"),
        Err(MboxFormatError::NoFromLine)
    );
    assert_eq!(parse_mbox(b""), Ok(MboxFile::default()));
}

proptest! {
    #[test]
    fn never_panics_and_offsets_are_ordered(tail in proptest::collection::vec(prop_oneof![
        Just(b"From a@b Thu Nov 29 22:33:52 2001\n".to_vec()),
        Just(b"Content-Length: 3\n".to_vec()),
        Just(b"X-UID: 9\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ], 0..12)) {
        let mut data = b"From x Thu Nov 29 22:33:52 2001\n".to_vec();
        data.extend(tail.concat());
        let file = parse_mbox(&data).unwrap();
        let mut last = 0;
        for m in file.pseudo.iter().chain(&file.messages) {
            prop_assert!(m.from_offset >= last);
            prop_assert!(m.header_offset <= m.body_offset && m.body_offset <= m.end_offset);
            prop_assert!(m.end_offset <= data.len());
            let _ = m.visible(&data);
            last = m.end_offset;
        }
        let uids = assign_uids(&file);
        prop_assert!(uids.uids.windows(2).all(|w| w[0].uid < w[1].uid));
    }

    /// Parsing from any message's From_ line on gives the same messages from there on as
    /// parsing the whole file (what a read of a grown file's tail relies on).
    #[test]
    fn parsing_from_a_message_on_agrees_with_the_whole(tail in proptest::collection::vec(prop_oneof![
        Just(b"From a@b Thu Nov 29 22:33:52 2001\n".to_vec()),
        Just(b"Content-Length: 3\n".to_vec()),
        Just(b"X-IMAP: 5 7\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"abc\n".to_vec()),
    ], 0..16), pick in any::<proptest::sample::Index>()) {
        let mut data = b"From x Thu Nov 29 22:33:52 2001\nX-IMAPbase: 5 7\n\n".to_vec();
        data.extend(tail.concat());
        let whole = parse_mbox(&data).unwrap();
        if whole.messages.len() > 1 {
            let k = 1 + pick.index(whole.messages.len() - 1);
            let rest = parse_mbox_at(&data, whole.messages[k].from_offset).unwrap();
            prop_assert_eq!(rest.base, None);
            prop_assert_eq!(rest.pseudo, None);
            prop_assert_eq!(&rest.messages[..], &whole.messages[k..]);
        }
    }
}
