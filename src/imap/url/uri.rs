//! The generic URI pieces an IMAP URL is made of (RFC 3986): scheme, `//` authority, path
//! segments (with dot-segment removal), query, fragment and %-decoding, with the error texts
//! Dovecot's URI parser gives, since clients see them in `[BADURL]` answers.

/// `unreserved`: ALPHA / DIGIT / "-" / "." / "_" / "~".
pub fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// `sub-delims`.
pub fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// `pchar` without `pct-encoded`.
fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || matches!(c, b':' | b'@')
}

/// What may stand in a userinfo (without `pct-encoded`).
fn is_userinfo_char(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':'
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

/// A URI being read, byte by byte.
pub struct Cursor<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

/// The `//` authority of a URI.
#[derive(Debug, Default)]
pub struct Authority<'a> {
    /// Still %-encoded.
    pub userinfo: Option<&'a [u8]>,
    /// Decoded; IP literals keep their brackets.
    pub host: String,
    pub port: Option<u16>,
}

/// The path: its segments (still %-encoded, dot segments resolved) and how far up a relative
/// reference climbs (0: the path is absolute; 1: relative; one more per leading `..`).
#[derive(Debug)]
pub struct Path<'a> {
    pub segments: Vec<&'a [u8]>,
    pub relative: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// `pct-encoded` at the cursor: `Ok(None)` when the cursor is not at a `%`.
    fn pct_encoded(&mut self) -> Result<Option<u8>, String> {
        if self.peek() != Some(b'%') {
            return Ok(None);
        }
        let (value, used) = decode_pct(&self.data[self.pos..])?;
        self.pos += used;
        Ok(Some(value))
    }

    /// `scheme ":"`; `None` (the cursor unmoved) when the URI does not start with one.
    pub fn scheme(&mut self) -> Option<&'a [u8]> {
        const MAX_SCHEME_LEN: usize = 64;
        let start = self.pos;
        if !self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let mut end = start + 1;
        while end - start < MAX_SCHEME_LEN
            && self
                .data
                .get(end)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        {
            end += 1;
        }
        if self.data.get(end) != Some(&b':') {
            return None;
        }
        self.pos = end + 1;
        Some(&self.data[start..end])
    }

    /// `"//" authority` with a host name as DNS names are written; `None` when the URI has
    /// no authority (also for a bare `//`, which is an empty path's two slashes).
    pub fn authority(&mut self) -> Result<Option<Authority<'a>>, String> {
        let rest = &self.data[self.pos..];
        if rest.len() <= 2 || !rest.starts_with(b"//") {
            return Ok(None);
        }
        self.pos += 2;
        let mut auth = Authority::default();
        let scan = self.data[self.pos..]
            .iter()
            .position(|&c| c != b'%' && !is_userinfo_char(c))
            .map_or(self.data.len(), |i| self.pos + i);
        if self.data.get(scan) == Some(&b'@') {
            auth.userinfo = Some(&self.data[self.pos..scan]);
            self.pos = scan + 1;
        }
        auth.host = self.host()?;
        match self.peek() {
            None | Some(b'/' | b'?' | b'#') => return Ok(Some(auth)),
            Some(b':') => self.pos += 1,
            Some(_) => return Err("Invalid host identifier".into()),
        }
        let digits = self.data[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            let text = &self.data[self.pos..self.pos + digits];
            let port = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<u16>().ok())
                .filter(|&p| p != 0)
                .ok_or("Invalid port number")?;
            auth.port = Some(port);
            self.pos += digits;
        }
        match self.peek() {
            None | Some(b'/' | b'?' | b'#') => Ok(Some(auth)),
            Some(_) => Err("Invalid host port".into()),
        }
    }

    /// `IP-literal / IPv4address / host name`; empty when there is none.
    fn host(&mut self) -> Result<String, String> {
        if self.peek() == Some(b'[') {
            return self.ip_literal();
        }
        if let Some(end) = ipv4_end(&self.data[self.pos..]) {
            let name = String::from_utf8_lossy(&self.data[self.pos..self.pos + end]).into_owned();
            self.pos += end;
            return Ok(name);
        }
        self.host_name()
    }

    fn ip_literal(&mut self) -> Result<String, String> {
        let start = self.pos;
        let close = self.data[start..]
            .iter()
            .position(|&c| c == b']')
            .map(|i| start + i)
            .ok_or("Expecting ']' at end of IP-literal")?;
        let address = String::from_utf8_lossy(&self.data[start + 1..close]).into_owned();
        self.pos = close + 1;
        if address.is_empty() {
            return Err("Empty IPv6 host address".into());
        }
        if address.starts_with('v') {
            return Err(format!("Future IP host address '{address}' not supported"));
        }
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("Invalid IPv6 host address '{address}'"));
        }
        Ok(format!("[{address}]"))
    }

    /// DNS labels (letters, digits and inner hyphens) separated by dots, %-encoding allowed;
    /// a trailing dot is dropped.
    fn host_name(&mut self) -> Result<String, String> {
        let mut name = String::new();
        loop {
            // A label starts with a letter or digit; anything else ends the name.
            let save = self.pos;
            let first = match self.pct_encoded()? {
                Some(c) => c,
                None => match self.peek() {
                    Some(c) => {
                        self.pos += 1;
                        c
                    }
                    None => break,
                },
            };
            if !first.is_ascii_alphanumeric() {
                if self.data[save] == b'%' {
                    return Err("Invalid domain label in hostname".into());
                }
                self.pos = save;
                break;
            }
            name.push(char::from(first));
            let mut last = first;
            let mut dot = false;
            loop {
                let save = self.pos;
                let c = match self.pct_encoded()? {
                    Some(c) => c,
                    None => match self.peek() {
                        Some(c) => {
                            self.pos += 1;
                            c
                        }
                        None => break,
                    },
                };
                if c == b'.' {
                    dot = true;
                    break;
                }
                if !c.is_ascii_alphanumeric() && c != b'-' {
                    self.pos = save;
                    break;
                }
                name.push(char::from(c));
                last = c;
            }
            if !last.is_ascii_alphanumeric() {
                return Err("Invalid domain label in hostname".into());
            }
            if !dot {
                break;
            }
            name.push('.');
        }
        if name.ends_with('.') {
            name.pop();
        }
        Ok(name)
    }

    /// The path (`path-abempty` after an authority, any path form otherwise); `None` when it
    /// is empty.
    pub fn path(&mut self) -> Result<Option<Path<'a>>, String> {
        let begin = self.pos;
        let mut relative = 1;
        if self.peek() == Some(b'/') {
            self.pos += 1;
            relative = 0;
        }
        let mut segments: Vec<&'a [u8]> = Vec::new();
        let mut ends_in_dot;
        loop {
            let segment = self.segment()?;
            // The last segment was `.` or `..`: the path ends in a directory.
            ends_in_dot = false;
            match segment {
                b".." => {
                    ends_in_dot = true;
                    if segments.pop().is_none() && relative > 0 {
                        relative += 1;
                    }
                }
                b"." => ends_in_dot = true,
                segment => segments.push(segment),
            }
            if self.peek() != Some(b'/') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == begin {
            return Ok(None);
        }
        if ends_in_dot {
            segments.push(b"");
        }
        Ok(Some(Path { segments, relative }))
    }

    /// One path segment: `pchar`s up to a `/`, `?`, `#` or the end.
    fn segment(&mut self) -> Result<&'a [u8], String> {
        let start = self.pos;
        loop {
            if self.pct_encoded()?.is_some() {
                continue;
            }
            match self.peek() {
                Some(c) if is_pchar(c) => self.pos += 1,
                None | Some(b'/' | b'?' | b'#') => break,
                Some(_) => return Err("Path component contains invalid character".into()),
            }
        }
        Ok(&self.data[start..self.pos])
    }

    /// `"?" query`, still %-encoded; `None` without a `?`.
    pub fn query(&mut self) -> Result<Option<&'a [u8]>, String> {
        self.query_like(
            b'?',
            "Query component contains invalid character",
            Some(b'#'),
        )
    }

    /// `"#" fragment`; `None` without a `#`.
    pub fn fragment(&mut self) -> Result<Option<&'a [u8]>, String> {
        self.query_like(b'#', "Fragment component contains invalid character", None)
    }

    fn query_like(
        &mut self,
        lead: u8,
        invalid: &str,
        next: Option<u8>,
    ) -> Result<Option<&'a [u8]>, String> {
        if self.peek() != Some(lead) {
            return Ok(None);
        }
        self.pos += 1;
        let start = self.pos;
        loop {
            if self.pct_encoded()?.is_some() {
                continue;
            }
            match self.peek() {
                Some(c) if is_pchar(c) || c == b'/' || c == b'?' => self.pos += 1,
                None => break,
                Some(c) if Some(c) == next => break,
                Some(_) => return Err(invalid.to_string()),
            }
        }
        Ok(Some(&self.data[start..self.pos]))
    }
}

