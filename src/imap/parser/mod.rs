//! The IMAP command parser: tag, command name, then arguments (atoms, quoted strings,
//! `{n}`/`{n+}` literals, parenthesized lists), fed one line at a time, with hard limits.
//!
//! It follows Dovecot's `imap-parser` in what it accepts and in its error texts, because
//! clients and transcripts see them. The session reads a line, calls [`CommandParser::start`]
//! for the tag and name, picks the command, then [`CommandParser::args`]; when a line ends in a
//! literal announcement the parser answers [`Progress::Literal`], the session reads the literal
//! (after `+ OK` for a synchronizing one), hands it over with
//! [`CommandParser::provide_literal`] and feeds the rest of the command with
//! [`CommandParser::continue_line`].
//!
//! A line the reader cut at its limit is fed as [`LineEnd::Truncated`]: errors in its first
//! part are still found, and a command that never completes within the limits is
//! [`ParseError::BufferFull`].
//!
//! Like Dovecot, a command may read only its first arguments ([`CommandParser::args_counted`]):
//! the rest of the line is then never looked at. APPEND streams its message literals instead of
//! holding them ([`CommandParser::args_streaming`]).
//!
//! The typed commands built from these arguments live in the submodules.

use std::fmt;

/// One parsed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An atom, including `NIL` (kept as written: as an astring it is the text "NIL").
    Atom(String),
    /// A quoted string, unescaped. May hold any byte but NUL, CR and LF.
    Quoted(Vec<u8>),
    /// A literal's bytes, exactly as sent.
    Literal(Vec<u8>),
    List(Vec<Arg>),
}

impl Arg {
    pub fn is_nil(&self) -> bool {
        matches!(self, Arg::Atom(a) if a.eq_ignore_ascii_case("NIL"))
    }

    /// A `string`: quoted or literal.
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Arg::Quoted(s) | Arg::Literal(s) => Some(s),
            _ => None,
        }
    }

    /// An `astring`: atom (`NIL` included, as text), quoted or literal.
    pub fn as_astring(&self) -> Option<&[u8]> {
        match self {
            Arg::Atom(a) => Some(a.as_bytes()),
            other => other.as_string(),
        }
    }

    /// An `nstring`: `Some(None)` for NIL, `Some(Some(..))` for a string, `None` otherwise.
    pub fn as_nstring(&self) -> Option<Option<&[u8]>> {
        if self.is_nil() {
            Some(None)
        } else {
            self.as_string().map(Some)
        }
    }
}

/// Hard limits, per command.
#[derive(Debug, Clone)]
pub struct ParserLimits {
    /// Bytes of one command, literals included (Dovecot's `max_line_size`).
    pub max_line: usize,
    /// The most one argument may occupy while it is read: an atom plus the byte after it, a
    /// quoted string with its quotes, a literal's data. Dovecot's input buffer size: beyond
    /// it the connection cannot make progress and is dropped ([`ParseError::BufferFull`]).
    pub max_token: usize,
    /// `(` per command; 0 means no limit.
    pub max_lists: usize,
    /// List nesting depth.
    pub max_depth: usize,
    /// Longest tag accepted; a longer one is an invalid tag.
    pub max_tag: usize,
    /// LITERAL- (RFC 7888): non-synchronizing literals are limited to 4096 bytes.
    pub literal_minus: bool,
}

/// How one command's arguments are parsed where that differs from the parser's defaults.
/// (List limits; [`CommandParser::args_counted`] and [`CommandParser::args_streaming`] set
/// the other ways of reading.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgOptions {
    /// `(` per command; 0 means no limit.
    pub max_lists: usize,
    /// List nesting depth.
    pub max_depth: usize,
    /// Only the first argument matters: the rest of the line is not parsed (Dovecot's ID
    /// reads its parameter list this way and ignores what follows it).
    pub first_only: bool,
}

/// How a fed line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// At CRLF or LF.
    Complete,
    /// Cut by the line reader's limit: the command continues beyond it.
    Truncated,
}

/// The start of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub tag: String,
    pub name: String,
}

/// Why a command's tag or name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// Empty, too long or with characters a tag must not have: not sent back to the client.
    InvalidTag,
    InvalidName {
        tag: String,
    },
    /// The tag or name does not fit in `max_token` bytes.
    BufferFull,
}

