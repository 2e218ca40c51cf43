//! The MIME structure of a message with byte offsets, split exactly where Dovecot 2.3's
//! message parser splits it: a boundary line belongs to its multipart together with the
//! line break before it; a boundary only has to be a prefix of the line (the longest active
//! one wins, the newest first); a boundary seen inside a header ends that header; missing
//! final boundaries, junk and truncated input are all accepted. Nothing here can fail.

use super::header::{self, is_empty_line, line_end, read_field};
use super::rfc2231;
use super::rfc822::Rfc822Parser;

/// Dovecot's limits: deeper nesting or more parts are not split any further.
pub const MAX_NESTED_PARTS: usize = 100;
pub const MAX_TOTAL_PARTS: usize = 10_000;
/// Boundaries are cut to this length.
const BOUNDARY_MAX_LEN: usize = 80;
/// Without a line feed, at most this much of a line is compared with the boundaries.
const BOUNDARY_LINE_MAX_LEN: usize = BOUNDARY_MAX_LEN + 4;

/// Sizes as IMAP counts them: `virtual_size` counts every bare LF as CRLF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageSize {
    pub physical_size: u64,
    pub virtual_size: u64,
    pub lines: u64,
}

impl MessageSize {
    /// The sizes of `data[range]`; an LF at the start counts as bare unless a CR precedes it
    /// in `data`.
    pub fn of(data: &[u8], start: usize, end: usize) -> MessageSize {
        let region = &data[start..end];
        let mut lines = 0u64;
        let mut bare = 0u64;
        for (i, &b) in region.iter().enumerate() {
            if b == b'\n' {
                lines += 1;
                let prev = if i > 0 {
                    region[i - 1]
                } else if start > 0 {
                    data[start - 1]
                } else {
                    0
                };
                if prev != b'\r' {
                    bare += 1;
                }
            }
        }
        MessageSize {
            physical_size: region.len() as u64,
            virtual_size: region.len() as u64 + bare,
            lines,
        }
    }
}

/// What the parser learned about a part's type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartFlags {
    pub multipart: bool,
    pub multipart_digest: bool,
    pub message_rfc822: bool,
    pub text: bool,
    /// Its Content-* headers count (MIME-Version seen, a Content-Type seen, or a multipart
    /// child).
    pub is_mime: bool,
    pub has_nuls: bool,
    /// A limit stopped the parser from splitting this part further.
    pub overflow: bool,
}

/// One MIME part: its header is `data[offset..body_offset]`, its body
/// `data[body_offset..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePart {
    pub offset: usize,
    pub body_offset: usize,
    pub end: usize,
    pub flags: PartFlags,
    /// Parts of a multipart, or the one message of a message/rfc822.
    pub children: Vec<MessagePart>,
}

impl MessagePart {
    pub fn header_size(&self, data: &[u8]) -> MessageSize {
        MessageSize::of(data, self.offset, self.body_offset)
    }

    pub fn body_size(&self, data: &[u8]) -> MessageSize {
        MessageSize::of(data, self.body_offset, self.end)
    }

    pub fn header<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.offset..self.body_offset]
    }

    pub fn body<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.body_offset..self.end]
    }

    /// The header fields (continuation lines included).
    pub fn fields<'a>(&self, data: &'a [u8]) -> Vec<header::HeaderField<'a>> {
        header::fields(data, self.offset, self.body_offset)
    }

    /// Number of parts below this one.
    pub fn descendants(&self) -> usize {
        self.children.iter().map(|c| 1 + c.descendants()).sum()
    }
}

/// Parses the structure of `data` (a whole message).
pub fn parse(data: &[u8]) -> MessagePart {
    let mut parser = Parser {
        data,
        boundaries: Vec::new(),
        total_parts: 1,
        header_only: false,
    };
    let (root, _) = parser.part(0, 0, PartFlags::default(), false);
    root
}

/// Where the root header ends — `parse(data).body_offset` — without looking at the body:
/// header searches and `BODY[HEADER]` need no more.
pub fn root_body_offset(data: &[u8]) -> usize {
    let mut parser = Parser {
        data,
        boundaries: Vec::new(),
        total_parts: 1,
        header_only: true,
    };
    parser.part(0, 0, PartFlags::default(), false).0.body_offset
}

