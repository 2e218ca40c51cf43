//! SEARCH programs: every RFC 3501 key, CONDSTORE's MODSEQ, WITHIN's OLDER/YOUNGER,
//! SAVEDATE's keys, SEARCHRES's `$`, ESEARCH's `RETURN (...)`, and Dovecot's own keys, read as
//! Dovecot's `mail-search-register-imap.c` reads them, with its error texts.
//!
//! String values are converted from the CHARSET to UTF-8 when the program is read
//! (`NO [BADCHARSET]` for an unknown charset, as Dovecot answers).

use super::command::{atom, list, CommandError};
use super::fetch::{parse_fetch_att_list, FetchItem};
use super::select::number;
use super::Arg;
use super::ParseContext;
use crate::imap::response::Code;
use crate::imap::seqset::{SequenceSet, SetArg};
use crate::mail::date::parse_imap_date;
use crate::mail::decode::{charset_to_utf8, is_utf8_label};
use crate::mail::search::{DateMatch, HeaderMatch};
use crate::storage::flags::MailFlags;

/// How deeply keys may nest (lists, NOT, OR, FUZZY, INTHREAD). Dovecot has no limit; cote's
/// keeps the recursion of reading, evaluating and dropping a program bounded.
pub const MAX_SEARCH_DEPTH: usize = 100;

/// `SEARCH [RETURN (...)] [CHARSET x] keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub uid: bool,
    /// `RETURN (...)` was given: the answer is ESEARCH.
    pub returns: Option<SearchReturn>,
    /// The keys, all of which must match.
    pub program: Vec<SearchKey>,
    /// `RETURN (UPDATE (fetch-att))`: what to FETCH of messages that join the result.
    pub update_fetch: Vec<FetchItem>,
}

/// ESEARCH's result options (RFC 4731), SEARCHRES's SAVE (RFC 5182) and Dovecot's others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    pub save: bool,
    /// CONTEXT=SEARCH's UPDATE (RFC 5267); its optional fetch-att list is read by
    /// [`parse_update_fetch`].
    pub update: bool,
    pub relevancy: bool,
    /// CONTEXT=SEARCH's `PARTIAL n:m`: the n-th to m-th results.
    pub partial: Option<(u32, u32)>,
}

impl SearchReturn {
    /// Whether an ESEARCH response goes out: not for SAVE alone (`RETURN ()` means ALL),
    /// unless the program has a MODSEQ key (`uses_modseq`: the response then reports it), as
    /// in Dovecot. UPDATE alone sends an empty one.
    pub fn sends_esearch(&self, uses_modseq: bool) -> bool {
        let save_only = SearchReturn {
            save: true,
            ..SearchReturn::default()
        };
        uses_modseq || *self != save_only
    }
}

/// Which date a date key compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// BEFORE/ON/SINCE: INTERNALDATE, in the server's time zone.
    Internal,
    /// SENTBEFORE/SENTON/SENTSINCE: the Date: header in its own zone.
    Sent,
    /// SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514).
    Saved,
}

/// MODSEQ's entry name (`/flags/\Seen`, `/flags/keyword`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModseqEntry {
    Flag(MailFlags),
    Keyword(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModseqEntryType {
    All,
    Private,
    Shared,
}

/// THREAD algorithms (RFC 5256; REFS is RFC 8474... Dovecot's name for its variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
    Refs,
}

impl ThreadAlgorithm {
    pub fn parse(name: &str) -> Option<ThreadAlgorithm> {
        match name.to_ascii_uppercase().as_str() {
            "ORDEREDSUBJECT" => Some(ThreadAlgorithm::OrderedSubject),
            "REFERENCES" => Some(ThreadAlgorithm::References),
            "REFS" => Some(ThreadAlgorithm::Refs),
            _ => None,
        }
    }
}

