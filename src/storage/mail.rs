//! [`Mail`]: one message of an open mailbox — what the index knows (flags, keywords, modseq,
//! sizes, dates), what the index cache holds (envelope, body structure), and the message
//! itself, read from its file only when something needs it.
//!
//! Values computed from the file (a parsed envelope, a size that was not in the file name)
//! are remembered in [`Mail::computed`]; [`Mailbox::cache`](super::api::Mailbox::cache)
//! writes them to the index cache so the next FETCH does not read the file again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fs::{FsError, FsFile};
use crate::mail::Message;

use super::error::{ErrorKind, StorageError, StorageResult};
use super::flags::MailFlags;
use super::maildir::filename::InfoSeparator;
use super::maildir::scan::{find_file, FileLoc};

/// Cache field names (`cote.index.cache`).
pub mod field {
    pub const ENVELOPE: &str = "imap.envelope";
    pub const BODYSTRUCTURE: &str = "imap.bodystructure";
    pub const BODY: &str = "imap.body";
    pub const VIRTUAL_SIZE: &str = "size.virtual";
    pub const PHYSICAL_SIZE: &str = "size.physical";
    pub const RECEIVED_DATE: &str = "date.received";
    pub const SAVE_DATE: &str = "date.save";
    /// PREVIEW's text after Dovecot's algorithm version byte (`1text`).
    pub const SNIPPET: &str = "body.snippet";

    /// The headers whose lines are cached for SEARCH (the keys with fixed names; HEADER
    /// takes any name and is not cached), SORT and THREAD, and their field names.
    pub const SEARCHED_HEADERS: [(&str, &str); 9] = [
        ("From", "hdr.from"),
        ("To", "hdr.to"),
        ("Cc", "hdr.cc"),
        ("Bcc", "hdr.bcc"),
        ("Subject", "hdr.subject"),
        ("Date", "hdr.date"),
        ("Message-ID", "hdr.message-id"),
        ("In-Reply-To", "hdr.in-reply-to"),
        ("References", "hdr.references"),
    ];
}

/// Where a message's file is (Maildir): the mailbox directory, the base name, and the names
/// to try first.
#[derive(Debug, Clone)]
pub(crate) struct MailFile {
    pub mailbox_dir: PathBuf,
    pub base: Vec<u8>,
    pub candidates: Vec<FileLoc>,
    /// The store's info separator, which the names are read with.
    pub sep: InfoSeparator,
}

impl MailFile {
    /// Opens the file: the known names first, then a search of `cur/` and `new/` (it was
    /// renamed by a flag change elsewhere). `None`: expunged.
    fn open(&mut self) -> StorageResult<Option<(FsFile, PathBuf)>> {
        for loc in &self.candidates {
            let path = loc.path(&self.mailbox_dir);
            match FsFile::open_read(&path) {
                Ok(f) => return Ok(Some((f, path))),
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(StorageError::from_fs(None, &e)),
            }
        }
        // Renamed since we last knew: look for it (twice, in case it moved while we looked).
        for _ in 0..2 {
            let Some(loc) = find_file(&self.mailbox_dir, &self.base, self.sep)? else {
                return Ok(None);
            };
            let path = loc.path(&self.mailbox_dir);
            match FsFile::open_read(&path) {
                Ok(f) => {
                    self.candidates.insert(0, loc);
                    return Ok(Some((f, path)));
                }
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(StorageError::from_fs(None, &e)),
            }
        }
        Ok(None)
    }

    /// The file name this message was last seen under.
    fn name(&self) -> Option<&[u8]> {
        self.candidates.first().map(|l| l.name.as_slice())
    }
}

/// What the index knows about the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexedMeta {
    pub physical_size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub internal_date: Option<i64>,
    pub save_date: Option<i64>,
}

/// One message.
#[derive(Debug)]
pub struct Mail {
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    pub recent: bool,
    vname: String,
    guid: String,
    pop3_uidl: Option<String>,
    header_md5: Option<[u8; 16]>,
    broken_filename_sizes: bool,
    file: MailFile,
    meta: IndexedMeta,
    cached: Vec<(String, Vec<u8>)>,
    computed: Vec<(String, Vec<u8>)>,
    /// The file's content once read; it moves into `parsed` when that is made.
    data: Option<Vec<u8>>,
    parsed: Option<Message>,
    /// The root header alone, when only that was read (see [`Mail::header_message`]).
    header: Option<Message>,
    times: Option<(i64, i64)>,
}

/// What a mailbox knows to build a [`Mail`] from.
pub(crate) struct MailParts {
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    pub recent: bool,
    pub vname: String,
    pub guid: String,
    pub pop3_uidl: Option<String>,
    /// mbox: the header MD5 (`mbox_md5`), POP3's `%m`; `None` elsewhere (as with Dovecot).
    pub header_md5: Option<[u8; 16]>,
    pub broken_filename_sizes: bool,
    pub file: MailFile,
    pub meta: IndexedMeta,
    pub cached: Vec<(String, Vec<u8>)>,
}

