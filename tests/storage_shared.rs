//! Shared namespaces (`prefix = shared/%%u/`) at the storage layer: three users of one
//! Maildir store (alice, bob, carol) with the acl plugin and `acl_shared_dict`, each a
//! `MailUser` of the same configuration, their userdb a table in the test.
//!
//! - alice shares Team with bob (`lr`): bob lists it under shared/alice/, opens it, reads
//!   it, and is refused what `l` and `r` do not allow; what alice did not share does not
//!   exist for him; carol sees nothing; the dict and `dovecot-acl-list` say what Dovecot's
//!   would.
//! - alice takes the right back: the dict forgets her and bob's LIST shows no `shared`.
//! - bob administers alice's Team: his ACL changes keep alice's `dovecot-acl-list` and the
//!   dict as Dovecot's session would (DELETE and RENAME touch neither, as in Dovecot).
//! - With the quota plugin, bob's saves into alice's Team count against alice's quota.
//! - Users the userdb does not know, and a configuration cote refuses (INDEXPVT).

use std::path::Path;

use cote::config::{Config, FilterQuery};
use cote::storage::acl::{AclUpdate, Identifier, ModifyMode, Names};
use cote::storage::api::{NewMessage, OpenOptions};
use cote::storage::error::ErrorKind;
use cote::storage::flags::MailFlags;
use cote::storage::shared::UserLookup;
use cote::storage::user::{ListOptions, MailUser, MailUserInfo};

const CONF: &str = "mail_location = maildir:~/Maildir\n\
    mail_plugins = $mail_plugins acl{PLUGINS}\n\
    namespace inbox {\n  inbox = yes\n  separator = /\n}\n\
    namespace shared {\n  type = shared\n  separator = /\n  prefix = shared/%%u/\n\
      location = maildir:%%h/Maildir{EXTRA}\n  subscriptions = no\n  list = children\n}\n\
    plugin {\n  acl = vfile\n  acl_shared_dict = file:{DIR}/db/shared-mailboxes.db\n{PLUGIN}}\n";

/// The quota plugin for `user_in`: 100M each, but alice's userdb gives her 1k.
const QUOTA: (&str, &str) = (
    " quota",
    "  quota = maildir:User quota\n  quota_rule = *:storage=100M\n",
);

/// The userdb: alice, bob and carol with homes under the test's directory.
struct Userdb {
    dir: std::path::PathBuf,
}

impl UserLookup for Userdb {
    fn lookup(&mut self, user: &str) -> Result<Option<MailUserInfo>, String> {
        if user == "broken" {
            return Err("userdb is down".into());
        }
        Ok(["alice", "bob", "carol"]
            .contains(&user)
            .then(|| info(&self.dir, user)))
    }
}

fn info(dir: &Path, name: &str) -> MailUserInfo {
    MailUserInfo {
        username: name.into(),
        home: Some(dir.join("home").join(name).display().to_string()),
        service: "imap".into(),
        // Read only where the quota plugin is loaded.
        userdb_fields: (name == "alice")
            .then(|| vec![("quota_rule".to_string(), "*:storage=1k".to_string())]),
        ..MailUserInfo::default()
    }
}

fn user_with(
    dir: &Path,
    name: &str,
    extra: &str,
) -> Result<MailUser, cote::storage::error::StorageError> {
    user_in(dir, name, extra, ("", ""))
}

/// A user of the configuration with `extra` after the shared location and `plugins`
/// (`mail_plugins` additions, `plugin { }` lines).
fn user_in(
    dir: &Path,
    name: &str,
    extra: &str,
    plugins: (&str, &str),
) -> Result<MailUser, cote::storage::error::StorageError> {
    let conf = dir.join("cote.conf");
    let text = CONF
        .replace("{DIR}", &dir.display().to_string())
        .replace("{EXTRA}", extra)
        .replace("{PLUGINS}", plugins.0)
        .replace("{PLUGIN}", plugins.1);
    std::fs::write(&conf, text).unwrap();
    let config = Config::load(&conf).expect("config");
    let settings = config.settings(&FilterQuery {
        protocol: Some("imap".into()),
        ..FilterQuery::default()
    });
    let mut user = MailUser::new(&settings, info(dir, name))?;
    user.set_user_lookup(Box::new(Userdb {
        dir: dir.to_path_buf(),
    }));
    Ok(user)
}

fn user(dir: &Path, name: &str) -> MailUser {
    user_with(dir, name, "").expect("mail user")
}