/// A search key. Strings are UTF-8, converted from the command's CHARSET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    /// A sequence set, or `$`.
    Sequence(SetArg),
    /// `UID set`, or `UID $`.
    Uid(SetArg),
    /// A system flag set (`SEEN`) or not set (`UNSEEN`).
    Flag(MailFlags, bool),
    /// `RECENT` (true) or `OLD` (false).
    Recent(bool),
    /// `KEYWORD x` (true) or `UNKEYWORD x` (false).
    Keyword(String, bool),
    /// A date key; the day is the UTC timestamp of its midnight.
    Date(DateField, DateMatch, i64),
    SaveDateSupported,
    Larger(u64),
    Smaller(u64),
    /// FROM/TO/CC/BCC/SUBJECT/HEADER: the field name as given (upper case for HEADER).
    Header {
        field: String,
        value: String,
        how: HeaderMatch,
    },
    Body(String),
    Text(String),
    /// WITHIN: INTERNALDATE at most (OLDER: at least) this many seconds ago.
    Younger(u32),
    Older(u32),
    Modseq {
        entry: Option<(ModseqEntry, ModseqEntryType)>,
        modseq: u64,
    },
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// A parenthesized list: all must match.
    And(Vec<SearchKey>),
    /// FUZZY (RFC 6203): cote matches exactly, which RFC 6203 allows.
    Fuzzy(Box<SearchKey>),
    /// Dovecot's INTHREAD.
    InThread(ThreadAlgorithm, Box<SearchKey>),
    /// Dovecot's X-GUID.
    Guid(String),
    /// Dovecot's X-MAILBOX (a glob over virtual mailboxes' source names).
    Mailbox(String),
    /// Dovecot's X-REAL-UID.
    RealUid(SequenceSet),
}

impl SearchKey {
    /// Whether the program uses `$` (it must then wait for the result it refers to).
    pub fn uses_saved_result(&self) -> bool {
        match self {
            SearchKey::Sequence(SetArg::SavedResult) | SearchKey::Uid(SetArg::SavedResult) => true,
            SearchKey::Not(k) | SearchKey::Fuzzy(k) | SearchKey::InThread(_, k) => {
                k.uses_saved_result()
            }
            SearchKey::Or(a, b) => a.uses_saved_result() || b.uses_saved_result(),
            SearchKey::And(keys) => keys.iter().any(SearchKey::uses_saved_result),
            _ => false,
        }
    }

    /// Whether the program has a sequence or UID set (UID SEARCH then holds EXPUNGE
    /// responses back, as Dovecot: it turns UID sets into sequence sets first).
    pub fn uses_sets(&self) -> bool {
        match self {
            SearchKey::Sequence(_) | SearchKey::Uid(_) => true,
            SearchKey::Not(k) | SearchKey::Fuzzy(k) => k.uses_sets(),
            SearchKey::Or(a, b) => a.uses_sets() || b.uses_sets(),
            SearchKey::And(keys) => keys.iter().any(SearchKey::uses_sets),
            _ => false,
        }
    }

    /// Whether the program has RECENT, NEW or OLD (which IMAP4rev2 deprecated).
    pub fn uses_recent(&self) -> bool {
        match self {
            SearchKey::Recent(_) => true,
            SearchKey::Not(k) | SearchKey::Fuzzy(k) | SearchKey::InThread(_, k) => k.uses_recent(),
            SearchKey::Or(a, b) => a.uses_recent() || b.uses_recent(),
            SearchKey::And(keys) => keys.iter().any(SearchKey::uses_recent),
            _ => false,
        }
    }

    /// Whether the program has a MODSEQ key (the answer then reports the highest modseq).
    pub fn uses_modseq(&self) -> bool {
        match self {
            SearchKey::Modseq { .. } => true,
            SearchKey::Not(k) | SearchKey::Fuzzy(k) | SearchKey::InThread(_, k) => k.uses_modseq(),
            SearchKey::Or(a, b) => a.uses_modseq() || b.uses_modseq(),
            SearchKey::And(keys) => keys.iter().any(SearchKey::uses_modseq),
            _ => false,
        }
    }
}

/// SEARCH's arguments (Dovecot's `cmd_search`).
pub fn parse_search(args: &[Arg], uid: bool) -> Result<Search, CommandError> {
    let (returns, args) = parse_return_if_found(args)?;
    let (charset, args) = parse_charset_if_found(args)?;
    let program = parse_program(args, charset.as_deref())?;
    Ok(Search {
        uid,
        returns,
        program,
        update_fetch: Vec::new(),
    })
}

