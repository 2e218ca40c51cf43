//! What the journals say the store must hold: every acknowledged message where it was put,
//! minus what was acknowledged as expunged, moved away or deleted with its mailbox; what may
//! be there besides (operations whose answer never came); and the flags the last
//! acknowledged STOREs leave.
//!
//! Flags are checked only where ownership makes them exact (see `load`): keyword `wN` is
//! changed only by worker N, `\Flagged` only by the message's owner. A copy inherits a flag
//! from its source as it was at the copy: known when the copier is the one who changes that
//! flag (its own journal orders the two), or when nobody ever changed it on the source.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::journal::{Entry, Outcome};

/// (user, mailbox, uid).
pub type Key = (String, String, u32);

/// A flag value as far as the journals tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Known(bool),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// Keyword `wN` of worker N.
    Keyword(usize),
    Flagged,
}

#[derive(Debug, Clone)]
enum Origin {
    Append {
        token: String,
        flagged: bool,
    },
    /// A COPY or MOVE destination, made by the owner at `pos` in its journal.
    Copy {
        src: Key,
        pos: usize,
    },
}

#[derive(Debug, Clone)]
struct Created {
    origin: Origin,
    owner: usize,
}

/// Something that may be in a mailbox without an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Extra {
    Token(String),
    CopyOf(Key),
}

/// A user's INBOX, where LMTP delivers and POP3 deletes (tokens, no UIDs).
#[derive(Debug, Default)]
pub struct Inbox {
    pub delivered: HashSet<String>,
    pub maybe_delivered: HashSet<String>,
    pub refused: HashSet<String>,
    pub deleted: HashSet<String>,
    pub maybe_deleted: HashSet<String>,
    pub seen: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct Model {
    created: HashMap<Key, Created>,
    removed: HashSet<Key>,
    maybe_removed: HashSet<Key>,
    /// (user, mailbox) → UIDVALIDITY values acknowledged in APPENDUID/COPYUID.
    pub uidvalidity: HashMap<(String, String), BTreeSet<u32>>,
    maybe: HashMap<(String, String), Vec<Extra>>,
    refused: HashMap<(String, String), Vec<Extra>>,
    /// (worker, key, flag) → (position in the worker's journal, value).
    stores: HashMap<(usize, Key, Flag), Vec<(usize, Tri)>>,
    /// Mailboxes that must exist / must not exist at the end; ones whose fate is unknown.
    pub boxes_present: HashSet<(String, String)>,
    pub boxes_gone: HashSet<(String, String)>,
    pub boxes_uncertain: HashSet<(String, String)>,
    pub inbox: HashMap<String, Inbox>,
    /// Contradictions inside the journals themselves (one UID acknowledged twice).
    pub violations: Vec<String>,
    /// Operations the servers acknowledged.
    pub acknowledged: usize,
}

fn key(e: &Entry, box_field: &str, uid_field: &str) -> Result<Key, String> {
    Ok((
        e.get("user")?.to_string(),
        e.get(box_field)?.to_string(),
        e.num(uid_field)?,
    ))
}

impl Model {
    pub fn build(journals: &[Vec<Entry>]) -> Result<Model, String> {
        let mut m = Model::default();
        let mut renames: HashMap<(String, String), String> = HashMap::new();
        for journal in journals {
            for (pos, e) in journal.iter().enumerate() {
                if e.outcome == Outcome::Done {
                    m.acknowledged += 1;
                }
                m.add(e, pos, &mut renames)?;
            }
        }
        m.apply_renames(&renames);
        Ok(m)
    }

