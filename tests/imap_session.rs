//! The IMAP session after login, against the `FakeMailSession` test double: every case of
//! `t/imap/session/*.session` (Dovecot 2.3.19.1's answers, recorded by
//! `t/oracle/imap-session-probe`) is replayed through `cote::imap::session::Session` and the
//! answers compared, except the cases listed in `DIFFERENCES` with the reason cote answers
//! otherwise. Then tests of what the recordings cannot show: updates from other sessions,
//! pipelining, IDLE.
//!
//! Runs without libtest's harness: the time zone is set to UTC (as on the machine that
//! recorded the cases) before any thread exists. `cargo test --test imap_session -- WORD`
//! runs the cases whose name contains WORD.

mod imap_support;
mod session_cases;

use std::process::ExitCode;

use cote::imap::session::{ClientWorkarounds, Disconnect, Session, SessionSettings, SessionStats};
use cote::storage::flags::MailFlags;
use imap_support::{External, FakeMailSession};
use session_cases::{check, matches, parse_cases, root, split_lines, Case, DIFFERENCES};

/// Cases the test double cannot answer as a real storage does (the live replay in
/// `tests/transcripts.rs` checks them), besides [`DIFFERENCES`].
const DOUBLE_DIFFERENCES: &[(&str, &str)] = &[(
    "append catenate url",
    "the test double has no messages to fetch by URL",
)];

fn settings() -> SessionSettings {
    SessionSettings {
        capability: "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY".into(),
        // What the probe's Dovecot sent (cote's own default name is "cote").
        id_send: "name Dovecot".into(),
        ..SessionSettings::default()
    }
}

/// Runs `input` through a session over `mail`; returns the output and how it ended.
fn run_session(
    mail: &mut FakeMailSession,
    input: &[u8],
    settings: &SessionSettings,
) -> (Vec<u8>, Disconnect) {
    let mut output = Vec::new();
    let reason = Session::new(mail, input, &mut output, settings).run();
    (output, reason)
}

/// Runs one case; `Err` describes the first mismatch.
fn run_case(case: &Case) -> Result<(), String> {
    let settings = settings();
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let mut input = Vec::new();
    let mut setup_tags = Vec::new();
    if let Some(enable) = &case.enable {
        input.extend_from_slice(format!("E ENABLE {enable}\r\n").as_bytes());
        setup_tags.push("E ");
    }
    match case.state.as_str() {
        "selected" => {
            input.extend_from_slice(b"S SELECT INBOX\r\n");
            setup_tags.push("S ");
        }
        "examined" => {
            input.extend_from_slice(b"S EXAMINE INBOX\r\n");
            setup_tags.push("S ");
        }
        _ => {}
    }
    input.extend_from_slice(&case.input);
    let (output, reason) = run_session(&mut mail, &input, &settings);
    let (mut lines, partial) = split_lines(&output);
    // Drop the setup commands' answers.
    for tag in &setup_tags {
        let end = lines
            .iter()
            .position(|l| l.starts_with(tag.as_bytes()))
            .ok_or_else(|| format!("setup command {tag:?} was not answered"))?;
        lines.drain(..=end);
    }
    let closed_by_server = reason != Disconnect::ClientClosed;
    check(case, &lines, &partial, closed_by_server)
}

/// The answers to `input` after `S SELECT INBOX` (whose answer is left out).
fn after_select(mail: &mut FakeMailSession, input: &str) -> Result<Vec<String>, String> {
    after_select_with(mail, input, &settings())
}

/// [`after_select`] with other settings.
fn after_select_with(
    mail: &mut FakeMailSession,
    input: &str,
    settings: &SessionSettings,
) -> Result<Vec<String>, String> {
    let all = format!("S SELECT INBOX\r\n{input}");
    let (output, _) = run_session(mail, all.as_bytes(), settings);
    let (lines, _) = split_lines(&output);
    let lines: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("S OK"))
        .ok_or_else(|| format!("SELECT not answered: {lines:#?}"))?;
    Ok(lines[start + 1..].to_vec())
}