/// Where a dotted-decimal IPv4 address at the start of `s` ends, Dovecot's way: one to four
/// numbers up to 255 separated by dots, the address ending where the text ends or four
/// numbers were read. `None`: it is not one (then it is read as a host name).
fn ipv4_end(s: &[u8]) -> Option<usize> {
    let number = |from: usize| -> Option<usize> {
        let digits = s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let mut value: u32 = 0;
        for &c in &s[from..from + digits] {
            value = value * 10 + u32::from(c - b'0');
            if value > 255 {
                return None;
            }
        }
        Some(from + digits)
    };
    let mut pos = number(0)?;
    for _ in 0..3 {
        if pos >= s.len() {
            break;
        }
        if s[pos] != b'.' {
            return None;
        }
        pos = number(pos + 1)?;
    }
    Some(pos)
}

/// Decodes the `%XX` at the start of `s`: the byte and the length used (3).
fn decode_pct(s: &[u8]) -> Result<(u8, usize), String> {
    if s.len() < 3 {
        return Err("Unexpected URI boundary after '%'".into());
    }
    let high = hex_value(s[1]).ok_or_else(|| {
        format!(
            "Expecting hex digit after '%', but found '{}'",
            char::from(s[1])
        )
    })?;
    let low = hex_value(s[2]).ok_or_else(|| {
        format!(
            "Expecting hex digit after '%{}', but found '{}'",
            char::from(s[1]),
            char::from(s[2])
        )
    })?;
    let value = (high << 4) | low;
    if value == 0 {
        return Err("Percent encoding is not allowed to encode NUL character".into());
    }
    Ok((value, 3))
}

