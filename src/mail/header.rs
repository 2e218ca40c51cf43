//! Header fields of one message part, as Dovecot's header parser splits them: a field is a
//! line plus the lines that continue it (those starting with SP or TAB); a line without `:`
//! is a field with an empty name; the header ends at an empty line or at the end of input.

/// Header names longer than this are treated as part of the value (RFC 5322 2.1.1).
const NAME_MAX_LEN: usize = 1000;

pub fn is_lwsp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// One header field with its continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The name, without whitespace before the colon; empty for a line without a colon.
    pub name: &'a [u8],
    /// The raw field: every line with its line ending, from the message.
    pub raw: &'a [u8],
    /// Offset of `raw` in the message.
    pub offset: usize,
    /// The first line's value: after the colon and the whitespace following it.
    value_start: usize,
    /// Whether the last line ended with a line feed (false only at the end of input).
    pub has_newline: bool,
}

impl<'a> HeaderField<'a> {
    /// `name` + `middle` + value is the raw first line; middle is the colon and the
    /// whitespace around it (empty for a line without a colon).
    pub fn middle(&self) -> &'a [u8] {
        &self.raw[self.name.len()..self.value_start]
    }

    /// The lines of the value, each without its line ending (the first one after the colon
    /// and the whitespace that follows it).
    fn value_lines(&self) -> impl Iterator<Item = &'a [u8]> {
        let raw: &'a [u8] = self.raw;
        let value_start = self.value_start;
        let mut first = true;
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= raw.len() {
                return None;
            }
            let end = raw[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.len(), |i| pos + i);
            let next = (end + 1).min(raw.len());
            let mut line_end = end;
            if end < raw.len() && line_end > pos && raw[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            let start = if first { value_start } else { pos };
            first = false;
            pos = next.max(end + 1);
            Some(&raw[start.min(line_end)..line_end])
        })
    }

    /// The value as Dovecot's index code sees it (`full_value` with SKIP_INITIAL_LWSP and
    /// DROP_CR): the lines joined with LF, each line's CR dropped.
    pub fn value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        for (i, line) in self.value_lines().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(line);
        }
        out
    }

    /// The value unfolded onto one line (CLEAN_ONELINE, used by SEARCH): continuation lines
    /// are appended directly, a leading TAB becoming a space.
    pub fn value_oneline(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.raw.len());
        for (i, line) in self.value_lines().enumerate() {
            if i > 0 && line.first() == Some(&b'\t') {
                out.push(b' ');
                out.extend_from_slice(&line[1..]);
            } else {
                out.extend_from_slice(line);
            }
        }
        out
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// Where a line starting at `pos` ends: the offset after its LF (or the end of input).
pub fn line_end(data: &[u8], pos: usize) -> usize {
    match data
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
    {
        Some(i) => pos + i + 1,
        None => data.len(),
    }
}

/// Whether the line at `pos` is empty (LF or CRLF).
pub fn is_empty_line(data: &[u8], pos: usize) -> bool {
    match data.get(pos) {
        Some(b'\n') => true,
        Some(b'\r') => data.get(pos + 1) == Some(&b'\n'),
        _ => false,
    }
}

/// Reads the field starting at `pos` (not an empty line, not at the end).
pub fn read_field(data: &[u8], pos: usize) -> HeaderField<'_> {
    let first_end = line_end(data, pos);
    let first = &data[pos..first_end];
    let content = first.strip_suffix(b"\n").unwrap_or(first);
    // the colon search stops at a line feed; NULs do not stop it
    let colon = content.iter().position(|&b| b == b':');
    let mut end = first_end;
    while end < data.len() && data[end - 1] == b'\n' && is_lwsp(data[end]) {
        end = line_end(data, end);
    }
    let raw = &data[pos..end];
    let has_newline = raw.last() == Some(&b'\n');
    let line_len = {
        let mut len = content.len();
        if first_end - pos > content.len() && len > 0 && content[len - 1] == b'\r' {
            len -= 1;
        }
        len
    };
    let (name, value_start) = match colon {
        Some(colon) => {
            let mut name_end = colon;
            while name_end > 0 && is_lwsp(content[name_end - 1]) {
                name_end -= 1;
            }
            if name_end > NAME_MAX_LEN {
                (&raw[..0], 0)
            } else {
                let value = &content[colon + 1..line_len.max(colon + 1)];
                let skip = value.iter().take_while(|&&b| is_lwsp(b)).count();
                let skip = if skip == value.len() {
                    // a value of only whitespace loses just one
                    usize::from(!value.is_empty())
                } else {
                    skip
                };
                // name_end < colon means whitespace before the colon, which stays in middle
                (&raw[..name_end], colon + 1 + skip)
            }
        }
        None => (&raw[..0], 0),
    };
    HeaderField {
        name,
        raw,
        offset: pos,
        value_start,
        has_newline,
    }
}

/// The fields of a header that starts at `start` and ends before `end` (the empty line
/// separating it from the body, or the end of the header region).
pub fn fields(data: &[u8], start: usize, end: usize) -> Vec<HeaderField<'_>> {
    let data = &data[..end];
    let mut out = Vec::new();
    let mut pos = start;
    while pos < data.len() && !is_empty_line(data, pos) {
        let field = read_field(data, pos);
        pos += field.raw.len();
        out.push(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_values() {
        let msg = b"Subject:  hello\r\n  world\r\nX-A :b\nno colon\n\tcont\nEmpty:   \n\nbody";
        let f = fields(msg, 0, msg.len());
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].name, b"Subject");
        assert_eq!(f[0].value(), b"hello\n  world");
        assert_eq!(f[0].value_oneline(), b"hello  world");
        assert_eq!(f[0].raw, b"Subject:  hello\r\n  world\r\n");
        assert_eq!(f[0].middle(), b":  ");
        assert_eq!(f[1].name, b"X-A");
        assert_eq!(f[1].middle(), b" :");
        assert_eq!(f[1].value(), b"b");
        assert_eq!(f[2].name, b"");
        assert_eq!(f[2].value(), b"no colon\n\tcont");
        assert_eq!(f[2].value_oneline(), b"no colon cont");
        assert_eq!(f[3].value(), b"  ");
    }

    #[test]
    fn header_without_newline_at_end() {
        let msg = b"A: 1\nB: 2";
        let f = fields(msg, 0, msg.len());
        assert_eq!(f.len(), 2);
        assert!(!f[1].has_newline);
        assert_eq!(f[1].value(), b"2");
    }
}
