//! Messages without a valid `X-UID:` recognised by their header MD5 (`mbox_md5`), as
//! Dovecot does: a session that could not write UID headers (read-only) gave them UIDs in
//! the index only, with their MD5 as the index key; after another program rewrote the file
//! (dropped one of them, say), counting them again from `X-IMAPbase:` would give a message
//! another's UID. Matched messages keep the index's UID; new ones get UIDs past every UID
//! the index gave out, so none is given twice.

use std::collections::{HashMap, HashSet};

use crate::storage::mbox::format::{AssignedUid, UidAssignment};

/// The assignment with index UIDs for messages without a valid `X-UID:` whose MD5 (`md5s`,
/// by position; `None` for those with one) is an index key (`known`: key → the UIDs with
/// that key, ascending: messages with the same header have the same MD5, and each keeps its
/// own UID, in file order, as Dovecot's search from the current index position gives);
/// `index_next` is the index's next UID. `None` when nothing changes, or when the result
/// would not grow strictly in file order (the assignment is then left as the file says).
pub(super) fn match_by_md5(
    uids: &UidAssignment,
    md5s: &[Option<[u8; 16]>],
    known: &HashMap<Vec<u8>, Vec<u32>>,
    index_next: u32,
) -> Option<UidAssignment> {
    let taken: HashSet<u32> = uids
        .uids
        .iter()
        .filter(|u| u.in_file)
        .map(|u| u.uid)
        .collect();
    let mut used = HashSet::new();
    // UIDs below this were given out by the index
    let mut floor = index_next;
    let mut prev = 0u32;
    let mut out = Vec::with_capacity(uids.uids.len());
    for (i, assigned) in uids.uids.iter().enumerate() {
        let uid = if assigned.in_file {
            assigned.uid
        } else {
            let matched = md5s
                .get(i)
                .copied()
                .flatten()
                .and_then(|m| known.get(hex(&m).as_bytes()))
                .and_then(|candidates| {
                    candidates
                        .iter()
                        .copied()
                        .find(|u| *u > prev && !taken.contains(u) && !used.contains(u))
                });
            match matched {
                Some(u) => u,
                None => {
                    let u = assigned.uid.max(floor).max(prev.checked_add(1)?);
                    floor = u.checked_add(1)?;
                    u
                }
            }
        };
        if uid <= prev {
            return None;
        }
        used.insert(uid);
        prev = uid;
        out.push(AssignedUid {
            uid,
            in_file: assigned.in_file,
        });
    }
    if out == uids.uids {
        return None;
    }
    Some(UidAssignment {
        uid_validity: uids.uid_validity,
        uid_next: uids.uid_next.max(prev.checked_add(1)?),
        uids: out,
    })
}

/// An MD5 as the index key holds it.
pub(super) fn hex(md5: &[u8; 16]) -> String {
    md5.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(list: &[(u32, bool)], uid_next: u32) -> UidAssignment {
        UidAssignment {
            uid_validity: Some(1),
            uids: list
                .iter()
                .map(|&(uid, in_file)| AssignedUid { uid, in_file })
                .collect(),
            uid_next,
        }
    }

    #[test]
    fn a_dropped_message_leaves_the_others_their_uids() {
        // index: 3 and 4 given in the index only; the file lost the message that had 3
        let known: HashMap<Vec<u8>, Vec<u32>> = [
            (hex(&[3; 16]).into_bytes(), vec![3]),
            (hex(&[4; 16]).into_bytes(), vec![4]),
        ]
        .into_iter()
        .collect();
        let file = assignment(&[(1, true), (2, true), (3, false), (4, false)], 5);
        let md5s = [None, None, Some([4; 16]), Some([9; 16])];
        let got = match_by_md5(&file, &md5s, &known, 5).unwrap();
        let uids: Vec<u32> = got.uids.iter().map(|u| u.uid).collect();
        assert_eq!(uids, [1, 2, 4, 5]);
        assert_eq!(got.uid_next, 6);
        // nothing to match, and the index gave out no UID past the file's: unchanged
        let file = assignment(&[(1, true), (2, false)], 3);
        assert_eq!(match_by_md5(&file, &[None, Some([7; 16])], &known, 2), None);
        // the index gave 2 to another message: this one gets the next
        let got = match_by_md5(&file, &[None, Some([7; 16])], &known, 3).unwrap();
        assert_eq!(got.uids[1].uid, 3);
        // a match that would go backwards is not taken
        let file = assignment(&[(1, true), (6, true), (7, false)], 8);
        let got = match_by_md5(&file, &[None, None, Some([4; 16])], &known, 5);
        assert_eq!(got, None);
    }

    #[test]
    fn messages_with_the_same_md5_keep_their_own_uids() {
        // two messages with the same header, given 1 and 2 in the index only
        let known: HashMap<Vec<u8>, Vec<u32>> = [(hex(&[5; 16]).into_bytes(), vec![1, 2])]
            .into_iter()
            .collect();
        let file = assignment(&[(1, false), (2, false)], 3);
        let md5s = [Some([5; 16]), Some([5; 16])];
        assert_eq!(match_by_md5(&file, &md5s, &known, 3), None);
    }
}