fn names(user: &mut MailUser, pattern: &str) -> Vec<String> {
    user.list(&[pattern.to_string()], ListOptions::default())
        .unwrap()
        .into_iter()
        .map(|e| {
            let a = &e.attributes;
            let mut flags = Vec::new();
            if a.noselect || a.nonexistent {
                flags.push("\\Noselect");
            }
            match a.children {
                Some(true) => flags.push("\\HasChildren"),
                Some(false) => flags.push("\\HasNoChildren"),
                None => {}
            }
            format!("{} ({})", e.vname, flags.join(" "))
        })
        .collect()
}

fn rights(letters: &[&str]) -> Names {
    letters.iter().map(|s| s.to_string()).collect()
}

fn setacl(user: &mut MailUser, mailbox: &str, id: &str, names: &[&str]) {
    let update = AclUpdate {
        id: Identifier::parse(id).unwrap(),
        rights: Some(rights(names)),
        neg_rights: None,
        mode: ModifyMode::Replace,
        neg_mode: ModifyMode::Remove,
    };
    user.acl_update(mailbox, &update).expect("setacl");
}

fn deleteacl(user: &mut MailUser, mailbox: &str, id: &str) {
    let update = AclUpdate {
        id: Identifier::parse(id).unwrap(),
        rights: None,
        neg_rights: None,
        mode: ModifyMode::Clear,
        neg_mode: ModifyMode::Remove,
    };
    user.acl_update(mailbox, &update).expect("deleteacl");
}

#[test]
fn bob_sees_what_alice_shares() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = user(d, "alice");
    for name in ["Team", "Team/Sub", "Private"] {
        alice.create(name).unwrap();
    }
    let mut team = alice.open("Team", OpenOptions::ACCESS).unwrap();
    team.save(
        &[NewMessage {
            data: b"Subject: x\r\n\r\nbody\r\n",
            flags: MailFlags::empty(),
            keywords: Vec::new(),
            internal_date: None,
        }],
        true,
    )
    .unwrap();
    drop(team);
    setacl(&mut alice, "Team", "user=bob", &["lookup", "read"]);
    // bob's own entry for himself adds nothing to the dict (Dovecot skips the owner's).
    assert_eq!(
        std::fs::read_to_string(d.join("db/shared-mailboxes.db")).unwrap(),
        "shared/shared-boxes/user/bob/alice\n1\n"
    );
    let acl_list = std::fs::read_to_string(d.join("home/alice/Maildir/dovecot-acl-list")).unwrap();
    assert!(
        acl_list.ends_with(" Team\n") && acl_list.lines().count() == 1,
        "{acl_list}"
    );

    let mut bob = user(d, "bob");
    assert_eq!(
        names(&mut bob, "*"),
        [
            "INBOX (\\HasNoChildren)",
            "shared (\\Noselect \\HasChildren)",
            "shared/alice (\\Noselect \\HasChildren)",
            "shared/alice/Team (\\HasNoChildren)",
        ]
    );
    assert_eq!(
        names(&mut bob, "%"),
        [
            "INBOX (\\HasNoChildren)",
            "shared (\\Noselect \\HasChildren)"
        ]
    );
    assert_eq!(
        names(&mut bob, "shared/alice/%"),
        ["shared/alice/Team (\\HasNoChildren)"]
    );
    assert_eq!(
        bob.acl_my_rights("shared/alice/Team").unwrap(),
        rights(&["lookup", "read"])
    );
    let mut team = bob.open("shared/alice/Team", OpenOptions::ACCESS).unwrap();
    assert_eq!(team.status().unwrap().messages, 1);
    // Read only: no flag may be changed, nothing expunged.
    assert_eq!(team.changeable_flags(), (MailFlags::empty(), false));
    assert!(!team.may_expunge());
    drop(team);
    let refused = |r: Result<(), cote::storage::error::StorageError>| {
        let e = r.unwrap_err();
        (e.kind(), e.client_text().to_string())
    };
    let append = bob
        .open(
            "shared/alice/Team",
            OpenOptions {
                save_only: true,
                ..OpenOptions::ACCESS
            },
        )
        .map(|_| ());
    assert_eq!(
        refused(append),
        (ErrorKind::Perm, "Permission denied".into())
    );
    assert_eq!(
        refused(bob.create("shared/alice/New")),
        (ErrorKind::Perm, "Permission denied".into())
    );
    assert_eq!(
        refused(bob.delete("shared/alice/Team")),
        (ErrorKind::Perm, "Permission denied".into())
    );
    for hidden in [
        "shared/alice/Private",
        "shared/alice/Team/Sub",
        "shared/alice",
        "shared/nobody/INBOX",
        "shared",
    ] {
        assert_eq!(
            refused(bob.open(hidden, OpenOptions::ACCESS).map(|_| ())),
            (
                ErrorKind::NotFound,
                format!("Mailbox doesn't exist: {hidden}")
            ),
            "{hidden}"
        );
    }
    // A userdb failure is an internal error, not a missing mailbox.
    let broken = bob
        .open("shared/broken/INBOX", OpenOptions::ACCESS)
        .map(|_| ());
    assert_eq!(refused(broken).0, ErrorKind::Temp);

    let mut carol = user(d, "carol");
    assert_eq!(names(&mut carol, "*"), ["INBOX (\\HasNoChildren)"]);
    assert_eq!(
        refused(
            carol
                .open("shared/alice/Team", OpenOptions::ACCESS)
                .map(|_| ())
        )
        .0,
        ErrorKind::NotFound
    );

    // alice shares her INBOX for lookup only: the namespace root is it, listed but not
    // selectable.
    setacl(&mut alice, "INBOX", "user=bob", &["lookup"]);
    let mut bob = user(d, "bob");
    assert_eq!(
        names(&mut bob, "shared/%"),
        ["shared/alice (\\HasChildren)"]
    );
    assert_eq!(
        refused(bob.open("shared/alice", OpenOptions::ACCESS).map(|_| ())),
        (ErrorKind::Perm, "Permission denied".into())
    );

    // alice takes it all back: the dict forgets her, bob sees no `shared`.
    deleteacl(&mut alice, "INBOX", "user=bob");
    deleteacl(&mut alice, "Team", "user=bob");
    assert_eq!(
        std::fs::read_to_string(d.join("db/shared-mailboxes.db")).unwrap(),
        ""
    );
    let mut bob = user(d, "bob");
    assert_eq!(names(&mut bob, "*"), ["INBOX (\\HasNoChildren)"]);
}

