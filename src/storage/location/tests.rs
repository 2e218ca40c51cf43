use super::*;
use std::collections::HashSet;

const OWNER: LocationOwner<'static> = LocationOwner {
    home: Some("/home/al"),
    username: "al",
    has_inbox: true,
};

/// A disk where only the listed directories and files exist (all accessible); by default
/// nothing does.
#[derive(Default)]
pub(crate) struct FakeDisk {
    dirs: HashSet<PathBuf>,
    files: HashSet<PathBuf>,
}

impl LocationProbe for FakeDisk {
    fn is_dir(&self, p: &Path) -> bool {
        self.dirs.contains(p)
    }
    fn is_rw_file(&self, p: &Path) -> bool {
        self.files.contains(p)
    }
    fn is_rwx(&self, p: &Path) -> bool {
        self.dirs.contains(p)
    }
}

fn disk(dirs: &[&str], files: &[&str]) -> FakeDisk {
    FakeDisk {
        dirs: dirs.iter().map(PathBuf::from).collect(),
        files: files.iter().map(PathBuf::from).collect(),
    }
}

#[test]
fn splitting_and_keys() {
    assert_eq!(split_args("a::b:c:"), vec!["a:b", "c"]);
    assert_eq!(split_args("a:::b"), vec!["a:", "b"]);
    assert_eq!(split_args("a"), vec!["a"]);
    let s = parse(
        "maildir:~/Maildir/:INDEX=/var/idx/%u:CONTROL=~/ctl:VOLATILEDIR=/run/v:LAYOUT=fs:DIRNAME=mails:SUBSCRIPTIONS=subs:",
        Some("/home/al"),
    )
    .unwrap();
    assert_eq!(s.driver.as_deref(), Some("maildir"));
    assert_eq!(s.root_dir, Some(PathBuf::from("/home/al/Maildir")));
    assert_eq!(s.index_dir, Some(IndexDir::Dir("/var/idx/%u".into())));
    assert_eq!(s.control_dir, Some(PathBuf::from("/home/al/ctl")));
    assert_eq!(s.volatile_dir, Some(PathBuf::from("/run/v")));
    assert_eq!(s.layout.as_deref(), Some("fs"));
    assert_eq!(s.maildir_name, "mails");
    assert_eq!(s.subscription_fname.as_deref(), Some("subs"));
    let s = parse("maildir:/m/a::b:INDEX=MEMORY:UTF-8:NO-NOSELECT", None).unwrap();
    assert_eq!(s.root_dir, Some(PathBuf::from("/m/a:b")));
    assert_eq!(s.index_dir, Some(IndexDir::Memory));
    assert!(s.utf8 && s.no_noselect);
    let s = parse("maildir:/m:LISTINDEX=/var/li/x.index", None).unwrap();
    assert_eq!(
        (s.list_index_dir.as_deref(), s.list_index_fname.as_str()),
        (Some("/var/li"), "x.index")
    );
    // no driver prefix: the whole value is the root, to be autodetected
    let s = parse("/var/mail/x", None).unwrap();
    assert_eq!(
        (s.driver, s.root_dir),
        (None, Some(PathBuf::from("/var/mail/x")))
    );
}

#[test]
fn errors_read_as_dovecot() {
    let e = |l: &str, home| parse(l, home).unwrap_err().to_string();
    assert_eq!(
        e("maildir:~/Maildir", None),
        "Home directory not set for user. Can't expand ~/ for mail root dir in: ~/Maildir"
    );
    assert_eq!(
        e("maildir:/m:INDEX=~/idx", None),
        "Home directory not set for user. Can't expand ~/ for INDEX in: /m:INDEX=~/idx"
    );
    assert_eq!(e("maildir:/m:FOO=1", None), "Unknown setting: FOO");
    assert_eq!(
        e("maildir:/m:BROKENCHAR=ab", None),
        "BROKENCHAR value must be a single character"
    );
    assert_eq!(
        e("maildir:/m:ITERINDEX", None),
        "ITERINDEX requires INDEX to be explicitly set"
    );
    assert_eq!(
        e("maildir:/m:INDEX=MEMORY:LISTINDEX=rel/x", None),
        "LISTINDEX directory is relative but INDEX=MEMORY"
    );
    assert_eq!(
        e("mbox:INBOX=/var/mail/x", None),
        "Mail root directory not given: INBOX=/var/mail/x"
    );
    assert!(e("maildir:~nosuchuser_cote/x", None).starts_with(
        "No home directory for system user. Can't expand ~nosuchuser_cote for mail root dir"
    ));
    let none = disk(&[], &[]);
    let r = |l: &str| resolve(l, OWNER, &none).unwrap_err().to_string();
    assert_eq!(r("foo:/x"), "Unknown mail storage driver foo");
    assert_eq!(
        r("maildir:/x:LAYOUT=weird"),
        "Mailbox list driver weird: Unknown driver name"
    );
    assert_eq!(
        r("maildir:/x:DIRNAME=d"),
        "Mailbox list driver maildir++: maildir_name not supported by this driver"
    );
    assert_eq!(r("maildir:"), "Root mail directory not given");
    assert_eq!(
        r(""),
        "Mail storage autodetection failed with home=/home/al"
    );
    assert_eq!(
        r("auto:/nope"),
        "Autodetection failed for auto:/nope (home=/home/al)"
    );
    assert_eq!(
        r("/nope"),
        "Ambiguous mail location setting, don't know what to do with it: /nope (try prefixing it with mbox: or maildir:)"
    );
}