/// What the parser needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The command is complete.
    Done(Vec<Arg>),
    /// The line ended with a literal announcement. `sync`: the client waits for `+ OK`.
    Literal { size: usize, sync: bool },
}

/// A command the parser refuses. [`ParseError::message`] is Dovecot's text;
/// [`ParseError::is_fatal`] says the connection cannot continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    InvalidAtomChars,
    EightBitAtom,
    UnexpectedCloseParen,
    MissingCloseParen,
    TooManyOpenParens,
    NulInString,
    MissingQuote,
    CrWithoutLf,
    InvalidLiteralSize,
    ExpectingCloseBrace,
    /// Something follows a literal's `{n}`; `sync`: a synchronizing one, which Dovecot has
    /// already answered `+ OK` when it notices.
    MissingLfAfterLiteral {
        sync: bool,
    },
    Literal8NotAllowed,
    LineTooLong,
    /// Fatal: the announced literal exceeds what is left of `max_line`.
    LiteralTooLarge,
    /// Fatal: a `{n+}` over 4096 bytes under LITERAL-.
    NonSyncLiteralTooLarge,
    /// Fatal: an argument (or a truncated command) does not fit in the input buffer.
    BufferFull,
}

impl ParseError {
    /// Dovecot has sent `+ OK` for a literal before it finds this error: the BAD comes
    /// after one.
    pub fn continuation_sent(self) -> bool {
        matches!(self, ParseError::MissingLfAfterLiteral { sync: true })
    }

    pub fn message(self) -> &'static str {
        match self {
            ParseError::InvalidAtomChars => "Invalid characters in atom",
            ParseError::EightBitAtom => "8bit data in atom",
            ParseError::UnexpectedCloseParen => "Unexpected ')'",
            ParseError::MissingCloseParen => "Missing ')'",
            ParseError::TooManyOpenParens => "Too many '('",
            ParseError::NulInString => "NULs not allowed in strings",
            ParseError::MissingQuote => "Missing '\"'",
            ParseError::CrWithoutLf => "CR sent without LF",
            ParseError::InvalidLiteralSize => "Invalid literal size",
            ParseError::ExpectingCloseBrace => "Expecting '}' after '+'",
            ParseError::MissingLfAfterLiteral { .. } => "Missing LF after literal size",
            ParseError::Literal8NotAllowed => "literal8 not allowed here",
            ParseError::LineTooLong => "IMAP command line too large",
            ParseError::LiteralTooLarge => "Literal size too large",
            ParseError::NonSyncLiteralTooLarge => "Non-synchronizing literal size too large",
            ParseError::BufferFull => "Input buffer full, aborting",
        }
    }

    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            ParseError::LiteralTooLarge
                | ParseError::NonSyncLiteralTooLarge
                | ParseError::BufferFull
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

/// RFC 7888: LITERAL- allows non-synchronizing literals up to this size.
const LITERAL_MINUS_MAX: u64 = 4096;

/// How the current command's arguments are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    max_lists: usize,
    max_depth: usize,
    /// Stop once this many top-level arguments are read (0: read the whole line).
    count: usize,
    /// `~{n}` allowed, and literals are streamed by the caller: their size is not limited by
    /// the line length and their data is not held (APPEND).
    streaming: bool,
}

impl Mode {
    fn from_options(options: ArgOptions) -> Mode {
        Mode {
            max_lists: options.max_lists,
            max_depth: options.max_depth,
            count: usize::from(options.first_only),
            streaming: false,
        }
    }
}

/// The arguments of a command whose literals are streamed, as far as they are parsed: the
/// top-level ones and the lists still open (outermost first), each since the last streamed
/// literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialArgs<'a> {
    pub root: &'a [Arg],
    pub open: &'a [Vec<Arg>],
}

/// The incremental command parser. One per connection; each [`CommandParser::start`] begins a
/// new command.
#[derive(Debug)]
pub struct CommandParser {
    limits: ParserLimits,
    /// The unparsed part of the current line.
    frag: Vec<u8>,
    end: LineEnd,
    /// Bytes of this command consumed before `frag`.
    line_size: usize,
    root: Vec<Arg>,
    /// Lists still open, innermost last.
    open: Vec<Vec<Arg>>,
    lists_opened: usize,
    awaiting_literal: bool,
    /// The announced literal is a literal8 (`~{n}`).
    literal8: bool,
    /// Where a counted read stopped in the fragment being parsed.
    stopped_at: Option<usize>,
    /// For the current command.
    mode: Mode,
}

