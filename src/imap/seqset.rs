//! IMAP sequence sets (`1:4,7,10:*`) as a client writes them, and the messages they name.
//!
//! A set is kept the way Dovecot keeps it (`imap-seqset.c`): sorted, merged ranges in which
//! `*` is the largest number, [`STAR`]. What `*` then means depends on the set's use: for
//! sequence numbers [`SequenceSet::seqs`] follows Dovecot's `n:*` rules, for UIDs
//! [`SequenceSet::uids`] adds the last message whenever a range reaches `*`, so that `UID
//! FETCH 559:*` always returns the last message, as RFC 3501 §6.4.8 requires.
//!
//! The resolved sets are [`UidSet`]s: sorted, disjoint ranges of positive numbers, used for
//! sequence numbers as well as UIDs.

use std::fmt;

use crate::index::uidset::UidSet;

/// `*`: the largest number in use.
pub const STAR: u32 = u32::MAX;

/// A sequence set as sent, `*` kept as [`STAR`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SequenceSet {
    ranges: UidSet,
}

/// A set argument: a sequence set, or `$` (SEARCHRES, RFC 5182): the last saved search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetArg {
    Set(SequenceSet),
    SavedResult,
}

impl SetArg {
    /// A set argument of FETCH, STORE, COPY, MOVE and UID EXPUNGE: `$` or a sequence set.
    pub fn parse(s: &[u8]) -> Result<SetArg, InvalidSet> {
        if s == b"$" {
            return Ok(SetArg::SavedResult);
        }
        SequenceSet::parse(s).map(SetArg::Set)
    }
}

/// The text is not a sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSet;

impl fmt::Display for InvalidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid sequence set")
    }
}

impl std::error::Error for InvalidSet {}

impl SequenceSet {
    /// Parses `seq-number / seq-range` items separated by commas. As in Dovecot a trailing
    /// comma is accepted and `a:b` with `a > b` means `b:a`; `4294967295` counts as
    /// `4294967294`, because the largest number stands for `*`.
    ///
    /// Deliberate difference: a number beyond 4294967295 is refused, where Dovecot wraps it
    /// around (`4294967297` is `1` there).
    pub fn parse(s: &[u8]) -> Result<SequenceSet, InvalidSet> {
        let mut ranges = UidSet::new();
        let mut rest = s;
        while !rest.is_empty() {
            let (first, after) = number_or_star(rest)?;
            let (last, after) = match after.strip_prefix(b":") {
                Some(tail) => number_or_star(tail)?,
                None => (first, after),
            };
            ranges.insert_range(first.min(last), first.max(last));
            rest = match after {
                [] => after,
                [b',', tail @ ..] => tail,
                _ => return Err(InvalidSet),
            };
        }
        Ok(SequenceSet { ranges })
    }

    /// A set without `*` (QRESYNC's known sets): [`SequenceSet::parse`], then `*` refused.
    pub fn parse_without_star(s: &[u8]) -> Result<SequenceSet, InvalidSet> {
        let set = SequenceSet::parse(s)?;
        if set.has_star() {
            return Err(InvalidSet);
        }
        Ok(set)
    }

    /// The set of the given numbers (no `*`).
    pub fn from_numbers(set: UidSet) -> SequenceSet {
        SequenceSet { ranges: set }
    }

