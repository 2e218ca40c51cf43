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
//! - Users the userdb does not know.
//! - `INDEXPVT=`: each viewer's `\Seen` is their own (and mbox refuses it).

use std::path::Path;

use cote::config::{Config, FilterQuery};
use cote::index::state::Change;
use cote::index::transaction::FlagMode;
use cote::index::uidset::UidSet;
use cote::storage::acl::{AclUpdate, Identifier, ModifyMode, Names};
use cote::storage::api::{Mailbox, NewMessage, OpenOptions, StoreRequest, StoreResult, SyncFlags};
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

const INDEXPVT: &str = ":INDEXPVT=~/Maildir/shared/%%u";

fn pvt_user(dir: &Path, name: &str) -> MailUser {
    user_with(dir, name, INDEXPVT).expect("mail user")
}

fn message(flags: MailFlags) -> NewMessage<'static> {
    NewMessage {
        data: b"Subject: x\r\n\r\nbody\r\n",
        flags,
        keywords: Vec::new(),
        internal_date: None,
    }
}

fn seen_uids(mailbox: &mut dyn Mailbox) -> Vec<u32> {
    mailbox.sync(SyncFlags::default()).unwrap();
    mailbox.take_expunges();
    mailbox
        .seqs()
        .uids()
        .iter()
        .copied()
        .filter(|&uid| {
            mailbox
                .info(uid)
                .is_some_and(|i| i.flags.contains(MailFlags::SEEN))
        })
        .collect()
}

fn store(mailbox: &mut dyn Mailbox, uid: u32, mode: FlagMode, flags: MailFlags) -> StoreResult {
    let request = StoreRequest {
        mode,
        flags,
        keywords: Vec::new(),
        unchanged_since: None,
    };
    mailbox
        .store(&UidSet::range(uid, uid), &request)
        .expect("store")
}