/// %-decodes `s` (other bytes are taken as they are).
pub fn decode(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let (value, used) = decode_pct(&s[i..])?;
            out.push(value);
            i += used;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// %-encodes every byte of `s` that `keep` does not allow as it is.
pub fn encode(out: &mut String, s: &[u8], keep: impl Fn(u8) -> bool) {
    for &c in s {
        if keep(c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        let path = |s: &str| {
            let mut c = Cursor::new(s.as_bytes());
            let p = c.path().unwrap().unwrap();
            let segs: Vec<String> = p
                .segments
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            (segs, p.relative)
        };
        assert_eq!(path("/a/b/../c"), (vec!["a".into(), "c".into()], 0));
        assert_eq!(path("../../x"), (vec!["x".into()], 3));
        assert_eq!(path("a/."), (vec!["a".into(), String::new()], 1));
        assert_eq!(path("/"), (vec![String::new()], 0));
        assert!(Cursor::new(b"").path().unwrap().is_none());
        assert_eq!(
            Cursor::new(b"a\"b").path().unwrap_err(),
            "Path component contains invalid character"
        );
    }

    #[test]
    fn hosts() {
        let host = |s: &str| {
            let mut c = Cursor::new(s.as_bytes());
            c.authority().map(|a| a.map(|a| (a.host, a.port, c.pos)))
        };
        assert_eq!(
            host("//a.b.:143/x"),
            Ok(Some(("a.b".into(), Some(143), 10)))
        );
        assert_eq!(host("//1.2.3.4"), Ok(Some(("1.2.3.4".into(), None, 9))));
        assert_eq!(host("//[::1]"), Ok(Some(("[::1]".into(), None, 7))));
        assert_eq!(host("//ex%41mple"), Ok(Some(("exAmple".into(), None, 11))));
        assert_eq!(host("//a-"), Err("Invalid domain label in hostname".into()));
        assert_eq!(host("//a:0/"), Err("Invalid port number".into()));
        assert_eq!(host("//a:1x"), Err("Invalid host port".into()));
        assert_eq!(host("//a_b"), Err("Invalid host identifier".into()));
        assert_eq!(host("//"), Ok(None));
    }

    #[test]
    fn pct_errors() {
        assert_eq!(
            decode(b"a%4").unwrap_err(),
            "Unexpected URI boundary after '%'"
        );
        assert_eq!(
            decode(b"%g1").unwrap_err(),
            "Expecting hex digit after '%', but found 'g'"
        );
        assert_eq!(
            decode(b"%0r").unwrap_err(),
            "Expecting hex digit after '%0', but found 'r'"
        );
        assert_eq!(
            decode(b"%00").unwrap_err(),
            "Percent encoding is not allowed to encode NUL character"
        );
        assert_eq!(decode(b"a%20b%2f").unwrap(), b"a b/");
    }
}
