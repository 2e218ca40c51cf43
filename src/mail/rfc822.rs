//! RFC 822/5322 and MIME tokens (atoms, quoted strings, comments, phrases, domains, MIME
//! tokens, Content-Type values and parameters), with Dovecot's leniencies: the ENVELOPE and
//! BODYSTRUCTURE answers depend on exactly where a broken value stops being read.

/// A MIME parameter: name and (raw) value.
pub type Param = (Vec<u8>, Vec<u8>);

/// The input is not valid at this point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

/// `Ok(true)`: more input follows; `Ok(false)`: the input is used up (a value may still have
/// been read); `Err(Broken)`: invalid input.
pub type Step = Result<bool, Broken>;

/// UTF-8 of U+FFFD, what NUL bytes become inside quoted strings, comments and parameters.
pub const NUL_REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

const ATEXT: u8 = 1;
const ALNUM: u8 = 2;
const TSPECIAL_ATEXT: u8 = 4;

/// Character classes: atext is any non-zero class; MIME token chars are `ATEXT | ALNUM`
/// (atext minus `/`, `=`, `?`). 8-bit bytes count as letters, as in Dovecot.
fn class(c: u8) -> u8 {
    match c {
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | 0x80..=0xff => ALNUM,
        b'/' | b'=' | b'?' => TSPECIAL_ATEXT,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'^' | b'_' | b'`'
        | b'{' | b'|' | b'}' | b'~' => ATEXT,
        _ => 0,
    }
}

pub fn is_atext(c: u8) -> bool {
    class(c) != 0
}

fn is_token_char(c: u8) -> bool {
    class(c) & (ATEXT | ALNUM) != 0
}

/// A cursor over one header value.
pub struct Rfc822Parser<'a> {
    data: &'a [u8],
    pub pos: usize,
    /// When set, the text of the last comment skipped is kept here.
    pub last_comment: Option<Vec<u8>>,
    /// Replace NUL bytes in quoted strings, comments and domain literals with U+FFFD.
    pub replace_nuls: bool,
}

