//! Message IDs out of Message-ID, In-Reply-To and References values, as Dovecot 2.3 reads
//! them for THREAD: each `<...>` that holds an `@`, with whitespace inside removed; an ID
//! with quotes, comments or a domain literal is parsed as `id-left "@" id-right`, and what
//! does not parse is skipped.

use super::rfc822::Rfc822Parser;

/// The message IDs of a header value, in order.
pub struct MessageIds<'a> {
    data: &'a [u8],
    pos: usize,
    /// The slowly parsed IDs are collected here. Dovecot never clears this buffer between
    /// attempts in one value, so a failed attempt's text stays in front of the next ID
    /// parsed this way: kept as it does, since THREAD links by these strings.
    slow: Vec<u8>,
}

impl<'a> MessageIds<'a> {
    pub fn new(value: &'a [u8]) -> MessageIds<'a> {
        // Dovecot reads the value as a C string
        let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
        MessageIds {
            data: &value[..end],
            pos: 0,
            slow: Vec::new(),
        }
    }

    /// `id-left "@" id-right ">"` from the current position (just after `<`): where it
    /// ends, its text appended to `slow`.
    fn parse_slowly(&mut self) -> Option<usize> {
        let rest = &self.data[self.pos..];
        let mut p = Rfc822Parser::new(rest);
        let _ = p.skip_lwsp();
        let left = if p.peek() == b'"' {
            p.parse_quoted_string(&mut self.slow)
        } else {
            p.parse_dot_atom(&mut self.slow)
        };
        if left != Ok(true) || p.peek() != b'@' {
            return None;
        }
        self.slow.push(b'@');
        p.pos += 1;
        let _ = p.skip_lwsp();
        if p.parse_dot_atom(&mut self.slow) == Ok(true) && p.peek() == b'>' {
            return Some(self.pos + p.pos + 1);
        }
        None
    }
}

impl Iterator for MessageIds<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            let open = self.data[self.pos..].iter().position(|&b| b == b'<')?;
            let id_start = self.pos + open + 1;
            // most IDs need nothing more than finding their end
            let mut p = id_start;
            let mut found_at = false;
            let stop = loop {
                let Some(&c) = self.data.get(p) else {
                    self.pos = self.data.len();
                    return None;
                };
                if c < b'A' {
                    if c == b'@' {
                        found_at = true;
                    }
                    if matches!(c, b'>' | b'"' | b'(' | b'[') {
                        break c;
                    }
                }
                p += 1;
            };
            if stop == b'>' {
                self.pos = p + 1;
                if found_at {
                    return Some(
                        self.data[id_start..p]
                            .iter()
                            .copied()
                            .filter(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
                            .collect(),
                    );
                }
            } else {
                self.pos = id_start;
                if let Some(end) = self.parse_slowly() {
                    self.pos = end;
                    return Some(self.slow.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &str) -> Vec<String> {
        MessageIds::new(s.as_bytes())
            .map(|id| String::from_utf8(id).unwrap())
            .collect()
    }

    #[test]
    fn as_dovecot_reads_them() {
        assert_eq!(
            ids("<1234@local.machine.example>"),
            ["1234@local.machine.example"]
        );
        assert_eq!(ids("<a@b> <c@d>"), ["a@b", "c@d"]);
        assert_eq!(ids("  <spaced@example.com>  "), ["spaced@example.com"]);
        assert_eq!(ids("<a b@c\n d>"), ["ab@cd"]);
        assert!(ids("garbage-id").is_empty());
        assert!(ids("").is_empty());
        assert!(ids("<no-at>").is_empty());
        assert_eq!(ids("<no-at> <x@y>"), ["x@y"]);
        assert!(ids("<unterminated@x").is_empty());
        // quoted local parts, comments and domain literals take the slow way
        assert_eq!(ids("<\"q p\"@x>"), ["q p@x"]);
        assert_eq!(ids("<a (comment) @ b>"), ["a@b"]);
        // '[' sorts after 'A': Dovecot's quick scan never stops at it
        assert_eq!(ids("<a@[1.2.3.4]>"), ["a@[1.2.3.4]"]);
        // a failed slow attempt's text stays in front of the next slow one (Dovecot's buffer)
        assert_eq!(ids("<a(x)> <b(y)@c>"), ["ab@c"]);
        // 8-bit bytes are taken as they are
        assert_eq!(ids("<\u{e9}@x>"), ["\u{e9}@x"]);
    }
}
