//! The invariant checker: reads every node's view (until they agree, or the settle time is
//! over), rebuilds the expected state from the journals, and counts every way the two
//! differ. Prints one line per problem (the first few of each kind) and a JSON summary on
//! stdout; fails when anything is wrong.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::journal;
use super::model::{Flag, Key, Model};
use super::snapshot::{self, Message, Snapshot};
use super::Cluster;

/// Problems shown per kind.
const EXAMPLES: usize = 5;

#[derive(Default)]
struct Findings {
    counts: BTreeMap<&'static str, usize>,
    examples: Vec<String>,
    shown: HashMap<&'static str, usize>,
}

impl Findings {
    fn add(&mut self, kind: &'static str, text: String) {
        *self.counts.entry(kind).or_default() += 1;
        let shown = self.shown.entry(kind).or_default();
        if *shown < EXAMPLES {
            *shown += 1;
            self.examples.push(format!("{kind}: {text}"));
        }
    }

    /// Counts that are fine to have (reported, not failures).
    fn note(&mut self, kind: &'static str) {
        *self.counts.entry(kind).or_default() += 1;
    }
}

/// Kinds that are not failures.
const BENIGN: &[&str] = &[
    "unacknowledged-present",
    "messages-checked",
    "flags-checked",
];

/// Reads the nodes, compares with the journals in `dir`; `settle`: how long the nodes may
/// take to agree (a cached shared filesystem shows new names late).
pub fn run_check(cluster: &Cluster, dir: &Path, settle: Duration) -> Result<bool, String> {
    let journals = journal::read_dir(dir)?;
    let workers = journals.len();
    let model = Model::build(&journals)?;
    let (snap, agreed, waited) = agreed_snapshot(cluster, settle)?;
    let mut findings = Findings::default();
    for v in &model.violations {
        findings.add("uid-reused", v.clone());
    }
    if !agreed {
        findings.add(
            "nodes-disagree",
            format!("the nodes still answered differently after {waited:?}"),
        );
    }
    check_messages(&model, &snap, workers, &mut findings);
    check_inboxes(&model, &snap, &mut findings);
    check_mailboxes(&model, &snap, &mut findings);
    for line in &findings.examples {
        eprintln!("  {line}");
    }
    let failed: usize = findings
        .counts
        .iter()
        .filter(|(k, _)| !BENIGN.contains(k))
        .map(|(_, n)| n)
        .sum();
    let summary = serde_json::json!({
        "acknowledged_operations": model.acknowledged,
        "nodes_agreed_after_ms": waited.as_millis() as u64,
        "findings": findings.counts,
        "failures": failed,
    });
    println!("{summary}");
    Ok(failed == 0)
}

/// Snapshots of every node, taken again until they are equal or `settle` has passed.
fn agreed_snapshot(
    cluster: &Cluster,
    settle: Duration,
) -> Result<(Snapshot, bool, Duration), String> {
    let start = Instant::now();
    loop {
        let mut snaps = Vec::new();
        for node in &cluster.nodes {
            snaps.push(
                snapshot::take(cluster, &node.imap).map_err(|e| format!("{}: {e}", node.imap))?,
            );
        }
        let agreed = snaps.windows(2).all(|w| w[0] == w[1]);
        if agreed || start.elapsed() >= settle {
            if !agreed {
                describe_difference(&snaps);
            }
            let first = snaps.swap_remove(0);
            return Ok((first, agreed, start.elapsed()));
        }
        thread::sleep(Duration::from_millis(500));
    }
}

fn describe_difference(snaps: &[Snapshot]) {
    let (a, b) = (&snaps[0], &snaps[snaps.len() - 1]);
    for (user, boxes) in a {
        let Some(other) = b.get(user) else {
            eprintln!("  node difference: {user} missing on the last node");
            continue;
        };
        for (name, mb) in boxes {
            match other.get(name) {
                None => eprintln!("  node difference: {user}/{name} only on the first node"),
                Some(theirs) if theirs != mb => {
                    eprintln!(
                        "  node difference: {user}/{name}: {} vs {} messages, UIDVALIDITY {} vs {}",
                        mb.messages.len(),
                        theirs.messages.len(),
                        mb.uidvalidity,
                        theirs.uidvalidity
                    );
                    let only = |x: &[Message], y: &[Message]| -> Vec<String> {
                        x.iter()
                            .filter(|m| !y.contains(m))
                            .map(|m| format!("{} {:?} {:?}", m.uid, m.token, m.flags))
                            .collect()
                    };
                    eprintln!(
                        "    first node only: {:?}; last node only: {:?}",
                        only(&mb.messages, &theirs.messages),
                        only(&theirs.messages, &mb.messages)
                    );
                }
                Some(_) => {}
            }
        }
        for name in other.keys().filter(|n| !boxes.contains_key(*n)) {
            eprintln!("  node difference: {user}/{name} only on the last node");
        }
    }
}