/// The fetch-att list of `RETURN (... UPDATE (list) ...)` read as FETCH items (with the
/// context the items need); empty without one. Read after [`parse_return_if_found`]
/// accepted the options.
pub fn parse_update_fetch(
    args: &[Arg],
    ctx: &ParseContext,
) -> Result<Vec<FetchItem>, CommandError> {
    let is_return = atom(args.first()).is_some_and(|a| a.eq_ignore_ascii_case("RETURN"));
    let (true, Some(options)) = (is_return, list(args.get(1))) else {
        return Ok(Vec::new());
    };
    let fetch_list = options.windows(2).find_map(|pair| match pair {
        [Arg::Atom(name), Arg::List(items)] if name.eq_ignore_ascii_case("UPDATE") => Some(items),
        _ => None,
    });
    let Some(items) = fetch_list else {
        return Ok(Vec::new());
    };
    parse_fetch_att_list(items, ctx)
        .map_err(|e| CommandError::bad(format!("SEARCH UPDATE fetch-att: {e}")))
}

/// `RETURN (options)` at the start; `RETURN` not followed by a list is a search key.
pub(crate) fn parse_return_if_found(
    args: &[Arg],
) -> Result<(Option<SearchReturn>, &[Arg]), CommandError> {
    let is_return = atom(args.first()).is_some_and(|a| a.eq_ignore_ascii_case("RETURN"));
    let (true, Some(options)) = (is_return, list(args.get(1))) else {
        return Ok((None, args));
    };
    let mut ret = SearchReturn::default();
    let mut i = 0;
    while i < options.len() {
        let name = atom(options.get(i))
            .ok_or_else(|| CommandError::bad("SEARCH return options contain non-atoms."))?
            .to_ascii_uppercase();
        i += 1;
        match name.as_str() {
            "MIN" => ret.min = true,
            "MAX" => ret.max = true,
            "ALL" => ret.all = true,
            "COUNT" => ret.count = true,
            "SAVE" => ret.save = true,
            "CONTEXT" => {}
            "UPDATE" => {
                if ret.update {
                    return Err(CommandError::bad(
                        "SEARCH return options have duplicate UPDATE.",
                    ));
                }
                ret.update = true;
                if list(options.get(i)).is_some() {
                    i += 1;
                }
            }
            "RELEVANCY" => ret.relevancy = true,
            "PARTIAL" => {
                if ret.partial.is_some() {
                    return Err(CommandError::bad("PARTIAL can be used only once."));
                }
                let range = atom(options.get(i))
                    .ok_or_else(|| CommandError::bad("PARTIAL range missing."))?;
                ret.partial = Some(
                    parse_partial_range(range)
                        .ok_or_else(|| CommandError::bad("PARTIAL range broken."))?,
                );
                i += 1;
            }
            _ => return Err(CommandError::bad("Unknown SEARCH return option")),
        }
    }
    if ret.partial.is_some() && ret.all {
        return Err(CommandError::bad("PARTIAL conflicts with ALL"));
    }
    if !ret.min
        && !ret.max
        && !ret.all
        && !ret.count
        && !ret.save
        && !ret.update
        && !ret.relevancy
        && ret.partial.is_none()
    {
        ret.all = true;
    }
    Ok((Some(ret), &args[2..]))
}

/// `n:m` with both positive (Dovecot's `imap_partial_range_parse`).
fn parse_partial_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    let a: u32 = number(a)?;
    let b: u32 = number(b)?;
    (a > 0 && b > 0).then_some((a.min(b), a.max(b)))
}

/// `CHARSET name` at the start; the charset then applies to the program's strings.
pub(crate) fn parse_charset_if_found(
    args: &[Arg],
) -> Result<(Option<String>, &[Arg]), CommandError> {
    if !atom(args.first()).is_some_and(|a| a.eq_ignore_ascii_case("CHARSET")) {
        return Ok((None, args));
    }
    let charset = args
        .get(1)
        .and_then(Arg::as_astring)
        .ok_or_else(|| CommandError::bad("Invalid charset argument."))?;
    Ok((
        Some(String::from_utf8_lossy(charset).into_owned()),
        &args[2..],
    ))
}

/// A search program: the keys of `args`, all of which must match.
pub(crate) fn parse_program(
    args: &[Arg],
    charset: Option<&str>,
) -> Result<Vec<SearchKey>, CommandError> {
    if args.is_empty() {
        return Err(CommandError::bad("Missing search parameters"));
    }
    let mut reader = KeyReader {
        charset: charset.unwrap_or("UTF-8").to_string(),
        charset_checked: false,
        last_key: None,
    };
    let mut keys = Vec::new();
    let mut pos = 0;
    while pos < args.len() {
        keys.push(reader.key(args, &mut pos, 0)?);
    }
    if !reader.charset_checked {
        reader.utf8_value(b"")?;
    }
    Ok(keys)
}