    /// The sorted, merged ranges; `*` is [`STAR`].
    pub fn ranges(&self) -> &[(u32, u32)] {
        self.ranges.ranges()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn has_star(&self) -> bool {
        self.ranges.max() == Some(STAR)
    }

    /// Whether the set contains `n` as written (`*` only as [`STAR`]).
    pub fn contains(&self, n: u32) -> bool {
        self.ranges.contains(n)
    }

    /// Whether a FETCH/STORE/COPY message set may be used with `messages` messages
    /// (Dovecot's `msgset_is_valid`): never with none, and the highest number, or the start
    /// of an `n:*` range, must exist. (`*,9` passes, as in Dovecot: `*` is last.)
    pub fn is_valid_for(&self, messages: u32) -> bool {
        let Some(&(first, last)) = self.ranges().last() else {
            return false;
        };
        if messages == 0 {
            return false;
        }
        if last == STAR {
            first == STAR || first <= messages
        } else {
            last <= messages
        }
    }

    /// The sequence numbers the set names with `messages` messages (Dovecot's
    /// `mailbox_seqset_change`): `*` alone is the last message, `n:*` is `n` to the last —
    /// nothing when `n` is beyond it — and numbers beyond the last are dropped.
    pub fn seqs(&self, messages: u32) -> UidSet {
        if messages == 0 {
            return UidSet::new();
        }
        let mut set = self.ranges.below(messages.saturating_add(1));
        if let Some(&(first, STAR)) = self.ranges().last() {
            if first == STAR {
                set.insert(messages);
            }
        }
        set
    }

    /// The UIDs of `uids` (the mailbox's UIDs in ascending order) that the set names, plus the
    /// last message for any range that reaches `*` (Dovecot's `mailbox_uidset_change`).
    pub fn uids(&self, uids: &[u32]) -> UidSet {
        let mut set = UidSet::new();
        for &(first, last) in self.ranges() {
            let start = uids.partition_point(|&u| u < first);
            let end = uids.partition_point(|&u| u <= last);
            for &uid in &uids[start..end] {
                set.insert(uid);
            }
            if last == STAR {
                if let Some(&max) = uids.last() {
                    set.insert(max);
                }
            }
        }
        set
    }
}

/// Reads a `nz-number` or `*`; returns it and the rest.
fn number_or_star(s: &[u8]) -> Result<(u32, &[u8]), InvalidSet> {
    if let Some(rest) = s.strip_prefix(b"*") {
        return Ok((STAR, rest));
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(InvalidSet);
    }
    let mut n: u32 = 0;
    for &d in &s[..digits] {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(d - b'0')))
            .ok_or(InvalidSet)?;
    }
    if n == 0 {
        return Err(InvalidSet);
    }
    Ok((n.min(STAR - 1), &s[digits..]))
}

impl fmt::Display for SequenceSet {
    /// `1:3,5,7:*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(first, last)) in self.ranges().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write_number(f, first)?;
            if first != last {
                f.write_str(":")?;
                write_number(f, last)?;
            }
        }
        Ok(())
    }
}

fn write_number(f: &mut fmt::Formatter<'_>, n: u32) -> fmt::Result {
    if n == STAR {
        f.write_str("*")
    } else {
        write!(f, "{n}")
    }
}