/// Checks `lines` against patterns.
fn expect_lines(lines: &[String], patterns: &[&str]) -> Result<(), String> {
    if lines.len() == patterns.len() && lines.iter().zip(patterns).all(|(l, p)| matches(p, l)) {
        return Ok(());
    }
    Err(format!("expected {patterns:#?}\ngot {lines:#?}"))
}

/// Another session's EXPUNGE is not reported while answering FETCH, STORE or SEARCH (RFC
/// 3501 §7.4.1) — sequence numbers would shift under the client — but after NOOP; flag
/// changes and new messages are reported at once, new messages after the held-back expunge
/// has been applied.
fn expunges_wait_for_an_allowed_point() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    // SELECT does not sync (it has just told everything): sync 1 is after "a FETCH".
    mail.schedule(1, External::Expunge(2));
    mail.schedule(1, External::Flags(3, MailFlags::FLAGGED));
    mail.schedule(
        2,
        External::Append(b"Subject: new\r\n\r\nbody\r\n".to_vec()),
    );
    let lines = after_select(
        &mut mail,
        "a FETCH 2 UID\r\nb SEARCH ALL\r\nc NOOP\r\nd FETCH 5 UID\r\n",
    )?;
    expect_lines(
        &lines,
        &[
            "* 2 FETCH (UID 2)",
            "* 3 FETCH (FLAGS (\\Flagged \\Recent))",
            "a OK Fetch completed ({*} secs).",
            // Message 2 is gone but still counted until the expunge is reported.
            "* SEARCH 1 3 4 5",
            "* 6 EXISTS",
            "b OK [EXPUNGEISSUED] Search completed ({*} secs).",
            "* 2 EXPUNGE",
            "* 4 RECENT",
            "c OK NOOP completed ({*} secs).",
            "* 5 FETCH (UID 6)",
            "d OK Fetch completed ({*} secs).",
        ],
    )
}

/// Without storage history reaching back to the client's modseq (the test double keeps
/// none), `VANISHED (EARLIER)` is every UID of the client's set below UIDNEXT that no
/// longer exists, narrowed by the message sequence match data (RFC 7162 §3.2.5.2) up to the
/// last sample that still matches: a superset, never missing an expunge.
fn qresync_superset_without_history() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let lines = after_select(
        &mut mail,
        "a STORE 2 +FLAGS.SILENT (\\Deleted)\r\nb EXPUNGE\r\nc ENABLE QRESYNC\r\n\
         d SELECT INBOX (QRESYNC (1700000001 8 1:5))\r\n\
         e SELECT INBOX (QRESYNC (1700000001 8 1:5 (1:3 1,3,5)))\r\n\
         f SELECT INBOX (QRESYNC (1700000001 8 1:5 (1:5 1:5)))\r\n\
         g SELECT INBOX (QRESYNC (1700000001 8 1:5 (2 3)))\r\n\
         h SELECT INBOX (QRESYNC (1700000001 8 3:9))\r\n\
         i SELECT INBOX (QRESYNC (1700000002 8))\r\n\
         j UID FETCH 1:* (FLAGS) (CHANGEDSINCE 8 VANISHED)\r\n\
         k UID FETCH 3:4 (FLAGS) (CHANGEDSINCE 8 VANISHED)\r\n",
    )?;
    let told: Vec<String> = lines
        .into_iter()
        .filter(|l| l.contains("VANISHED") || (l.contains(" OK ") && !l.starts_with('*')))
        .collect();
    expect_lines(
        &told,
        &[
            "a OK Store completed ({*} secs).",
            "b OK Expunge completed ({*} secs).",
            "c OK Enabled ({*} secs).",
            "* VANISHED (EARLIER) 2,4",
            "d OK [READ-WRITE] Select completed ({*} secs).",
            // Sequence 3 still has UID 5: nothing up to 5 was expunged since.
            "e OK [READ-WRITE] Select completed ({*} secs).",
            // Sequence 5 is beyond the 3 messages: only UID 1 is known unchanged.
            "* VANISHED (EARLIER) 2,4",
            "f OK [READ-WRITE] Select completed ({*} secs).",
            "* VANISHED (EARLIER) 4",
            "g OK [READ-WRITE] Select completed ({*} secs).",
            "* VANISHED (EARLIER) 4",
            "h OK [READ-WRITE] Select completed ({*} secs).",
            // Another UIDVALIDITY: nothing to resynchronize.
            "i OK [READ-WRITE] Select completed ({*} secs).",
            "* VANISHED (EARLIER) 2,4",
            "j OK Fetch completed ({*} secs).",
            "* VANISHED (EARLIER) 4",
            "k OK Fetch completed ({*} secs).",
        ],
    )
}

