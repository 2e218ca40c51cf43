//! What one node shows of the store: per user, every mailbox with its UIDVALIDITY and, per
//! message in sequence order, its UID, flags (without \Recent) and token.

use std::collections::BTreeMap;

use super::message::token_in;
use super::Cluster;
use crate::imap::{quote, wrong, Client, ClientError, Reply};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub uid: u32,
    pub flags: Vec<String>,
    pub token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    pub uidvalidity: u32,
    /// In sequence order.
    pub messages: Vec<Message>,
}

/// user → mailbox name → contents.
pub type Snapshot = BTreeMap<String, BTreeMap<String, Mailbox>>;

/// Reads every user's mailboxes through the node at `addr`.
pub fn take(cluster: &Cluster, addr: &str) -> Result<Snapshot, ClientError> {
    let mut snap = Snapshot::new();
    for user in &cluster.users {
        let mut client = Client::connect(addr, cluster.timeout)?;
        client.login(user, &cluster.password)?;
        let list = client.command("LIST \"\" \"*\"")?;
        list.expect_ok("LIST")?;
        let mut boxes = BTreeMap::new();
        for name in list_names(&list) {
            let examine = client.command(&format!("EXAMINE {}", quote(&name)))?;
            if examine.status != "OK" {
                // Listed a moment ago, gone now (or \Noselect): not a mailbox to compare.
                continue;
            }
            let uidvalidity = examine
                .untagged
                .iter()
                .find_map(|l| number_after(&l.text, "[UIDVALIDITY "))
                .ok_or_else(|| wrong(format!("EXAMINE {name}: no UIDVALIDITY")))?;
            let fetch = client.command("UID FETCH 1:* (UID FLAGS ENVELOPE)")?;
            fetch.expect_ok("UID FETCH")?;
            let messages = fetch
                .numbered("FETCH")
                .map(|(_, line)| parse_fetch(&line.text))
                .collect::<Result<Vec<_>, _>>()?;
            boxes.insert(
                name,
                Mailbox {
                    uidvalidity,
                    messages,
                },
            );
        }
        let _ = client.command("LOGOUT");
        snap.insert(user.clone(), boxes);
    }
    Ok(snap)
}

/// Mailbox names of a LIST answer (quoted or atoms), selectable ones only.
fn list_names(reply: &Reply) -> Vec<String> {
    reply
        .untagged
        .iter()
        .filter(|l| l.text.starts_with("* LIST ") && !l.text.contains("\\Noselect"))
        .filter_map(|l| {
            let text = l.text.trim_end();
            if let Some(body) = text.strip_suffix('"') {
                let start = body.rfind(" \"")? + 2;
                Some(body[start..].replace("\\\"", "\"").replace("\\\\", "\\"))
            } else {
                text.rsplit(' ').next().map(str::to_string)
            }
        })
        .collect()
}

fn number_after(text: &str, prefix: &str) -> Option<u32> {
    let start = text.find(prefix)? + prefix.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `* n FETCH (UID u FLAGS (...) ENVELOPE (...))`, items in any order.
fn parse_fetch(text: &str) -> Result<Message, ClientError> {
    let uid = number_after(text, "UID ").ok_or_else(|| wrong(format!("no UID in {text}")))?;
    let start = text
        .find("FLAGS (")
        .ok_or_else(|| wrong(format!("no FLAGS in {text}")))?
        + "FLAGS (".len();
    let end = text[start..]
        .find(')')
        .ok_or_else(|| wrong(format!("bad FLAGS in {text}")))?
        + start;
    let mut flags: Vec<String> = text[start..end]
        .split_whitespace()
        .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
        .map(str::to_string)
        .collect();
    flags.sort();
    Ok(Message {
        uid,
        flags,
        token: token_in(text).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::Line;

    #[test]
    fn fetch_and_list_lines() {
        let m = parse_fetch(
            r#"* 2 FETCH (UID 17 FLAGS (w3 \Recent \Flagged) ENVELOPE ("d" "s" NIL NIL NIL NIL NIL NIL NIL "<w1m4@cluster.test>"))"#,
        )
        .unwrap();
        assert_eq!(m.uid, 17);
        assert_eq!(m.flags, ["\\Flagged", "w3"]);
        assert_eq!(m.token.as_deref(), Some("w1m4"));
        assert!(parse_fetch("* 1 FETCH (FLAGS ())").is_err());
        let line = |t: &str| Line {
            text: t.into(),
            literal_sizes: vec![],
        };
        let reply = Reply {
            untagged: vec![
                line(r#"* LIST (\HasNoChildren) "." INBOX"#),
                line(r#"* LIST (\HasNoChildren) "." "w1-b2r""#),
                line(r#"* LIST (\Noselect \HasChildren) "." "x""#),
            ],
            status: "OK".into(),
            tagged: "a OK".into(),
        };
        assert_eq!(list_names(&reply), ["INBOX", "w1-b2r"]);
    }
}