#[test]
fn precedence() {
    assert_eq!(
        effective_location(Some("maildir:/ns"), Some("maildir:/u"), "maildir:/g"),
        "maildir:/ns"
    );
    assert_eq!(
        effective_location(Some(""), Some("maildir:/u"), "maildir:/g"),
        "maildir:/u"
    );
    assert_eq!(effective_location(None, None, "maildir:/g"), "maildir:/g");
}

#[test]
fn autodetection_order() {
    let d = disk(
        &[
            "/home/al/Maildir",
            "/home/al/Maildir/cur",
            "/home/al/mdbox",
            "/home/al/mdbox/storage",
        ],
        &[],
    );
    let loc = resolve("", OWNER, &d).unwrap();
    assert_eq!(loc.format, MailFormat::Mdbox);
    let d = disk(
        &["/home/al/Maildir", "/home/al/Maildir/cur"],
        &["/home/al/mail/inbox"],
    );
    let loc = resolve("", OWNER, &d).unwrap();
    assert_eq!(
        (loc.format, loc.root_dir()),
        (MailFormat::Maildir, Some(Path::new("/home/al/Maildir")))
    );
    assert_eq!(
        loc.settings.inbox_path,
        Some(PathBuf::from("/home/al/Maildir"))
    );
    let d = disk(&[], &["/home/al/mail/inbox", "/var/mail/al"]);
    let loc = resolve("", OWNER, &d).unwrap();
    assert_eq!(loc.format, MailFormat::Mbox);
    assert_eq!(loc.settings.inbox_path, Some(PathBuf::from("/var/mail/al")));
    // a location without a driver is probed at that root
    let d = disk(&["/srv/m/cur"], &[]);
    assert_eq!(
        resolve("/srv/m", OWNER, &d).unwrap().format,
        MailFormat::Maildir
    );
    assert_eq!(
        resolve("auto:/srv/m", OWNER, &d).unwrap().format,
        MailFormat::Maildir
    );
}

#[test]
fn maildir_plus_plus_paths() {
    let none = disk(&[], &[]);
    let loc = resolve("maildir:/m/al:INDEX=/i/al:CONTROL=/c/al", OWNER, &none).unwrap();
    assert_eq!(loc.layout, Layout::MaildirPlusPlus);
    let inbox = loc.mailbox_paths("INBOX");
    assert_eq!(inbox.mailbox, PathBuf::from("/m/al"));
    assert_eq!(inbox.control, PathBuf::from("/c/al/.INBOX"));
    assert_eq!(inbox.index, Some(PathBuf::from("/i/al/.INBOX")));
    let sub = loc.mailbox_paths("Folder.Sub");
    assert_eq!(sub.mailbox, PathBuf::from("/m/al/.Folder.Sub"));
    assert_eq!(sub.control, PathBuf::from("/c/al/.Folder.Sub"));
    assert_eq!(
        loc.subscriptions_path(),
        Some(PathBuf::from("/c/al/subscriptions"))
    );
    assert_eq!(
        loc.uidvalidity_path(),
        Some(PathBuf::from("/c/al/dovecot-uidvalidity"))
    );
    let loc = resolve("maildir:/m/al:INDEX=MEMORY", OWNER, &none).unwrap();
    let inbox = loc.mailbox_paths("INBOX");
    assert_eq!(
        (inbox.control.clone(), inbox.index),
        (PathBuf::from("/m/al"), None)
    );
    assert_eq!(loc.index_root(), None);
    // INDEX equal to the root is no INDEX at all
    let loc = resolve("maildir:/m/al:INDEX=/m/al", OWNER, &none).unwrap();
    assert_eq!(
        loc.mailbox_paths("a").index,
        Some(PathBuf::from("/m/al/.a"))
    );
    // an explicit INBOX=
    let loc = resolve("maildir:/m/al:INBOX=/in/al", OWNER, &none).unwrap();
    assert_eq!(loc.mailbox_paths("INBOX").mailbox, PathBuf::from("/in/al"));
}

#[test]
fn fs_layout_paths() {
    let none = disk(&[], &[]);
    let loc = resolve("maildir:/m/al:LAYOUT=fs:INDEX=/i/al", OWNER, &none).unwrap();
    assert_eq!(loc.layout, Layout::Fs);
    let inbox = loc.mailbox_paths("INBOX");
    assert_eq!(inbox.mailbox, PathBuf::from("/m/al"));
    assert_eq!(inbox.index, Some(PathBuf::from("/i/al/INBOX")));
    assert_eq!(loc.mailbox_paths("a/b").mailbox, PathBuf::from("/m/al/a/b"));
    assert_eq!(loc.mailbox_paths("a/b").control, PathBuf::from("/m/al/a/b"));
    assert_eq!(
        loc.mailbox_paths("a/b").index,
        Some(PathBuf::from("/i/al/a/b"))
    );
    let loc = resolve(
        "maildir:/m/al:LAYOUT=fs:DIRNAME=Maildir:CONTROL=/c",
        OWNER,
        &none,
    )
    .unwrap();
    // with DIRNAME, INBOX is not the root
    assert_eq!(
        loc.mailbox_paths("INBOX").mailbox,
        PathBuf::from("/m/al/INBOX/Maildir")
    );
    assert_eq!(loc.mailbox_paths("a").control, PathBuf::from("/c/a"));
    let loc = resolve(
        "maildir:/m/al:LAYOUT=fs:FULLDIRNAME=Maildir:CONTROL=/c",
        OWNER,
        &none,
    )
    .unwrap();
    assert_eq!(
        loc.mailbox_paths("a").control,
        PathBuf::from("/c/a/Maildir")
    );
}
