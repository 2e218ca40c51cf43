//! QRESYNC's resynchronization (RFC 7162 §3.2.5, §3.2.6): `SELECT mailbox (QRESYNC (...))`
//! and `UID FETCH set ... (CHANGEDSINCE n VANISHED)`, as Dovecot answers them.
//!
//! `* VANISHED (EARLIER)` names the UIDs of the client's set expunged after its modseq. When
//! storage's history reaches back that far the answer is exact; otherwise it is every UID of
//! the set (below UIDNEXT) that no longer exists, narrowed by the client's message sequence
//! match data where that shows nothing before a UID was expunged: a superset the RFC allows,
//! never missing an expunge. UIDs the session still numbers (expunged meanwhile, not yet
//! reported) are left to the session's own `* VANISHED`.

use std::io::{Read, Write};

use super::{Session, Step, WaitInput};
use crate::imap::fetch_response::{flags_value, FetchResponse};
use crate::imap::mail_session::{MailError, MailErrorKind, MailMessage, MailSession};
use crate::imap::parser::select::Qresync;
use crate::imap::seqset::{format_set, SequenceSet};
use crate::index::uidset::UidSet;

/// The UIDs of a client's set (`*`, the largest number, stands for every UID above).
pub(super) fn uid_set(set: &SequenceSet) -> UidSet {
    let mut uids = UidSet::new();
    for &(first, last) in set.ranges() {
        uids.insert_range(first, last);
    }
    uids
}

/// The message sequence match data (`(seqs uids)`) as Dovecot samples it: the first and the
/// last UID of each range of the UID set, with the sequence number the client gives it.
/// The parser checked that both sets have as many numbers.
fn sample_pairs(seqs: &SequenceSet, uids: &SequenceSet) -> Vec<(u32, u32)> {
    // The n-th (0-based) number of the sequence set.
    let nth = |mut n: u64| -> Option<u32> {
        for &(first, last) in seqs.ranges() {
            let len = u64::from(last - first) + 1;
            if n < len {
                return u32::try_from(u64::from(first) + n).ok();
            }
            n -= len;
        }
        None
    };
    let mut pairs = Vec::new();
    let mut n = 0u64;
    for &(first, last) in uids.ranges() {
        let Some(seq) = nth(n) else { break };
        pairs.push((seq, first));
        n += u64::from(last - first);
        if last > first {
            let Some(seq) = nth(n) else { break };
            pairs.push((seq, last));
        }
        n += 1;
    }
    pairs
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// `* VANISHED (EARLIER) ...` for the UIDs of `filter` expunged after `modseq`;
    /// `known_map` is SELECT's message sequence match data.
    pub(super) fn send_vanished_earlier(
        &mut self,
        filter: &UidSet,
        modseq: u64,
        known_map: Option<&(SequenceSet, SequenceSet)>,
    ) -> Step<Result<(), MailError>> {
        let history = match self.mail.expunged_since(modseq) {
            Ok(history) => history,
            Err(e) => return Ok(Err(e)),
        };
        let Some(view) = self.view.as_ref() else {
            return Ok(Ok(()));
        };
        let numbered: UidSet = view.uids.iter().copied().collect();
        let told = filter.below(view.uid_next);
        let vanished = match history {
            Some(expunged) => expunged.intersection(&told).difference(&numbered),
            None => {
                let mut gone = told.difference(&numbered);
                if let Some((seqs, uids)) = known_map {
                    // A sequence number that still has the UID the client says it had:
                    // nothing up to that UID was expunged.
                    let unchanged = sample_pairs(seqs, uids)
                        .into_iter()
                        .take_while(|&(seq, uid)| view.uid_of(seq) == Some(uid))
                        .last();
                    if let Some((_, uid)) = unchanged {
                        gone = gone.difference(&UidSet::range(1, uid));
                    }
                }
                gone
            }
        };
        if !vanished.is_empty() {
            let line = format!("* VANISHED (EARLIER) {}", format_set(&vanished));
            self.line(line.as_bytes())?;
        }
        Ok(Ok(()))
    }

    /// SELECT/EXAMINE with QRESYNC and the right UIDVALIDITY: the expunges since the
    /// client's modseq, then `FETCH (UID FLAGS MODSEQ)` of the messages of its known UIDs
    /// changed since.
    pub(super) fn qresync_select(&mut self, qresync: &Qresync) -> Step<Result<(), MailError>> {
        let known = qresync
            .known_uids
            .as_ref()
            .map_or_else(|| UidSet::range(1, u32::MAX), uid_set);
        if let Err(e) =
            self.send_vanished_earlier(&known, qresync.modseq, qresync.known_map.as_ref())?
        {
            return Ok(Err(e));
        }
        let Some(view) = self.view.as_ref() else {
            return Ok(Ok(()));
        };
        let uids: Vec<u32> = view
            .uids
            .iter()
            .copied()
            .filter(|&uid| known.contains(uid))
            .collect();
        for uid in uids {
            let Some(view) = self.view.as_ref() else {
                break;
            };
            let (Some(seq), recent) = (view.seq_of(uid), view.is_recent(uid)) else {
                continue;
            };
            let read = self.mail.message(uid).and_then(|mut message| {
                let modseq = message.modseq()?;
                if modseq <= qresync.modseq {
                    return Ok(None);
                }
                Ok(Some((message.flags()?, modseq)))
            });
            let (flags, modseq) = match read {
                Ok(Some(found)) => found,
                Ok(None) => continue,
                // Gone meanwhile: its expunge is reported with the next sync.
                Err(e) if e.kind == MailErrorKind::Expunged => continue,
                Err(e) => return Ok(Err(e)),
            };
            let mut response = FetchResponse::new(seq);
            response.number("UID", uid.into());
            response.item("FLAGS", &flags_value(&flags, recent));
            response.item("MODSEQ", format!("({modseq})").as_bytes());
            self.line(&response.finish())?;
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> SequenceSet {
        SequenceSet::parse_without_star(s.as_bytes()).unwrap()
    }

    #[test]
    fn sample_pairs_are_the_ends_of_uid_ranges() {
        // Seven messages, UIDs 4 and 6 expunged.
        assert_eq!(
            sample_pairs(&set("1:7"), &set("1:3,5,7:9")),
            vec![(1, 1), (3, 3), (4, 5), (5, 7), (7, 9)]
        );
        assert_eq!(
            sample_pairs(
                &set("41,43:116,118,120:211,214:540"),
                &set("1:3,7,11,13:14")
            ),
            vec![(41, 1), (44, 3), (45, 7), (46, 11), (47, 13), (48, 14)]
        );
        assert_eq!(sample_pairs(&set("5"), &set("9")), vec![(5, 9)]);
    }

    #[test]
    fn uid_sets_keep_star_as_the_largest_uid() {
        let star = SequenceSet::parse(b"5:*").unwrap();
        assert_eq!(uid_set(&star).ranges(), &[(5, u32::MAX)]);
    }
}