struct KeyReader {
    charset: String,
    charset_checked: bool,
    /// The key whose parameter is being read (for "(for search key: X)").
    last_key: Option<String>,
}

impl KeyReader {
    /// Reads one key at `args[*pos]`. The caller has checked that there is one.
    fn key(
        &mut self,
        args: &[Arg],
        pos: &mut usize,
        depth: usize,
    ) -> Result<SearchKey, CommandError> {
        if depth >= MAX_SEARCH_DEPTH {
            return Err(CommandError::bad("Search program is too deeply nested."));
        }
        let arg = &args[*pos];
        *pos += 1;
        let name = match arg {
            Arg::Atom(name) => name.to_ascii_uppercase(),
            Arg::Quoted(s) | Arg::Literal(s) => {
                return Err(CommandError::bad(format!(
                    "Unexpected string as search key: {}",
                    String::from_utf8_lossy(s)
                )))
            }
            Arg::List(items) => {
                if items.is_empty() {
                    return Err(CommandError::bad("No search parameters inside list"));
                }
                let mut keys = Vec::new();
                let mut inner = 0;
                while inner < items.len() {
                    keys.push(self.key(items, &mut inner, depth + 1)?);
                }
                return Ok(SearchKey::And(keys));
            }
        };
        self.last_key = Some(name.clone());
        match name.as_str() {
            "NOT" => Ok(SearchKey::Not(Box::new(self.operand(args, pos, depth)?))),
            "OR" => {
                let a = self.operand(args, pos, depth)?;
                let b = self.operand(args, pos, depth)?;
                Ok(SearchKey::Or(Box::new(a), Box::new(b)))
            }
            "FUZZY" => Ok(SearchKey::Fuzzy(Box::new(self.operand(args, pos, depth)?))),
            "INTHREAD" => {
                let algorithm = self.string(args, pos)?;
                let algorithm = std::str::from_utf8(algorithm)
                    .ok()
                    .and_then(ThreadAlgorithm::parse)
                    .ok_or_else(|| CommandError::bad("Unknown thread algorithm"))?;
                let key = self.operand(args, pos, depth)?;
                Ok(SearchKey::InThread(algorithm, Box::new(key)))
            }
            _ => self.leaf(&name, args, pos),
        }
    }

