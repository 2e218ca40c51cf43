use super::*;

fn store(dir: &std::path::Path) -> AttributeStore {
    AttributeStore::new(
        Ok(&format!("file:{}/dovecot-attributes", dir.display())),
        None,
        FsPolicy::dovecot_defaults(),
        "server comment",
        "mailto:admin@example.com",
    )
}

fn mailbox(guid: &str, inbox: bool) -> AttributeMailbox {
    AttributeMailbox {
        guid: guid.into(),
        is_inbox: inbox,
        special_use: if inbox {
            String::new()
        } else {
            "\\Trash".into()
        },
        comment: if inbox {
            String::new()
        } else {
            "trash can".into()
        },
    }
}

fn key(ty: AttributeType, key: &str) -> AttributeKey {
    AttributeKey {
        ty,
        key: key.as_bytes().to_vec(),
        validated: false,
    }
}

fn set(ty: AttributeType, k: &str, value: Option<&str>) -> AttributeChange {
    AttributeChange {
        key: key(ty, k),
        value: value.map(|v| v.as_bytes().to_vec()),
    }
}

use AttributeType::{Private, Shared};

#[test]
fn dict_keys_are_by_guid() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let inbox = mailbox("aa", true);
    s.set(
        &inbox,
        &[
            set(Private, "comment", Some("inbox comment")),
            set(Shared, "vendor/foo/bar", Some("x")),
            set(
                Private,
                "vendor/vendor.dovecot/pvt/server/comment",
                Some("hello"),
            ),
        ],
    )
    .unwrap();
    let data = std::fs::read(dir.path().join("dovecot-attributes")).unwrap();
    assert_eq!(
        data,
        b"priv/aa/comment\ninbox comment\npriv/aa/vendor/vendor.dovecot/pvt/server/comment\n\
          hello\nshared/aa/vendor/foo/bar\nx\n"
            .to_vec()
    );
    assert_eq!(
        s.get(&inbox, &key(Private, "comment")).unwrap(),
        Some(b"inbox comment".to_vec())
    );
    assert_eq!(s.get(&inbox, &key(Private, "nope")).unwrap(), None);
    // INBOX lists the internal server attributes too (relative to the prefix, as Dovecot:
    // IMAP then refuses their names).
    assert_eq!(
        s.keys(&inbox, &key(Shared, "vendor/")).unwrap(),
        [
            b"foo/bar".to_vec(),
            b"vendor.dovecot/pvt/server/admin".to_vec(),
            b"vendor.dovecot/pvt/server/comment".to_vec()
        ]
    );
    assert_eq!(
        s.keys(&mailbox("bb", false), &key(Shared, "vendor/"))
            .unwrap(),
        [
            b"vendor.dovecot/pvt/server/admin".to_vec(),
            b"vendor.dovecot/pvt/server/comment".to_vec()
        ]
    );
    // Deleting INBOX keeps the server attributes.
    s.delete_mailbox("aa", true).unwrap();
    let data = std::fs::read(dir.path().join("dovecot-attributes")).unwrap();
    assert_eq!(
        data,
        b"priv/aa/vendor/vendor.dovecot/pvt/server/comment\nhello\n".to_vec()
    );
}

