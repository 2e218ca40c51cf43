//! `dovecot-uidlist`: the UID of every message file, the mailbox's UIDVALIDITY, next UID and
//! GUID. Read as Dovecot 2.3 reads it (versions 1 and 3, every corruption it detects), written
//! as it writes it (version 3), bytes in and bytes out; `uidlist_file` does the file work.
//!
//! ```text
//! 3 V1795877873 N3 G10c0212851ee0a6b6056000083ecc375
//! 1 :1795878481.M681912P22112.vm,S=43,W=47
//! 2 W1234 :1795878481.M697005P22112.vm,S=43
//! ```

use std::collections::HashMap;
use std::fmt;

use super::filename::InfoSeparator;

/// The file's name in the control directory.
pub const FILE_NAME: &str = "dovecot-uidlist";
/// The version Dovecot 2.3 writes.
pub const VERSION: u8 = 3;
/// A rewrite is due when at most this percentage of the file's lines are still live.
const COMPRESS_PERCENTAGE: usize = 75;

/// Header fields Dovecot knows (`V`, `N`, `G`); others (`P` and unknown) are kept as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidListHeader {
    pub version: u8,
    pub uid_validity: u32,
    /// `N`: the next UID when the header was written (appends may go past it).
    pub next_uid: u32,
    pub guid: Option<[u8; 16]>,
    /// Other fields (`P<fmt>` and unknown ones) as `(key, value)`, in file order.
    pub extensions: Vec<(u8, String)>,
}

/// One message: its UID, record extensions and file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidListRecord {
    pub uid: u32,
    /// `A`–`Z` keys with their values: `S` size, `W` virtual size, `G` GUID, `P` POP3 UIDL,
    /// `O` POP3 order.
    pub extensions: Vec<(u8, Vec<u8>)>,
    /// As in the file: Dovecot 2.3 writes the base name (`unique,S=..,W=..`), older versions
    /// the full name with `:2,<flags>`.
    pub filename: Vec<u8>,
}

impl UidListRecord {
    pub fn extension(&self, key: u8) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// What makes Dovecot call a uidlist broken (it then deletes the file and rebuilds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    Empty,
    InvalidVersionNumber,
    Version1Header,
    UnsupportedVersion(u8),
    InvalidUidValidity(String),
    InvalidNextUid(String),
    InvalidGuid(String),
    BrokenHeader { uid_validity: u32, next_uid: u32 },
    NextUidHeaderLowered { old: u32, new: u32 },
    InvalidData(String),
    UidsNotOrdered { uid: u32, prev: u32 },
    UidTooHigh(u64),
    UidLargerThanNextUid { uid: u32, next_uid: u32 },
    InvalidExtendedFields(String),
    BrokenFilename(String),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Empty => f.write_str("File is empty"),
            Corruption::InvalidVersionNumber => {
                f.write_str("Corrupted header (invalid version number)")
            }
            Corruption::Version1Header => f.write_str("Corrupted header (version 1)"),
            Corruption::UnsupportedVersion(v) => write!(f, "Unsupported version {v}"),
            Corruption::InvalidUidValidity(v) => write!(f, "Invalid mailbox UID_VALIDITY: {v}"),
            Corruption::InvalidNextUid(v) => write!(f, "Invalid mailbox NEXT_UID: {v}"),
            Corruption::InvalidGuid(v) => write!(f, "Invalid mailbox GUID: {v}"),
            Corruption::BrokenHeader {
                uid_validity,
                next_uid,
            } => write!(
                f,
                "Broken header (uidvalidity = {uid_validity}, next_uid={next_uid})"
            ),
            Corruption::NextUidHeaderLowered { old, new } => {
                write!(f, "next_uid header was lowered ({old} -> {new})")
            }
            Corruption::InvalidData(rest) => write!(f, "Invalid data: {rest}"),
            Corruption::UidsNotOrdered { uid, prev } => {
                write!(f, "UIDs not ordered ({uid} >= {prev})")
            }
            Corruption::UidTooHigh(uid) => write!(f, "UID too high ({uid})"),
            Corruption::UidLargerThanNextUid { uid, next_uid } => {
                write!(f, "UID larger than next_uid ({uid} >= {next_uid})")
            }
            Corruption::InvalidExtendedFields(rest) => {
                write!(f, "Invalid extended fields: {rest}")
            }
            Corruption::BrokenFilename(name) => write!(f, "Broken filename: {name}"),
        }
    }
}