fn check_messages(model: &Model, snap: &Snapshot, workers: usize, findings: &mut Findings) {
    // What is there, by key.
    let mut actual: HashMap<Key, (&Vec<String>, Option<&str>)> = HashMap::new();
    for (user, boxes) in snap {
        for (name, mb) in boxes {
            if name == "INBOX" {
                continue;
            }
            let place = (user.clone(), name.clone());
            if let Some(values) = model.uidvalidity.get(&place) {
                if values.len() > 1 || !values.contains(&mb.uidvalidity) {
                    findings.add(
                        "uidvalidity-changed",
                        format!(
                            "{user}/{name}: acknowledged {values:?}, now {}",
                            mb.uidvalidity
                        ),
                    );
                }
            }
            if mb.messages.windows(2).any(|w| w[0].uid >= w[1].uid) {
                findings.add("uid-order", format!("{user}/{name}: UIDs not increasing"));
            }
            // A message stored twice shows as an unexpected UID with a known token (copies
            // of one message into one mailbox are each acknowledged).
            for msg in &mb.messages {
                let k = (user.clone(), name.clone(), msg.uid);
                actual.insert(k, (&msg.flags, msg.token.as_deref()));
            }
        }
    }
    let expected = model.expected();
    let mut wanted: HashMap<&Key, &Option<String>> = HashMap::new();
    for (k, token) in &expected {
        wanted.insert(k, token);
        let Some((flags, got)) = actual.get(k) else {
            findings.add(
                "lost",
                format!(
                    "{}/{} UID {} ({token:?}) acknowledged, not there",
                    k.0, k.1, k.2
                ),
            );
            continue;
        };
        findings.note("messages-checked");
        if let Some(token) = token {
            if Some(token.as_str()) != *got {
                findings.add(
                    "wrong-message",
                    format!(
                        "{}/{} UID {}: {got:?}, acknowledged as {token}",
                        k.0, k.1, k.2
                    ),
                );
            }
        }
        for (flag, on) in model.final_flags(k, workers) {
            let name = match flag {
                Flag::Keyword(n) => format!("w{n}"),
                Flag::Flagged => "\\Flagged".to_string(),
            };
            findings.note("flags-checked");
            if flags.iter().any(|f| f.eq_ignore_ascii_case(&name)) != on {
                findings.add(
                    "wrong-flags",
                    format!(
                        "{}/{} UID {}: {name} should be {}, flags {flags:?}",
                        k.0,
                        k.1,
                        k.2,
                        if on { "set" } else { "clear" }
                    ),
                );
            }
        }
    }
    for (k, (_, token)) in &actual {
        if wanted.contains_key(k) || model.in_doubt(k) {
            continue;
        }
        if model.acknowledged_gone(k) {
            findings.add(
                "reappeared",
                format!("{}/{} UID {} ({token:?})", k.0, k.1, k.2),
            );
            continue;
        }
        if model.is_created(k) {
            continue;
        }
        match model.explain_extra(&(k.0.clone(), k.1.clone()), *token) {
            Some(true) => findings.note("unacknowledged-present"),
            Some(false) => findings.add(
                "refused-but-stored",
                format!("{}/{} UID {} ({token:?})", k.0, k.1, k.2),
            ),
            None => findings.add(
                "unexpected",
                format!("{}/{} UID {} ({token:?})", k.0, k.1, k.2),
            ),
        }
    }
}

fn check_inboxes(model: &Model, snap: &Snapshot, findings: &mut Findings) {
    for (user, inbox) in &model.inbox {
        let Some(mb) = snap.get(user).and_then(|b| b.get("INBOX")) else {
            findings.add("lost", format!("{user}/INBOX is not there"));
            continue;
        };
        let mut present: HashMap<&str, usize> = HashMap::new();
        for msg in &mb.messages {
            match msg.token.as_deref() {
                Some(t) => *present.entry(t).or_default() += 1,
                None => findings.add(
                    "unexpected",
                    format!("{user}/INBOX UID {} without a token", msg.uid),
                ),
            }
        }
        for token in &inbox.delivered {
            let gone = inbox.deleted.contains(token) || inbox.maybe_deleted.contains(token);
            if !gone && !present.contains_key(token.as_str()) {
                findings.add(
                    "lost",
                    format!("{user}/INBOX: delivery {token} (LMTP 250) not there"),
                );
            } else if !gone {
                findings.note("messages-checked");
            }
        }
        for (token, n) in present {
            if n > 1 {
                findings.add("duplicate", format!("{user}/INBOX: {token} {n} times"));
            }
            if inbox.deleted.contains(token) {
                findings.add(
                    "reappeared",
                    format!("{user}/INBOX: {token} deleted by POP3 QUIT"),
                );
            } else if inbox.refused.contains(token) {
                findings.add(
                    "refused-but-stored",
                    format!("{user}/INBOX: {token} (LMTP refused it)"),
                );
            } else if inbox.maybe_delivered.contains(token) {
                findings.note("unacknowledged-present");
            } else if !inbox.delivered.contains(token) {
                findings.add("unexpected", format!("{user}/INBOX: {token}"));
            }
        }
        for token in &inbox.seen {
            let known = inbox.delivered.contains(token) || inbox.maybe_delivered.contains(token);
            if !known {
                findings.add("unexpected", format!("{user}: POP3 showed {token}"));
            }
        }
    }
}

fn check_mailboxes(model: &Model, snap: &Snapshot, findings: &mut Findings) {
    let exists = |place: &(String, String)| {
        snap.get(&place.0)
            .is_some_and(|boxes| boxes.contains_key(&place.1))
    };
    for place in &model.boxes_present {
        if !model.boxes_uncertain.contains(place) && !exists(place) {
            findings.add(
                "lost",
                format!("mailbox {}/{} is not there", place.0, place.1),
            );
        }
    }
    for place in &model.boxes_gone {
        if !model.boxes_uncertain.contains(place)
            && !model.boxes_present.contains(place)
            && exists(place)
        {
            findings.add(
                "reappeared",
                format!("mailbox {}/{} is back", place.0, place.1),
            );
        }
    }
}
