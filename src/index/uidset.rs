//! Sets of UIDs as sorted, disjoint, non-adjacent inclusive ranges.

use super::codec::{count_u32, malformed, Malformed, Reader, Writer};

/// A set of message UIDs (each ≥ 1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UidSet {
    ranges: Vec<(u32, u32)>,
}

impl UidSet {
    pub fn new() -> Self {
        UidSet::default()
    }

    /// The set `first..=last` (empty when `first > last`; uid 0 is dropped).
    pub fn range(first: u32, last: u32) -> Self {
        let mut set = UidSet::new();
        set.insert_range(first, last);
        set
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many UIDs the set holds.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|&(a, b)| u64::from(b - a) + 1).sum()
    }

    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    pub fn contains(&self, uid: u32) -> bool {
        let idx = self.ranges.partition_point(|&(_, last)| last < uid);
        self.ranges.get(idx).is_some_and(|&(first, _)| first <= uid)
    }

    pub fn max(&self) -> Option<u32> {
        self.ranges.last().map(|&(_, last)| last)
    }

    pub fn insert(&mut self, uid: u32) {
        self.insert_range(uid, uid);
    }

    pub fn insert_range(&mut self, first: u32, last: u32) {
        let first = first.max(1);
        if first > last {
            return;
        }
        // Ranges that overlap or touch [first, last] merge into one.
        let start = self
            .ranges
            .partition_point(|&(_, l)| l < first.saturating_sub(1));
        let end = self
            .ranges
            .partition_point(|&(f, _)| f <= last.saturating_add(1));
        let mut merged = (first, last);
        for &(f, l) in &self.ranges[start..end] {
            merged = (merged.0.min(f), merged.1.max(l));
        }
        self.ranges.splice(start..end, [merged]);
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|&(a, b)| a..=b)
    }

    /// The part of the set below `bound`.
    pub fn below(&self, bound: u32) -> UidSet {
        let ranges = self
            .ranges
            .iter()
            .take_while(|&&(first, _)| first < bound)
            .map(|&(first, last)| (first, last.min(bound - 1)))
            .collect();
        UidSet { ranges }
    }

    /// The UIDs in both sets (range by range: sets like `1:4294967295` cost nothing).
    pub fn intersection(&self, other: &UidSet) -> UidSet {
        let mut out = UidSet::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a1, a2)), Some(&(b1, b2))) = (self.ranges.get(i), other.ranges.get(j)) {
            let (first, last) = (a1.max(b1), a2.min(b2));
            if first <= last {
                out.ranges.push((first, last));
            }
            if a2 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    /// The UIDs of this set that are not in `other` (range by range).
    pub fn difference(&self, other: &UidSet) -> UidSet {
        let mut out = UidSet::new();
        let mut j = 0;
        for &(first, last) in &self.ranges {
            while other.ranges.get(j).is_some_and(|&(_, b2)| b2 < first) {
                j += 1;
            }
            // The first UID of [first, last] not yet decided (u64: it may pass u32::MAX).
            let mut from = u64::from(first);
            for &(b1, b2) in other.ranges[j..].iter().take_while(|&&(b1, _)| b1 <= last) {
                if u64::from(b1) > from {
                    out.ranges.push((from as u32, b1 - 1));
                }
                from = from.max(u64::from(b2) + 1);
            }
            if from <= u64::from(last) {
                out.ranges.push((from as u32, last));
            }
        }
        out
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.put_u32(count_u32(self.ranges.len()));
        for &(a, b) in &self.ranges {
            out.put_u32(a);
            out.put_u32(b);
        }
    }

    /// Decodes and checks the canonical form (sorted, disjoint, non-adjacent, uid ≥ 1), so
    /// that equal sets have equal encodings.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<UidSet, Malformed> {
        let count = r.count(8, "uid set")?;
        let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(count);
        for _ in 0..count {
            let first = r.u32("uid range")?;
            let last = r.u32("uid range")?;
            if first == 0 || first > last {
                return Err(malformed(format!("bad uid range {first}:{last}")));
            }
            if let Some(&(_, prev)) = ranges.last() {
                if u64::from(first) <= u64::from(prev) + 1 {
                    return Err(malformed(format!(
                        "uid ranges out of order at {first}:{last}"
                    )));
                }
            }
            ranges.push((first, last));
        }
        Ok(UidSet { ranges })
    }
}

impl FromIterator<u32> for UidSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut set = UidSet::new();
        for uid in iter {
            set.insert(uid);
        }
        set
    }
}