impl<'a> Rfc822Parser<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Rfc822Parser {
            data,
            pos: 0,
            last_comment: None,
            replace_nuls: false,
        }
    }

    /// The current byte, 0 at the end (Dovecot's values are NUL-terminated).
    pub fn peek(&self) -> u8 {
        self.data.get(self.pos).copied().unwrap_or(0)
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn more(&self) -> bool {
        !self.at_end()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// At a NUL inside a quoted string, comment or domain literal: copies what precedes it
    /// (from `*start`) and U+FFFD for it.
    fn replace_nul(&self, start: &mut usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.data[*start..self.pos]);
        out.extend_from_slice(NUL_REPLACEMENT);
        *start = self.pos + 1;
    }

    /// At a LF inside a quoted string, comment or domain literal: folding whitespace, so
    /// copies what precedes it (from `*start`) without the (CR)LF.
    fn unfold(&self, start: &mut usize, out: &mut Vec<u8>) {
        let mut end = self.pos;
        if end > *start && self.data[end - 1] == b'\r' {
            end -= 1;
        }
        out.extend_from_slice(&self.data[*start..end]);
        *start = self.pos + 1;
    }

    /// At a backslash inside a quoted string or comment: a quoted-pair, copied without the
    /// backslash; before a CR, LF or NUL the backslash stays and that byte is read next.
    fn unescape(&mut self, start: &mut usize, out: &mut Vec<u8>) -> Result<(), Broken> {
        self.pos += 1;
        if self.pos >= self.data.len() {
            return Err(Broken);
        }
        if matches!(self.data[self.pos], b'\r' | b'\n' | 0) {
            self.pos -= 1;
        } else {
            out.extend_from_slice(&self.data[*start..self.pos - 1]);
            *start = self.pos;
        }
        Ok(())
    }

    /// Skips a comment (the cursor is on `(`), keeping its text in `last_comment`.
    pub fn skip_comment(&mut self) -> Step {
        let keep = self.last_comment.is_some();
        let mut comment = Vec::new();
        self.pos += 1;
        let mut start = self.pos;
        let mut level = 1;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                0 if keep && self.replace_nuls => self.replace_nul(&mut start, &mut comment),
                b'(' => level += 1,
                b')' => {
                    level -= 1;
                    if level == 0 {
                        comment.extend_from_slice(&self.data[start..self.pos]);
                        if keep {
                            self.last_comment = Some(comment);
                        }
                        self.pos += 1;
                        return Ok(self.more());
                    }
                }
                b'\n' if keep => self.unfold(&mut start, &mut comment),
                b'\\' => self.unescape(&mut start, &mut comment)?,
                _ => {}
            }
            self.pos += 1;
        }
        if keep {
            // what was read before the missing ')' stays, as in Dovecot
            self.last_comment = Some(comment);
        }
        Err(Broken)
    }

    /// Skips whitespace (SP, TAB, CR, LF) and comments.
    pub fn skip_lwsp(&mut self) -> Step {
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => {
                    self.skip_comment()?;
                }
                _ => break,
            }
        }
        Ok(self.more())
    }

    /// `atom`: one or more atext bytes.
    pub fn parse_atom(&mut self, out: &mut Vec<u8>) -> Step {
        if !is_atext(self.peek()) || self.at_end() {
            return Err(Broken);
        }
        let start = self.pos;
        while self.pos < self.data.len() && is_atext(self.data[self.pos]) {
            self.pos += 1;
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        if self.at_end() {
            return Ok(false);
        }
        self.skip_lwsp()
    }

    /// `dot-atom`, allowing whitespace around the dots (RFC 822).
    pub fn parse_dot_atom(&mut self, out: &mut Vec<u8>) -> Step {
        if self.at_end() || !is_atext(self.peek()) {
            return Err(Broken);
        }
        let mut start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            if is_atext(self.data[self.pos]) {
                self.pos += 1;
                continue;
            }
            if start == self.pos {
                return Err(Broken);
            }
            out.extend_from_slice(&self.data[start..self.pos]);
            if !self.skip_lwsp()? {
                return Ok(false);
            }
            if self.peek() != b'.' {
                return Ok(true);
            }
            self.pos += 1;
            out.push(b'.');
            if !self.skip_lwsp()? {
                return Err(Broken);
            }
            start = self.pos;
        }
        if start == self.pos {
            // Dovecot asserts here; a dot-atom cannot end with a dot
            return Err(Broken);
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        Ok(false)
    }

    /// A MIME token (dots allowed, as Dovecot does).
    pub fn parse_mime_token(&mut self, out: &mut Vec<u8>) -> Step {
        let start = self.pos;
        while self.pos < self.data.len()
            && (is_token_char(self.data[self.pos]) || self.data[self.pos] == b'.')
        {
            self.pos += 1;
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        if self.at_end() {
            return Ok(false);
        }
        self.skip_lwsp()
    }

    /// A quoted string (the cursor is on `"`); folding (CR)LFs are removed, quoted-pairs
    /// unescaped.
    pub fn parse_quoted_string(&mut self, out: &mut Vec<u8>) -> Step {
        self.pos += 1;
        let mut start = self.pos;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                0 if self.replace_nuls => self.replace_nul(&mut start, out),
                b'"' => {
                    out.extend_from_slice(&self.data[start..self.pos]);
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => self.unfold(&mut start, out),
                b'\\' => self.unescape(&mut start, out)?,
                _ => {}
            }
            self.pos += 1;
        }
        Err(Broken)
    }

    fn parse_atom_or_dot(&mut self, out: &mut Vec<u8>) -> Step {
        let start = self.pos;
        while self.pos < self.data.len()
            && (is_atext(self.data[self.pos]) || self.data[self.pos] == b'.')
        {
            self.pos += 1;
        }
        out.extend_from_slice(&self.data[start..self.pos]);
        if self.at_end() {
            return Ok(false);
        }
        self.skip_lwsp()
    }

    /// `phrase`: words (atoms, dots, quoted strings) joined by single spaces.
    pub fn parse_phrase(&mut self, out: &mut Vec<u8>) -> Step {
        if self.at_end() {
            return Ok(false);
        }
        if self.peek() == b'.' {
            return Err(Broken);
        }
        loop {
            let more = if self.peek() == b'"' {
                self.parse_quoted_string(out)?
            } else {
                self.parse_atom_or_dot(out)?
            };
            if !more {
                return Ok(false);
            }
            let c = self.peek();
            if !is_atext(c) && c != b'"' && c != b'.' {
                break;
            }
            out.push(b' ');
        }
        self.skip_lwsp()
    }

    fn parse_domain_literal(&mut self, out: &mut Vec<u8>) -> Step {
        let mut start = self.pos;
        self.pos += 1;
        while self.pos < self.data.len() {
            match self.data[self.pos] {
                0 if self.replace_nuls => self.replace_nul(&mut start, out),
                b'[' => return Err(Broken),
                b']' => {
                    out.extend_from_slice(&self.data[start..=self.pos]);
                    self.pos += 1;
                    return self.skip_lwsp();
                }
                b'\n' => self.unfold(&mut start, out),
                b'\\' => {
                    // the backslash stays in the output
                    self.pos += 1;
                    if self.pos >= self.data.len() {
                        return Err(Broken);
                    }
                    if matches!(self.data[self.pos], b'\r' | b'\n' | 0) {
                        out.extend_from_slice(&self.data[start..self.pos]);
                        start = self.pos;
                        self.pos -= 1;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(Broken)
    }

    /// `@domain` (the cursor is on `@`): a dot-atom or a domain literal.
    pub fn parse_domain(&mut self, out: &mut Vec<u8>) -> Step {
        self.pos += 1;
        if !self.skip_lwsp()? {
            return Err(Broken);
        }
        if self.peek() == b'[' {
            self.parse_domain_literal(out)
        } else {
            self.parse_dot_atom(out)
        }
    }

    /// `type/subtype` of a Content-Type value. On error `out` is left without the partial
    /// value, as Dovecot leaves it.
    pub fn parse_content_type(&mut self, out: &mut Vec<u8>) -> Step {
        let start_len = out.len();
        if !self.skip_lwsp()? {
            return Err(Broken);
        }
        if !self.parse_mime_token(out)? || out.len() == start_len {
            return Err(Broken);
        }
        if self.peek() != b'/' {
            out.truncate(start_len);
            return Err(Broken);
        }
        self.pos += 1;
        if !self.skip_lwsp().unwrap_or(false) {
            out.truncate(start_len);
            return Err(Broken);
        }
        out.push(b'/');
        let sub_start = out.len();
        let ret = self.parse_mime_token(out);
        if ret.is_err() || out.len() == sub_start || (self.more() && self.peek() != b';') {
            out.truncate(start_len);
            return Err(Broken);
        }
        ret
    }

    /// One `; key=value` parameter. `Ok(None)` at the end of input.
    pub fn parse_content_param(&mut self) -> Result<Option<Param>, Broken> {
        if self.at_end() {
            return Ok(None);
        }
        if self.peek() != b';' {
            return Err(Broken);
        }
        self.pos += 1;
        if !self.skip_lwsp()? {
            return Err(Broken);
        }
        let mut key = Vec::new();
        if !self.parse_mime_token(&mut key)? {
            return Err(Broken);
        }
        if self.peek() != b'=' {
            return Err(Broken);
        }
        self.pos += 1;
        let mut value = Vec::new();
        let ret = match self.skip_lwsp() {
            Ok(true) => {
                if self.peek() == b'"' {
                    self.parse_quoted_string(&mut value)
                } else if self.peek() == b'=' {
                    // broken input like name==?utf-8?b?...?=
                    while self.pos < self.data.len()
                        && !matches!(self.data[self.pos], b';' | b' ' | b'\t' | b'\r' | b'\n')
                    {
                        value.push(self.data[self.pos]);
                        self.pos += 1;
                    }
                    Ok(true)
                } else {
                    self.parse_mime_token(&mut value)
                }
            }
            other => other,
        };
        ret?;
        Ok(Some((key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_joins_words() {
        let mut p = Rfc822Parser::new(b"Joe  \"Q. Public\" (c) <x>");
        let mut out = Vec::new();
        assert_eq!(p.parse_phrase(&mut out), Ok(true));
        assert_eq!(out, b"Joe Q. Public");
        assert_eq!(p.peek(), b'<');
    }

    #[test]
    fn content_type() {
        let mut p = Rfc822Parser::new(b" text / plain ; charset=us-ascii");
        let mut out = Vec::new();
        assert_eq!(p.parse_content_type(&mut out), Ok(true));
        assert_eq!(out, b"text/plain");
        let param = p.parse_content_param().unwrap().unwrap();
        assert_eq!(param, (b"charset".to_vec(), b"us-ascii".to_vec()));
        assert_eq!(p.parse_content_param(), Ok(None));

        let mut p = Rfc822Parser::new(b"text/plain garbage");
        let mut out = Vec::new();
        assert!(p.parse_content_type(&mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn comment_is_kept() {
        let mut p = Rfc822Parser::new(b"(a \\) b (nested)) x");
        p.last_comment = Some(Vec::new());
        assert_eq!(p.skip_lwsp(), Ok(true));
        assert_eq!(p.last_comment.as_deref(), Some(&b"a ) b (nested)"[..]));
    }
}