impl Mail {
    pub(crate) fn new(p: MailParts) -> Mail {
        Mail {
            uid: p.uid,
            flags: p.flags,
            keywords: p.keywords,
            modseq: p.modseq,
            recent: p.recent,
            vname: p.vname,
            guid: p.guid,
            pop3_uidl: p.pop3_uidl,
            header_md5: p.header_md5,
            broken_filename_sizes: p.broken_filename_sizes,
            file: p.file,
            meta: p.meta,
            cached: p.cached,
            computed: Vec::new(),
            data: None,
            parsed: None,
            header: None,
            times: None,
        }
    }

    /// A message whose bytes the mailbox already has (mbox: the message cut out of the
    /// file, Dovecot's headers hidden), received and saved at `times`.
    pub(crate) fn with_data(p: MailParts, data: Vec<u8>, times: (i64, i64)) -> Mail {
        let mut mail = Mail::new(p);
        mail.data = Some(data);
        mail.times = Some(times);
        mail
    }

    fn err(&self, e: StorageError) -> StorageError {
        e.for_uid(self.uid).in_mailbox(&self.vname)
    }

    fn expunged(&self) -> StorageError {
        StorageError::new(ErrorKind::Expunged, "Message was expunged")
            .for_uid(self.uid)
            .in_mailbox(&self.vname)
    }

    /// The message as stored (Dovecot's LF form for what cote and Dovecot saved).
    pub fn raw(&mut self) -> StorageResult<&[u8]> {
        if let Some(parsed) = &self.parsed {
            return Ok(parsed.data());
        }
        if self.data.is_none() {
            let Some((file, path)) = self.file.open().map_err(|e| self.err(e))? else {
                return Err(self.expunged());
            };
            let (data, meta) = file
                .read_all()
                .map_err(|e: FsError| self.err(StorageError::from_fs(None, &e).at_path(&path)))?;
            self.times.get_or_insert((meta.mtime(), meta.ctime()));
            self.data = Some(data);
        }
        Ok(self.data.as_deref().unwrap_or_default())
    }

    /// The parsed message (header, body, MIME parts, sections).
    pub fn message(&mut self) -> StorageResult<&Message> {
        if self.parsed.is_none() {
            self.raw()?;
            // The data moves into the parsed message (raw() answers from it from now on).
            let data = self.data.take().unwrap_or_default();
            self.parsed = Some(Message::parse(data));
        }
        match &self.parsed {
            Some(m) => Ok(m),
            None => Err(self.expunged()),
        }
    }

    /// The message for what its root header alone answers (header searches, ENVELOPE,
    /// `BODY[HEADER...]`): the whole message when it was read, else its header, read only
    /// as far as the header goes.
    pub fn header_message(&mut self) -> StorageResult<&Message> {
        if self.parsed.is_some() || self.data.is_some() {
            return self.message();
        }
        if self.header.is_none() {
            let Some((file, path)) = self.file.open().map_err(|e| self.err(e))? else {
                return Err(self.expunged());
            };
            let header = read_header(&file, HEADER_BLOCK)
                .map_err(|e: FsError| self.err(StorageError::from_fs(None, &e).at_path(&path)))?;
            self.header = Some(Message::parse(header));
        }
        match &self.header {
            Some(m) => Ok(m),
            None => Err(self.expunged()),
        }
    }

    /// The root header's `name` lines ([`Message::header_lines`]) when `name` is one of the
    /// searched headers whose lines are cached: from the cache, else read and remembered
    /// for it. `None` for other headers.
    pub fn header_lines(&mut self, name: &str) -> StorageResult<Option<Vec<u8>>> {
        let Some(&(_, cache_name)) = field::SEARCHED_HEADERS
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
        else {
            return Ok(None);
        };
        if let Some(lines) = self.cached_field(cache_name) {
            return Ok(Some(lines.to_vec()));
        }
        let lines = self.header_message()?.header_lines(name);
        self.remember(cache_name, lines.clone());
        Ok(Some(lines))
    }

    /// The stored size.
    pub fn physical_size(&mut self) -> StorageResult<u64> {
        if let Some(s) = self.meta.physical_size {
            return Ok(s);
        }
        if let Some(s) = self.cached_u64(field::PHYSICAL_SIZE) {
            return Ok(s);
        }
        if let Some(s) = self.file.name().and_then(|n| {
            self.file
                .sep
                .quick_size(n, false, self.broken_filename_sizes)
        }) {
            return Ok(s);
        }
        let size = self.raw()?.len() as u64;
        self.meta.physical_size = Some(size);
        self.remember(field::PHYSICAL_SIZE, size.to_string().into_bytes());
        Ok(size)
    }