/// A corruption and the line it was found on (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidListError {
    pub line: usize,
    pub corruption: Corruption,
}

impl fmt::Display for UidListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.corruption)
    }
}

impl std::error::Error for UidListError {}

/// Something read that Dovecot repairs by rewriting the file, logging a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadWarning {
    /// An extension key outside `A`–`Z` was dropped.
    InvalidExtensionRemoved { line: usize, field: String },
    /// A file listed again under a new UID (an expunged file came back): the old UID goes.
    DuplicateFile {
        line: usize,
        filename: String,
        old_uid: u32,
        new_uid: u32,
    },
    /// `next_uid` went down between reads; the old value is kept.
    NextUidLowered { old: u32, new: u32, header: u32 },
}

/// Why the file should be rewritten (`dovecot-uidlist.tmp` + rename) rather than appended to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteReason {
    /// The file was read with repairs, changed UIDVALIDITY, or a header value changed.
    Repair,
    /// Records were out of UID order (appends by writers that had not refreshed).
    Unsorted,
    /// Version 1 (or not read yet as version 3).
    OldVersion,
    /// No mailbox GUID in the header.
    NoGuid,
}

/// The in-memory uidlist: header, records sorted by UID, and what Dovecot's reader keeps
/// between reads of the same file.
#[derive(Debug, Clone, Default)]
pub struct UidList {
    header: Option<UidListHeader>,
    records: Vec<UidListRecord>,
    /// Base name → UID.
    by_base: HashMap<Vec<u8>, u32>,
    /// max(N, last UID + 1), never lowered.
    next_uid: u32,
    /// The highest UID read from the file so far.
    last_seen_uid: u32,
    /// Lines read from the file since it was last written whole (for the compress rule).
    read_records_count: usize,
    rewrite: Option<RewriteReason>,
    /// The store's info separator: names are keyed by what comes before it.
    sep: InfoSeparator,
}