/// Where parsing of a part stopped.
#[derive(Clone, Copy)]
enum Stop {
    Eof,
    /// A boundary line: `boundaries[index]`, starting at `line_start` (its line break
    /// included), ending its multipart when `epilogue`.
    Boundary {
        index: usize,
        line_start: usize,
        text_start: usize,
        epilogue: bool,
    },
}

struct Parser<'a> {
    data: &'a [u8],
    /// The active boundaries, outermost first.
    boundaries: Vec<Vec<u8>>,
    total_parts: usize,
    /// Stop after the first part's header (see [`root_body_offset`]).
    header_only: bool,
}

impl Parser<'_> {
    /// Is the line at `pos` (`--` + boundary) a boundary line? Returns the boundary's index.
    fn boundary_at(&self, pos: usize, overflow: &mut bool) -> Option<(usize, bool)> {
        if self.boundaries.is_empty() {
            return None;
        }
        let rest = self.data.get(pos..)?;
        if rest.len() < 2 || rest[0] != b'-' || rest[1] != b'-' {
            return None;
        }
        if self.total_parts >= MAX_TOTAL_PARTS {
            *overflow = true;
            return None;
        }
        let line = &rest[2..];
        let (find_len, trailing_dashes) = match line.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let mut len = lf;
                if len > 0 && line[len - 1] == b'\r' {
                    len -= 1;
                }
                (
                    len,
                    len > 2 && line[len - 1] == b'-' && line[len - 2] == b'-',
                )
            }
            None => (line.len().min(BOUNDARY_LINE_MAX_LEN), false),
        };
        let candidate = &line[..find_len];
        let mut best: Option<usize> = None;
        for (i, b) in self.boundaries.iter().enumerate().rev() {
            let len = b.len();
            if len <= find_len
                && candidate.starts_with(b)
                && best.is_none_or(|j| self.boundaries[j].len() < len)
            {
                best = Some(i);
                if len == find_len || (trailing_dashes && len + 2 == find_len) {
                    break;
                }
            }
        }
        let index = best?;
        let len = self.boundaries[index].len();
        let epilogue = line.len() >= len + 2 && &line[len..len + 2] == b"--";
        Some((index, epilogue))
    }

    /// Scans a body from `pos` (the start of a line) to the next boundary line.
    fn scan_body(&self, pos: usize, flags: &mut PartFlags) -> (usize, Stop) {
        if self.boundaries.is_empty() {
            return (self.data.len(), Stop::Eof);
        }
        let mut line = pos;
        while line < self.data.len() {
            if let Some((index, epilogue)) = self.boundary_at(line, &mut flags.overflow) {
                let mut line_start = line;
                if line > pos {
                    line_start -= 1;
                    if line_start > pos && self.data[line_start - 1] == b'\r' {
                        line_start -= 1;
                    }
                }
                return (
                    line_start,
                    Stop::Boundary {
                        index,
                        line_start,
                        text_start: line,
                        epilogue,
                    },
                );
            }
            line = line_end(self.data, line);
        }
        (self.data.len(), Stop::Eof)
    }

    /// Parses the part starting at `pos`. `nested` is its depth (the root is 0).
    fn part(
        &mut self,
        pos: usize,
        nested: usize,
        parent: PartFlags,
        mime_child: bool,
    ) -> (MessagePart, Stop) {
        let data = self.data;
        let mut flags = PartFlags {
            is_mime: mime_child,
            ..PartFlags::default()
        };
        let mut seen_content_type = false;
        let mut boundary: Option<Vec<u8>> = None;
        let mut own_boundary = false;
        let mut line = pos;
        let mut prev_newline = 0;
        let mut header_stop = None;
        let body_offset;
        loop {
            if line >= data.len() {
                body_offset = data.len();
                break;
            }
            if is_empty_line(data, line) {
                if let Some(text) = boundary.take() {
                    if flags.is_mime {
                        if nested + 1 < MAX_NESTED_PARTS {
                            self.boundaries.push(text);
                            own_boundary = true;
                        } else {
                            flags.overflow = true;
                            flags.multipart = false;
                        }
                    }
                }
                let after = line_end(data, line);
                // Dovecot looks for a boundary once more before it notices the header has
                // ended: a boundary right after the empty line ends the header there, and
                // the empty line goes to the enclosing part
                let own = own_boundary.then(|| self.boundaries.len() - 1);
                match self.boundary_at(after, &mut flags.overflow) {
                    Some((index, epilogue)) if Some(index) != own => {
                        body_offset = line;
                        header_stop = Some(Stop::Boundary {
                            index,
                            line_start: after,
                            text_start: after,
                            epilogue,
                        });
                    }
                    _ => body_offset = after,
                }
                break;
            }
            if let Some((index, epilogue)) = self.boundary_at(line, &mut flags.overflow) {
                // a boundary ends the header; the line break before it belongs to the
                // boundary's multipart
                body_offset = line - prev_newline;
                header_stop = Some(Stop::Boundary {
                    index,
                    line_start: line,
                    text_start: line,
                    epilogue,
                });
                break;
            }
            let field = read_field(data, line);
            if field.raw.contains(&0) {
                flags.has_nuls = true;
            }
            if field.is("Mime-Version") {
                flags.is_mime = true;
            } else if field.is("Content-Type") {
                flags.is_mime = true;
                if !seen_content_type {
                    seen_content_type = true;
                    boundary = content_type_flags(&field.value(), &mut flags);
                }
            }
            prev_newline = if field.has_newline {
                if field.raw.ends_with(b"\r\n") {
                    2
                } else {
                    1
                }
            } else {
                0
            };
            line += field.raw.len();
        }

        if !flags.is_mime {
            // not MIME: forget what Content-Type said
            flags = PartFlags {
                has_nuls: flags.has_nuls,
                ..PartFlags::default()
            };
        }
        if !seen_content_type || !flags.is_mime {
            if parent.multipart_digest {
                flags.message_rfc822 = true;
            } else {
                flags.text = true;
            }
        }

        let mut part = MessagePart {
            offset: pos,
            body_offset,
            end: body_offset,
            flags,
            children: Vec::new(),
        };
        if self.header_only {
            return (part, Stop::Eof);
        }
        if let Some(stop) = header_stop {
            // the body is empty; a message/rfc822 still gets its (empty) message
            if part.flags.message_rfc822 {
                if nested + 1 < MAX_NESTED_PARTS && self.total_parts < MAX_TOTAL_PARTS {
                    self.total_parts += 1;
                    part.children.push(MessagePart {
                        offset: body_offset,
                        body_offset,
                        end: body_offset,
                        flags: PartFlags {
                            text: true,
                            ..PartFlags::default()
                        },
                        children: Vec::new(),
                    });
                } else {
                    part.flags.overflow = true;
                    part.flags.message_rfc822 = false;
                }
            }
            return (part, stop);
        }

        let stop = if own_boundary {
            let own = self.boundaries.len() - 1;
            self.multipart_body(&mut part, own, nested)
        } else if part.flags.message_rfc822 {
            if nested + 1 < MAX_NESTED_PARTS && self.total_parts < MAX_TOTAL_PARTS {
                self.total_parts += 1;
                let (child, stop) = self.part(body_offset, nested + 1, part.flags, false);
                part.end = match stop {
                    Stop::Eof => data.len(),
                    Stop::Boundary { line_start, .. } => line_start,
                };
                part.children.push(child);
                stop
            } else {
                part.flags.overflow = true;
                part.flags.message_rfc822 = false;
                let (end, stop) = self.scan_body(body_offset, &mut part.flags);
                part.end = end;
                stop
            }
        } else {
            let (end, stop) = self.scan_body(body_offset, &mut part.flags);
            part.end = end;
            stop
        };
        if part.body(data).contains(&0) {
            part.flags.has_nuls = true;
        }
        (part, stop)
    }

    /// The body of a multipart whose boundary is `boundaries[own]`: preamble, parts,
    /// epilogue.
    fn multipart_body(&mut self, part: &mut MessagePart, own: usize, nested: usize) -> Stop {
        let data = self.data;
        let (_, mut stop) = self.scan_body(part.body_offset, &mut part.flags);
        loop {
            match stop {
                Stop::Eof => {
                    part.end = data.len();
                    return Stop::Eof;
                }
                Stop::Boundary {
                    index,
                    line_start,
                    text_start,
                    epilogue,
                } => {
                    if index != own {
                        // an enclosing multipart's boundary ends this one too
                        part.end = line_start;
                        return stop;
                    }
                    // the rest of the boundary line is skipped
                    let after = line_end(data, text_start);
                    if epilogue {
                        self.boundaries.truncate(own);
                        let (epilogue_end, next) = self.scan_body(after, &mut part.flags);
                        part.end = epilogue_end;
                        return next;
                    }
                    self.boundaries.truncate(own + 1);
                    if after >= data.len() && data.last() != Some(&b'\n') {
                        // the boundary line ends the input: no part follows it
                        part.end = data.len();
                        return Stop::Eof;
                    }
                    self.total_parts += 1;
                    let (child, child_stop) = self.part(after, nested + 1, part.flags, true);
                    part.children.push(child);
                    stop = child_stop;
                }
            }
        }
    }
}