#[test]
fn private_flags_are_refused_not_shared() {
    let dir = tempfile::tempdir().unwrap();
    let err = user_with(dir.path(), "bob", ":INDEXPVT=~/Maildir/shared/%%u")
        .err()
        .expect("INDEXPVT refused");
    assert_eq!(err.kind(), ErrorKind::NotImplemented);
    assert!(
        err.client_text().contains("INDEXPVT"),
        "{}",
        err.client_text()
    );
}

fn dict(d: &Path) -> String {
    std::fs::read_to_string(d.join("db/shared-mailboxes.db")).unwrap()
}

/// The storage names `dovecot-acl-list` of `owner` names, sorted.
fn acl_list(d: &Path, owner: &str) -> Vec<String> {
    let path = d.join("home").join(owner).join("Maildir/dovecot-acl-list");
    let mut names: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    names.sort();
    names
}

/// bob administers alice's Team (`a`): his changes rebuild alice's `dovecot-acl-list`,
/// and his session's dict rebuild adds alice's keys (and removes only his own), as
/// Dovecot's does. DELETE and RENAME rebuild nothing (Dovecot's neither).
#[test]
fn an_administrator_of_a_shared_mailbox_keeps_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = user(d, "alice");
    for name in ["Team", "Team/Sub", "Old"] {
        alice.create(name).unwrap();
    }
    setacl(&mut alice, "Team", "user=bob", &["lookup", "read", "admin"]);
    assert_eq!(dict(d), "shared/shared-boxes/user/bob/alice\n1\n");
    let mut bob = user(d, "bob");
    setacl(
        &mut bob,
        "shared/alice/Team",
        "user=carol",
        &["lookup", "read"],
    );
    assert_eq!(
        dict(d),
        "shared/shared-boxes/user/bob/alice\n1\nshared/shared-boxes/user/carol/alice\n1\n"
    );
    assert_eq!(acl_list(d, "alice"), ["Team"]);
    let mut carol = user(d, "carol");
    assert_eq!(
        names(&mut carol, "shared/alice/*"),
        ["shared/alice/Team (\\HasNoChildren)"]
    );
    // Taking it back rebuilds the list; the key stays (it is alice's, not bob's).
    deleteacl(&mut bob, "shared/alice/Team", "user=carol");
    assert_eq!(
        dict(d),
        "shared/shared-boxes/user/bob/alice\n1\nshared/shared-boxes/user/carol/alice\n1\n"
    );
    // A DELETEACL of an entry that is not there changes nothing: no rebuild.
    let list_path = d.join("home/alice/Maildir/dovecot-acl-list");
    std::fs::write(&list_path, "1 Stale\n").unwrap();
    deleteacl(&mut bob, "shared/alice/Team", "user=nobody");
    assert_eq!(acl_list(d, "alice"), ["Stale"]);
    // A new child of Team gets its entries, and the list names it.
    alice.create("Team/New").unwrap();
    assert_eq!(acl_list(d, "alice"), ["Team", "Team.New"]);
    // DELETE and RENAME leave both files as they were.
    setacl(&mut alice, "Old", "user=carol", &["lookup"]);
    let (before_list, before_dict) = (std::fs::read(&list_path).unwrap(), dict(d));
    alice.rename("Team/Sub", "Moved").unwrap();
    alice.delete("Old").unwrap();
    assert_eq!(std::fs::read(&list_path).unwrap(), before_list);
    assert_eq!(dict(d), before_dict);
}