#[test]
fn internal_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let trash = mailbox("bb", false);
    let inbox = mailbox("aa", true);
    assert_eq!(
        s.get(&trash, &key(Private, "specialuse")).unwrap(),
        Some(b"\\Trash".to_vec())
    );
    let err = s
        .set(&trash, &[set(Private, "specialuse", Some("\\Junk"))])
        .unwrap_err();
    assert_eq!(
        err.client_text(),
        "The /private/specialuse attribute cannot be changed"
    );
    // The configured comment is a default the dict overrides.
    assert_eq!(
        s.get(&trash, &key(Shared, "comment")).unwrap(),
        Some(b"trash can".to_vec())
    );
    s.set(&trash, &[set(Shared, "comment", Some("mine"))])
        .unwrap();
    assert_eq!(
        s.get(&trash, &key(Shared, "comment")).unwrap(),
        Some(b"mine".to_vec())
    );
    assert_eq!(
        s.keys(&trash, &key(Shared, "")).unwrap(),
        [b"comment".to_vec()]
    );
    assert_eq!(
        s.keys(&trash, &key(Private, "")).unwrap(),
        [b"comment".to_vec(), b"specialuse".to_vec()]
    );
    // Server attributes exist only in INBOX.
    let server_comment = key(Shared, "vendor/vendor.dovecot/pvt/server/comment");
    assert_eq!(
        s.get(&inbox, &server_comment).unwrap(),
        Some(b"server comment".to_vec())
    );
    assert_eq!(s.get(&trash, &server_comment).unwrap(), None);
    assert_eq!(
        s.keys(&inbox, &key(Shared, "")).unwrap(),
        [
            b"comment".to_vec(),
            b"vendor/vendor.dovecot/pvt/server/admin".to_vec(),
            b"vendor/vendor.dovecot/pvt/server/comment".to_vec()
        ]
    );
    // Dovecot's quirk: the server's own prefix plus "/" lists nothing.
    assert!(s
        .keys(&inbox, &key(Shared, "vendor/vendor.dovecot/pvt/server//"))
        .unwrap()
        .is_empty());
}

#[test]
fn without_dict_or_metadata() {
    let s = AttributeStore::disabled();
    let trash = mailbox("bb", false);
    assert!(!s.enabled());
    let err = s.get(&trash, &key(Private, "x")).unwrap_err();
    assert_eq!(err.client_text(), "Mailbox attributes not enabled");
    assert_eq!(
        s.keys(&trash, &key(Private, "")).unwrap(),
        [b"specialuse".to_vec()]
    );
    let validated = AttributeKey {
        validated: true,
        ..key(Private, "specialuse")
    };
    assert_eq!(
        s.get(&trash, &validated).unwrap(),
        Some(b"\\Trash".to_vec())
    );
    let validated = AttributeKey {
        validated: true,
        ..key(Private, "comment")
    };
    let err = s.get(&trash, &validated).unwrap_err();
    assert_eq!(err.client_text(), "Generic mailbox attributes not enabled");
    let policy = FsPolicy::dovecot_defaults();
    for other in [
        AttributeStore::new(Ok("proxy::attrs"), None, policy.clone(), "", ""),
        AttributeStore::new(Err("no home"), None, policy.clone(), "", ""),
    ] {
        assert!(other.configured() && !other.enabled());
        assert_eq!(
            other.get(&trash, &key(Private, "x")).unwrap_err().kind(),
            ErrorKind::Temp
        );
    }
}

#[test]
fn nul_values_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let inbox = mailbox("aa", true);
    let err = s
        .set(
            &inbox,
            &[
                set(Private, "a", Some("1")),
                AttributeChange {
                    key: key(Private, "b"),
                    value: Some(b"x\0y".to_vec()),
                },
            ],
        )
        .unwrap_err();
    assert_eq!(err.client_text(), "Attribute string value has NULs");
    assert!(!dir.path().join("dovecot-attributes").exists());
}

/// The cached dict is read again once another writer (another session, Dovecot) replaced
/// the file.
#[test]
fn another_writer_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (store(dir.path()), store(dir.path()));
    let inbox = mailbox("aa", true);
    ours.set(&inbox, &[set(Private, "a", Some("1"))]).unwrap();
    assert_eq!(
        ours.get(&inbox, &key(Private, "a")).unwrap(),
        Some(b"1".to_vec())
    );
    for value in ["2", "3", "4"] {
        theirs
            .set(&inbox, &[set(Private, "a", Some(value))])
            .unwrap();
        assert_eq!(
            ours.get(&inbox, &key(Private, "a")).unwrap(),
            Some(value.as_bytes().to_vec())
        );
    }
    std::fs::remove_file(dir.path().join("dovecot-attributes")).unwrap();
    assert_eq!(ours.get(&inbox, &key(Private, "a")).unwrap(), None);
}
