//! Maildir interop with Dovecot 2.3 both ways: a private Dovecot writes a Maildir and cote's
//! readers get the UIDVALIDITY, UIDs, flags, keywords and names Dovecot reports; files cote
//! writes are served by Dovecot with the UIDs, flags, keywords and subscriptions cote meant.
//! Needs the oracle (`make oracle` or /opt/dovecot) and root; fails clearly without them.

mod maildir_support;

use std::collections::BTreeMap;
use std::path::Path;

use cote::config::var_expand::{expand, MailUserVars, Vars};
use cote::storage::maildir::{
    filename::InfoSeparator, keywords::Keywords, subscriptions::Subscriptions, uidlist::UidList,
};
use cote::storage::names::{self, NameRules};
use maildir_support::{list_dir, Oracle};

/// What Dovecot reports for a mailbox, or what cote reads from its files.
#[derive(Debug, Default, PartialEq, Eq)]
struct BoxState {
    uid_validity: u32,
    uid_next: u32,
    /// UID → flag names (system flags as IMAP names, keywords), sorted.
    messages: BTreeMap<u32, Vec<String>>,
}

/// Python: prints `STATUS <box> <validity> <uidnext>` and `MSG <box> <uid> <flags...>`.
fn py_dump_boxes(boxes: &[&str]) -> String {
    let mut s = String::from("import re\n");
    for b in boxes {
        s.push_str(&format!(
            "typ, st = c.status({b:?}, '(UIDVALIDITY UIDNEXT)')\n\
             v = re.search(rb'UIDVALIDITY (\\d+)', st[0]).group(1).decode()\n\
             n = re.search(rb'UIDNEXT (\\d+)', st[0]).group(1).decode()\n\
             print('STATUS', {b:?}, v, n)\n\
             c.select({b:?}, readonly=True)\n\
             typ, data = c.uid('FETCH', '1:*', '(FLAGS)')\n\
             for d in data:\n    \
                 if d is None: continue\n    \
                 m = re.search(rb'UID (\\d+) FLAGS \\(([^)]*)\\)', d) or re.search(rb'FLAGS \\(([^)]*)\\) UID (\\d+)', d)\n    \
                 if m is None: continue\n    \
                 g = m.groups()\n    \
                 uid, flags = (g[0], g[1]) if g[0].isdigit() else (g[1], g[0])\n    \
                 print('MSG', {b:?}, uid.decode(), ' '.join(sorted(f for f in flags.decode().split() if f != '\\\\Recent')))\n"
        ));
    }
    s
}

fn parse_dump(lines: &[String]) -> BTreeMap<String, BoxState> {
    let mut boxes: BTreeMap<String, BoxState> = BTreeMap::new();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[0] {
            "STATUS" => {
                let b = boxes.entry(parts[1].to_string()).or_default();
                b.uid_validity = parts[2].parse().unwrap();
                b.uid_next = parts[3].parse().unwrap();
            }
            "MSG" => {
                let mut flags: Vec<String> = parts[3..]
                    .iter()
                    .filter(|f| !f.is_empty())
                    .map(|f| f.to_string())
                    .collect();
                flags.sort();
                boxes
                    .entry(parts[1].to_string())
                    .or_default()
                    .messages
                    .insert(parts[2].parse().unwrap(), flags);
            }
            _ => {}
        }
    }
    boxes
}

/// Reads one Maildir mailbox the way cote does: uidlist for UIDs, file names for flags,
/// dovecot-keywords for keyword names.
fn cote_read_box(dir: &Path) -> BoxState {
    let data = std::fs::read(dir.join("dovecot-uidlist")).expect("dovecot-uidlist");
    let mut list = UidList::new(InfoSeparator::DOVECOT);
    list.read_full(&data).expect("uidlist parses");
    let kw = Keywords::parse(&std::fs::read(dir.join("dovecot-keywords")).unwrap_or_default());
    let mut state = BoxState {
        uid_validity: list.uid_validity(),
        uid_next: list.next_uid(),
        ..BoxState::default()
    };
    for sub in ["new", "cur"] {
        for name in list_dir(&dir.join(sub)) {
            let uid = list
                .uid_of(name.as_bytes())
                .unwrap_or_else(|| panic!("{name} is not in the uidlist"));
            let (flags, letters) = InfoSeparator::DOVECOT.flags(name.as_bytes());
            let mut names: Vec<String> = flags.names().map(str::to_string).collect();
            for l in letters {
                names.push(
                    kw.name_of_letter(l)
                        .expect("keyword letter is known")
                        .to_string(),
                );
            }
            names.sort();
            state.messages.insert(uid, names);
        }
    }
    state
}

