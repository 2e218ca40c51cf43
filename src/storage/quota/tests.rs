//! The quota over real Maildirs: enforcement, updates and the file Dovecot shares.

use crate::config::Config;
use crate::storage::api::{NewMessage, OpenOptions};
use crate::storage::error::ErrorKind;
use crate::storage::flags::MailFlags;
use crate::storage::user::{MailUser, MailUserInfo};

fn user_with(plugin: &str, service: &str) -> (tempfile::TempDir, MailUser) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot.conf");
    let conf = format!(
        "mail_location = maildir:{}/mail\nmail_plugins = quota\n\
         namespace inbox {{\n  inbox = yes\n  separator = /\n}}\nplugin {{\n{plugin}}}\n",
        dir.path().display()
    );
    std::fs::write(&path, conf).unwrap();
    let config = Config::load(&path).unwrap();
    let info = MailUserInfo {
        username: "alice".into(),
        home: Some(dir.path().display().to_string()),
        service: service.into(),
        ..MailUserInfo::default()
    };
    let user = MailUser::new(&config.global(), info).unwrap();
    (dir, user)
}

fn message(size: usize) -> Vec<u8> {
    let mut m = b"Subject: q\n\n".to_vec();
    m.resize(size - 1, b'x');
    m.push(b'\n');
    m
}

fn save(user: &mut MailUser, mailbox: &str, size: usize) -> Result<(), ErrorKind> {
    let data = message(size);
    let mut mb = user
        .open(mailbox, OpenOptions::ACCESS)
        .map_err(|e| e.kind())?;
    mb.save(
        &[NewMessage {
            data: &data,
            flags: MailFlags::empty(),
            keywords: Vec::new(),
            internal_date: None,
        }],
        true,
    )
    .map(drop)
    .map_err(|e| e.kind())
}

fn maildirsize(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("mail/maildirsize")).unwrap_or_default()
}

const SITE: &str = "quota = maildir:User quota\nquota_rule = *:storage=10K\n\
                    quota_rule2 = Trash:storage=+1K\nquota_rule3 = *:messages=5\n";

#[test]
fn saves_are_refused_over_quota_and_the_file_kept_as_dovecot_keeps_it() {
    let (dir, mut user) = user_with(SITE, "imap");
    user.create("Trash").unwrap();
    for _ in 0..3 {
        save(&mut user, "INBOX", 3000).unwrap();
    }
    assert_eq!(
        maildirsize(&dir),
        "10240S,5C\n0 0\n3000 1\n3000 1\n3000 1\n"
    );
    assert_eq!(save(&mut user, "INBOX", 3000), Err(ErrorKind::NoQuota));
    // Trash has 1K more.
    save(&mut user, "Trash", 2000).unwrap();
    assert_eq!(save(&mut user, "Trash", 1500), Err(ErrorKind::NoQuota));
    let quota = user.quota().unwrap().clone();
    let resources = quota.borrow_mut().resources(0).unwrap();
    let values: Vec<(&str, u64, u64)> = resources
        .iter()
        .map(|r| (r.name, r.value, r.limit))
        .collect();
    assert_eq!(values, [("STORAGE", 11, 10), ("MESSAGE", 4, 5)]);
}

#[test]
fn expunge_copy_move_and_delete_update_the_usage() {
    let (dir, mut user) = user_with(SITE, "imap");
    user.create("Trash").unwrap();
    save(&mut user, "INBOX", 1000).unwrap();
    save(&mut user, "INBOX", 2000).unwrap();
    let mut inbox = user.open("INBOX", OpenOptions::SELECT).unwrap();
    let mut trash = user.open("Trash", OpenOptions::ACCESS).unwrap();
    let uids: crate::storage::api::UidSet = inbox.seqs().uids().iter().copied().collect();
    let first: crate::storage::api::UidSet = uids.iter().take(1).collect();
    trash.copy_from(&mut *inbox, &first).unwrap();
    assert!(maildirsize(&dir).ends_with("1000 1\n"));
    let second: crate::storage::api::UidSet = uids.iter().skip(1).collect();
    trash.move_from(&mut *inbox, &second).unwrap();
    inbox.expunge(&first).unwrap();
    drop((inbox, trash));
    let quota = user.quota().unwrap().clone();
    let usage = quota.borrow_mut().all_resources(0).unwrap();
    assert_eq!(
        (usage[0].value, usage[1].value),
        (3, 2),
        "{}",
        maildirsize(&dir)
    );
    user.delete("Trash").unwrap();
    let usage = quota.borrow_mut().all_resources(0).unwrap();
    assert_eq!(
        (usage[0].value, usage[1].value),
        (0, 0),
        "{}",
        maildirsize(&dir)
    );
}

#[test]
fn the_message_count_limit() {
    let (_dir, mut user) = user_with("quota = maildir:Q\nquota_rule = *:messages=2\n", "imap");
    save(&mut user, "INBOX", 100).unwrap();
    save(&mut user, "INBOX", 100).unwrap();
    assert_eq!(save(&mut user, "INBOX", 100), Err(ErrorKind::NoQuota));
}

#[test]
fn grace_only_for_deliveries() {
    let conf = "quota = maildir:Q\nquota_rule = *:storage=10K\nquota_grace = 2K\n";
    let (_dir, mut user) = user_with(conf, "imap");
    save(&mut user, "INBOX", 9000).unwrap();
    assert_eq!(save(&mut user, "INBOX", 2000), Err(ErrorKind::NoQuota));
    let (_dir, mut user) = user_with(conf, "lmtp");
    save(&mut user, "INBOX", 9000).unwrap();
    save(&mut user, "INBOX", 2000).unwrap();
    // Over the limit now: nothing more, grace or not.
    assert_eq!(save(&mut user, "INBOX", 10), Err(ErrorKind::NoQuota));
}

