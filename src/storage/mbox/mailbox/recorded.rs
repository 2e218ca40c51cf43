//! What cote's index records about the mbox file (its backend state, committed with the
//! index changes it explains): the file's identity when the index last matched it,
//! whether the next open must read it whole, and the messages whose flags the index has
//! but the file not yet (`mbox_lazy_writes`), for which the index is the truth until they
//! are written.
//!
//! Text: `mbox1 <dev> <ino> <size> <mtime> <nsec>` (or `mbox1 none`), then ` dirty`, then
//! ` unwritten <first>-<last>,...`.

use std::os::unix::fs::MetadataExt;

use crate::index::uidset::UidSet;

/// What identifies one version of the mbox file: a different value means someone changed
/// it (the mtime moves to a later second even for same-size header rewrites).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileIdent {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
}

impl FileIdent {
    pub fn of(meta: &std::fs::Metadata) -> FileIdent {
        FileIdent {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

/// The index's backend state for an mbox (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Recorded {
    /// `None`: there was no file.
    pub ident: Option<FileIdent>,
    /// The next SELECT or EXAMINE reads the whole file (after a save or a read of a grown
    /// file's tail, as Dovecot's sync leaves its index).
    pub dirty: bool,
    /// Messages whose flags and keywords are still to be written into the file.
    pub unwritten: UidSet,
}

impl Recorded {
    /// `None` for an empty or unreadable state (which then matches no file).
    pub fn decode(state: &[u8]) -> Option<Recorded> {
        let text = std::str::from_utf8(state).ok()?;
        let mut w = text.split(' ').peekable();
        if w.next()? != "mbox1" {
            return None;
        }
        let mut rec = Recorded::default();
        if w.peek() == Some(&"none") {
            w.next();
        } else {
            rec.ident = Some(FileIdent {
                dev: w.next()?.parse().ok()?,
                ino: w.next()?.parse().ok()?,
                size: w.next()?.parse().ok()?,
                mtime: w.next()?.parse().ok()?,
                mtime_nsec: w.next()?.parse().ok()?,
            });
        }
        while let Some(word) = w.next() {
            match word {
                "dirty" => rec.dirty = true,
                "unwritten" => {
                    for range in w.next()?.split(',') {
                        let (first, last) = range.split_once('-')?;
                        let (first, last) = (first.parse().ok()?, last.parse().ok()?);
                        if first == 0 || first > last {
                            return None;
                        }
                        rec.unwritten.insert_range(first, last);
                    }
                }
                _ => return None,
            }
        }
        Some(rec)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut text = match self.ident {
            Some(i) => format!(
                "mbox1 {} {} {} {} {}",
                i.dev, i.ino, i.size, i.mtime, i.mtime_nsec
            ),
            None => "mbox1 none".to_string(),
        };
        if self.dirty {
            text.push_str(" dirty");
        }
        if !self.unwritten.is_empty() {
            let ranges: Vec<String> = self
                .unwritten
                .ranges()
                .iter()
                .map(|(a, b)| format!("{a}-{b}"))
                .collect();
            text.push_str(" unwritten ");
            text.push_str(&ranges.join(","));
        }
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn older_states_and_garbage() {
        let rec = Recorded::decode(b"mbox1 1 2 3 4 5").unwrap();
        assert_eq!(rec.ident.map(|i| (i.dev, i.size)), Some((1, 3)));
        assert!(!rec.dirty && rec.unwritten.is_empty());
        assert_eq!(Recorded::decode(b"mbox1 none"), Some(Recorded::default()));
        for bad in [
            &b""[..],
            b"mbox1",
            b"mbox1 1 2 x 4 5",
            b"mbox1 none junk",
            b"mbox1 none unwritten 0-1",
            b"mbox1 none unwritten 3-2",
        ] {
            assert_eq!(
                Recorded::decode(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        #[test]
        fn encoded_states_decode_back(
            ident in proptest::option::of((any::<u64>(), any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>())),
            dirty in any::<bool>(),
            uids in proptest::collection::vec(1u32..50, 0..10),
        ) {
            let mut unwritten = UidSet::new();
            for u in uids {
                unwritten.insert(u);
            }
            let rec = Recorded {
                ident: ident.map(|(dev, ino, size, mtime, mtime_nsec)| FileIdent { dev, ino, size, mtime, mtime_nsec }),
                dirty,
                unwritten,
            };
            prop_assert_eq!(Recorded::decode(&rec.encode()), Some(rec));
        }
    }
}