#[test]
fn var_expansion_matches_dovecots_directories() {
    let location = "maildir:{dir}/mail/%2.256Nu/%1Mu/%2.1Mu/%u/%4.100Hu/%Ld/%-3.n/%.-2n";
    let oracle = Oracle::start(location, "");
    let users = [
        "alice",
        "bob@example.com",
        "carol.smith@sub.example.org",
        "d",
    ];
    for user in users {
        oracle.imap(user, "c.select('INBOX')");
    }
    let template = location.replace("{dir}", &oracle.dir.path().display().to_string());
    for user in users {
        let vars = Vars::mail_user(&MailUserVars {
            user: user.to_string(),
            ..MailUserVars::default()
        });
        let expanded = expand(&template, &vars).unwrap();
        let root = expanded.strip_prefix("maildir:").unwrap();
        assert!(
            Path::new(root).join("cur").is_dir(),
            "{user}: Dovecot did not create {root}; it made:\n{}",
            String::from_utf8_lossy(
                &std::process::Command::new("find")
                    .arg(oracle.path("mail"))
                    .output()
                    .unwrap()
                    .stdout
            )
        );
    }
}

const MSG: &str = "b'From: a@example.com\\r\\nSubject: hello\\r\\n\\r\\nbody\\r\\n'";

#[test]
fn cote_reads_what_dovecot_wrote() {
    let oracle = Oracle::start(
        "maildir:~/Maildir",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
    );
    oracle.imap(
        "alice",
        &format!(
            "c.create('Archive/2024')\nc.create('Entw&APw-rfe')\nc.create('a&-b')\n\
             c.subscribe('Archive/2024')\nc.subscribe('Entw&APw-rfe')\nc.subscribe('INBOX')\n\
             c.append('INBOX', r'(\\Seen $Junk NonJunk)', None, {MSG})\n\
             c.append('INBOX', r'(\\Flagged \\Answered)', None, {MSG})\n\
             c.append('INBOX', None, None, {MSG})\n\
             c.append('Archive/2024', r'(\\Draft custom1 $Junk)', None, {MSG})\n\
             c.select('INBOX')\nc.uid('STORE', '3', '+FLAGS', r'(\\Deleted later)')\n\
             c.append('INBOX', None, None, {MSG})\nc.uid('STORE', '4', '+FLAGS', r'(\\Seen)')\nc.expunge()\n"
        ),
    );
    let boxes = ["INBOX", "Archive/2024", "Entw&APw-rfe", "a&-b"];
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump_boxes(&boxes)));
    let root = oracle.path("home/alice/Maildir");
    let rules = NameRules::maildir_plus_plus('/');
    for b in boxes {
        let vname = cote::storage::mutf7::decode(b.as_bytes()).unwrap();
        let storage = names::storage_name(&rules, &vname).unwrap();
        let dir = if storage == "INBOX" {
            root.clone()
        } else {
            root.join(format!(".{storage}"))
        };
        assert!(dir.join("cur").is_dir(), "{b}: no {}", dir.display());
        if storage != "INBOX" {
            assert!(dir.join("maildirfolder").is_file(), "{b}: no maildirfolder");
        }
        let cote = cote_read_box(&dir);
        assert_eq!(cote, dovecot[b], "mailbox {b}");
    }
    // The folder names on disk map back to the names Dovecot lists.
    let mut on_disk: Vec<String> = list_dir(&root)
        .into_iter()
        .filter(|n| n.starts_with('.') && n != "." && n != "..")
        .map(|n| names::vname(&rules, &n.as_bytes()[1..]).unwrap())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, vec!["Archive/2024", "Entwürfe", "a&b"]);
    // Subscriptions: Dovecot's file read by cote = Dovecot's LSUB.
    let lsub = oracle.imap(
        "alice",
        "typ, data = c.lsub()\nfor d in data: print(d.decode().rsplit(' ', 1)[1].strip('\"'))",
    );
    let subs = Subscriptions::parse(&std::fs::read(root.join("subscriptions")).unwrap()).unwrap();
    assert_eq!(subs.version(), 2);
    let mut cote_subs: Vec<String> = subs
        .names(b'.')
        .iter()
        .map(|n| cote::storage::mutf7::encode(&names::vname(&rules, n).unwrap()))
        .collect();
    cote_subs.sort();
    let mut dovecot_subs = lsub.clone();
    dovecot_subs.sort();
    assert_eq!(cote_subs, dovecot_subs);
    // UIDVALIDITY generator: the root file holds the last value handed out, and one marker.
    let value = std::fs::read_to_string(root.join("dovecot-uidvalidity")).unwrap();
    let max_validity = dovecot.values().map(|b| b.uid_validity).max().unwrap();
    assert_eq!(u32::from_str_radix(&value, 16).unwrap(), max_validity);
    assert!(root.join(format!("dovecot-uidvalidity.{value}")).is_file());
    // UIDs and flags of INBOX, spelled out.
    let inbox = &dovecot["INBOX"];
    assert_eq!(
        inbox.messages.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    assert_eq!(inbox.messages[&1], vec!["$Junk", "NonJunk", "\\Seen"]);
    assert_eq!(inbox.uid_next, 5);
}