/// With `INDEXPVT=` each viewer's `\Seen` of alice's shared mailbox is their own (kept in
/// their home), alice's own view keeps the shared one, and the other flags stay shared.
#[test]
fn private_seen_is_each_viewers_own() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = pvt_user(d, "alice");
    alice.create("Team").unwrap();
    let all = [
        "lookup",
        "read",
        "write",
        "write-seen",
        "write-deleted",
        "insert",
        "expunge",
    ];
    setacl(&mut alice, "Team", "user=bob", &all);
    setacl(&mut alice, "Team", "user=carol", &all);
    let mut own = alice.open("Team", OpenOptions::SELECT).unwrap();
    // UID 1 unseen, UID 2 seen by alice (shared: the file name has S).
    own.save(
        &[message(MailFlags::empty()), message(MailFlags::SEEN)],
        true,
    )
    .unwrap();
    assert_eq!(seen_uids(&mut *own), [2]);

    let mut bob = pvt_user(d, "bob");
    let mut carol = pvt_user(d, "carol");
    let mut b = bob.open("shared/alice/Team", OpenOptions::SELECT).unwrap();
    let mut c = carol
        .open("shared/alice/Team", OpenOptions::SELECT)
        .unwrap();
    // alice's \Seen is not theirs.
    assert_eq!(seen_uids(&mut *b), Vec::<u32>::new());
    assert_eq!(b.status().unwrap().unseen, 2);

    let before = b.info(1).unwrap().modseq;
    let done = store(
        &mut *b,
        1,
        FlagMode::Add,
        MailFlags::SEEN | MailFlags::FLAGGED,
    );
    assert_eq!(done.changed.len(), 1);
    assert!(done.changed[0].1 > before);
    assert_eq!(seen_uids(&mut *b), [1]);
    assert_eq!(b.status().unwrap().unseen, 1);
    // carol and alice see bob's \Flagged, not his \Seen; carol is told of the change.
    let changes = c.sync(SyncFlags::default()).unwrap();
    assert!(
        changes
            .iter()
            .any(|ch| matches!(ch, Change::Flags { uid: 1, .. })),
        "{changes:?}"
    );
    assert_eq!(seen_uids(&mut *c), Vec::<u32>::new());
    assert!(c.info(1).unwrap().flags.contains(MailFlags::FLAGGED));
    assert_eq!(c.status().unwrap().unseen, 2);
    assert_eq!(seen_uids(&mut *own), [2]);
    assert_eq!(own.status().unwrap().unseen, 1);
    // A \Seen-only change is a modseq change for the others.
    let done = store(&mut *b, 1, FlagMode::Remove, MailFlags::SEEN);
    let modseq = done.changed[0].1;
    let changes = c.sync(SyncFlags::default()).unwrap();
    assert!(
        changes.contains(&Change::Modseq { uid: 1, modseq }),
        "{changes:?}"
    );
    assert_eq!(c.info(1).unwrap().modseq, modseq);
    store(&mut *b, 1, FlagMode::Add, MailFlags::SEEN);

    // The Maildir file names keep only alice's \Seen.
    let cur = d.join("home/alice/Maildir/.Team/cur");
    let mut flags: Vec<String> = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.rsplit_once(":2,").unwrap().1.to_string()
        })
        .collect();
    flags.sort();
    assert_eq!(flags, ["F", "S"]);
    // bob's is in his home.
    let pvt = d.join("home/bob/Maildir/shared/alice/.Team");
    assert!(pvt.join("cote.index.pvt").is_file());

    // A new session of bob's reads it back; carol's has none.
    drop(b);
    let mut bob = pvt_user(d, "bob");
    let mut b = bob.open("shared/alice/Team", OpenOptions::SELECT).unwrap();
    assert_eq!(seen_uids(&mut *b), [1]);
    assert_eq!(
        bob.status("shared/alice/Team").unwrap().unseen,
        1,
        "STATUS without selecting"
    );

    // New mail is unseen for every viewer; what bob saves with \Seen is seen by him only.
    own.save(&[message(MailFlags::empty())], true).unwrap();
    let saved = b.save(&[message(MailFlags::SEEN)], true).unwrap();
    assert_eq!(saved.uids, [4]);
    assert_eq!(seen_uids(&mut *b), [1, 4]);
    assert_eq!(seen_uids(&mut *c), Vec::<u32>::new());
    assert_eq!(seen_uids(&mut *own), [2]);

    // An expunge by anyone takes the message out of bob's file.
    store(&mut *b, 3, FlagMode::Add, MailFlags::SEEN);
    let state = |d: &Path| {
        cote::index::private::PrivateFlags::open(
            &d.join("home/bob/Maildir/shared/alice/.Team"),
            cote::index::settings::IndexSettings::dovecot_defaults(Default::default()),
        )
        .unwrap()
        .state()
        .seen
        .iter()
        .collect::<Vec<u32>>()
    };
    assert_eq!(state(d), [1, 3, 4]);
    c.expunge(&UidSet::range(3, 3)).unwrap();
    assert_eq!(seen_uids(&mut *b), [1, 4]);
    assert_eq!(state(d), [1, 4]);
    b.expunge(&UidSet::range(4, 4)).unwrap();
    assert_eq!(state(d), [1]);
}

#[test]
fn private_flags_with_mbox_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cote.conf");
    std::fs::write(
        &conf,
        "mail_location = mbox:~/mail\n\
         namespace inbox {\n  inbox = yes\n}\n\
         namespace public {\n  type = public\n  prefix = Public/\n\
           location = mbox:/srv/public:INDEXPVT=~/public\n}\n",
    )
    .unwrap();
    let config = Config::load(&conf).expect("config");
    let settings = config.settings(&FilterQuery::default());
    let err = MailUser::new(&settings, info(dir.path(), "bob"))
        .err()
        .expect("INDEXPVT with mbox refused");
    assert_eq!(err.kind(), ErrorKind::NotImplemented);
    assert!(
        err.client_text().contains("INDEXPVT"),
        "{}",
        err.client_text()
    );
}