#[test]
fn a_dovecot_file_is_read_and_its_limits_used_unless_forced() {
    let (dir, mut user) = user_with("quota = maildir:Q\n", "imap");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.path().join("mail").join(sub)).unwrap();
    }
    // Written by Dovecot (or any Maildir++ program): limits from the file, usage summed.
    std::fs::write(
        dir.path().join("mail/maildirsize"),
        "5000S,3C\n0 0\n3013 1\n-13 0\n",
    )
    .unwrap();
    let quota = user.quota().unwrap().clone();
    let values: Vec<(u64, u64)> = quota
        .borrow_mut()
        .resources(0)
        .unwrap()
        .iter()
        .map(|r| (r.value, r.limit))
        .collect();
    assert_eq!(values, [(3, 5), (1, 3)]);
    assert_eq!(save(&mut user, "INBOX", 3001), Err(ErrorKind::NoQuota));
    save(&mut user, "INBOX", 2000).unwrap();
    // A forced rule rewrites the file with its own limits, recounted.
    let (dir, user) = user_with("quota = maildir:Q\nquota_rule = *:storage=1M\n", "imap");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.path().join("mail").join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("mail/maildirsize"), "5000S,3C\n3013 1\n").unwrap();
    let quota = user.quota().unwrap().clone();
    let res = quota.borrow_mut().resources(0).unwrap();
    assert_eq!((res[0].value, res[0].limit), (0, 1024));
    assert_eq!(maildirsize(&dir), "1048576S\n0 0\n");
}

#[test]
fn ignored_mailboxes_and_noenforcing() {
    let (dir, mut user) = user_with(
        "quota = maildir:Q\nquota_rule = *:messages=1\nquota_rule2 = Spam:ignore\n",
        "imap",
    );
    user.create("Spam").unwrap();
    save(&mut user, "Spam", 100).unwrap();
    save(&mut user, "Spam", 100).unwrap();
    save(&mut user, "INBOX", 100).unwrap();
    assert_eq!(save(&mut user, "INBOX", 100), Err(ErrorKind::NoQuota));
    assert_eq!(save(&mut user, "Spam", 100), Ok(()));
    assert!(
        maildirsize(&dir).starts_with("1C\n"),
        "{}",
        maildirsize(&dir)
    );
    let (_dir, mut user) = user_with(
        "quota = maildir:Q:noenforcing\nquota_rule = *:messages=1\n",
        "imap",
    );
    save(&mut user, "INBOX", 100).unwrap();
    save(&mut user, "INBOX", 100).unwrap();
}

#[test]
fn count_backend_sums_the_index() {
    let (dir, mut user) = user_with(
        "quota = count:User quota\nquota_vsizes = yes\nquota_rule = *:storage=4K\n",
        "imap",
    );
    user.create("Other").unwrap();
    save(&mut user, "INBOX", 2000).unwrap();
    save(&mut user, "Other", 1500).unwrap();
    // 2000 + 1500 bytes stored with LF; RFC822.SIZE counts CRLF.
    assert_eq!(save(&mut user, "INBOX", 1000), Err(ErrorKind::NoQuota));
    let quota = user.quota().unwrap().clone();
    let res = quota.borrow_mut().resources(0).unwrap();
    assert_eq!((res[0].value, res[0].limit), (4, 4));
    assert!(!dir.path().join("mail/maildirsize").exists());
}

#[test]
fn bad_settings_fail_the_user_as_dovecot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dovecot.conf");
    std::fs::write(
        &path,
        format!(
            "mail_location = maildir:{}/mail\nmail_plugins = quota\n\
             plugin {{\n  quota = maildir\n  quota_rule = *:bogus=1\n}}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let info = MailUserInfo {
        username: "alice".into(),
        home: Some(dir.path().display().to_string()),
        service: "imap".into(),
        ..MailUserInfo::default()
    };
    let err = MailUser::new(&config.global(), info.clone()).err().unwrap();
    assert_eq!(
        err.client_text(),
        "Failed to initialize quota: Invalid quota root quota: Invalid rule *:bogus=1: \
         Unknown rule limit name: bogus"
    );
    // A userdb field overrides the plugin setting.
    let info = MailUserInfo {
        userdb_fields: Some(vec![("quota_rule".into(), "*:storage=1M".into())]),
        ..info
    };
    let user = MailUser::new(&config.global(), info).unwrap();
    let quota = user.quota().unwrap().clone();
    assert_eq!(quota.borrow_mut().resources(0).unwrap()[0].limit, 1024);
}

#[test]
fn qresync_expunges_are_answered_through_the_quota_wrapper() {
    let (_dir, mut user) = user_with(SITE, "imap");
    save(&mut user, "INBOX", 100).unwrap();
    save(&mut user, "INBOX", 100).unwrap();
    let mut inbox = user.open("INBOX", OpenOptions::SELECT).unwrap();
    let before = inbox.highest_modseq();
    let last: crate::storage::api::UidSet = inbox.seqs().uids().iter().skip(1).copied().collect();
    inbox.expunge(&last).unwrap();
    // The wrapped Maildir knows what was expunged since `before`; "unknown" (None) would
    // make QRESYNC clients resynchronise the whole mailbox.
    assert_eq!(inbox.expunged_since(before).unwrap(), Some(last));
    assert!(inbox.modseqs_permanent());
}