/// Pipelined commands are answered in order, each completely, and answers are written out
/// together (one flush at the end of the batch is not observable here; the order is).
fn pipelined_commands_in_order() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let lines = after_select(
        &mut mail,
        "a STORE 1 +FLAGS (\\Deleted)\r\nb EXPUNGE\r\nc FETCH 1 UID\r\nd UID FETCH 1 UID\r\n",
    )?;
    expect_lines(
        &lines,
        &[
            "* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))",
            "a OK Store completed ({*} secs).",
            "* 4 EXPUNGE",
            "* 1 EXPUNGE",
            "* 3 RECENT",
            "b OK Expunge completed ({*} secs).",
            "* 1 FETCH (UID 2)",
            "c OK Fetch completed ({*} secs).",
            "d OK Fetch completed ({*} secs).",
        ],
    )
}

/// IDLE reports changes while idling and ends with DONE.
fn idle_reports_changes() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    mail.schedule(
        1,
        External::Append(b"Subject: new\r\n\r\nbody\r\n".to_vec()),
    );
    let lines = after_select(&mut mail, "a IDLE\r\nDONE\r\n")?;
    expect_lines(
        &lines,
        &["* 6 EXISTS", "+ idling", "a OK Idle completed ({*} secs)."],
    )
}

/// MOVE reports the moved messages as expunged, with COPYUID first (RFC 6851).
fn move_expunges_the_source() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let lines = after_select(&mut mail, "a MOVE 2:3 Trash\r\nb UID MOVE 99 Trash\r\n")?;
    expect_lines(
        &lines,
        &[
            "* OK [COPYUID {*} 2:3 1:2] Moved UIDs.",
            "* 3 EXPUNGE",
            "* 2 EXPUNGE",
            "* 3 RECENT",
            "a OK Move completed ({*} secs).",
            "b OK No messages found ({*} secs).",
        ],
    )
}

/// MULTIAPPEND with flags, date and a literal8, then the messages as FETCH shows them.
fn multiappend_round_trip() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let lines = after_select(
        &mut mail,
        "a APPEND INBOX (\\Flagged kw) \"02-Jan-2020 03:04:05 +0100\" {11+}\r\nSubject: x\n ~{4+}\r\nab\0c\r\nb FETCH 6:7 (FLAGS INTERNALDATE RFC822.SIZE)\r\n",
    )?;
    expect_lines(
        &lines,
        &[
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Junk kw)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Junk kw \\*)] Flags permitted.",
            "* 7 EXISTS",
            "* 7 RECENT",
            "a OK [APPENDUID 1700000001 6:7] Append completed ({*} secs).",
            "* 6 FETCH (FLAGS (\\Flagged \\Recent kw) INTERNALDATE \"02-Jan-2020 02:04:05 +0000\" RFC822.SIZE 12)",
            "* 7 FETCH (FLAGS (\\Recent) INTERNALDATE {*} RFC822.SIZE 4)",
            "b OK Fetch completed ({*} secs).",
        ],
    )
}

/// A SEARCH RETURN (SAVE) result used by later commands (RFC 5182).
fn saved_search_result() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let lines = after_select(
        &mut mail,
        "a SEARCH RETURN (SAVE) UNSEEN\r\nb STORE $ +FLAGS.SILENT (\\Seen)\r\nc SEARCH UNSEEN\r\nd UID SEARCH RETURN (COUNT ALL) UID $\r\n",
    )?;
    expect_lines(
        &lines,
        &[
            "a OK Search completed ({*} secs).",
            "b OK Store completed ({*} secs).",
            "* SEARCH",
            "c OK Search completed ({*} secs).",
            "* ESEARCH (TAG \"d\") UID ALL 3:5 COUNT 3",
            "d OK Search completed ({*} secs).",
        ],
    )
}

