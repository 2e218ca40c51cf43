//! Whatever a client sends after login, the session answers and never panics: arbitrary bytes,
//! and real command scripts with bytes changed, inserted or removed, run through
//! `cote::imap::session::Session` over the `FakeMailSession` test double.

mod imap_support;

use std::path::Path;

use cote::imap::session::{Disconnect, Session, SessionSettings};
use cote::storage::flags::MailFlags;
use imap_support::{External, FakeMailSession};
use proptest::prelude::*;

fn fixture() -> FakeMailSession {
    FakeMailSession::fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("t/imap/session/mailbox"))
}

/// Runs `input` (after selecting INBOX when `select`) while "other sessions" expunge, flag and
/// deliver messages; the output and how it ended.
fn run(input: &[u8], select: bool) -> (Vec<u8>, Disconnect) {
    let mut mail = fixture();
    mail.schedule(2, External::Expunge(2));
    mail.schedule(3, External::Flags(4, MailFlags::SEEN));
    mail.schedule(4, External::Append(b"Subject: x\r\n\r\ny\r\n".to_vec()));
    mail.schedule(6, External::Expunge(5));
    let settings = SessionSettings {
        // What ENABLE may enable (IMAP4rev2 among them).
        capability: cote::imap::capability::POSTLOGIN_BANNER.into(),
        max_line_length: 2048,
        ..SessionSettings::default()
    };
    let mut all = Vec::new();
    if select {
        all.extend_from_slice(b"S SELECT INBOX\r\n");
    }
    all.extend_from_slice(input);
    let mut output = Vec::new();
    let reason = Session::new(&mut mail, &all[..], &mut output, &settings).run();
    (output, reason)
}

/// Commands that exercise every part of the parser and the session.
const SCRIPT: &[&str] = &[
    "a FETCH 1:* (FLAGS UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]<0.20> BINARY.SIZE[1])",
    "b UID FETCH 1:* (BODYSTRUCTURE ENVELOPE RFC822.SIZE) (CHANGEDSINCE 1)",
    "c STORE 1:3 +FLAGS.SILENT (\\Seen kw)",
    "d SEARCH RETURN (MIN MAX COUNT SAVE) OR SEEN (FROM \"bob\" LARGER 10) NOT 2:*",
    "e UID SEARCH CHARSET UTF-8 TEXT {5}\r\napple UID $",
    "f APPEND INBOX (\\Flagged) \"01-Jan-2020 10:00:00 +0100\" {5+}\r\nhello ~{3+}\r\nab\0",
    "g COPY 1:2 Trash",
    "h MOVE $ Sent",
    "i LIST (SUBSCRIBED) \"\" (* %) RETURN (CHILDREN STATUS (MESSAGES SIZE))",
    "j STATUS INBOX (MESSAGES UNSEEN HIGHESTMODSEQ)",
    "k STORE 1 (UNCHANGEDSINCE 9) FLAGS ()",
    "l IDLE\r\nDONE",
    "m EXPUNGE",
    // From here on IMAP4rev2 (RFC 9051): SELECT's LIST, ESEARCH, STATUS DELETED.
    "s ENABLE IMAP4rev2",
    "n SELECT INBOX (CONDSTORE)",
    "t SEARCH UNSEEN",
    "u STATUS INBOX (DELETED SIZE)",
    "o ENABLE QRESYNC CONDSTORE",
    "p UID EXPUNGE 1:*",
    "q CLOSE",
    "r LOGOUT",
];

fn script() -> Vec<u8> {
    let mut wire = Vec::new();
    for line in SCRIPT {
        wire.extend_from_slice(line.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

#[test]
fn the_script_runs_to_logout() {
    let (output, reason) = run(&script(), true);
    let text = String::from_utf8_lossy(&output);
    if std::env::var_os("SHOW").is_some() {
        println!("{text}");
    }
    assert_eq!(reason, Disconnect::Logout, "{text}");
    for tag in [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u",
    ] {
        assert!(
            text.contains(&format!("\r\n{tag} OK")),
            "{tag} did not succeed:\n{text}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        select in any::<bool>(),
    ) {
        let _ = run(&data, select);
    }

    /// The script with random edits: every command gets an answer (or the session ends with
    /// a reason), and nothing panics.
    #[test]
    fn mutated_scripts_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..12),
        select in any::<bool>(),
    ) {
        let mut wire = script();
        for (at, byte, kind) in edits {
            let at = at % (wire.len() + 1);
            match kind {
                0 if at < wire.len() => wire[at] = byte,
                1 => wire.insert(at, byte),
                _ if at < wire.len() => {
                    wire.remove(at);
                }
                _ => {}
            }
        }
        let (output, _) = run(&wire, select);
        // Every line the server wrote is a response line (untagged, continuation, tagged)
        // or literal data, and it answered at least one command.
        prop_assert!(output.is_empty() || output.ends_with(b"\r\n"));
    }
}
