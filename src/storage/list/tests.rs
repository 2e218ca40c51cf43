//! Mailbox lists through [`MailUser`]: names, hierarchy, create/delete/rename with children,
//! subscriptions, LIST attributes, namespaces.

use std::sync::Arc;

use crate::storage::api::{ListEntry, MailFlags, OpenOptions};
use crate::storage::error::ErrorKind;
use crate::storage::maildir::mailbox::tests::{save, Fixture};
use crate::storage::namespace::{AutoMailbox, ListMode, MailboxSettings, NamespaceConfig};
use crate::storage::user::{ListOptions, MailUser, MailUserInfo};

fn names(entries: &[ListEntry]) -> Vec<String> {
    entries.iter().map(|e| e.vname.clone()).collect()
}

fn entry<'a>(entries: &'a [ListEntry], name: &str) -> &'a ListEntry {
    entries
        .iter()
        .find(|e| e.vname == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", names(entries)))
}

fn list(user: &mut MailUser, pattern: &str) -> Vec<ListEntry> {
    user.list(&[pattern.to_string()], ListOptions::default())
        .unwrap()
}

#[test]
fn maildir_plus_plus_hierarchy() {
    let fx = Fixture::new();
    let mut user = fx.user();
    user.create("a.b.c").unwrap();
    user.create("Sent").unwrap();
    assert!(fx.root().join(".a.b.c/maildirfolder").exists());
    let e = user.create("Sent").unwrap_err();
    assert_eq!(
        (e.kind(), e.client_text()),
        (ErrorKind::Exists, "Mailbox already exists")
    );
    let all = list(&mut user, "*");
    assert_eq!(names(&all), ["INBOX", "Sent", "a", "a.b", "a.b.c"]);
    let a = entry(&all, "a");
    assert!(a.attributes.noselect && a.attributes.children == Some(true));
    assert_eq!(a.separator, '.');
    assert_eq!(entry(&all, "a.b.c").attributes.children, Some(false));
    assert!(!entry(&all, "INBOX").attributes.noselect);
    assert_eq!(names(&list(&mut user, "%")), ["INBOX", "Sent", "a"]);
    // A trailing separator: the mailbox is created (Maildir++ has no bare directories).
    user.create("x.").unwrap();
    user.delete("x").unwrap();
    assert_eq!(names(&list(&mut user, "a.%")), ["a.b"]);
    assert_eq!(names(&list(&mut user, "inbox")), ["INBOX"]);

    // Invalid names never reach the disk.
    for bad in ["a..b", ".x", "../x"] {
        let e = user.create(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Params, "{bad}: {e}");
    }
    let e = user.create("x/y").unwrap_err();
    assert!(e.client_text().contains("'/'"), "{e}");

    // Deleting a parent keeps its children: it becomes \Noselect.
    user.create("a").unwrap();
    let mut mb = user.open("a", OpenOptions::ACCESS).unwrap();
    save(&mut *mb, "x", MailFlags::empty(), &[]);
    drop(mb);
    user.delete("a").unwrap();
    let all = list(&mut user, "*");
    assert!(entry(&all, "a").attributes.noselect);
    assert!(!entry(&all, "a.b.c").attributes.noselect);
    assert!(!fx.root().join("..DOVECOT-TRASH").exists());
    let e = user.delete("a").unwrap_err();
    assert_eq!(e.client_text(), "Mailbox doesn't exist: a");
    let e = user.delete("INBOX").unwrap_err();
    assert_eq!(e.client_text(), "INBOX can't be deleted.");
}

#[test]
fn rename_moves_children_and_keeps_uids() {
    let fx = Fixture::new();
    let mut user = fx.user();
    user.create("Old").unwrap();
    user.create("Old.Kid").unwrap();
    let mut mb = user.open("Old", OpenOptions::ACCESS).unwrap();
    save(&mut *mb, "x", MailFlags::SEEN, &[]);
    let uv = mb.uidvalidity();
    drop(mb);
    user.rename("Old", "New").unwrap();
    assert_eq!(names(&list(&mut user, "*")), ["INBOX", "New", "New.Kid"]);
    let mb = user.open("New", OpenOptions::ACCESS).unwrap();
    assert_eq!(mb.uidvalidity(), uv);
    assert_eq!(mb.info(1).unwrap().flags, MailFlags::SEEN);
    drop(mb);
    user.create("Other").unwrap();
    let e = user.rename("New", "Other").unwrap_err();
    assert_eq!(e.client_text(), "Target mailbox already exists");
    let e = user.rename("INBOX", "X").unwrap_err();
    assert_eq!(e.client_text(), "Renaming INBOX isn't supported.");
    let e = user.rename("Nope", "X").unwrap_err();
    assert_eq!(e.client_text(), "Mailbox doesn't exist: Nope");
    let e = user.rename("Other", "Other").unwrap_err();
    assert_eq!(e.client_text(), "Can't rename mailbox to itself.");
}

