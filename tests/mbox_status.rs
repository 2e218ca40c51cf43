//! `Status:` and `X-Status:` in an mbox INBOX, cote against Dovecot 2.3: the same spool
//! (mail "delivered" by another program, without Dovecot's headers) and the same IMAP
//! sessions (SELECT, EXAMINE, STATUS, FETCH, STORE, APPEND, EXPUNGE) run against a private
//! Dovecot and a real `cote -F`; after every step each message's `Status:` and `X-Status:`
//! lines (present or not, letters in order, other bytes kept) are byte-equal in both
//! files. Where the other fields go and how much padding there is differs (Dovecot edits
//! headers where they are; cote writes its fields after the others), so only these two
//! lines are compared. Sessions end with UNSELECT before LOGOUT: Dovecot writes what it
//! delayed when it closes the mailbox, which at LOGOUT happens after its answer.
//! Needs root and the oracle (`make oracle` or /opt/dovecot); fails clearly without them.

mod login_support;
// (both support modules bring their own copy of the free-port helper)
#[allow(clippy::duplicate_mod)]
mod maildir_support;

use std::path::{Path, PathBuf};

use cote::mail::header::fields;
use cote::storage::mbox::format::parse_mbox;
use maildir_support::{append_mbox, Oracle};

const DOVECOT_LOCATION: &str = "mbox:{dir}/mail/%u:INBOX={dir}/mail/%u/inbox";