    /// RFC822.SIZE: the size with CRLF line ends.
    pub fn virtual_size(&mut self) -> StorageResult<u64> {
        if let Some(s) = self.meta.virtual_size {
            return Ok(s);
        }
        if let Some(s) = self.cached_u64(field::VIRTUAL_SIZE) {
            return Ok(s);
        }
        if let Some(s) = self.file.name().and_then(|n| {
            self.file
                .sep
                .quick_size(n, true, self.broken_filename_sizes)
        }) {
            return Ok(s);
        }
        let size = super::maildir::save::virtual_size(self.raw()?);
        self.meta.virtual_size = Some(size);
        self.remember(field::VIRTUAL_SIZE, size.to_string().into_bytes());
        Ok(size)
    }

    /// RFC822.SIZE when it is known without reading the message (the index, the cache, the
    /// file name's `W=`): `pop3_fast_size_lookups`.
    pub fn virtual_size_if_known(&mut self) -> Option<u64> {
        self.meta
            .virtual_size
            .or_else(|| self.cached_u64(field::VIRTUAL_SIZE))
            .or_else(|| {
                let name = self.file.name()?;
                self.file
                    .sep
                    .quick_size(name, true, self.broken_filename_sizes)
            })
    }

    /// The stored size when it is known without reading or even `stat`ing the message (the
    /// index, the cache, the file name's `S=`): `pop3_fast_size_lookups`.
    pub fn physical_size_if_known(&mut self) -> Option<u64> {
        self.meta
            .physical_size
            .or_else(|| self.cached_u64(field::PHYSICAL_SIZE))
            .or_else(|| {
                let name = self.file.name()?;
                self.file
                    .sep
                    .quick_size(name, false, self.broken_filename_sizes)
            })
    }

    /// INTERNALDATE (UNIX seconds): the file's mtime.
    pub fn internal_date(&mut self) -> StorageResult<i64> {
        if let Some(d) = self.meta.internal_date {
            return Ok(d);
        }
        if let Some(d) = self.cached_i64(field::RECEIVED_DATE) {
            return Ok(d);
        }
        let (mtime, _) = self.file_times()?;
        self.meta.internal_date = Some(mtime);
        self.remember(field::RECEIVED_DATE, mtime.to_string().into_bytes());
        Ok(mtime)
    }

    /// When the message was saved into this mailbox: what was recorded, else the file's
    /// ctime (as Dovecot).
    pub fn save_date(&mut self) -> StorageResult<i64> {
        if let Some(d) = self.meta.save_date {
            return Ok(d);
        }
        if let Some(d) = self.cached_i64(field::SAVE_DATE) {
            return Ok(d);
        }
        let (_, ctime) = self.file_times()?;
        self.meta.save_date = Some(ctime);
        self.remember(field::SAVE_DATE, ctime.to_string().into_bytes());
        Ok(ctime)
    }

    /// The message GUID: the uidlist's `G` field, else the file's base name.
    pub fn guid(&self) -> &str {
        &self.guid
    }

    /// The backend's name for the message (Maildir: the file's base name, without the
    /// `:2,` info): Dovecot's storage id, POP3's `%f`.
    pub fn storage_id(&self) -> String {
        String::from_utf8_lossy(&self.file.base).into_owned()
    }

    /// mbox: the MD5 of the header as `mbox_md5` says (POP3's `%m`); `None` for Maildir.
    pub fn header_md5(&self) -> Option<[u8; 16]> {
        self.header_md5
    }

    /// The POP3 UIDL the uidlist records for this message (`P` field), if any.
    pub fn pop3_uidl(&self) -> Option<&str> {
        self.pop3_uidl.as_deref()
    }

    /// ENVELOPE, from the cache or parsed.
    pub fn envelope(&mut self) -> StorageResult<Vec<u8>> {
        if let Some(v) = self.cached_field(field::ENVELOPE) {
            return Ok(v.to_vec());
        }
        let env = self.header_message()?.imap_envelope();
        self.remember(field::ENVELOPE, env.clone());
        Ok(env)
    }

    /// BODYSTRUCTURE (`extended`) or BODY, from the cache or parsed.
    pub fn body_structure(&mut self, extended: bool) -> StorageResult<Vec<u8>> {
        let name = if extended {
            field::BODYSTRUCTURE
        } else {
            field::BODY
        };
        if let Some(v) = self.cached_field(name) {
            return Ok(v.to_vec());
        }
        let msg = self.message()?;
        let result = if extended {
            msg.imap_bodystructure()
        } else {
            msg.imap_body()
        };
        let value = result.map_err(|e| {
            self.err(StorageError::critical(
                None,
                format!("Can't build {name}: {}", e.0),
            ))
        })?;
        self.remember(name, value.clone());
        Ok(value)
    }