/// What cote wrote into one mailbox: UID → flag names.
fn expected(records: &[(u32, Vec<&str>)]) -> BTreeMap<u32, Vec<String>> {
    records
        .iter()
        .map(|(uid, flags)| {
            let mut f: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
            f.sort();
            (*uid, f)
        })
        .collect()
}

#[test]
fn dovecot_reads_what_cote_wrote() {
    use cote::fs::{ops, CreatePerms, FsPolicy};
    use cote::storage::flags::MailFlags;
    use cote::storage::location::{resolve, FsProbe, LocationOwner};
    use cote::storage::maildir::filename::BaseNameGenerator;
    use cote::storage::maildir::keywords_file::KeywordsFile;
    use cote::storage::maildir::uidlist_file::{Refresh, UidListFile};
    use cote::storage::maildir::{layout, save, subscriptions_file, uidvalidity};

    let oracle = Oracle::start(
        "maildir:~/Maildir",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n",
    );
    let home = oracle.path("home/alice");
    std::fs::create_dir_all(&home).unwrap();
    let policy = FsPolicy::dovecot_defaults();
    let owner = LocationOwner {
        home: Some(home.to_str().unwrap()),
        username: "alice",
        has_inbox: true,
    };
    let loc = resolve("maildir:~/Maildir", owner, &FsProbe).unwrap();
    let rules = NameRules::maildir_plus_plus('/');
    let mut gen = BaseNameGenerator::for_this_process(InfoSeparator::DOVECOT).unwrap();
    let flag = |s: &str| -> MailFlags {
        s.chars().fold(MailFlags::empty(), |f, c| {
            f | match c {
                'S' => MailFlags::SEEN,
                'F' => MailFlags::FLAGGED,
                'R' => MailFlags::ANSWERED,
                'D' => MailFlags::DRAFT,
                'T' => MailFlags::DELETED,
                _ => MailFlags::empty(),
            }
        })
    };
    // (mailbox, [(flags, keywords)]) in delivery order
    // (mailbox, [(flags, keywords)]) in delivery order
    type Plan<'a> = Vec<(&'a str, Vec<(&'a str, Vec<&'a str>)>)>;
    let plan: Plan = vec![
        (
            "INBOX",
            vec![
                ("", vec![]),
                ("S", vec!["$Junk"]),
                ("FR", vec!["custom", "$Junk"]),
            ],
        ),
        ("Archive/2024", vec![("D", vec!["NonJunk"])]),
        ("Entwürfe", vec![]),
    ];
    let msg = b"From: a@example.com\nSubject: hello\n\nbody\n";
    let mut want: BTreeMap<String, BoxState> = BTreeMap::new();
    for (vname, messages) in &plan {
        let storage = names::storage_name_for_create(&rules, vname).unwrap();
        assert!(layout::create_mailbox(&loc, &storage).unwrap());
        let paths = loc.mailbox_paths(&storage);
        let perms = CreatePerms::from_path(&paths.mailbox).unwrap().unwrap();
        let mut kw = KeywordsFile::new(&paths.control, &policy);
        let mut uidlist = UidListFile::new(
            &paths.mailbox,
            &paths.control,
            &policy,
            InfoSeparator::DOVECOT,
        );
        let (mut lock, refresh) = uidlist.lock().unwrap();
        assert_eq!(refresh, Refresh::Missing);
        kw.refresh().unwrap();
        let mut delivered = Vec::new();
        for (flags, keywords) in messages {
            let letters: Vec<u8> = keywords
                .iter()
                .map(|k| kw.keywords_mut().letter_or_add(k).unwrap())
                .collect();
            delivered.push(
                save::deliver(
                    &paths.mailbox,
                    &mut gen,
                    msg,
                    flag(flags),
                    &letters,
                    &perms,
                    &policy,
                )
                .unwrap(),
            );
        }
        kw.commit(&lock, &perms).unwrap();
        let validity = uidvalidity::next(
            loc.control_root().unwrap(),
            &layout::root_perms(&loc).unwrap(),
        );
        // the first file makes the uidlist (a rewrite), the rest is appended
        let mut records = Vec::new();
        for d in &delivered {
            records.extend(
                uidlist
                    .add_files(&mut lock, vec![d.name.clone().into_bytes()], || validity)
                    .unwrap(),
            );
        }
        if delivered.is_empty() {
            uidlist.add_files(&mut lock, vec![], || validity).unwrap();
        }
        lock.release().unwrap();
        let mut state = BoxState {
            uid_validity: validity,
            uid_next: records.len() as u32 + 1,
            ..Default::default()
        };
        for ((rec, (flags, keywords)), _) in records.iter().zip(messages).zip(&delivered) {
            let mut names: Vec<&str> = flag(flags).names().collect();
            names.extend(keywords.iter().copied());
            state.messages.extend(expected(&[(rec.uid, names)]));
        }
        want.insert(cote::storage::mutf7::encode(vname), state);
        subscriptions_file::set_subscribed(
            &loc.subscriptions_path().unwrap(),
            &layout::root_perms(&loc).unwrap(),
            &policy,
            storage.as_bytes(),
            b'.',
            true,
        )
        .unwrap();
    }
    // One more INBOX message, then a rewrite of the uidlist that drops an expunged one.
    let inbox = loc.mailbox_paths("INBOX");
    let perms = CreatePerms::from_path(&inbox.mailbox).unwrap().unwrap();
    let mut uidlist = UidListFile::new(
        &inbox.mailbox,
        &inbox.control,
        &policy,
        InfoSeparator::DOVECOT,
    );
    let (mut lock, _) = uidlist.lock().unwrap();
    let d = save::deliver(
        &inbox.mailbox,
        &mut gen,
        msg,
        MailFlags::empty(),
        b"",
        &perms,
        &policy,
    )
    .unwrap();
    let rec = uidlist
        .add_files(&mut lock, vec![d.name.into_bytes()], || unreachable!())
        .unwrap();
    assert_eq!(rec[0].uid, 4);
    let first = uidlist.list().get(1).unwrap().filename.clone();
    ops::unlink(
        &inbox
            .mailbox
            .join("new")
            .join(String::from_utf8(first).unwrap()),
    )
    .unwrap();
    uidlist.expunge(&mut lock, &[1]).unwrap();
    uidlist.rewrite(&mut lock).unwrap();
    lock.release().unwrap();
    let w = want.get_mut("INBOX").unwrap();
    w.messages.remove(&1);
    w.messages.insert(4, vec![]);
    w.uid_next = 5;

    maildir_support::chown_tree(&home);
    let boxes: Vec<String> = want.keys().cloned().collect();
    let box_refs: Vec<&str> = boxes.iter().map(String::as_str).collect();
    let dovecot = parse_dump(&oracle.imap("alice", &py_dump_boxes(&box_refs)));
    for b in &boxes {
        assert_eq!(
            dovecot[b],
            want[b],
            "mailbox {b}; Dovecot log:\n{}",
            oracle.log()
        );
    }
    let mut lsub = oracle.imap(
        "alice",
        "typ, data = c.lsub()\nfor d in data: print(d.decode().rsplit(' ', 1)[1].strip('\"'))",
    );
    lsub.sort();
    let mut want_subs = boxes.clone();
    want_subs.sort();
    assert_eq!(lsub, want_subs);
    assert_eq!(oracle.complaints(), Vec::<String>::new());

    // And back: Dovecot appends to INBOX; cote's refresh reads the appended UID.
    oracle.imap(
        "alice",
        &format!("c.append('INBOX', r'(\\Seen)', None, {MSG})"),
    );
    match uidlist.refresh().unwrap() {
        Refresh::Read(_) => {}
        other => panic!("expected Dovecot's append to be read, got {other:?}"),
    }
    assert_eq!(uidlist.list().next_uid(), 6);
    assert_eq!(uidlist.list().get(5).map(|r| r.uid), Some(5));
}