#[test]
fn fs_layout_noselect_directories() {
    let fx = Fixture::with_location_suffix(":LAYOUT=fs");
    let mut user = fx.user();
    user.create("a/b").unwrap();
    assert!(fx.root().join("a/b/cur").is_dir());
    assert!(!fx.root().join("a/b/maildirfolder").exists());
    let all = list(&mut user, "*");
    assert_eq!(names(&all), ["INBOX", "a", "a/b"]);
    assert!(entry(&all, "a").attributes.noselect);
    for bad in ["cur", "a/new"] {
        assert!(user.create(bad).is_err(), "{bad}");
    }
    user.create("dir/").unwrap();
    assert!(entry(&list(&mut user, "*"), "dir").attributes.noselect);
    user.delete("dir").unwrap();
    let e = user.delete("a").unwrap_err();
    assert_eq!(e.client_text(), "Mailbox has children, can't delete it");
    user.create("a").unwrap();
    user.delete("a").unwrap();
    assert!(fx.root().join("a/b/cur").is_dir());
    user.rename("a/b", "c/d").unwrap();
    assert_eq!(names(&list(&mut user, "*")), ["INBOX", "a", "c", "c/d"]);
}

#[test]
fn subscriptions_file_v2() {
    let fx = Fixture::new();
    let mut user = fx.user();
    user.create("Archive.2024").unwrap();
    user.set_subscribed("Archive.2024", true).unwrap();
    user.set_subscribed("inbox", true).unwrap();
    user.set_subscribed("Entwürfe", true).unwrap();
    let text = std::fs::read(fx.root().join("subscriptions")).unwrap();
    assert_eq!(text, b"V\t2\n\nArchive\t2024\nINBOX\nEntw&APw-rfe\n");
    assert_eq!(
        user.subscriptions().unwrap(),
        ["Archive.2024", "INBOX", "Entwürfe"]
    );
    let subs = user
        .list(
            &["*".to_string()],
            ListOptions {
                subscribed_only: true,
                return_subscribed: true,
            },
        )
        .unwrap();
    assert_eq!(names(&subs), ["Archive.2024", "Entwürfe", "INBOX"]);
    assert!(entry(&subs, "Entwürfe").attributes.nonexistent);
    assert!(entry(&subs, "Archive.2024").attributes.subscribed);
    user.set_subscribed("Entwürfe", false).unwrap();
    assert_eq!(user.subscriptions().unwrap(), ["Archive.2024", "INBOX"]);
}

fn user_with(fx: &Fixture, namespaces: Vec<NamespaceConfig>) -> MailUser {
    MailUser::with_namespaces(
        MailUserInfo {
            username: "u".into(),
            home: Some(fx.dir.path().display().to_string()),
            ..MailUserInfo::default()
        },
        Arc::new(fx.settings.clone()),
        namespaces,
        &fx.location,
        false,
    )
    .unwrap()
}

#[test]
fn namespaces_and_special_use() {
    let fx = Fixture::new();
    let other_loc = format!("maildir:{}/Other", fx.dir.path().display());
    let inbox = NamespaceConfig {
        separator: "/".into(),
        mailboxes: vec![
            MailboxSettings {
                name: "Sent".into(),
                special_use: vec!["\\Sent".into()],
                auto: AutoMailbox::Subscribe,
                comment: String::new(),
            },
            MailboxSettings {
                name: "Trash".into(),
                special_use: vec!["\\Trash".into()],
                auto: AutoMailbox::No,
                comment: String::new(),
            },
        ],
        ..NamespaceConfig::implicit_inbox()
    };
    let other = NamespaceConfig {
        name: "other".into(),
        prefix: "Other/".into(),
        separator: "/".into(),
        inbox: false,
        subscriptions: false,
        location: other_loc,
        list: ListMode::Yes,
        ..NamespaceConfig::implicit_inbox()
    };
    let mut user = user_with(&fx, vec![inbox, other]);
    user.create("Other/x").unwrap();
    assert!(fx.dir.path().join("Other/.x/cur").is_dir());
    let all = list(&mut user, "*");
    assert_eq!(names(&all), ["INBOX", "Other", "Other/x", "Sent"]);
    assert!(entry(&all, "Other").attributes.noselect);
    assert_eq!(entry(&all, "Sent").attributes.special_use, ["\\Sent"]);
    // auto=subscribe: listed, created on first open, always subscribed, never written.
    assert!(!fx.root().join(".Sent").exists());
    assert!(user.subscriptions().unwrap().contains(&"Sent".to_string()));
    user.open("Sent", OpenOptions::ACCESS).unwrap();
    assert!(fx.root().join(".Sent/cur").is_dir());
    // A namespace without subscriptions keeps them in the parent namespace's file.
    user.set_subscribed("Other/x", true).unwrap();
    assert!(user
        .subscriptions()
        .unwrap()
        .contains(&"Other/x".to_string()));
    let status = user.status("Other/x").unwrap();
    assert_eq!((status.messages, status.uidnext), (0, 1));
    let e = user.rename("Other/x", "y").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotPossible);
}