/// Where `uid` is in `items`, sorted by unique UIDs: `binary_search`'s answer. UIDs are
/// mostly dense, at least from one end (expunges leave gaps, appends none), so the place
/// `uid` would have without gaps is looked at first: FETCH 1:* on a large mailbox asks for
/// every message, and a binary search misses the CPU cache at nearly every step.
pub fn find_uid<T>(items: &[T], uid: u32, uid_of: impl Fn(&T) -> u32) -> Result<usize, usize> {
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        let guesses = [
            uid.checked_sub(uid_of(first)).map(|d| d as usize),
            uid_of(last)
                .checked_sub(uid)
                .and_then(|d| (items.len() - 1).checked_sub(d as usize)),
        ];
        for i in guesses.into_iter().flatten() {
            if items.get(i).is_some_and(|m| uid_of(m) == uid) {
                return Ok(i);
            }
        }
    }
    items.binary_search_by_key(&uid, uid_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn merges_adjacent_and_overlapping() {
        let mut s = UidSet::new();
        s.insert_range(5, 7);
        s.insert_range(1, 2);
        s.insert(3);
        s.insert_range(9, 9);
        assert_eq!(s.ranges(), &[(1, 3), (5, 7), (9, 9)]);
        s.insert_range(4, 8);
        assert_eq!(s.ranges(), &[(1, 9)]);
        s.insert_range(u32::MAX - 1, u32::MAX);
        s.insert(0);
        assert_eq!(s.ranges(), &[(1, 9), (u32::MAX - 1, u32::MAX)]);
        assert_eq!(s.len(), 11);
    }

    proptest! {
        /// The guesses `find_uid` tries first never change the binary search's answer.
        #[test]
        fn find_uid_is_the_binary_search(
            uids in proptest::collection::btree_set(0u32..60, 0..40),
            probe in any::<u32>(),
        ) {
            let uids: Vec<u32> = uids.into_iter().collect();
            for uid in uids.iter().copied().chain([probe, 0, 30, u32::MAX]) {
                prop_assert_eq!(find_uid(&uids, uid, |&u| u), uids.binary_search(&uid));
            }
        }
    }

    #[test]
    fn below() {
        let s: UidSet = [1, 2, 3, 7, 8, 20].into_iter().collect();
        assert_eq!(s.below(8).ranges(), &[(1, 3), (7, 7)]);
        assert_eq!(s.below(1), UidSet::new());
        assert_eq!(UidSet::range(1, u32::MAX).below(5).ranges(), &[(1, 4)]);
    }

    #[test]
    fn decode_refuses_non_canonical() {
        for ranges in [
            vec![(0u32, 1u32)],
            vec![(3, 2)],
            vec![(1, 2), (3, 4)],
            vec![(5, 6), (1, 2)],
        ] {
            let mut buf = Vec::new();
            buf.put_u32(ranges.len() as u32);
            for (a, b) in ranges {
                buf.put_u32(a);
                buf.put_u32(b);
            }
            assert!(UidSet::decode(&mut Reader::new(&buf)).is_err());
        }
    }

    proptest! {
        /// Intersection and difference agree with the model sets, and stay canonical.
        #[test]
        fn intersection_and_difference(
            a in proptest::collection::vec(1u32..80, 0..40),
            b in proptest::collection::vec(1u32..80, 0..40),
        ) {
            let (sa, sb): (UidSet, UidSet) = (a.iter().copied().collect(), b.iter().copied().collect());
            let (ma, mb): (BTreeSet<u32>, BTreeSet<u32>) = (a.into_iter().collect(), b.into_iter().collect());
            let both: UidSet = ma.intersection(&mb).copied().collect();
            let only: UidSet = ma.difference(&mb).copied().collect();
            prop_assert_eq!(sa.intersection(&sb), both);
            prop_assert_eq!(sa.difference(&sb), only);
        }
    }

    #[test]
    fn set_operations_at_the_edges() {
        let all = UidSet::range(1, u32::MAX);
        let some: UidSet = [3, 4, 9, u32::MAX].into_iter().collect();
        assert_eq!(all.intersection(&some), some);
        assert_eq!(
            all.difference(&some).ranges(),
            &[(1, 2), (5, 8), (10, u32::MAX - 1)]
        );
        assert_eq!(some.difference(&all), UidSet::new());
        assert_eq!(UidSet::new().intersection(&all), UidSet::new());
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(uids in proptest::collection::vec(1u32..200, 0..60)) {
            let set: UidSet = uids.iter().copied().collect();
            let model: BTreeSet<u32> = uids.iter().copied().collect();
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            for uid in 0..201 {
                prop_assert_eq!(set.contains(uid), model.contains(&uid));
            }
            let mut buf = Vec::new();
            set.encode(&mut buf);
            let mut r = Reader::new(&buf);
            prop_assert_eq!(UidSet::decode(&mut r).unwrap(), set);
        }
    }
}
