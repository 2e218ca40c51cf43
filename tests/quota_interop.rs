//! The Maildir++ quota shared by cote and a private Dovecot 2.3 (Debian's, the oracle) on
//! one Maildir: Dovecot writes `maildirsize` and cote reads it as it is (no recount); cote
//! appends its changes and Dovecot's GETQUOTAROOT answers what cote's does; a recount by
//! Dovecot from the message files gives the same usage as the lines both appended.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot). cote works in this process
//! (as root); the tree is handed back to the mail user before Dovecot touches it.

mod maildir_support;

use std::path::Path;

use cote::config::Config;
use cote::storage::api::{NewMessage, OpenOptions, UidSet};
use cote::storage::flags::MailFlags;
use cote::storage::user::{MailUser, MailUserInfo};
use maildir_support::{chown_tree, Oracle};

const QUOTA_CONF: &str = "mail_plugins = $mail_plugins quota\n\
    protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n\
    namespace inbox {\n  inbox = yes\n  separator = /\n}\n\
    plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=100K\n  \
    quota_rule2 = *:messages=50\n}\n";

fn cote_user(home: &Path) -> MailUser {
    let conf = home.parent().unwrap().join("cote.conf");
    std::fs::write(
        &conf,
        format!("mail_location = maildir:~/Maildir\n{QUOTA_CONF}"),
    )
    .unwrap();
    let config = Config::load(&conf).expect("cote config");
    let settings = config.settings(&cote::config::FilterQuery {
        protocol: Some("imap".into()),
        ..cote::config::FilterQuery::default()
    });
    let info = MailUserInfo {
        username: "alice".into(),
        home: Some(home.display().to_string()),
        service: "imap".into(),
        ..MailUserInfo::default()
    };
    MailUser::new(&settings, info).expect("cote user")
}

/// cote's answer as a GETQUOTA line's parenthesized part.
fn cote_quota(user: &MailUser) -> String {
    let quota = user.quota().expect("quota on").clone();
    let resources = quota.borrow_mut().resources(0).expect("resources");
    let items: Vec<String> = resources
        .iter()
        .map(|r| format!("{} {} {}", r.name, r.value, r.limit))
        .collect();
    format!("\"User quota\" ({})", items.join(" "))
}

const PY_QUOTA: &str = "typ, data = c.getquotaroot('INBOX')\nprint(data[1][0].decode())";

fn py_append(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(|n| {
            format!(
                "c.append('INBOX', None, None, b'Subject: d\\r\\n\\r\\n' + b'x' * {n} + b'\\r\\n')\n"
            )
        })
        .collect()
}

fn save(user: &mut MailUser, size: usize) {
    let mut data = b"Subject: c\n\n".to_vec();
    data.resize(size, b'y');
    data.push(b'\n');
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
    mb.save(
        &[NewMessage {
            data: &data,
            flags: MailFlags::empty(),
            keywords: Vec::new(),
            internal_date: None,
        }],
        true,
    )
    .expect("save");
}

#[test]
fn maildirsize_is_shared_with_dovecot() {
    let oracle = Oracle::start("maildir:~/Maildir", QUOTA_CONF);
    let home = oracle.path("home/alice");
    let file = home.join("Maildir/maildirsize");

    // Dovecot creates and updates the file.
    oracle.imap("alice", &py_append(&[3000, 5000, 700]));
    let written = std::fs::read_to_string(&file).expect("Dovecot's maildirsize");
    assert!(written.starts_with("102400S,50C\n"), "{written}");
    let dovecot = oracle.imap("alice", PY_QUOTA);

    // cote reads it as it is: the same answer, and the file untouched.
    let mut user = cote_user(&home);
    assert_eq!(vec![cote_quota(&user)], dovecot);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);

    // cote saves and expunges; its lines are appended in Dovecot's format.
    save(&mut user, 4000);
    save(&mut user, 20000);
    {
        let mut mb = user.open("INBOX", OpenOptions::SELECT).expect("select");
        let first = mb.seqs().uids()[0];
        mb.expunge(&UidSet::range(first, first)).expect("expunge");
    }
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.starts_with(&written),
        "cote rewrote the file:\n{after}"
    );
    let appended: Vec<&str> = after[written.len()..].lines().collect();
    assert_eq!(appended.len(), 3, "{after}");
    assert!(
        appended[2].starts_with('-') && appended[2].ends_with(" -1"),
        "{after}"
    );
    let cote = cote_quota(&user);
    chown_tree(&home);
    assert_eq!(oracle.imap("alice", PY_QUOTA), vec![cote.clone()]);

    // A recount from the message files (Dovecot's) agrees with the lines.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(oracle.imap("alice", PY_QUOTA), vec![cote.clone()]);
    let recounted = std::fs::read_to_string(&file).unwrap();
    assert_eq!(recounted.lines().count(), 2, "{recounted}");

    // And a recount by cote writes what Dovecot wrote.
    std::fs::remove_file(&file).unwrap();
    let user = cote_user(&home);
    assert_eq!(cote_quota(&user), cote);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), recounted);
    chown_tree(&home);
    assert_eq!(oracle.imap("alice", PY_QUOTA), vec![cote]);
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}