/// IMAP4rev2 (RFC 9051) over the double: after `ENABLE IMAP4rev2` nothing is `\Recent`,
/// SELECT sends the mailbox's LIST response and neither RECENT nor `[UNSEEN]`, SEARCH
/// answers with ESEARCH, and other sessions' changes come without RECENT and with the UID
/// in FETCH.
fn imap4rev2_mode() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    // SELECT does not sync: sync 1 is after "a FETCH".
    mail.schedule(1, External::Flags(3, MailFlags::FLAGGED));
    mail.schedule(1, External::Expunge(2));
    mail.schedule(
        1,
        External::Append(b"Subject: new\r\n\r\nbody\r\n".to_vec()),
    );
    let input = "E ENABLE IMAP4rev2\r\nS SELECT INBOX\r\na FETCH 1:* (FLAGS)\r\nb NOOP\r\n\
                 c SEARCH ALL\r\nd UID SEARCH NEW\r\ne STATUS INBOX (DELETED RECENT)\r\n\
                 f STATUS INBOX (MESSAGES DELETED)\r\n";
    let (output, _) = run_session(&mut mail, input.as_bytes(), &settings());
    let (lines, _) = split_lines(&output);
    let lines: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    expect_lines(
        &lines,
        &[
            "* ENABLED IMAP4rev2",
            "E OK Enabled ({*} secs).",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Junk)",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 Junk \\*)] \
             Flags permitted.",
            "* 5 EXISTS",
            "* OK [UIDVALIDITY 1700000001] UIDs valid",
            "* OK [UIDNEXT 6] Predicted next UID",
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "S OK [READ-WRITE] Select completed ({*} secs).",
            // The fixture's messages are new to this session: none is \Recent here.
            "* 1 FETCH (FLAGS (\\Seen))",
            "* 2 FETCH (FLAGS (\\Answered \\Seen $Label1))",
            "* 3 FETCH (FLAGS ())",
            "* 4 FETCH (FLAGS (\\Flagged \\Deleted))",
            "* 5 FETCH (FLAGS (\\Draft Junk))",
            "* 3 FETCH (UID 3 FLAGS (\\Flagged))",
            "* 6 EXISTS",
            "a OK Fetch completed ({*} secs).",
            "* 2 EXPUNGE",
            "b OK NOOP completed ({*} secs).",
            "* ESEARCH (TAG \"c\") ALL 1:5",
            "c OK Search completed ({*} secs).",
            "d BAD Error in IMAP command UID SEARCH: RECENT, NEW and OLD are not search keys of \
             IMAP4rev2 ({*} secs).",
            "e BAD Error in IMAP command STATUS: Invalid status item RECENT ({*} secs).",
            "* STATUS INBOX (MESSAGES 5 DELETED 1)",
            "f OK [CLIENTBUG] Status on selected mailbox completed ({*} secs).",
        ],
    )
}

/// The logout counters (`imap_logout_format`).
fn logout_counters() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    let settings = settings();
    let input = b"S SELECT INBOX\r\na FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.SIZE)\r\n\
        b STORE 1:3 +FLAGS (\\Deleted)\r\nc COPY 1:2 Trash\r\nd EXPUNGE\r\n\
        e APPEND INBOX {5+}\r\nhello\r\nf LOGOUT\r\n";
    let mut output = Vec::new();
    let mut session = Session::new(&mut mail, &input[..], &mut output, &settings);
    let reason = session.run();
    let stats = session.stats();
    drop(session);
    if reason != Disconnect::Logout {
        return Err(format!("{reason:?}: {}", String::from_utf8_lossy(&output)));
    }
    let expected = SessionStats {
        input: input.len() as u64,
        output: output.len() as u64,
        fetch_hdr_count: 1,
        fetch_hdr_bytes: 195,
        fetch_body_count: 1,
        fetch_body_bytes: 40,
        // 1:3 lacked \Deleted; EXPUNGE removes them and 4, which had it.
        deleted: 3,
        expunged: 4,
        trashed: 2,
        appended: 1,
    };
    if stats != expected {
        return Err(format!("{stats:#?}\n{}", String::from_utf8_lossy(&output)));
    }
    Ok(())
}

