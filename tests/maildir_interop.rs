//! Maildir interop with Dovecot 2.3 both ways: a private Dovecot writes a Maildir and cote's
//! readers get the UIDVALIDITY, UIDs, flags, keywords and names Dovecot reports; files cote
//! writes are served by Dovecot with the UIDs, flags, keywords and subscriptions cote meant.
//! Needs the oracle (`make oracle` or /opt/dovecot) and root; fails clearly without them.

mod maildir_support;

use std::collections::BTreeMap;
use std::path::Path;

use cote::config::var_expand::{expand, MailUserVars, Vars};
use cote::storage::maildir::{
    filename, keywords::Keywords, subscriptions::Subscriptions, uidlist::UidList,
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
    let mut list = UidList::new();
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
            let (flags, letters) = filename::flags(name.as_bytes());
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
