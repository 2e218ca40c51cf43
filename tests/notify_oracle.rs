//! NOTIFY (RFC 5465) against Dovecot 2.3: t/imap/notify.t — two sessions of one user, one
//! changing mailboxes, the other hearing of it (LIST for created, renamed, deleted and
//! subscribed mailboxes, STATUS for new messages elsewhere, the selected mailbox's updates
//! under SELECTED, SELECTED-DELAYED and NONE, MessageNew's fetch-att list, NOTIFY SET
//! STATUS, `[BADEVENT]` and the argument errors) — played against a private Dovecot with
//! the transcript's configuration by t/oracle/imap-transcript-check, every server line
//! compared (timings match `{*}`). `cargo test --test transcripts -- notify` plays the same
//! file against cote.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

mod maildir_support;

use std::path::Path;
use std::process::Command;

use maildir_support::Oracle;

#[test]
fn notify_transcript_is_what_dovecot_answers() {
    let oracle = Oracle::start(
        "maildir:{dir}/mail/%u",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
    );
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(here.join("t/oracle/imap-transcript-check"))
        .args(["127.0.0.1", &oracle.port.to_string()])
        .arg(oracle.dir.path().join("mail"))
        .arg("pw")
        .arg(here.join("t/imap/notify.t"))
        .output()
        .expect("run t/oracle/imap-transcript-check");
    assert!(
        out.status.success(),
        "Dovecot answers differently:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