/// Lines of `data`: split at LF with a CR before it removed and a NUL ending the line (C
/// strings); a last line without LF is not complete yet and not returned. Yields each line
/// with the offset just after it.
fn complete_lines(data: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let nl = data[pos..].iter().position(|&c| c == b'\n')?;
        let mut line = &data[pos..pos + nl];
        pos += nl + 1;
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if let Some(nul) = line.iter().position(|&c| c == 0) {
            line = &line[..nul];
        }
        Some((line, pos))
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Dovecot's `str_to_uint`: digits only, fitting 32 bits.
fn parse_u32(v: &[u8]) -> Option<u32> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn parse_guid(v: &[u8]) -> Option<[u8; 16]> {
    if v.len() != 32 {
        return None;
    }
    let mut guid = [0u8; 16];
    for (i, pair) in v.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        guid[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(guid)
}

/// The GUID as Dovecot prints it: 32 lowercase hex digits.
pub fn guid_hex(guid: &[u8; 16]) -> String {
    guid.iter().map(|b| format!("{b:02x}")).collect()
}

/// The result of reading (part of) the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReport {
    /// Offset just after the last complete line: where the next incremental read starts.
    pub read_offset: usize,
    pub warnings: Vec<ReadWarning>,
}

impl UidList {
    /// An empty list for a store whose names use `sep`.
    pub fn new(sep: InfoSeparator) -> UidList {
        UidList {
            next_uid: 1,
            sep,
            ..UidList::default()
        }
    }

    /// The info separator its names are read with.
    pub fn separator(&self) -> InfoSeparator {
        self.sep
    }

    pub fn header(&self) -> Option<&UidListHeader> {
        self.header.as_ref()
    }

    pub fn records(&self) -> &[UidListRecord] {
        &self.records
    }

    pub fn uid_validity(&self) -> u32 {
        self.header.as_ref().map_or(0, |h| h.uid_validity)
    }

    pub fn guid(&self) -> Option<[u8; 16]> {
        self.header.as_ref().and_then(|h| h.guid)
    }

    /// The UID the next new message gets.
    pub fn next_uid(&self) -> u32 {
        self.next_uid
    }

    /// Why the next write must rewrite the whole file, if it must.
    pub fn rewrite_reason(&self) -> Option<RewriteReason> {
        self.rewrite
    }

    pub fn get(&self, uid: u32) -> Option<&UidListRecord> {
        self.records
            .binary_search_by_key(&uid, |r| r.uid)
            .ok()
            .map(|i| &self.records[i])
    }

    /// The UID of a file, by name with or without its info part.
    pub fn uid_of(&self, fname: &[u8]) -> Option<u32> {
        self.by_base.get(self.sep.base(fname)).copied()
    }

    /// Reads the whole file, replacing the records. What was learnt from earlier reads
    /// (UIDVALIDITY, the header's next UID) is kept to detect a lowered `N`, as in Dovecot.
    pub fn read_full(&mut self, data: &[u8]) -> Result<ReadReport, UidListError> {
        let mut lines = complete_lines(data);
        let Some((header_line, mut offset)) = lines.next() else {
            return Err(UidListError {
                line: 1,
                corruption: Corruption::Empty,
            });
        };
        let header = parse_header(header_line).map_err(|corruption| UidListError {
            line: 1,
            corruption,
        })?;
        if let Some(old) = &self.header {
            if old.uid_validity == header.uid_validity && header.next_uid < old.next_uid {
                return Err(UidListError {
                    line: 1,
                    corruption: Corruption::NextUidHeaderLowered {
                        old: old.next_uid,
                        new: header.next_uid,
                    },
                });
            }
        }
        let mut fresh = UidList {
            header: Some(header),
            next_uid: 1,
            sep: self.sep,
            ..UidList::default()
        };
        let mut warnings = Vec::new();
        let mut prev_read_uid = 0;
        for (i, (line, end)) in lines.enumerate() {
            prev_read_uid = fresh.read_record(line, i + 2, prev_read_uid, &mut warnings)?;
            offset = end;
        }
        fresh.finish_read(self, &mut warnings);
        *self = fresh;
        Ok(ReadReport {
            read_offset: offset,
            warnings,
        })
    }

    /// Reads records appended after an earlier read: `data` is the file from that read's
    /// `read_offset`, `first_line` the number of its first line. Records already known are
    /// skipped. On error nothing changes; Dovecot then re-reads the file from the start.
    pub fn read_appended(
        &mut self,
        data: &[u8],
        first_line: usize,
    ) -> Result<ReadReport, UidListError> {
        if self.header.is_none() {
            return self.read_full(data);
        }
        let mut fresh = self.clone();
        let mut warnings = Vec::new();
        let mut offset = 0;
        let mut prev_read_uid = 0;
        for (i, (line, end)) in complete_lines(data).enumerate() {
            prev_read_uid =
                fresh.read_record(line, first_line + i, prev_read_uid, &mut warnings)?;
            offset = end;
        }
        fresh.finish_read(self, &mut warnings);
        *self = fresh;
        Ok(ReadReport {
            read_offset: offset,
            warnings,
        })
    }

    /// One record line (Dovecot's `maildir_uidlist_next()`). `prev_read_uid` is the UID of
    /// the previous line of this read (0 at its start); returns this line's UID.
    fn read_record(
        &mut self,
        line: &[u8],
        line_no: usize,
        prev_read_uid: u32,
        warnings: &mut Vec<ReadWarning>,
    ) -> Result<u32, UidListError> {
        let err = |corruption| UidListError {
            line: line_no,
            corruption,
        };
        self.read_records_count += 1;
        let digits = line.iter().take_while(|c| c.is_ascii_digit()).count();
        let rest = &line[digits..];
        let uid64 = line[..digits]
            .iter()
            .try_fold(0u64, |acc, &d| {
                acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .unwrap_or(u64::MAX);
        if uid64 == 0 || rest.first() != Some(&b' ') {
            return Err(err(Corruption::InvalidData(lossy(rest))));
        }
        if uid64 <= u64::from(prev_read_uid) {
            return Err(err(Corruption::UidsNotOrdered {
                uid: uid64 as u32,
                prev: prev_read_uid,
            }));
        }
        if uid64 >= u64::from(u32::MAX) {
            return Err(err(Corruption::UidTooHigh(uid64)));
        }
        let uid = uid64 as u32;
        if uid <= self.last_seen_uid {
            // Already known from an earlier read.
            return Ok(uid);
        }
        self.last_seen_uid = uid;
        let version = self.header.as_ref().map_or(VERSION, |h| h.version);
        if version == 1 && uid >= self.header.as_ref().map_or(0, |h| h.next_uid) {
            return Err(err(Corruption::UidLargerThanNextUid {
                uid,
                next_uid: self.header.as_ref().map_or(0, |h| h.next_uid),
            }));
        }
        let mut rest = skip_spaces(rest);
        let mut extensions = Vec::new();
        if version == VERSION {
            while let Some(&c) = rest.first() {
                if c == b':' {
                    break;
                }
                let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
                let field = &rest[..end];
                if c.is_ascii_uppercase() {
                    extensions.push((c, field[1..].to_vec()));
                } else {
                    warnings.push(ReadWarning::InvalidExtensionRemoved {
                        line: line_no,
                        field: lossy(field),
                    });
                    self.rewrite.get_or_insert(RewriteReason::Repair);
                }
                rest = skip_spaces(&rest[end..]);
            }
            rest = rest.strip_prefix(b":").unwrap_or(rest);
            if rest.is_empty() {
                return Err(err(Corruption::InvalidExtendedFields(lossy(rest))));
            }
        }
        if rest.contains(&b'/') {
            return Err(err(Corruption::BrokenFilename(lossy(rest))));
        }
        let base = self.sep.base(rest).to_vec();
        if let Some(&old_uid) = self.by_base.get(&base) {
            if old_uid != uid {
                warnings.push(ReadWarning::DuplicateFile {
                    line: line_no,
                    filename: lossy(rest),
                    old_uid,
                    new_uid: uid,
                });
                self.records.retain(|r| r.uid != old_uid);
                self.rewrite.get_or_insert(RewriteReason::Repair);
            } else {
                // Our own append seen again: the record is already here.
                self.rewrite.get_or_insert(RewriteReason::Unsorted);
                return Ok(uid);
            }
        }
        if self.records.last().is_some_and(|r| r.uid > uid) {
            self.rewrite.get_or_insert(RewriteReason::Unsorted);
        }
        self.by_base.insert(base, uid);
        self.records.push(UidListRecord {
            uid,
            extensions,
            filename: rest.to_vec(),
        });
        Ok(uid)
    }

    /// After a successful read: sort, fix `next_uid`, note what needs a rewrite.
    fn finish_read(&mut self, before: &UidList, warnings: &mut Vec<ReadWarning>) {
        if !self.records.windows(2).all(|w| w[0].uid < w[1].uid) {
            self.records.sort_by_key(|r| r.uid);
        }
        let header = self.header.as_ref();
        let hdr_next = header.map_or(1, |h| h.next_uid);
        let last_uid = self.records.last().map_or(0, |r| r.uid);
        self.next_uid = self.next_uid.max(hdr_next).max(last_uid.saturating_add(1));
        let version = header.map_or(VERSION, |h| h.version);
        if version != VERSION {
            self.rewrite.get_or_insert(RewriteReason::OldVersion);
        } else if header.is_some_and(|h| h.guid.is_none()) {
            self.rewrite.get_or_insert(RewriteReason::NoGuid);
        }
        let old_validity = before.uid_validity();
        if old_validity != 0 && old_validity != self.uid_validity() {
            self.rewrite.get_or_insert(RewriteReason::Repair);
        } else if self.next_uid < before.next_uid {
            warnings.push(ReadWarning::NextUidLowered {
                old: before.next_uid,
                new: self.next_uid,
                header: hdr_next,
            });
            self.next_uid = before.next_uid;
            self.rewrite.get_or_insert(RewriteReason::Repair);
        }
    }

    /// Starts a new uidlist (no file yet): Dovecot writes it whole on the first change.
    pub fn create(sep: InfoSeparator, uid_validity: u32, guid: [u8; 16]) -> UidList {
        UidList {
            header: Some(UidListHeader {
                version: VERSION,
                uid_validity,
                next_uid: 1,
                guid: Some(guid),
                extensions: Vec::new(),
            }),
            next_uid: 1,
            sep,
            ..UidList::default()
        }
    }

    /// A list rebuilt from what the index knew after the file was lost: `records` keep
    /// their UIDs (names reduced to base names, duplicates dropped), the next UID is at
    /// least `next_uid`. The whole file is written on the next write.
    pub fn restore(
        sep: InfoSeparator,
        uid_validity: u32,
        guid: [u8; 16],
        next_uid: u32,
        mut records: Vec<(u32, Vec<u8>)>,
    ) -> UidList {
        records.sort_by_key(|r| r.0);
        let mut list = UidList::create(sep, uid_validity, guid);
        for (uid, name) in records {
            let base = sep.base(&name).to_vec();
            if uid == 0 || list.by_base.contains_key(&base) || list.last_seen_uid >= uid {
                continue;
            }
            list.by_base.insert(base.clone(), uid);
            list.last_seen_uid = uid;
            list.records.push(UidListRecord {
                uid,
                extensions: Vec::new(),
                filename: base,
            });
        }
        list.next_uid = next_uid.max(list.last_seen_uid.saturating_add(1)).max(1);
        list.rewrite = Some(RewriteReason::Repair);
        list
    }

    /// Gives new files their UIDs, in Dovecot's order (`maildir_filename_sort_cmp`), and
    /// returns the new records. Files already listed keep their UID. Call with the uidlist
    /// lock held and the file freshly read; then append or rewrite.
    pub fn assign_uids(
        &mut self,
        mut names: Vec<Vec<u8>>,
    ) -> Result<Vec<UidListRecord>, UidsExhausted> {
        names.sort_by(|a, b| self.sep.sort_cmp(a, b));
        names.dedup_by(|a, b| self.sep.same_base(a, b));
        names.retain(|n| self.uid_of(n).is_none());
        if (u64::from(self.next_uid) + names.len() as u64) >= u64::from(u32::MAX) {
            return Err(UidsExhausted);
        }
        let mut added = Vec::with_capacity(names.len());
        for name in names {
            let uid = self.next_uid;
            self.next_uid += 1;
            let record = UidListRecord {
                uid,
                extensions: Vec::new(),
                filename: self.sep.base(&name).to_vec(),
            };
            self.by_base.insert(record.filename.clone(), uid);
            self.last_seen_uid = uid;
            self.records.push(record.clone());
            added.push(record);
        }
        Ok(added)
    }

    /// Makes sure new UIDs start at `next_uid` or later (Dovecot's
    /// `maildir_sync_update_next_uid`: a uidlist that lost records — deleted, or read stale —
    /// must never hand out a UID the index has seen).
    pub fn raise_next_uid(&mut self, next_uid: u32) {
        if next_uid > self.next_uid {
            self.next_uid = next_uid;
        }
    }

    /// Forgets expunged messages (their lines stay in the file until it is rewritten).
    pub fn remove(&mut self, uid: u32) -> Option<UidListRecord> {
        let i = self.records.binary_search_by_key(&uid, |r| r.uid).ok()?;
        let rec = self.records.remove(i);
        self.by_base.remove(self.sep.base(&rec.filename));
        Some(rec)
    }

    /// Sets (or with `None` removes) a record extension; existing records change only by a
    /// rewrite.
    pub fn set_extension(&mut self, uid: u32, key: u8, value: Option<&[u8]>) -> bool {
        debug_assert!(key.is_ascii_uppercase());
        let Ok(i) = self.records.binary_search_by_key(&uid, |r| r.uid) else {
            return false;
        };
        let rec = &mut self.records[i];
        rec.extensions.retain(|(k, _)| *k != key);
        if let Some(v) = value {
            rec.extensions.push((key, v.to_vec()));
        }
        self.rewrite.get_or_insert(RewriteReason::Repair);
        true
    }

    /// Dovecot's compress rule: rewrite when at most 75% of the lines in the file (plus the
    /// ones about to be appended) are still live records.
    pub fn wants_compress(&self, appending: usize) -> bool {
        let min_rewrite = (self.read_records_count + appending) * COMPRESS_PERCENTAGE / 100;
        min_rewrite >= self.records.len() && !self.records.is_empty()
    }

    /// The lines to append for `records` (which must already be in this list).
    pub fn append_bytes(&self, records: &[UidListRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            write_record(&mut out, r, self.sep);
        }
        out
    }

    /// The whole file as Dovecot 2.3 writes it: version 3 header with V, N, G and the kept
    /// extensions, then every record. `N` is the current next UID.
    pub fn full_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.records.len() * 48);
        let (validity, guid, exts) = match &self.header {
            Some(h) => (h.uid_validity, h.guid, h.extensions.as_slice()),
            None => (0, None, &[][..]),
        };
        out.extend_from_slice(format!("{VERSION} V{validity} N{}", self.next_uid).as_bytes());
        if let Some(g) = guid {
            out.extend_from_slice(format!(" G{}", guid_hex(&g)).as_bytes());
        }
        for (k, v) in exts {
            out.push(b' ');
            out.push(*k);
            out.extend_from_slice(v.as_bytes());
        }
        out.push(b'\n');
        for r in &self.records {
            write_record(&mut out, r, self.sep);
        }
        out
    }

    /// After the file was written whole: it is version 3, read in full, nothing pending.
    pub fn mark_rewritten(&mut self) {
        if let Some(h) = &mut self.header {
            h.version = VERSION;
            h.next_uid = self.next_uid;
        }
        self.read_records_count = self.records.len();
        self.rewrite = None;
    }

    /// After records were appended to the file.
    pub fn mark_appended(&mut self, count: usize) {
        self.read_records_count += count;
    }

    /// Gives a list without GUID one (the next write is a rewrite anyway).
    pub fn set_guid(&mut self, guid: [u8; 16]) {
        if let Some(h) = &mut self.header {
            if h.guid != Some(guid) {
                h.guid = Some(guid);
                self.rewrite.get_or_insert(RewriteReason::NoGuid);
            }
        }
    }
}

/// The next UID would pass 2^32 - 1: the mailbox needs a new UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidsExhausted;

impl fmt::Display for UidsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UID space exhausted (next UID would pass 4294967294)")
    }
}