    fn add(
        &mut self,
        e: &Entry,
        pos: usize,
        renames: &mut HashMap<(String, String), String>,
    ) -> Result<(), String> {
        let user = e.get("user")?.to_string();
        match e.event.as_str() {
            "append" => {
                let place = (user.clone(), e.get("box")?.to_string());
                let token = e.get("token")?.to_string();
                match e.outcome {
                    Outcome::Done => {
                        let k = key(e, "box", "uid")?;
                        self.note_uidvalidity(&place, e.num("uidv")?);
                        let origin = Origin::Append {
                            token,
                            flagged: e.get("flagged")? == "1",
                        };
                        self.create(k, origin, e.worker);
                    }
                    Outcome::Unknown => self
                        .maybe
                        .entry(place)
                        .or_default()
                        .push(Extra::Token(token)),
                    Outcome::Refused => self
                        .refused
                        .entry(place)
                        .or_default()
                        .push(Extra::Token(token)),
                }
            }
            "copy" | "move" => {
                let src = key(e, "from", "src")?;
                let place = (user.clone(), e.get("to")?.to_string());
                match e.outcome {
                    Outcome::Done => {
                        let dst = e.num("dst")?;
                        if dst != 0 {
                            self.note_uidvalidity(&place, e.num("uidv")?);
                            let k = (user.clone(), place.1.clone(), dst);
                            self.create(
                                k,
                                Origin::Copy {
                                    src: src.clone(),
                                    pos,
                                },
                                e.worker,
                            );
                            if e.event == "move" {
                                self.removed.insert(src);
                            }
                        }
                    }
                    Outcome::Unknown => {
                        self.maybe
                            .entry(place)
                            .or_default()
                            .push(Extra::CopyOf(src.clone()));
                        if e.event == "move" {
                            self.maybe_removed.insert(src);
                        }
                    }
                    Outcome::Refused => {
                        self.refused
                            .entry(place)
                            .or_default()
                            .push(Extra::CopyOf(src));
                    }
                }
            }
            "expunge" => {
                let k = key(e, "box", "uid")?;
                match e.outcome {
                    Outcome::Done => {
                        self.removed.insert(k);
                    }
                    Outcome::Unknown => {
                        self.maybe_removed.insert(k);
                    }
                    Outcome::Refused => {}
                }
            }
            "store" => {
                let k = key(e, "box", "uid")?;
                let flag = match e.get("flag")? {
                    "kw" => Flag::Keyword(e.worker),
                    _ => Flag::Flagged,
                };
                let value = match e.outcome {
                    Outcome::Done => Tri::Known(e.get("on")? == "1"),
                    Outcome::Unknown => Tri::Unknown,
                    Outcome::Refused => return Ok(()),
                };
                self.stores
                    .entry((e.worker, k, flag))
                    .or_default()
                    .push((pos, value));
            }
            "mbox-create" => {
                let place = (user, e.get("box")?.to_string());
                match e.outcome {
                    Outcome::Done => {
                        self.boxes_present.insert(place);
                    }
                    Outcome::Unknown => {
                        self.boxes_uncertain.insert(place);
                    }
                    Outcome::Refused => {}
                }
            }
            "mbox-rename" => {
                let from = (user.clone(), e.get("from")?.to_string());
                let to = (user, e.get("to")?.to_string());
                match e.outcome {
                    Outcome::Done => {
                        self.boxes_present.remove(&from);
                        self.boxes_gone.insert(from.clone());
                        self.boxes_present.insert(to.clone());
                        renames.insert(from, to.1);
                    }
                    Outcome::Unknown => {
                        self.boxes_uncertain.insert(from);
                        self.boxes_uncertain.insert(to);
                    }
                    Outcome::Refused => {}
                }
            }
            "mbox-delete" => {
                let place = (user, e.get("box")?.to_string());
                match e.outcome {
                    Outcome::Done => {
                        self.boxes_present.remove(&place);
                        self.boxes_gone.insert(place);
                    }
                    Outcome::Unknown => {
                        self.boxes_uncertain.insert(place);
                    }
                    Outcome::Refused => {}
                }
            }
            "deliver" => {
                let token = e.get("token")?.to_string();
                let inbox = self.inbox.entry(user).or_default();
                match e.outcome {
                    Outcome::Done => inbox.delivered.insert(token),
                    Outcome::Unknown => inbox.maybe_delivered.insert(token),
                    Outcome::Refused => inbox.refused.insert(token),
                };
            }
            "pop3" => {
                let inbox = self.inbox.entry(user).or_default();
                inbox.seen.extend(e.list("seen")?);
                let deleted = e.list("deleted")?;
                match e.outcome {
                    Outcome::Done => inbox.deleted.extend(deleted),
                    Outcome::Unknown => inbox.maybe_deleted.extend(deleted),
                    Outcome::Refused => {}
                }
            }
            other => return Err(format!("journal: unknown event {other:?}")),
        }
        Ok(())
    }