/// Sets the type flags from a Content-Type value and returns its boundary parameter when the
/// type is multipart.
fn content_type_flags(value: &[u8], flags: &mut PartFlags) -> Option<Vec<u8>> {
    let mut parser = Rfc822Parser::new(value);
    let _ = parser.skip_lwsp();
    let mut content_type = Vec::new();
    let ok = parser.parse_content_type(&mut content_type).is_ok();
    let ct = content_type.to_ascii_lowercase();
    if ct == b"message/rfc822" {
        flags.message_rfc822 = true;
    } else if ct.starts_with(b"text") && (ct.len() == 4 || ct[4] == b'/') {
        flags.text = true;
    } else if ct.starts_with(b"multipart/") {
        flags.multipart = true;
        flags.multipart_digest = &ct[10..] == b"digest";
    }
    if !ok || !flags.multipart {
        return None;
    }
    let (params, _) = rfc2231::parse(&mut parser);
    params
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))
        .map(|(_, mut v)| {
            v.truncate(BOUNDARY_MAX_LEN);
            v
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part() {
        let msg = b"Subject: x\n\nhello\nworld\n";
        let p = parse(msg);
        assert_eq!(p.body_offset, 12);
        assert_eq!(p.end, msg.len());
        assert!(p.flags.text);
        assert_eq!(p.body_size(msg).virtual_size, 14);
        assert_eq!(p.body_size(msg).lines, 2);
    }

    #[test]
    fn multipart_offsets() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\n\npre\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n--b--\nepi\n";
        let p = parse(msg);
        assert!(p.flags.multipart);
        assert_eq!(p.children.len(), 2);
        let one = &p.children[0];
        assert_eq!(one.body(msg), b"one");
        let two = &p.children[1];
        assert_eq!(two.header(msg), b"\n");
        assert_eq!(two.body(msg), b"two");
        assert_eq!(p.end, msg.len());
    }

    #[test]
    fn boundary_ends_header() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nX: y\n--b--\n";
        let p = parse(msg);
        let c = &p.children[0];
        assert_eq!(c.header(msg), b"X: y");
        assert_eq!(c.body(msg), b"");
    }

    proptest::proptest! {
        /// The header-only scan ends the root header where the full parse does, whatever
        /// the lines are (boundaries, empty lines, continuations, CRLF or LF, junk).
        #[test]
        fn root_header_end_as_the_full_parse(pieces in proptest::collection::vec(0usize..12, 0..24), junk in proptest::collection::vec(proptest::num::u8::ANY, 0..8)) {
            const PIECES: [&[u8]; 12] = [
                b"Content-Type: multipart/mixed; boundary=b\n",
                b"Content-Type: message/rfc822\r\n",
                b"MIME-Version: 1.0\n",
                b"\n",
                b"\r\n",
                b"--b\n",
                b"--b--\n",
                b"Subject: x\n",
                b" folded\n",
                b"no colon\n",
                b"Content-Type: multipart/digest; boundary=\"b\"\n",
                b"body text",
            ];
            let mut msg: Vec<u8> = pieces.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            msg.extend_from_slice(&junk);
            proptest::prop_assert_eq!(root_body_offset(&msg), parse(&msg).body_offset);
        }
    }

    #[test]
    fn nested_rfc822() {
        let msg = b"Content-Type: message/rfc822\n\nSubject: inner\n\nbody\n";
        let p = parse(msg);
        assert!(p.flags.message_rfc822);
        assert_eq!(p.children.len(), 1);
        assert_eq!(p.children[0].body(msg), b"body\n");
    }
}