/// `delay-newmail`: new messages and expunges wait for NOOP; `tb-extra-mailbox-sep`: a
/// trailing separator is dropped from names.
fn client_workarounds() -> Result<(), String> {
    let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
    mail.schedule(
        1,
        External::Append(b"Subject: new\r\n\r\nbody\r\n".to_vec()),
    );
    mail.schedule(1, External::Expunge(5));
    let settings = SessionSettings {
        workarounds: ClientWorkarounds {
            delay_newmail: true,
            tb_extra_mailbox_sep: true,
            tb_lsub_flags: false,
        },
        ..settings()
    };
    let input = "a UID FETCH 1 UID\r\nb NOOP\r\nc STATUS Sent/ (MESSAGES)\r\n";
    let lines = after_select_with(&mut mail, input, &settings)?;
    expect_lines(
        &lines,
        &[
            "* 1 FETCH (UID 1)",
            "a OK Fetch completed ({*} secs).",
            "* 5 EXPUNGE",
            "* 5 EXISTS",
            "* 4 RECENT",
            "b OK NOOP completed ({*} secs).",
            "* STATUS Sent (MESSAGES 0)",
            "c OK Status completed ({*} secs).",
        ],
    )
}

/// A client that goes away in the middle of an APPEND leaves nothing behind, and the messages
/// of a MULTIAPPEND are saved together or not at all.
fn append_cut_off_saves_nothing() -> Result<(), String> {
    for input in [
        &b"a APPEND Sent {10}\r\nhel"[..],
        b"a APPEND Sent {5+}\r\nhello {10+}\r\nwor",
        b"a APPEND Sent {5+}\r\nhello (\\Seen) {5+}\r\nworld",
    ] {
        let mut mail = FakeMailSession::fixture(&root().join("mailbox"));
        let (output, reason) = run_session(&mut mail, input, &settings());
        let sent = mail
            .mailboxes
            .iter()
            .find(|m| m.name == "Sent")
            .ok_or("no Sent")?;
        if reason != Disconnect::ClientClosed || !sent.messages.is_empty() {
            return Err(format!(
                "{reason:?}, {} saved: {}",
                sent.messages.len(),
                String::from_utf8_lossy(&output)
            ));
        }
    }
    Ok(())
}

type Test = fn() -> Result<(), String>;

fn main() -> ExitCode {
    // Before any thread exists: INTERNALDATE and SEARCH dates use the local zone, which was
    // UTC where the answers were recorded.
    std::env::set_var("TZ", "UTC");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let files = session_cases::files();
    let (mut passed, mut failed, mut differ) = (0, 0, 0);
    for file in &files {
        for case in parse_cases(file) {
            if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
                continue;
            }
            if let Some((_, why)) = DIFFERENCES
                .iter()
                .chain(DOUBLE_DIFFERENCES)
                .find(|(name, _)| *name == case.name)
            {
                differ += 1;
                println!("differs  {}: {} ({why})", case.file, case.name);
                continue;
            }
            match run_case(&case) {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed += 1;
                    println!("FAILED   {}:{}: {}\n  {e}", case.file, case.line, case.name);
                }
            }
        }
    }
    let tests: [(&str, Test); 11] = [
        ("imap4rev2_mode", imap4rev2_mode),
        (
            "qresync_superset_without_history",
            qresync_superset_without_history,
        ),
        ("append_cut_off_saves_nothing", append_cut_off_saves_nothing),
        ("logout_counters", logout_counters),
        ("client_workarounds", client_workarounds),
        (
            "expunges_wait_for_an_allowed_point",
            expunges_wait_for_an_allowed_point,
        ),
        ("pipelined_commands_in_order", pipelined_commands_in_order),
        ("idle_reports_changes", idle_reports_changes),
        ("move_expunges_the_source", move_expunges_the_source),
        ("multiappend_round_trip", multiappend_round_trip),
        ("saved_search_result", saved_search_result),
    ];
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match test() {
            Ok(()) => passed += 1,
            Err(e) => {
                failed += 1;
                println!("FAILED   {name}: {e}");
            }
        }
    }
    println!("imap_session: {passed} passed, {failed} failed, {differ} known differences");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