    /// PREVIEW's text (RFC 8970), from the cache or made from the message and kept for the
    /// cache; `lazy`: only from the cache (`None` when it is not there).
    pub fn snippet(&mut self, lazy: bool) -> StorageResult<Option<String>> {
        if let Some(value) = self.cached_field(field::SNIPPET).filter(|v| !v.is_empty()) {
            return Ok(Some(cached_snippet(value)));
        }
        if lazy {
            return Ok(None);
        }
        let text = self.message()?.snippet();
        let mut value = vec![crate::mail::snippet::ALGORITHM_V1];
        value.extend_from_slice(text.as_bytes());
        self.remember(field::SNIPPET, value);
        Ok(Some(text))
    }

    /// Fields computed from the file that the cache does not have yet.
    pub fn computed(&self) -> &[(String, Vec<u8>)] {
        &self.computed
    }

    pub(crate) fn take_computed(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.computed)
    }

    fn file_times(&mut self) -> StorageResult<(i64, i64)> {
        if let Some(t) = self.times {
            return Ok(t);
        }
        let Some((file, path)) = self.file.open().map_err(|e| self.err(e))? else {
            return Err(self.expunged());
        };
        let meta = file
            .metadata()
            .map_err(|e| self.err(StorageError::from_fs(None, &e).at_path(&path)))?;
        let t = (meta.mtime(), meta.ctime());
        self.times = Some(t);
        Ok(t)
    }

    fn cached_field(&self, name: &str) -> Option<&[u8]> {
        self.cached
            .iter()
            .chain(self.computed.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn cached_u64(&self, name: &str) -> Option<u64> {
        std::str::from_utf8(self.cached_field(name)?)
            .ok()?
            .parse()
            .ok()
    }

    fn cached_i64(&self, name: &str) -> Option<i64> {
        std::str::from_utf8(self.cached_field(name)?)
            .ok()?
            .parse()
            .ok()
    }

    fn remember(&mut self, name: &str, value: Vec<u8>) {
        if !self.computed.iter().any(|(n, _)| n == name) {
            self.computed.push((name.to_string(), value));
        }
    }

    /// Where the file was last seen (for tests and tools).
    pub fn last_path(&self) -> Option<PathBuf> {
        self.file
            .candidates
            .first()
            .map(|l| l.path(Path::new(&self.file.mailbox_dir)))
    }
}

/// The text of a cached [`field::SNIPPET`] value: what follows its version byte.
pub fn cached_snippet(value: &[u8]) -> String {
    String::from_utf8_lossy(value.get(1..).unwrap_or_default()).into_owned()
}

/// How much of a message file [`read_header`] reads first (most headers are smaller).
const HEADER_BLOCK: usize = 8 * 1024;

/// The start of a message file as far as its root header goes (the whole file when the
/// header never ends), read in growing blocks of at least `block` bytes. The header counts
/// as ended only with data after its end: a line cut at a block's edge is read whole first.
fn read_header(file: &FsFile, block: usize) -> Result<Vec<u8>, FsError> {
    let mut buf = vec![0u8; block.max(1)];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = file.read_at(&mut buf[filled..], filled as u64)?;
        filled += n;
        let end = crate::mail::parser::root_body_offset(&buf[..filled]);
        if n == 0 || end < filled {
            buf.truncate(end);
            return Ok(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::CreatePerms;

    /// Whatever the block size, the header read is the full parse's root header.
    #[test]
    fn header_read_is_the_root_header() {
        let dir = tempfile::tempdir().unwrap();
        let messages: [&[u8]; 6] = [
            b"Subject: a\n\nbody\n",
            b"Subject: a\r\nX: folded\r\n continued\r\n\r\nbody\r\n",
            b"Subject: no body\n",
            b"Subject: no end",
            b"\nbody only\n",
            b"",
        ];
        let mut long = b"X-Long: ".to_vec();
        long.extend(std::iter::repeat_n(b'x', 3 * HEADER_BLOCK));
        long.extend_from_slice(b"\nSubject: after\n\nbody");
        for (i, data) in messages
            .iter()
            .copied()
            .chain([long.as_slice()])
            .enumerate()
        {
            let path = dir.path().join(i.to_string());
            let perms = CreatePerms {
                file_mode: 0o600,
                ..CreatePerms::default()
            };
            let file = FsFile::create_excl(&path, &perms).unwrap();
            file.write_all_at(data, 0).unwrap();
            let want = &data[..crate::mail::parser::parse(data).body_offset];
            for block in [1, 2, 3, 5, 7, 16, HEADER_BLOCK] {
                assert_eq!(
                    read_header(&file, block).unwrap(),
                    want,
                    "message {i}, block {block}"
                );
            }
        }
    }
}