    fn note_uidvalidity(&mut self, place: &(String, String), uidv: u32) {
        self.uidvalidity
            .entry(place.clone())
            .or_default()
            .insert(uidv);
    }

    fn create(&mut self, k: Key, origin: Origin, owner: usize) {
        if let Some(earlier) = self.created.get(&k) {
            self.violations.push(format!(
                "UID reused: {}/{} UID {} acknowledged to worker {} and to worker {owner}",
                k.0, k.1, k.2, earlier.owner
            ));
        }
        self.created.insert(k, Created { origin, owner });
    }

    /// Messages appended into a worker's mailbox live under its final name.
    fn apply_renames(&mut self, renames: &HashMap<(String, String), String>) {
        let final_name = |user: &str, name: &str| -> String {
            let mut name = name.to_string();
            for _ in 0..renames.len() + 1 {
                match renames.get(&(user.to_string(), name.clone())) {
                    Some(next) => name = next.clone(),
                    None => break,
                }
            }
            name
        };
        let rekey = |k: Key| -> Key {
            let name = final_name(&k.0, &k.1);
            (k.0, name, k.2)
        };
        self.created = std::mem::take(&mut self.created)
            .into_iter()
            .map(|(k, c)| (rekey(k), c))
            .collect();
        self.uidvalidity = std::mem::take(&mut self.uidvalidity)
            .into_iter()
            .map(|((u, b), v)| {
                let name = final_name(&u, &b);
                ((u, name), v)
            })
            .collect();
        self.maybe = std::mem::take(&mut self.maybe)
            .into_iter()
            .map(|((u, b), v)| {
                let name = final_name(&u, &b);
                ((u, name), v)
            })
            .collect();
    }

    /// Whether the mailbox of `place` ends deleted or in doubt (its messages are not checked).
    fn box_settled_away(&self, place: &(String, String)) -> bool {
        self.boxes_gone.contains(place) || self.boxes_uncertain.contains(place)
    }

    /// The messages that must be there, with their tokens (None: the source of a copy whose
    /// token the journals don't tell).
    pub fn expected(&self) -> Vec<(Key, Option<String>)> {
        let mut out: Vec<(Key, Option<String>)> = self
            .created
            .keys()
            .filter(|k| !self.removed.contains(*k) && !self.maybe_removed.contains(*k))
            .filter(|k| !self.box_settled_away(&(k.0.clone(), k.1.clone())))
            .map(|k| (k.clone(), self.token(k, 0)))
            .collect();
        out.sort();
        out
    }

    /// Whether `k` was acknowledged as created, and then as gone.
    pub fn acknowledged_gone(&self, k: &Key) -> bool {
        self.created.contains_key(k) && self.removed.contains(k)
    }

    pub fn is_created(&self, k: &Key) -> bool {
        self.created.contains_key(k)
    }

    pub fn in_doubt(&self, k: &Key) -> bool {
        self.maybe_removed.contains(k) || self.box_settled_away(&(k.0.clone(), k.1.clone()))
    }

    /// How an unacknowledged message with `token` in `place` can be explained: Some(true)
    /// by an operation without an answer, Some(false) by a refused one (it should not be
    /// there), None not at all.
    pub fn explain_extra(&self, place: &(String, String), token: Option<&str>) -> Option<bool> {
        let matches = |extras: Option<&Vec<Extra>>| {
            extras.is_some_and(|list| {
                list.iter().any(|x| match x {
                    Extra::Token(t) => Some(t.as_str()) == token,
                    Extra::CopyOf(src) => {
                        let t = self.token(src, 0);
                        t.is_none() || t.as_deref() == token
                    }
                })
            })
        };
        if matches(self.maybe.get(place)) {
            Some(true)
        } else if matches(self.refused.get(place)) {
            Some(false)
        } else {
            None
        }
    }

    fn token(&self, k: &Key, depth: usize) -> Option<String> {
        if depth > 100_000 {
            return None;
        }
        match &self.created.get(k)?.origin {
            Origin::Append { token, .. } => Some(token.clone()),
            Origin::Copy { src, .. } => self.token(src, depth + 1),
        }
    }