impl std::error::Error for UidsExhausted {}

fn write_record(out: &mut Vec<u8>, r: &UidListRecord, sep: InfoSeparator) {
    out.extend_from_slice(r.uid.to_string().as_bytes());
    for (k, v) in &r.extensions {
        out.push(b' ');
        out.push(*k);
        out.extend_from_slice(v);
    }
    out.extend_from_slice(b" :");
    // 2.3 writes the name without its info part.
    out.extend_from_slice(sep.base(&r.filename));
    out.push(b'\n');
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

/// The first line (Dovecot's `maildir_uidlist_read_header()`).
fn parse_header(line: &[u8]) -> Result<UidListHeader, Corruption> {
    let (Some(&v), Some(&b' ')) = (line.first(), line.get(1)) else {
        return Err(Corruption::InvalidVersionNumber);
    };
    if !v.is_ascii_digit() {
        return Err(Corruption::InvalidVersionNumber);
    }
    let version = v - b'0';
    let rest = &line[2..];
    let mut header = UidListHeader {
        version,
        uid_validity: 0,
        next_uid: 0,
        guid: None,
        extensions: Vec::new(),
    };
    match version {
        1 => {
            // sscanf("%u %u"): white space, then digits, twice.
            let mut fields = rest
                .split(|c| c.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .map(|f| {
                    let n = f.iter().take_while(|c| c.is_ascii_digit()).count();
                    parse_u32(&f[..n])
                });
            match (fields.next().flatten(), fields.next().flatten()) {
                (Some(v), Some(n)) => {
                    header.uid_validity = v;
                    header.next_uid = n;
                }
                _ => return Err(Corruption::Version1Header),
            }
        }
        VERSION => {
            let mut s = rest;
            while let Some(&key) = s.first() {
                // The value runs from after the key to the next space, even when the
                // key itself is a space (Dovecot reads it the same way).
                let end = 1 + s[1..]
                    .iter()
                    .position(|&c| c == b' ')
                    .unwrap_or(s.len() - 1);
                let value = &s[1..end];
                match key {
                    b'V' => {
                        header.uid_validity = parse_u32(value)
                            .ok_or_else(|| Corruption::InvalidUidValidity(lossy(value)))?
                    }
                    b'N' => {
                        header.next_uid = parse_u32(value)
                            .ok_or_else(|| Corruption::InvalidNextUid(lossy(value)))?
                    }
                    b'G' => {
                        header.guid = Some(
                            parse_guid(value)
                                .ok_or_else(|| Corruption::InvalidGuid(lossy(value)))?,
                        )
                    }
                    _ => header.extensions.push((key, lossy(value))),
                }
                s = skip_spaces(&s[end..]);
            }
        }
        other => return Err(Corruption::UnsupportedVersion(other)),
    }
    if header.uid_validity == 0 || header.next_uid == 0 {
        return Err(Corruption::BrokenHeader {
            uid_validity: header.uid_validity,
            next_uid: header.next_uid,
        });
    }
    Ok(header)
}

#[cfg(test)]
mod tests;