/// How an atom-like word (tag, command name) ended.
enum Word {
    /// `len` bytes of word, `consumed` including a following space.
    Done {
        len: usize,
        consumed: usize,
    },
    Invalid,
    BufferFull,
}

impl CommandParser {
    pub fn new(limits: ParserLimits) -> Self {
        let mode = Mode::from_options(default_options(&limits));
        CommandParser {
            limits,
            mode,
            frag: Vec::new(),
            end: LineEnd::Complete,
            line_size: 0,
            root: Vec::new(),
            open: Vec::new(),
            lists_opened: 0,
            awaiting_literal: false,
            literal8: false,
            stopped_at: None,
        }
    }

    /// The argument options [`CommandParser::args`] uses: the limits' list limits.
    pub fn default_options(&self) -> ArgOptions {
        default_options(&self.limits)
    }

    fn reset(&mut self, line: &[u8], end: LineEnd) {
        self.frag.clear();
        self.frag.extend_from_slice(line);
        self.end = end;
        self.line_size = 0;
        self.root.clear();
        self.open.clear();
        self.lists_opened = 0;
        self.awaiting_literal = false;
        self.literal8 = false;
        self.mode = Mode::from_options(default_options(&self.limits));
    }

    /// Begins a command: reads its tag and name from the first line and keeps the rest of
    /// the line for [`CommandParser::args`].
    pub fn start(&mut self, line: &[u8], end: LineEnd) -> Result<Head, HeadError> {
        self.reset(line, end);
        let (tag, consumed) = match self.word(0, true) {
            Word::Done { len, consumed } if len > 0 && len <= self.limits.max_tag => {
                (ascii(&self.frag[..len]), consumed)
            }
            Word::Done { .. } | Word::Invalid => return Err(HeadError::InvalidTag),
            Word::BufferFull => return Err(HeadError::BufferFull),
        };
        let (name, consumed) = match self.word(consumed, false) {
            Word::Done { len, consumed: c } if len > 0 => {
                (ascii(&self.frag[consumed..consumed + len]), consumed + c)
            }
            Word::Done { .. } | Word::Invalid => return Err(HeadError::InvalidName { tag }),
            Word::BufferFull => return Err(HeadError::BufferFull),
        };
        self.frag.drain(..consumed);
        self.line_size = consumed;
        Ok(Head { tag, name })
    }

    /// Reads one more command name from the rest of the line: the command after `UID`.
    pub fn next_name(&mut self) -> Result<String, HeadError> {
        let (name, consumed) = match self.word(0, false) {
            Word::Done { len, consumed } if len > 0 => (ascii(&self.frag[..len]), consumed),
            Word::Done { .. } | Word::Invalid => {
                return Err(HeadError::InvalidName { tag: String::new() })
            }
            Word::BufferFull => return Err(HeadError::BufferFull),
        };
        self.frag.drain(..consumed);
        self.line_size += consumed;
        Ok(name)
    }

    /// Parses the command's arguments from the rest of its first line.
    pub fn args(&mut self) -> Result<Progress, ParseError> {
        self.parse()
    }

    /// Like [`CommandParser::args`], with options for this command (until the next
    /// [`CommandParser::start`]).
    pub fn args_with(&mut self, options: ArgOptions) -> Result<Progress, ParseError> {
        self.mode = Mode::from_options(options);
        self.parse()
    }

    /// Reads only the first `count` arguments (at least one); the rest of the line is not
    /// parsed, as Dovecot's commands that take a fixed number of arguments read them.
    pub fn args_counted(&mut self, count: usize) -> Result<Progress, ParseError> {
        self.mode = Mode {
            count: count.max(1),
            ..Mode::from_options(default_options(&self.limits))
        };
        self.parse()
    }