    fn owner(&self, k: &Key) -> Option<usize> {
        self.created.get(k).map(|c| c.owner)
    }

    fn ever_stored(&self, worker: usize, k: &Key, flag: Flag) -> bool {
        self.stores.contains_key(&(worker, k.clone(), flag))
    }

    /// The value of `flag` on `k` as `worker` (who alone changes it) left it before position
    /// `pos` of its journal.
    fn value_at(&self, worker: usize, k: &Key, flag: Flag, pos: usize, depth: usize) -> Tri {
        let last = self
            .stores
            .get(&(worker, k.clone(), flag))
            .and_then(|list| list.iter().rev().find(|(p, _)| *p < pos));
        match last {
            Some(&(_, value)) => value,
            None => self.initial(k, flag, depth + 1),
        }
    }

    /// `flag` on `k` when it was created.
    fn initial(&self, k: &Key, flag: Flag, depth: usize) -> Tri {
        if depth > 100_000 {
            return Tri::Unknown;
        }
        let Some(created) = self.created.get(k) else {
            return Tri::Unknown;
        };
        match (&created.origin, flag) {
            (Origin::Append { .. }, Flag::Keyword(_)) => Tri::Known(false),
            (Origin::Append { flagged, .. }, Flag::Flagged) => Tri::Known(*flagged),
            (Origin::Copy { src, pos }, _) => {
                let changer = match flag {
                    Flag::Keyword(n) => Some(n),
                    Flag::Flagged => self.owner(src),
                };
                let Some(changer) = changer else {
                    return Tri::Unknown;
                };
                if changer == created.owner {
                    self.value_at(changer, src, flag, *pos, depth + 1)
                } else if self.ever_stored(changer, src, flag) {
                    Tri::Unknown
                } else {
                    self.initial(src, flag, depth + 1)
                }
            }
        }
    }