/// `1:3,5` — a resolved set as IMAP writes it (COPYUID, APPENDUID, ESEARCH ALL, VANISHED).
pub fn format_set(set: &UidSet) -> String {
    let mut out = String::new();
    for (i, &(first, last)) in set.ranges().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if first == last {
            out.push_str(&first.to_string());
        } else {
            out.push_str(&format!("{first}:{last}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse(s.as_bytes()).unwrap()
    }

    fn numbers(set: &UidSet) -> Vec<u32> {
        set.iter().collect()
    }

    #[test]
    fn parsing_as_dovecot() {
        assert_eq!(set("1:3,5").to_string(), "1:3,5");
        assert_eq!(set("3:1").to_string(), "1:3");
        assert_eq!(set("5,1,2,3").to_string(), "1:3,5");
        assert_eq!(set("*:4").to_string(), "4:*");
        assert_eq!(set("*").to_string(), "*");
        assert_eq!(set("1,").to_string(), "1");
        assert_eq!(set("4294967295").ranges(), &[(STAR - 1, STAR - 1)]);
        assert_eq!(set("1:4294967294,*").ranges(), &[(1, STAR)]);
        for bad in [
            "",
            ",",
            "1,,2",
            "0",
            "1:0",
            "0:*",
            "x",
            "1:x",
            "1:",
            ":1",
            "1-2",
            "1 2",
            "1:2:3",
            "4294967296",
            "1:4294967296",
            "99999999999999999999",
            "$",
            "-1",
            "+1",
        ] {
            let parsed = SequenceSet::parse(bad.as_bytes());
            if bad.is_empty() {
                assert_eq!(parsed, Ok(SequenceSet::default()));
            } else {
                assert_eq!(parsed, Err(InvalidSet), "{bad:?}");
            }
        }
        assert!(SequenceSet::parse_without_star(b"1:5").is_ok());
        assert_eq!(SequenceSet::parse_without_star(b"1:*"), Err(InvalidSet));
        assert_eq!(SetArg::parse(b"$"), Ok(SetArg::SavedResult));
        assert_eq!(SetArg::parse(b"2"), Ok(SetArg::Set(set("2"))));
    }

    /// The answers Dovecot gave to FETCH/COPY on a 5-message mailbox (t/imap/session).
    #[test]
    fn message_set_validity() {
        for ok in ["1:*", "*", "3:2", "1,", "*,9", "5", "*:*", "5:*"] {
            assert!(set(ok).is_valid_for(5), "{ok}");
        }
        for bad in ["6", "3:9", "7:*", "1,9"] {
            assert!(!set(bad).is_valid_for(5), "{bad}");
        }
        assert!(!set("*:*").is_valid_for(0));
        assert!(!set("1").is_valid_for(0));
        assert!(!SequenceSet::default().is_valid_for(5));
    }

    #[test]
    fn sequence_numbers() {
        assert_eq!(numbers(&set("2:*").seqs(4)), [2, 3, 4]);
        assert_eq!(numbers(&set("*").seqs(4)), [4]);
        assert_eq!(numbers(&set("*,2").seqs(4)), [2, 4]);
        assert_eq!(numbers(&set("7:*").seqs(4)), Vec::<u32>::new());
        assert_eq!(numbers(&set("3:9").seqs(4)), [3, 4]);
        assert_eq!(numbers(&set("*").seqs(0)), Vec::<u32>::new());
    }

    #[test]
    fn uids() {
        let uids = [3, 7, 8, 20];
        assert_eq!(numbers(&set("1:7").uids(&uids)), [3, 7]);
        assert_eq!(numbers(&set("99:*").uids(&uids)), [20]);
        assert_eq!(numbers(&set("*").uids(&uids)), [20]);
        assert_eq!(numbers(&set("5:*").uids(&uids)), [7, 8, 20]);
        assert_eq!(numbers(&set("9:19").uids(&uids)), Vec::<u32>::new());
        assert_eq!(numbers(&set("*").uids(&[])), Vec::<u32>::new());
    }

    #[test]
    fn formatting_resolved_sets() {
        let resolved: UidSet = [1, 2, 3, 5, 9, 10].into_iter().collect();
        assert_eq!(format_set(&resolved), "1:3,5,9:10");
        assert_eq!(format_set(&UidSet::new()), "");
    }

    fn model_items() -> impl Strategy<Value = Vec<(u32, Option<u32>)>> {
        let n = prop_oneof![1u32..40, Just(STAR)];
        proptest::collection::vec((n.clone(), proptest::option::of(n)), 1..8)
    }

    fn wire(items: &[(u32, Option<u32>)]) -> String {
        let num = |n: u32| {
            if n == STAR {
                "*".to_string()
            } else {
                n.to_string()
            }
        };
        items
            .iter()
            .map(|&(a, b)| match b {
                Some(b) => format!("{}:{}", num(a), num(b)),
                None => num(a),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    proptest! {
        /// Against a model: the set holds exactly the numbers of its items, `*` as STAR.
        #[test]
        fn parse_matches_model(items in model_items()) {
            let parsed = SequenceSet::parse(wire(&items).as_bytes()).unwrap();
            let mut model = BTreeSet::new();
            for &(a, b) in &items {
                let b = b.unwrap_or(a);
                let (lo, hi) = (a.min(b), a.max(b));
                if hi == STAR {
                    model.insert(STAR);
                    model.extend(lo..=45);
                } else {
                    model.extend(lo..=hi);
                }
            }
            for n in 1..=45 {
                prop_assert_eq!(parsed.contains(n), model.contains(&n), "{}", n);
            }
            prop_assert_eq!(parsed.has_star(), model.contains(&STAR));
            // The written form parses back to the same set.
            prop_assert_eq!(SequenceSet::parse(parsed.to_string().as_bytes()).unwrap(), parsed);
        }

        /// Resolving against a mailbox: sequence numbers never exceed the count, UIDs always
        /// exist, and a range reaching `*` always includes the last message.
        #[test]
        fn resolution_stays_in_the_mailbox(
            items in model_items(),
            uids in proptest::collection::btree_set(1u32..60, 0..12),
        ) {
            let parsed = SequenceSet::parse(wire(&items).as_bytes()).unwrap();
            let uids: Vec<u32> = uids.into_iter().collect();
            let count = uids.len() as u32;
            let seqs = parsed.seqs(count);
            prop_assert!(seqs.iter().all(|s| s >= 1 && s <= count));
            let resolved = parsed.uids(&uids);
            prop_assert!(resolved.iter().all(|u| uids.contains(&u)));
            if parsed.has_star() {
                if let Some(&last) = uids.last() {
                    prop_assert!(resolved.contains(last));
                }
            }
            for &u in &uids {
                if parsed.contains(u) {
                    prop_assert!(resolved.contains(u));
                }
            }
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = SequenceSet::parse(&bytes);
        }
    }
}