    /// Reads the arguments of a command that streams its literals (APPEND): `~{n}` literal8
    /// is allowed, and an announced literal's size is limited only by LITERAL-. After
    /// [`Progress::Literal`] the caller looks at [`CommandParser::partial_args`], reads or
    /// skips the data itself, calls [`CommandParser::literal_streamed`] and continues with
    /// [`CommandParser::continue_line`].
    pub fn args_streaming(&mut self) -> Result<Progress, ParseError> {
        self.mode = Mode {
            streaming: true,
            ..Mode::from_options(default_options(&self.limits))
        };
        self.parse()
    }

    /// How many more bytes this command may hold: the room for a literal that is not
    /// streamed (APPEND's mailbox name).
    pub fn line_room(&self) -> usize {
        self.limits.max_line.saturating_sub(self.line_size)
    }

    /// Whether the literal announced last is a literal8 (`~{n}`).
    pub fn literal_is_binary(&self) -> bool {
        self.literal8
    }

    /// The arguments parsed since the last streamed literal (streaming mode).
    pub fn partial_args(&self) -> PartialArgs<'_> {
        PartialArgs {
            root: &self.root,
            open: &self.open,
        }
    }

    /// The caller consumed the announced literal's data itself. The arguments parsed so far
    /// are dropped (the caller has used them); the lists still open stay open. Between two
    /// messages (no list open) the line length starts again from zero, as Dovecot resets its
    /// parser for each message of a MULTIAPPEND.
    pub fn literal_streamed(&mut self) {
        debug_assert!(self.awaiting_literal, "no literal was announced");
        self.awaiting_literal = false;
        self.root.clear();
        for list in &mut self.open {
            list.clear();
        }
        if self.open.is_empty() {
            self.line_size = 0;
            self.lists_opened = 0;
        }
    }

    /// Parses a line that holds only arguments (a setting written in IMAP syntax, such as
    /// `imap_id_send`).
    pub fn args_of_line(&mut self, line: &[u8]) -> Result<Progress, ParseError> {
        self.reset(line, LineEnd::Complete);
        self.parse()
    }

    /// The data of the literal announced by the last [`Progress::Literal`].
    pub fn provide_literal(&mut self, data: Vec<u8>) {
        debug_assert!(self.awaiting_literal, "no literal was announced");
        self.awaiting_literal = false;
        self.line_size += data.len();
        self.push(Arg::Literal(data));
    }

    /// Parses the line that follows a literal.
    pub fn continue_line(&mut self, line: &[u8], end: LineEnd) -> Result<Progress, ParseError> {
        debug_assert!(!self.awaiting_literal, "literal data not provided");
        self.frag.clear();
        self.frag.extend_from_slice(line);
        self.end = end;
        self.parse()
    }

    /// Scans a tag or command name starting at `from` (Dovecot's `imap_parser_read_tag` and
    /// `_read_command_name`): it ends at a space or the line end; list-wildcards, quoted- and
    /// resp-specials, `(`, `)`, `{`, controls and 8-bit bytes make it invalid, and so does `+`
    /// in a tag.
    fn word(&self, from: usize, is_tag: bool) -> Word {
        let data = &self.frag[from..];
        let limit = data.len().min(self.limits.max_token);
        for (i, &c) in data[..limit].iter().enumerate() {
            match c {
                b' ' => {
                    return Word::Done {
                        len: i,
                        consumed: i + 1,
                    }
                }
                b'\r' | b'\n' => {
                    return Word::Done {
                        len: i,
                        consumed: i,
                    }
                }
                b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']' => return Word::Invalid,
                b'+' if is_tag => return Word::Invalid,
                c if !(0x20..0x80).contains(&c) => return Word::Invalid,
                _ => {}
            }
        }
        if limit < data.len() || self.end == LineEnd::Truncated {
            return Word::BufferFull;
        }
        // Ended by the line end, which itself must fit in the buffer.
        if data.len() >= self.limits.max_token {
            return Word::BufferFull;
        }
        Word::Done {
            len: data.len(),
            consumed: data.len(),
        }
    }

    fn push(&mut self, arg: Arg) {
        match self.open.last_mut() {
            Some(list) => list.push(arg),
            None => self.root.push(arg),
        }
    }

    /// Parses `frag` to its end, or up to the argument count of a counted read: then the
    /// unparsed rest stays in `frag` for a later read in another mode (APPEND reads its
    /// mailbox first, then streams).
    fn parse(&mut self) -> Result<Progress, ParseError> {
        let data = std::mem::take(&mut self.frag);
        self.stopped_at = None;
        let result = self.parse_fragment(&data);
        match self.stopped_at.take() {
            Some(pos) => {
                self.line_size += pos;
                self.frag = data[pos..].to_vec();
            }
            None => {
                self.line_size += data.len();
                self.frag = data;
                self.frag.clear();
            }
        }
        result
    }

    fn parse_fragment(&mut self, data: &[u8]) -> Result<Progress, ParseError> {
        let truncated = self.end == LineEnd::Truncated;
        let mut pos = 0;
        loop {
            if self.mode.count > 0 && self.open.is_empty() && self.root.len() >= self.mode.count {
                self.stopped_at = Some(pos);
                return Ok(Progress::Done(std::mem::take(&mut self.root)));
            }
            while pos < data.len() && data[pos] == b' ' {
                pos += 1;
            }
            if pos == data.len() {
                if truncated {
                    return Err(ParseError::BufferFull);
                }
                if !self.open.is_empty() {
                    return Err(ParseError::MissingCloseParen);
                }
                self.line_size += 2; // the CRLF
                return Ok(Progress::Done(std::mem::take(&mut self.root)));
            }
            let start = pos;
            match data[pos] {
                // The reader removed the CR of the line end: any CR left is a bare one.
                b'\r' if truncated && pos + 1 == data.len() => return Err(ParseError::BufferFull),
                b'\r' => return Err(ParseError::CrWithoutLf),
                b'"' => {
                    let (value, next) = self.quoted(data, pos)?;
                    self.push(Arg::Quoted(value));
                    pos = next;
                }
                b'~' if data.get(pos + 1) == Some(&b'{') => {
                    if !self.mode.streaming {
                        return Err(ParseError::Literal8NotAllowed);
                    }
                    self.literal8 = true;
                    return self.literal_announcement(data, pos + 1);
                }
                b'{' => {
                    self.literal8 = false;
                    return self.literal_announcement(data, pos);
                }
                b'(' => {
                    let Mode {
                        max_lists,
                        max_depth,
                        ..
                    } = self.mode;
                    if (max_lists > 0 && self.lists_opened >= max_lists)
                        || self.open.len() >= max_depth
                    {
                        return Err(ParseError::TooManyOpenParens);
                    }
                    self.lists_opened += 1;
                    self.open.push(Vec::new());
                    pos += 1;
                    continue;
                }
                b')' => {
                    let Some(list) = self.open.pop() else {
                        return Err(ParseError::UnexpectedCloseParen);
                    };
                    self.push(Arg::List(list));
                    pos += 1;
                }
                _ => {
                    let next = self.atom(data, pos)?;
                    self.push(Arg::Atom(ascii(&data[pos..next])));
                    pos = next;
                }
            }
            // Dovecot checks the size consumed before the argument it just finished.
            if self.line_size + start > self.limits.max_line {
                return Err(ParseError::LineTooLong);
            }
        }
    }

    /// An atom from `pos`; returns where it ends (a space, a CR, a `)` closing a list, or the
    /// line end).
    fn atom(&self, data: &[u8], pos: usize) -> Result<usize, ParseError> {
        let mut i = pos;
        loop {
            if i - pos >= self.limits.max_token {
                return Err(ParseError::BufferFull);
            }
            let Some(&c) = data.get(i) else {
                return match self.end {
                    LineEnd::Complete => Ok(i),
                    LineEnd::Truncated => Err(ParseError::BufferFull),
                };
            };
            match c {
                b' ' | b'\r' => return Ok(i),
                b')' if !self.open.is_empty() => return Ok(i),
                b')' => return Err(ParseError::UnexpectedCloseParen),
                b'(' | b'{' | b'"' | 0x7f => return Err(ParseError::InvalidAtomChars),
                c if c <= b' ' => return Err(ParseError::InvalidAtomChars),
                c if c >= 0x80 => return Err(ParseError::EightBitAtom),
                _ => i += 1,
            }
        }
    }

    /// A quoted string whose opening quote is at `pos`: its unescaped value and the position
    /// after the closing quote.
    fn quoted(&self, data: &[u8], pos: usize) -> Result<(Vec<u8>, usize), ParseError> {
        let mut value = Vec::new();
        let mut i = pos + 1;
        loop {
            if i - pos >= self.limits.max_token {
                return Err(ParseError::BufferFull);
            }
            let Some(&c) = data.get(i) else {
                return Err(self.unterminated(ParseError::MissingQuote));
            };
            match c {
                b'"' => return Ok((value, i + 1)),
                0 => return Err(ParseError::NulInString),
                // A bare CR counts as a line break, which a quoted string cannot contain.
                b'\r' => return Err(ParseError::MissingQuote),
                b'\\' => {
                    let Some(&escaped) = data.get(i + 1) else {
                        return Err(self.unterminated(ParseError::MissingQuote));
                    };
                    match escaped {
                        b'\r' => return Err(ParseError::MissingQuote),
                        // Dovecot lets an escaped NUL through and then cuts the string at it;
                        // cote refuses it like any other NUL.
                        0 => return Err(ParseError::NulInString),
                        _ => value.push(escaped),
                    }
                    i += 2;
                }
                _ => {
                    value.push(c);
                    i += 1;
                }
            }
        }
    }

    /// `{n}` or `{n+}` at `pos`, which must end the line.
    fn literal_announcement(&mut self, data: &[u8], pos: usize) -> Result<Progress, ParseError> {
        let mut size: u64 = 0;
        let mut nonsync = false;
        let mut i = pos + 1;
        loop {
            let Some(&c) = data.get(i) else {
                return Err(self.unterminated(ParseError::InvalidLiteralSize));
            };
            match c {
                b'}' => break,
                _ if nonsync => return Err(ParseError::ExpectingCloseBrace),
                b'+' => nonsync = true,
                b'0'..=b'9' => {
                    size = size
                        .checked_mul(10)
                        .and_then(|s| s.checked_add(u64::from(c - b'0')))
                        .ok_or(ParseError::LiteralTooLarge)?;
                }
                _ => return Err(ParseError::InvalidLiteralSize),
            }
            i += 1;
        }
        let after = i + 1;
        if after < data.len() {
            return Err(ParseError::MissingLfAfterLiteral { sync: !nonsync });
        }
        if self.end == LineEnd::Truncated {
            return Err(ParseError::BufferFull);
        }
        if self.limits.literal_minus && nonsync && size > LITERAL_MINUS_MAX {
            return Err(ParseError::NonSyncLiteralTooLarge);
        }
        let consumed = self.line_size + after;
        if self.mode.streaming {
            // Only the size itself counts toward the line; the caller streams the data.
            self.line_size += 2;
            self.awaiting_literal = true;
            return Ok(Progress::Literal {
                size: usize::try_from(size).map_err(|_| ParseError::LiteralTooLarge)?,
                sync: !nonsync,
            });
        }
        let left = self.limits.max_line.saturating_sub(consumed);
        if consumed >= self.limits.max_line || size > left as u64 {
            return Err(ParseError::LiteralTooLarge);
        }
        // Deliberate difference: Dovecot answers "+ OK" and drops the connection once the data
        // overflows its input buffer; cote refuses such a literal before reading it.
        if size > self.limits.max_token as u64 {
            return Err(ParseError::BufferFull);
        }
        self.line_size += 2; // the CRLF after the announcement
        self.awaiting_literal = true;
        Ok(Progress::Literal {
            size: size as usize,
            sync: !nonsync,
        })
    }

    /// The error for a construct the line ended in the middle of: `complete_error` when the
    /// line really ended there, [`ParseError::BufferFull`] when the reader cut it.
    fn unterminated(&self, complete_error: ParseError) -> ParseError {
        match self.end {
            LineEnd::Complete => complete_error,
            LineEnd::Truncated => ParseError::BufferFull,
        }
    }
}

fn default_options(limits: &ParserLimits) -> ArgOptions {
    ArgOptions {
        max_lists: limits.max_lists,
        max_depth: limits.max_depth,
        first_only: false,
    }
}

/// Bytes already checked to be ASCII, as a `String`.
fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

pub mod append;
pub mod command;
pub mod fetch;
pub mod list;
pub mod metadata;
pub mod notify;
pub mod search;
pub mod select;
pub mod sort;
pub mod store;
pub mod urlauth;

pub use command::{parse_command, ArgsNeeded, Command, CommandError, CommandName, ParseContext};

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;