    /// The flags `k` must end with: (flag, present).
    pub fn final_flags(&self, k: &Key, workers: usize) -> Vec<(Flag, bool)> {
        let mut out = Vec::new();
        for n in 0..workers {
            if let Tri::Known(on) = self.value_at(n, k, Flag::Keyword(n), usize::MAX, 0) {
                out.push((Flag::Keyword(n), on));
            }
        }
        if let Some(owner) = self.owner(k) {
            if let Tri::Known(on) = self.value_at(owner, k, Flag::Flagged, usize::MAX, 0) {
                out.push((Flag::Flagged, on));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(event: &str, outcome: Outcome, w: usize, fields: &[(&str, &str)]) -> Entry {
        let mut entry = Entry::new(event, outcome, w).with("user", "u1");
        for (k, v) in fields {
            entry = entry.with(k, v);
        }
        entry
    }

    fn k(name: &str, uid: u32) -> Key {
        ("u1".to_string(), name.to_string(), uid)
    }

    #[test]
    fn copies_moves_expunges_and_flags() {
        use Outcome::*;
        let w0 = vec![
            e(
                "append",
                Done,
                0,
                &[
                    ("box", "S1"),
                    ("token", "a"),
                    ("flagged", "1"),
                    ("uidv", "5"),
                    ("uid", "1"),
                ],
            ),
            e(
                "store",
                Done,
                0,
                &[("box", "S1"), ("uid", "1"), ("flag", "kw"), ("on", "1")],
            ),
            // Copied by its keyword's owner after setting it: the copy has it.
            e(
                "copy",
                Done,
                0,
                &[
                    ("from", "S1"),
                    ("src", "1"),
                    ("to", "S2"),
                    ("uidv", "6"),
                    ("dst", "1"),
                ],
            ),
            e(
                "store",
                Done,
                0,
                &[("box", "S1"), ("uid", "1"), ("flag", "kw"), ("on", "0")],
            ),
            e(
                "append",
                Done,
                0,
                &[
                    ("box", "S1"),
                    ("token", "b"),
                    ("flagged", "0"),
                    ("uidv", "5"),
                    ("uid", "2"),
                ],
            ),
            e(
                "move",
                Done,
                0,
                &[
                    ("from", "S1"),
                    ("src", "2"),
                    ("to", "S3"),
                    ("uidv", "7"),
                    ("dst", "4"),
                ],
            ),
            e(
                "append",
                Unknown,
                0,
                &[("box", "S1"), ("token", "c"), ("flagged", "0")],
            ),
        ];
        let w1 = vec![
            // Worker 1 copies message 1: worker 0's keyword on it is in doubt, \Flagged isn't
            // (its owner never changed it).
            e(
                "copy",
                Done,
                1,
                &[
                    ("from", "S1"),
                    ("src", "1"),
                    ("to", "S3"),
                    ("uidv", "7"),
                    ("dst", "5"),
                ],
            ),
            e("expunge", Done, 1, &[("box", "S3"), ("uid", "9")]),
            e("deliver", Done, 1, &[("token", "d")]),
            e("pop3", Done, 1, &[("seen", "d"), ("deleted", "d")]),
        ];
        let m = Model::build(&[w0, w1]).unwrap();
        assert!(m.violations.is_empty());
        let expected = m.expected();
        let keys: Vec<&Key> = expected.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [&k("S1", 1), &k("S2", 1), &k("S3", 4), &k("S3", 5)]);
        assert_eq!(expected[2].1.as_deref(), Some("b"));
        assert_eq!(expected[3].1.as_deref(), Some("a"));
        assert!(m.acknowledged_gone(&k("S1", 2)));
        assert_eq!(
            m.final_flags(&k("S2", 1), 2),
            [
                (Flag::Keyword(0), true),
                (Flag::Keyword(1), false),
                (Flag::Flagged, true)
            ]
        );
        assert_eq!(
            m.final_flags(&k("S1", 1), 2),
            [
                (Flag::Keyword(0), false),
                (Flag::Keyword(1), false),
                (Flag::Flagged, true)
            ]
        );
        assert_eq!(
            m.final_flags(&k("S3", 5), 2),
            [(Flag::Keyword(1), false), (Flag::Flagged, true)]
        );
        let place = ("u1".to_string(), "S1".to_string());
        assert_eq!(m.explain_extra(&place, Some("c")), Some(true));
        assert_eq!(m.explain_extra(&place, Some("zz")), None);
        assert_eq!(m.uidvalidity[&place].len(), 1);
        let inbox = &m.inbox["u1"];
        assert!(inbox.delivered.contains("d") && inbox.deleted.contains("d"));
    }

    #[test]
    fn a_uid_acknowledged_twice_is_a_violation() {
        use Outcome::*;
        let a = |w: usize, t: &str| {
            e(
                "append",
                Done,
                w,
                &[
                    ("box", "S1"),
                    ("token", t),
                    ("flagged", "0"),
                    ("uidv", "5"),
                    ("uid", "3"),
                ],
            )
        };
        let m = Model::build(&[vec![a(0, "x")], vec![a(1, "y")]]).unwrap();
        assert_eq!(m.violations.len(), 1);
    }

    #[test]
    fn renamed_and_deleted_mailboxes() {
        use Outcome::*;
        let w = vec![
            e("mbox-create", Done, 2, &[("box", "w2-b1")]),
            e(
                "append",
                Done,
                2,
                &[
                    ("box", "w2-b1"),
                    ("token", "r"),
                    ("flagged", "0"),
                    ("uidv", "9"),
                    ("uid", "1"),
                ],
            ),
            e(
                "mbox-rename",
                Done,
                2,
                &[("from", "w2-b1"), ("to", "w2-b1r")],
            ),
            e("mbox-create", Done, 2, &[("box", "w2-b2")]),
            e("mbox-delete", Done, 2, &[("box", "w2-b2")]),
        ];
        let m = Model::build(&[w]).unwrap();
        assert_eq!(m.expected()[0].0, k("w2-b1r", 1));
        assert!(m
            .boxes_present
            .contains(&("u1".to_string(), "w2-b1r".to_string())));
        assert!(m
            .boxes_gone
            .contains(&("u1".to_string(), "w2-b1".to_string())));
        assert!(m
            .boxes_gone
            .contains(&("u1".to_string(), "w2-b2".to_string())));
    }
}