/// One step of a scenario, done to both servers' files.
enum Step {
    /// Messages appended to the INBOX file as an MTA would (From_ line, message, empty line).
    Deliver(&'static [&'static str]),
    /// A Python imaplib session body (`c` is logged in as alice).
    Imap(&'static str),
    /// An imaplib session body whose output must be the same from both servers.
    Same(&'static str),
}

struct Both {
    dovecot: Oracle,
    cote: login_support::Server,
    cote_mail: tempfile::TempDir,
}

impl Both {
    fn start() -> Both {
        let dovecot = Oracle::start(DOVECOT_LOCATION, "");
        let cote_mail = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            cote_mail.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        let m = cote_mail.path().display();
        let cote = login_support::Server::start(&format!(
            "mail_location = mbox:{m}/%u:INBOX={m}/%u/inbox\n"
        ));
        Both {
            dovecot,
            cote,
            cote_mail,
        }
    }

    fn inboxes(&self) -> [PathBuf; 2] {
        [
            self.dovecot.path("mail/alice/inbox"),
            self.cote_mail.path().join("alice/inbox"),
        ]
    }

    fn run(&self, step: &Step) {
        match step {
            Step::Deliver(messages) => {
                for path in self.inboxes() {
                    append_mbox(&path, messages);
                }
            }
            Step::Imap(body) => {
                self.imap(body);
            }
            Step::Same(body) => {
                let (dovecot, cote) = self.imap(body);
                assert_eq!(cote, dovecot, "{body}");
            }
        }
    }

    /// Runs a session body on both servers; returns what each printed.
    fn imap(&self, body: &str) -> (String, String) {
        let dovecot = self.dovecot.imap("alice", body).join("\n");
        let program = format!(
            "import imaplib\nc = imaplib.IMAP4('127.0.0.1', {})\n\
             c.login('alice', 'secret')\n{body}\nc.logout()\n",
            self.cote.imap
        );
        let cote = login_support::python(&program, &[]);
        (dovecot, cote.trim_end().to_string())
    }
}

/// Each message's Subject with its `Status:` and `X-Status:` lines as written (in this
/// order: where they stand among the other fields is not compared).
fn status_lines(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap_or_default();
    let file = parse_mbox(&data).unwrap();
    file.messages
        .iter()
        .map(|m| {
            let end = if m.has_eoh {
                m.body_offset
            } else {
                m.end_offset
            };
            let header = fields(&data, m.header_offset, end);
            let mut line = String::new();
            for name in ["Subject", "Status", "X-Status"] {
                for f in header.iter().filter(|f| f.is(name)) {
                    line.push_str(String::from_utf8_lossy(f.raw).trim_end_matches('\n'));
                    line.push('|');
                }
            }
            line
        })
        .collect()
}

fn check(scenario: &[Step]) {
    let both = Both::start();
    for (i, step) in scenario.iter().enumerate() {
        both.run(step);
        let [dovecot, cote] = both.inboxes();
        assert_eq!(
            status_lines(&cote),
            status_lines(&dovecot),
            "after step {i}; Dovecot's file:\n{}\ncote's:\n{}",
            String::from_utf8_lossy(&std::fs::read(&dovecot).unwrap_or_default()),
            String::from_utf8_lossy(&std::fs::read(&cote).unwrap_or_default()),
        );
    }
    assert!(
        both.dovecot.complaints().is_empty(),
        "{:?}",
        both.dovecot.complaints()
    );
}

const SPOOL: &[&str] = &[
    "Subject: one\n\nbody1\n",
    "Subject: two\nStatus: R\n\nbody2\n",
    "Subject: three\nStatus: \n\nbody3\n",
    "Subject: four\nX-Status: F\n\nbody4\n",
];

/// A spool delivered to, read by SELECT and EXAMINE sessions: the first session (no index
/// yet) writes no `O`; later SELECTs mark the first message and what they take \Recent
/// from; a flag change adds `O` with the flag.
#[test]
fn selects_mark_messages_old_as_dovecot() {
    check(&[
        Step::Deliver(SPOOL),
        Step::Imap("c.select('INBOX')\nc.fetch('1:*', '(FLAGS)')\nc.unselect()"),
        Step::Imap("c.select('INBOX')\nc.unselect()"),
        Step::Imap("c.select('INBOX')\nc.store('2', '+FLAGS', '\\\\Answered')\nc.unselect()"),
        Step::Deliver(&["Subject: five\n\nbody5\n"]),
        Step::Imap("c.select('INBOX', readonly=True)\nc.unselect()"),
        Step::Imap("c.status('INBOX', '(MESSAGES RECENT)')"),
        Step::Imap("c.select('INBOX')\nc.unselect()"),
        Step::Deliver(&["Subject: six\nStatus: RU\n\nbody6\n"]),
        Step::Imap("c.select('INBOX')\nc.store('3', '+FLAGS', '\\\\Seen')\nc.unselect()"),
        Step::Imap("c.select('INBOX')\nc.store('4', '-FLAGS', '\\\\Flagged')\nc.unselect()"),
    ]);
}

/// IMAP appends (from another session and from the selecting one), an expunge that moves
/// the messages after it, and CLOSE.
#[test]
fn appends_and_expunges_mark_as_dovecot() {
    check(&[
        Step::Deliver(SPOOL),
        Step::Imap("c.select('INBOX')\nc.unselect()"),
        Step::Imap(
            "c.append('INBOX', None, None, b'Subject: a1\\r\\n\\r\\nx\\r\\n')\n\
             c.append('INBOX', r'(\\Seen \\Flagged)', None, b'Subject: a2\\r\\n\\r\\nx\\r\\n')",
        ),
        Step::Imap("c.select('INBOX')\nc.unselect()"),
        Step::Imap(
            "c.select('INBOX')\n\
             c.append('INBOX', r'(\\Draft)', None, b'Subject: a3\\r\\n\\r\\nx\\r\\n')\n\
             c.noop()\nc.unselect()",
        ),
        Step::Imap(
            "c.select('INBOX')\nc.store('2', '+FLAGS', '\\\\Deleted')\nc.expunge()\n\
             c.unselect()",
        ),
        Step::Deliver(&["Subject: seven\n\nbody7\n"]),
        Step::Imap("c.select('INBOX')\nc.store('1', '+FLAGS', '\\\\Deleted')\nc.close()"),
    ]);
}

/// What SELECT and EXAMINE say is \\Recent: the RECENT count and FETCH FLAGS.
const RECENT: &str = "typ, data = c.select('INBOX')\nprint(data, c.response('RECENT'))\n\
     print(c.fetch('1:*', '(FLAGS)'))\nc.unselect()";
const RECENT_RO: &str = "typ, data = c.select('INBOX', readonly=True)\n\
     print(data, c.response('RECENT'))\nprint(c.fetch('1:*', '(FLAGS)'))\nc.unselect()";

/// A fresh index takes \\Recent only for the messages after the last one whose `Status:` has
/// `O` (read by mutt, or by a Dovecot whose index is gone), whether EXAMINE, STATUS or
/// SELECT comes first; mail delivered with `O` later hides the mail before it from the
/// next SELECT.
#[test]
fn recent_starts_after_the_last_old_message_as_dovecot() {
    const READ: &[&str] = &[
        "Subject: one\nMessage-ID: <1@x>\n\nbody1\n",
        "Subject: two\nMessage-ID: <2@x>\nStatus: RO\n\nbody2\n",
        "Subject: three\nMessage-ID: <3@x>\nStatus: R\n\nbody3\n",
        "Subject: four\nMessage-ID: <4@x>\nStatus: O\nX-Status: F\n\nbody4\n",
        "Subject: five\nMessage-ID: <5@x>\n\nbody5\n",
        "Subject: six\nMessage-ID: <6@x>\nStatus: \n\nbody6\n",
    ];
    check(&[
        Step::Deliver(READ),
        Step::Same(RECENT_RO),
        Step::Same("print(c.status('INBOX', '(MESSAGES RECENT UNSEEN)'))"),
        Step::Same(RECENT),
        Step::Same(RECENT),
        Step::Deliver(&[
            "Subject: seven\nMessage-ID: <7@x>\n\nbody7\n",
            "Subject: eight\nMessage-ID: <8@x>\nStatus: O\n\nbody8\n",
            "Subject: nine\nMessage-ID: <9@x>\n\nbody9\n",
        ]),
        Step::Same("print(c.status('INBOX', '(MESSAGES RECENT)'))"),
        Step::Same(RECENT),
    ]);
    // SELECT first: the fresh index's first sync
    check(&[Step::Deliver(READ), Step::Same(RECENT), Step::Same(RECENT)]);
}