    /// A key that holds no other key. Kept out of [`KeyReader::key`] so that the recursion
    /// through nested keys uses little stack.
    #[inline(never)]
    fn leaf(
        &mut self,
        name: &str,
        args: &[Arg],
        pos: &mut usize,
    ) -> Result<SearchKey, CommandError> {
        let flag = |flag: MailFlags, set: bool| Ok(SearchKey::Flag(flag, set));
        match name {
            "ALL" => Ok(SearchKey::All),
            "ANSWERED" => flag(MailFlags::ANSWERED, true),
            "UNANSWERED" => flag(MailFlags::ANSWERED, false),
            "DELETED" => flag(MailFlags::DELETED, true),
            "UNDELETED" => flag(MailFlags::DELETED, false),
            "DRAFT" => flag(MailFlags::DRAFT, true),
            "UNDRAFT" => flag(MailFlags::DRAFT, false),
            "FLAGGED" => flag(MailFlags::FLAGGED, true),
            "UNFLAGGED" => flag(MailFlags::FLAGGED, false),
            "SEEN" => flag(MailFlags::SEEN, true),
            "UNSEEN" => flag(MailFlags::SEEN, false),
            "RECENT" => Ok(SearchKey::Recent(true)),
            "OLD" => Ok(SearchKey::Recent(false)),
            "NEW" => Ok(SearchKey::And(vec![
                SearchKey::Recent(true),
                SearchKey::Flag(MailFlags::SEEN, false),
            ])),
            "KEYWORD" | "UNKEYWORD" => {
                let value = self.string(args, pos)?;
                Ok(SearchKey::Keyword(
                    String::from_utf8_lossy(value).into_owned(),
                    name == "KEYWORD",
                ))
            }
            "BEFORE" => self.date(args, pos, DateField::Internal, DateMatch::Before),
            "ON" => self.date(args, pos, DateField::Internal, DateMatch::On),
            "SINCE" => self.date(args, pos, DateField::Internal, DateMatch::Since),
            "SENTBEFORE" => self.date(args, pos, DateField::Sent, DateMatch::Before),
            "SENTON" => self.date(args, pos, DateField::Sent, DateMatch::On),
            "SENTSINCE" => self.date(args, pos, DateField::Sent, DateMatch::Since),
            "SAVEDBEFORE" | "X-SAVEDBEFORE" => {
                self.date(args, pos, DateField::Saved, DateMatch::Before)
            }
            "SAVEDON" | "X-SAVEDON" => self.date(args, pos, DateField::Saved, DateMatch::On),
            "SAVEDSINCE" | "X-SAVEDSINCE" => {
                self.date(args, pos, DateField::Saved, DateMatch::Since)
            }
            "SAVEDATESUPPORTED" => Ok(SearchKey::SaveDateSupported),
            "LARGER" | "SMALLER" => {
                let value = self.string(args, pos)?;
                let size = std::str::from_utf8(value)
                    .ok()
                    .and_then(number::<u64>)
                    .ok_or_else(|| CommandError::bad("Invalid search size parameter"))?;
                Ok(if name == "LARGER" {
                    SearchKey::Larger(size)
                } else {
                    SearchKey::Smaller(size)
                })
            }
            "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => {
                let value = self.string(args, pos)?;
                let value = self.utf8_value(value)?;
                let field = name[..1].to_string() + &name[1..].to_ascii_lowercase();
                Ok(SearchKey::Header {
                    how: HeaderMatch::for_key(name),
                    field,
                    value,
                })
            }
            "HEADER" => {
                let field = self.string(args, pos)?;
                let field = self.utf8_value(field)?.to_ascii_uppercase();
                let value = self.string(args, pos)?;
                let value = self.utf8_value(value)?;
                Ok(SearchKey::Header {
                    field,
                    value,
                    how: HeaderMatch::Plain,
                })
            }
            "BODY" | "TEXT" => {
                let value = self.string(args, pos)?;
                let value = self.utf8_value(value)?;
                Ok(if name == "BODY" {
                    SearchKey::Body(value)
                } else {
                    SearchKey::Text(value)
                })
            }
            "OLDER" | "YOUNGER" => {
                let value = self.string(args, pos)?;
                let interval = std::str::from_utf8(value)
                    .ok()
                    .and_then(number::<u32>)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| CommandError::bad("Invalid search interval parameter"))?;
                Ok(if name == "OLDER" {
                    SearchKey::Older(interval)
                } else {
                    SearchKey::Younger(interval)
                })
            }
            "MODSEQ" => self.modseq(args, pos),
            "UID" => {
                let value = self.string(args, pos)?;
                SetArg::parse(value)
                    .map(SearchKey::Uid)
                    .map_err(|_| CommandError::bad("Invalid UID messageset"))
            }
            "$" => Ok(SearchKey::Sequence(SetArg::SavedResult)),
            "X-GUID" => {
                let value = self.string(args, pos)?;
                Ok(SearchKey::Guid(String::from_utf8_lossy(value).into_owned()))
            }
            "X-MAILBOX" => {
                let value = self.string(args, pos)?;
                let name = crate::storage::mutf7::decode(value)
                    .map_err(|_| CommandError::bad("X-MAILBOX name not mUTF-7"))?;
                Ok(SearchKey::Mailbox(name))
            }
            "X-REAL-UID" => {
                let value = self.string(args, pos)?;
                SequenceSet::parse(value)
                    .map(SearchKey::RealUid)
                    .map_err(|_| CommandError::bad("Invalid X-REAL-UID messageset"))
            }
            "MIMEPART" => Err(CommandError::bad(
                "SEARCH MIMEPART is not supported by this build of cote yet",
            )),
            _ if name.starts_with(|c: char| c == '*' || c.is_ascii_digit()) => {
                SequenceSet::parse(name.as_bytes())
                    .map(|set| SearchKey::Sequence(SetArg::Set(set)))
                    .map_err(|_| CommandError::bad("Invalid messageset"))
            }
            _ => Err(CommandError::bad(format!("Unknown argument {name}"))),
        }
    }

    /// The key an operator applies to (`Missing argument` at the end).
    fn operand(
        &mut self,
        args: &[Arg],
        pos: &mut usize,
        depth: usize,
    ) -> Result<SearchKey, CommandError> {
        if *pos >= args.len() {
            return Err(CommandError::bad("Missing argument"));
        }
        self.key(args, pos, depth + 1)
    }

    /// A key's string parameter (an atom, string or literal).
    fn string<'b>(&self, args: &'b [Arg], pos: &mut usize) -> Result<&'b [u8], CommandError> {
        let key = self.last_key.as_deref().unwrap_or_default();
        let error = |text: &str| CommandError::bad(format!("{text} (for search key: {key})"));
        let value = match args.get(*pos) {
            None => return Err(error("Missing parameter for search key")),
            Some(Arg::List(_)) => return Err(error("Unexpected (")),
            Some(arg) => arg.as_astring().unwrap_or_default(),
        };
        *pos += 1;
        Ok(value)
    }

    fn date(
        &self,
        args: &[Arg],
        pos: &mut usize,
        field: DateField,
        how: DateMatch,
    ) -> Result<SearchKey, CommandError> {
        let value = self.string(args, pos)?;
        let day = parse_imap_date(value)
            .ok_or_else(|| CommandError::bad("Invalid search date parameter"))?;
        Ok(SearchKey::Date(field, how, day))
    }

    /// `MODSEQ [entry-name entry-type] modseq`.
    fn modseq(&self, args: &[Arg], pos: &mut usize) -> Result<SearchKey, CommandError> {
        let mut value = self.string(args, pos)?;
        let mut entry = None;
        let lower = String::from_utf8_lossy(value).to_ascii_lowercase();
        if let Some(name) = lower.strip_prefix("/flags/") {
            let entry_name = if name.starts_with('\\') {
                ModseqEntry::Flag(
                    crate::imap::flags::system_flag(name)
                        .ok_or_else(|| CommandError::bad("Invalid MODSEQ system flag"))?,
                )
            } else {
                ModseqEntry::Keyword(name.to_string())
            };
            let kind = self.string(args, pos)?;
            let kind = match String::from_utf8_lossy(kind).to_ascii_lowercase().as_str() {
                "all" => ModseqEntryType::All,
                "priv" => ModseqEntryType::Private,
                "shared" => ModseqEntryType::Shared,
                _ => return Err(CommandError::bad("Invalid MODSEQ type")),
            };
            entry = Some((entry_name, kind));
            value = self.string(args, pos)?;
        }
        let modseq = std::str::from_utf8(value)
            .ok()
            .and_then(number::<u64>)
            .ok_or_else(|| CommandError::bad("Invalid MODSEQ value"))?;
        Ok(SearchKey::Modseq { entry, modseq })
    }

    /// A string in the program's charset as UTF-8 (Dovecot's `mail_search_build_get_utf8`).
    fn utf8_value(&mut self, value: &[u8]) -> Result<String, CommandError> {
        self.charset_checked = true;
        if is_utf8_label(self.charset.as_bytes()) || self.charset.eq_ignore_ascii_case("us-ascii") {
            return String::from_utf8(value.to_vec())
                .map_err(|_| CommandError::bad("Invalid search key"));
        }
        charset_to_utf8(self.charset.as_bytes(), value)
            .ok_or_else(|| CommandError::no(Some(Code::BadCharset), "Unknown charset"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn q(s: &[u8]) -> Arg {
        Arg::Quoted(s.to_vec())
    }

    fn l(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn search(args: &[Arg]) -> Result<Search, CommandError> {
        parse_search(args, false)
    }

    fn err(args: &[Arg]) -> String {
        match search(args) {
            Err(e) => e.to_string(),
            Ok(s) => panic!("{s:?}"),
        }
    }

    fn words(s: &str) -> Vec<Arg> {
        s.split(' ').map(a).collect()
    }

    #[test]
    fn sets_anywhere_in_the_program() {
        let uses = |text: &str| {
            search(&words(text))
                .unwrap()
                .program
                .iter()
                .any(SearchKey::uses_sets)
        };
        assert!(uses("OR SEEN NOT 2:4"));
        assert!(uses("UID 1:3"));
        assert!(uses("DELETED UID $"));
        assert!(!uses("ALL"));
        assert!(!uses("OR SEEN NOT DRAFT"));
    }

    #[test]
    fn keys() {
        let s = search(&words("OR SEEN OR DRAFT FLAGGED NOT 2:4 UID $")).unwrap();
        assert_eq!(s.program.len(), 3);
        assert!(matches!(&s.program[0], SearchKey::Or(_, b) if matches!(**b, SearchKey::Or(..))));
        assert!(s.program[2].uses_saved_result());
        let s = search(&[
            a("header"),
            a("x-priority"),
            q(b"1"),
            a("FROM"),
            q(b"Alice"),
        ])
        .unwrap();
        assert_eq!(
            s.program[0],
            SearchKey::Header {
                field: "X-PRIORITY".into(),
                value: "1".into(),
                how: HeaderMatch::Plain
            }
        );
        assert_eq!(
            s.program[1],
            SearchKey::Header {
                field: "From".into(),
                value: "Alice".into(),
                how: HeaderMatch::Address
            }
        );
        let s = search(&words("SINCE 32-Jul-2003 LARGER 200 MODSEQ 7")).unwrap();
        assert!(s.program[2].uses_modseq());
        let s = search(&[a("MODSEQ"), q(b"/flags/\\Seen"), a("all"), a("1")]).unwrap();
        assert_eq!(
            s.program[0],
            SearchKey::Modseq {
                entry: Some((ModseqEntry::Flag(MailFlags::SEEN), ModseqEntryType::All)),
                modseq: 1
            }
        );
        assert_eq!(
            search(&words("NEW")).unwrap().program[0],
            SearchKey::And(vec![
                SearchKey::Recent(true),
                SearchKey::Flag(MailFlags::SEEN, false)
            ])
        );
    }

    #[test]
    fn charsets() {
        let s = search(&[
            a("CHARSET"),
            a("ISO-8859-1"),
            a("BODY"),
            Arg::Literal(b"Gr\xfc\xdfe".to_vec()),
        ])
        .unwrap();
        assert_eq!(s.program[0], SearchKey::Body("Grüße".into()));
        assert_eq!(
            err(&words("CHARSET X-FOO ALL")),
            "NO [BADCHARSET] Unknown charset"
        );
        assert_eq!(
            err(&words("CHARSET X-FOO TEXT x")),
            "NO [BADCHARSET] Unknown charset"
        );
        assert_eq!(err(&[a("TEXT"), q(b"\xff\xfe")]), "BAD Invalid search key");
        assert_eq!(err(&[a("CHARSET")]), "BAD Invalid charset argument.");
        assert_eq!(
            err(&[a("CHARSET"), l(vec![a("UTF-8")]), a("ALL")]),
            "BAD Invalid charset argument."
        );
        // Keywords are not converted.
        assert!(search(&[a("CHARSET"), a("X-FOO"), a("KEYWORD"), a("k")]).is_err());
    }

    #[test]
    fn returns() {
        let s = search(&[a("RETURN"), l(vec![]), a("ALL")]).unwrap();
        assert!(s.returns.unwrap().all);
        let s = search(&[a("RETURN"), l(vec![a("save")]), a("ALL")]).unwrap();
        assert!(!s.returns.unwrap().sends_esearch(false));
        // With a MODSEQ key the response reports it; UPDATE alone sends an empty one.
        assert!(s.returns.unwrap().sends_esearch(true));
        let s = search(&[a("RETURN"), l(vec![a("UPDATE")]), a("ALL")]).unwrap();
        let ret = s.returns.unwrap();
        assert!(ret.update && !ret.all && ret.sends_esearch(false));
        let s = search(&[
            a("RETURN"),
            l(vec![a("update"), l(vec![a("FLAGS")]), a("COUNT")]),
            a("ALL"),
        ])
        .unwrap();
        let ret = s.returns.unwrap();
        assert!(ret.update && ret.count);
        assert_eq!(
            err(&[a("RETURN"), l(vec![a("UPDATE"), a("UPDATE")]), a("ALL")]),
            "BAD SEARCH return options have duplicate UPDATE."
        );
        assert_eq!(
            err(&[a("RETURN"), l(vec![a("PARTIAL"), a("-1:-3")]), a("ALL")]),
            "BAD PARTIAL range broken."
        );
        let s = search(&[a("RETURN"), l(vec![a("PARTIAL"), a("5:2")]), a("ALL")]).unwrap();
        assert_eq!(s.returns.unwrap().partial, Some((2, 5)));
        assert_eq!(err(&words("RETURN ALL")), "BAD Unknown argument RETURN");
        assert_eq!(
            err(&[a("RETURN"), l(vec![a("FOO")]), a("ALL")]),
            "BAD Unknown SEARCH return option"
        );
        assert_eq!(
            err(&[a("RETURN"), l(vec![q(b"ALL")]), a("ALL")]),
            "BAD SEARCH return options contain non-atoms."
        );
        assert_eq!(
            err(&[
                a("RETURN"),
                l(vec![a("PARTIAL"), a("1:2"), a("ALL")]),
                a("ALL")
            ]),
            "BAD PARTIAL conflicts with ALL"
        );
        assert_eq!(
            err(&[a("RETURN"), l(vec![a("PARTIAL"), a("0:2")]), a("ALL")]),
            "BAD PARTIAL range broken."
        );
        assert_eq!(
            err(&[a("RETURN"), l(vec![a("PARTIAL")]), a("ALL")]),
            "BAD PARTIAL range missing."
        );
    }

    #[test]
    fn errors_as_dovecot() {
        let cases: Vec<(Vec<Arg>, &str)> = vec![
            (vec![], "Missing search parameters"),
            (words("FOO"), "Unknown argument FOO"),
            (words("NIL"), "Unknown argument NIL"),
            (vec![q(b"ALL")], "Unexpected string as search key: ALL"),
            (
                vec![Arg::Literal(b"ALL".to_vec())],
                "Unexpected string as search key: ALL",
            ),
            (vec![l(vec![])], "No search parameters inside list"),
            (
                words("KEYWORD"),
                "Missing parameter for search key (for search key: KEYWORD)",
            ),
            (words("OR SEEN"), "Missing argument"),
            (words("NOT"), "Missing argument"),
            (words("1:x"), "Invalid messageset"),
            (words("UID x"), "Invalid UID messageset"),
            (
                words("UID"),
                "Missing parameter for search key (for search key: UID)",
            ),
            (words("LARGER x"), "Invalid search size parameter"),
            (words("LARGER -1"), "Invalid search size parameter"),
            (
                vec![a("LARGER"), l(vec![a("1")])],
                "Unexpected ( (for search key: LARGER)",
            ),
            (words("SINCE 2003-07-01"), "Invalid search date parameter"),
            (words("SINCE 1-Foo-2003"), "Invalid search date parameter"),
            (words("SINCE 1-Jul-03"), "Invalid search date parameter"),
            (words("OLDER 0"), "Invalid search interval parameter"),
            (words("OLDER x"), "Invalid search interval parameter"),
            (
                words("HEADER X-Priority"),
                "Missing parameter for search key (for search key: HEADER)",
            ),
            (
                vec![a("TEXT"), l(vec![a("apple")])],
                "Unexpected ( (for search key: TEXT)",
            ),
            (words("MODSEQ x"), "Invalid MODSEQ value"),
            (
                vec![a("MODSEQ"), q(b"/flags/\\Seen"), a("foo"), a("1")],
                "Invalid MODSEQ type",
            ),
            (
                vec![a("MODSEQ"), q(b"/flags/\\Recent"), a("all"), a("1")],
                "Invalid MODSEQ system flag",
            ),
            (words("INTHREAD FOO ALL"), "Unknown thread algorithm"),
            (vec![a("X-MAILBOX"), q(b"a&b")], "X-MAILBOX name not mUTF-7"),
        ];
        for (args, expected) in cases {
            assert_eq!(err(&args), format!("BAD {expected}"), "{args:?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = a("ALL");
        for _ in 0..MAX_SEARCH_DEPTH + 5 {
            deep = l(vec![deep]);
        }
        assert_eq!(err(&[deep]), "BAD Search program is too deeply nested.");
        let nots = vec![a("NOT"); MAX_SEARCH_DEPTH + 5]
            .into_iter()
            .chain([a("ALL")])
            .collect::<Vec<_>>();
        assert_eq!(err(&nots), "BAD Search program is too deeply nested.");
        let ok = vec![a("NOT"); 10]
            .into_iter()
            .chain([a("ALL")])
            .collect::<Vec<_>>();
        assert!(search(&ok).is_ok());
    }
}