fn message(size: usize) -> Vec<u8> {
    let mut data = b"Subject: q\r\n\r\n".to_vec();
    data.resize(size, b'x');
    data
}

fn save(mailbox: &mut dyn cote::storage::api::Mailbox, data: &[u8]) -> Result<(), ErrorKind> {
    mailbox
        .save(
            &[NewMessage {
                data,
                flags: MailFlags::empty(),
                keywords: Vec::new(),
                internal_date: None,
            }],
            true,
        )
        .map(|_| ())
        .map_err(|e| e.kind())
}

/// alice's usage of her only root (STORAGE in kilobytes, MESSAGE).
fn usage(user: &mut MailUser) -> (u64, u64) {
    let quota = user.quota().unwrap().clone();
    let mut quota = quota.borrow_mut();
    let r = quota.all_resources(0).unwrap();
    (r[0].value, r[1].value)
}

/// bob's saves into alice's Team count against alice's quota (her 1k from the userdb,
/// not bob's 100M); a MOVE is not checked (Dovecot's rule: both namespaces have an
/// owner), and goes over; bob's DELETE of Team gives alice the room back.
#[test]
fn saves_into_a_shared_mailbox_count_against_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = user_in(d, "alice", "", QUOTA).unwrap();
    alice.create("Team").unwrap();
    setacl(
        &mut alice,
        "Team",
        "user=bob",
        &[
            "lookup",
            "read",
            "write",
            "write-seen",
            "write-deleted",
            "insert",
            "expunge",
            "delete",
        ],
    );
    let mut bob = user_in(d, "bob", "", QUOTA).unwrap();
    let mut team = bob.open("shared/alice/Team", OpenOptions::ACCESS).unwrap();
    assert_eq!(save(&mut *team, &message(600)), Ok(()));
    assert_eq!(usage(&mut alice), (1, 1));
    assert_eq!(save(&mut *team, &message(600)), Err(ErrorKind::NoQuota));
    assert_eq!(usage(&mut bob), (0, 0));
    let other = bob.mailbox_quota("shared/alice/Team").unwrap();
    assert!(other.other_user);
    assert!(bob.is_other_users("shared/alice/Team"));
    assert!(bob.is_other_users("shared/nobody/X"));
    assert!(!bob.is_other_users("INBOX"));
    assert!(!bob.mailbox_quota("INBOX").unwrap().other_user);

    let mut inbox = bob.open("INBOX", OpenOptions::ACCESS).unwrap();
    assert_eq!(save(&mut *inbox, &message(600)), Ok(()));
    assert_eq!(usage(&mut bob), (1, 1));
    let uids = cote::index::uidset::UidSet::range(1, 1);
    let err = team.copy_from(&mut *inbox, &uids).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoQuota);
    assert_eq!(
        err.client_text(),
        "Quota exceeded (mailbox for user is full)"
    );
    team.move_from(&mut *inbox, &uids).unwrap();
    assert_eq!(usage(&mut bob), (0, 0));
    assert_eq!(usage(&mut alice), (2, 2));
    drop((team, inbox));
    bob.delete("shared/alice/Team").unwrap();
    assert_eq!(usage(&mut alice), (0, 0));
}

/// A new user's first SETACL on INBOX makes the INBOX (Dovecot opens the mailbox first).
#[test]
fn setacl_on_a_new_users_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bob = user(d, "bob");
    assert!(!d.join("home/bob/Maildir").exists());
    setacl(&mut bob, "INBOX", "user=alice", &["lookup"]);
    assert_eq!(dict(d), "shared/shared-boxes/user/alice/bob\n1\n");
    assert_eq!(acl_list(d, "bob"), ["INBOX"]);
}
