//! `pop3_uidl_format = %m` on an mbox INBOX, cote against Dovecot 2.3: the same spool
//! (mail delivered by another program, with and without the fields `mbox_md5 = apop3d`
//! reads); POP3 UIDL lists byte-equal before and after an IMAP session (which writes
//! Dovecot's headers into the file and saves a message), with both `mbox_md5` settings. Needs root and the oracle (`make oracle`).

mod login_support;
// (both support modules bring their own copy of the free-port helper)
#[allow(clippy::duplicate_mod)]
mod maildir_support;

use maildir_support::{append_mbox, Oracle};

const SPOOL: &[&str] = &[
    "Subject: plain\n\nbody1\n",
    "Received: from a by b; Thu, 29 Nov 2001 22:33:52 +0000\nReceived: from c\n\
     Date: Thu, 29 Nov 2001 22:33:52 +0000\nMessage-ID: <r@x>\nSubject: received\n\nbody2\n",
    "Date: Thu, 29 Nov 2001 22:33:52 +0000\nMessage-ID: <d@x>\n\
     Delivered-To: alice@example.com\nStatus: RO\nX-Status: F\nSubject: dated\n\nbody3\n",
    "Message-ID:\n  <folded@x>\nX-Delivery-ID: 42\nX-UID: 7\nSubject: folded\n\nbody4\n",
];

const SESSION: &str = r#"
import imaplib, poplib, sys
imap_port, pop3_port, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def uidls():
    p = poplib.POP3('127.0.0.1', pop3_port)
    p.user('alice')
    p.pass_(password)
    out = p.uidl()[1]
    p.quit()
    return out
print(uidls())
c = imaplib.IMAP4('127.0.0.1', imap_port)
c.login('alice', password)
saved = b'Date: Fri, 30 Nov 2001 10:00:00 +0000\r\nMessage-ID: <saved@x>\r\nSubject: saved\r\n\r\nsaved\r\n'
c.append('INBOX', None, None, saved)
c.append('INBOX', None, None, saved)
c.select('INBOX')
c.unselect()
c.logout()
print(uidls())
"#;

fn compare(md5: &str) {
    let settings = format!("pop3_uidl_format = %m\nmbox_md5 = {md5}\nprotocols = imap pop3\n");
    let dovecot_pop3 = login_support::free_port();
    let dovecot = Oracle::start(
        "mbox:{dir}/mail/%u:INBOX={dir}/mail/%u/inbox",
        &format!(
            "{settings}service pop3-login {{\n  chroot =\n  inet_listener pop3 {{\n    \
             port = {dovecot_pop3}\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n"
        ),
    );
    let cote_mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        cote_mail.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let m = cote_mail.path().display();
    let cote_pop3 = login_support::free_port();
    let cote = login_support::Server::start(&format!(
        "mail_location = mbox:{m}/%u:INBOX={m}/%u/inbox\n{settings}\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {cote_pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n"
    ));
    append_mbox(&dovecot.path("mail/alice/inbox"), SPOOL);
    append_mbox(&cote_mail.path().join("alice/inbox"), SPOOL);
    let run = |imap: u16, pop3: u16, password: &str| {
        login_support::python(
            SESSION,
            &[imap.to_string(), pop3.to_string(), password.to_string()],
        )
    };
    let theirs = run(dovecot.port, dovecot_pop3, "pw");
    let ours = run(cote.imap, cote_pop3, "secret");
    // Mail the server saved itself (5, 6) is left out: Dovecot's UIDL for it is the MD5 its
    // save computed, which differs from what its own sync computes from the same file
    // (and cote's, which is the latter). The delivered mail keeps its UIDLs after the
    // IMAP session wrote X-UID/Status headers into it.
    let delivered = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| l.split(", b'5 ").next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        delivered(&ours),
        delivered(&theirs),
        "mbox_md5 = {md5}\n{ours}\n{theirs}\n{}",
        cote.logs()
    );
    assert_eq!(ours.lines().count(), 2, "{ours}");
    // The same message saved twice gets two UIDLs: each save adds an X-Delivery-ID.
    let saved_uidls = |out: &str| -> Vec<String> {
        let last = out.lines().last().unwrap_or("");
        ["b'5 ", "b'6 "]
            .iter()
            .map(|n| {
                let at = last.find(n).unwrap_or_else(|| panic!("{n} in {last}"));
                last[at + n.len()..]
                    .split('\'')
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    for out in [&ours, &theirs] {
        let uidls = saved_uidls(out);
        assert_ne!(uidls[0], uidls[1], "{out}");
    }
    assert!(
        dovecot.complaints().is_empty(),
        "{:?}",
        dovecot.complaints()
    );
}

#[test]
fn header_md5_uidls_match_dovecot() {
    compare("apop3d");
    compare("all");
}