/// In a public namespace with `INDEXPVT=` too (Dovecot: whenever the location has it), and
/// there each viewer starts with the shared `\Seen` of messages new to them (what an LDA
/// or Sieve set), as Dovecot copies it.
#[test]
fn public_namespaces_start_from_the_shared_seen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let team = d.join("public/.Team");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(team.join(sub)).unwrap();
    }
    std::fs::write(team.join("maildirfolder"), b"").unwrap();
    for (name, body) in [
        ("1700000000.M1P1.host:2,S", "Subject: seen\n\nx\n"),
        ("1700000001.M2P1.host:2,", "Subject: new\n\nx\n"),
    ] {
        std::fs::write(team.join("cur").join(name), body).unwrap();
    }
    let conf = d.join("cote.conf");
    std::fs::write(
        &conf,
        format!(
            "mail_location = maildir:~/Maildir\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
             namespace public {{\n  type = public\n  separator = /\n  prefix = Public/\n\
               location = maildir:{}/public:INDEXPVT=~/pvt\n  subscriptions = no\n}}\n",
            d.display()
        ),
    )
    .unwrap();
    let config = Config::load(&conf).expect("config");
    let settings = config.settings(&FilterQuery {
        protocol: Some("imap".into()),
        ..FilterQuery::default()
    });
    let viewer = |name: &str| MailUser::new(&settings, info(d, name)).expect("mail user");
    let mut bob = viewer("bob");
    let mut b = bob.open("Public/Team", OpenOptions::SELECT).unwrap();
    assert_eq!(seen_uids(&mut *b), [1]);
    store(&mut *b, 1, FlagMode::Remove, MailFlags::SEEN);
    store(&mut *b, 2, FlagMode::Add, MailFlags::SEEN);
    assert_eq!(seen_uids(&mut *b), [2]);
    assert!(d.join("home/bob/pvt/.Team/cote.index.pvt").is_file());
    // carol starts from the shared \Seen; the message file keeps it.
    let mut carol = viewer("carol");
    let mut c = carol.open("Public/Team", OpenOptions::SELECT).unwrap();
    assert_eq!(seen_uids(&mut *c), [1]);
    assert!(team.join("cur/1700000000.M1P1.host:2,S").is_file());
    // A message that arrives later starts seen for each viewer if it is seen when they
    // first meet it.
    std::fs::write(
        team.join("cur/1700000002.M3P1.host:2,S"),
        "Subject: later\n\nx\n",
    )
    .unwrap();
    assert_eq!(seen_uids(&mut *b), [2, 3]);
    drop(b);
    let mut bob = viewer("bob");
    let mut b = bob.open("Public/Team", OpenOptions::SELECT).unwrap();
    assert_eq!(seen_uids(&mut *b), [2, 3]);
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

fn message_of_size(size: usize) -> Vec<u8> {
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
    assert_eq!(save(&mut *team, &message_of_size(600)), Ok(()));
    assert_eq!(usage(&mut alice), (1, 1));
    assert_eq!(
        save(&mut *team, &message_of_size(600)),
        Err(ErrorKind::NoQuota)
    );
    assert_eq!(usage(&mut bob), (0, 0));
    let other = bob.mailbox_quota("shared/alice/Team").unwrap();
    assert!(other.other_user);
    assert!(bob.is_other_users("shared/alice/Team"));
    assert!(bob.is_other_users("shared/nobody/X"));
    assert!(!bob.is_other_users("INBOX"));
    assert!(!bob.mailbox_quota("INBOX").unwrap().other_user);

    let mut inbox = bob.open("INBOX", OpenOptions::ACCESS).unwrap();
    assert_eq!(save(&mut *inbox, &message_of_size(600)), Ok(()));
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

#[test]
fn setacl_failure_is_an_internal_error_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut bob = user(d, "bob");
    bob.create("Foo").unwrap();
    // The mailbox vanishes (another session deleted it) before its ACL is written.
    let foo = d.join("home/bob/Maildir/.Foo");
    std::fs::remove_dir_all(&foo).unwrap();
    let update = AclUpdate {
        id: Identifier::parse("user=alice").unwrap(),
        rights: Some(rights(&["lookup"])),
        neg_rights: None,
        mode: ModifyMode::Replace,
        neg_mode: ModifyMode::Remove,
    };
    let err = bob.acl_update("Foo", &update).unwrap_err();
    // As Dovecot: the internal-error text for the client, the cause (naming the directory)
    // for the log.
    assert_eq!(err.kind(), ErrorKind::Temp, "{err}");
    assert!(
        err.client_text()
            .starts_with(cote::storage::error::CRITICAL_TEXT),
        "{err}"
    );
    let detail = err.internal().unwrap_or_default();
    assert!(detail.contains(&foo.display().to_string()), "{err}");
    assert_eq!(err.mailbox(), Some("Foo"));
}
