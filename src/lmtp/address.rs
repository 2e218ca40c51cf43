//! SMTP paths as MAIL FROM and RCPT TO carry them (RFC 5321 §4.1.2): `<local@domain>`, the
//! null path `<>`, an old source route (`<@relay:local@domain>`, ignored), and, as LMTP
//! delivers to local users, a local part without a domain. Errors carry Dovecot's texts (its
//! replies say `Invalid FROM: <text>`).

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The local part, unquoted.
    pub local: String,
    pub domain: Option<String>,
}

impl Address {
    /// The address as SMTP writes it (`local@domain`, the local part quoted when needed).
    pub fn encode(&self) -> String {
        let local = if dot_string(self.local.as_bytes()) {
            self.local.clone()
        } else {
            let mut q = String::from("\"");
            for c in self.local.chars() {
                if c == '"' || c == '\\' {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('"');
            q
        };
        match &self.domain {
            Some(d) => format!("{local}@{d}"),
            None => local,
        }
    }

    /// The user name and detail for `recipient_delimiter` (any of its characters splits the
    /// local part at its first occurrence): `alice+box@example.com` → (`alice@example.com`,
    /// `box`).
    pub fn split_detail(&self, delimiters: &str) -> (String, String) {
        let at = self
            .local
            .char_indices()
            .find(|(_, c)| delimiters.contains(*c))
            .map(|(i, _)| i);
        let (user, detail) = match at {
            Some(i) if !delimiters.is_empty() => {
                let c_len = self.local[i..].chars().next().map_or(1, char::len_utf8);
                (&self.local[..i], &self.local[i + c_len..])
            }
            _ => (self.local.as_str(), ""),
        };
        let user = match &self.domain {
            Some(d) => format!("{user}@{d}"),
            None => user.to_string(),
        };
        (user, detail.to_string())
    }
}

/// `atext` (RFC 5322) characters.
fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c) || c >= 0x80
}

fn dot_string(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&c| c == b'.')
            .all(|atom| !atom.is_empty() && atom.iter().all(|&c| is_atext(c)))
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// A domain (`sub.example.com`) or address literal (`[192.0.2.1]`).
    fn domain(&mut self) -> Option<String> {
        let start = self.at;
        if self.peek() == Some(b'[') {
            while let Some(c) = self.peek() {
                self.at += 1;
                if c == b']' {
                    return Some(String::from_utf8_lossy(&self.s[start..self.at]).into_owned());
                }
            }
            self.at = start;
            return None;
        }
        loop {
            let label = self.at;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80)
            {
                self.at += 1;
            }
            if self.at == label {
                self.at = start;
                return None;
            }
            if self.peek() == Some(b'.') && self.s.get(self.at + 1).is_some_and(|&c| c != b'>') {
                self.at += 1;
                continue;
            }
            break;
        }
        Some(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// A local part: dot-string or quoted string. `None` with nothing consumed when there is
    /// none; `Err` for a broken one.
    fn local(&mut self) -> Result<Option<String>, &'static str> {
        if self.peek() == Some(b'"') {
            self.at += 1;
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    None => return Err("Invalid character in localpart"),
                    Some(b'"') => {
                        self.at += 1;
                        return Ok(Some(String::from_utf8_lossy(&out).into_owned()));
                    }
                    Some(b'\\') => {
                        let Some(&c) = self.s.get(self.at + 1) else {
                            return Err("Invalid character in localpart");
                        };
                        out.push(c);
                        self.at += 2;
                    }
                    Some(c) if c == b' ' || c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                        out.push(c);
                        self.at += 1;
                    }
                    Some(_) => return Err("Invalid character in localpart"),
                }
            }
        }
        let start = self.at;
        while self.peek().is_some_and(|c| is_atext(c) || c == b'.') {
            self.at += 1;
        }
        let local = &self.s[start..self.at];
        if local.is_empty() {
            return Ok(None);
        }
        if !dot_string(local) {
            return Err("Invalid character in localpart");
        }
        Ok(Some(String::from_utf8_lossy(local).into_owned()))
    }

    /// `[ A-d-l ":" ]`: skipped; true when there was one.
    fn source_route(&mut self) -> Result<bool, &'static str> {
        if self.peek() != Some(b'@') {
            return Ok(false);
        }
        loop {
            self.at += 1;
            if self.domain().is_none() {
                return Err("Missing domain after '@' in source route");
            }
            if self.peek() != Some(b',') {
                break;
            }
            self.at += 1;
            if self.peek() != Some(b'@') {
                return Err("Missing '@' after ',' in source route");
            }
        }
        if self.peek() != Some(b':') {
            return Err("Missing ':' at end of source route");
        }
        self.at += 1;
        Ok(true)
    }
}

/// The value of RCPT's `ORCPT=` parameter (RFC 3461: `addr-type;xtext`), as Dovecot takes
/// it: the original recipient for an `rfc822` address (`None` for other types, which are
/// accepted and not used). Errors are Dovecot's texts.
pub fn parse_orcpt(value: &str) -> Result<Option<Address>, &'static str> {
    let Some((addr_type, xtext)) = value.split_once(';') else {
        return Err("Invalid addr-type for ORCPT= parameter");
    };
    let atom = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c);
    if addr_type.is_empty() || !addr_type.bytes().all(atom) {
        return Err("Invalid addr-type for ORCPT= parameter");
    }
    let raw = decode_xtext(xtext.as_bytes())?;
    if !raw
        .iter()
        .all(|&c| c == b' ' || c == b'\t' || c.is_ascii_graphic())
    {
        return Err("Invalid ORCPT= address value: Contains non-printable characters");
    }
    if !addr_type.eq_ignore_ascii_case("rfc822") {
        return Ok(None);
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    // `Name <addr>` or a bare addr-spec; a local part alone is allowed (LMTP).
    let spec = match (raw.find('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => raw[open..=close].to_string(),
        _ => format!("<{}>", raw.trim()),
    };
    match parse_path(spec.as_bytes(), false) {
        Ok((Some(address), [])) => Ok(Some(address)),
        _ => Err("Invalid ORCPT= address value: Invalid RFC822 address"),
    }
}

/// RFC 3461 xtext: printable ASCII but `+` and `=`, and `+XX` hex escapes.
fn decode_xtext(s: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("Invalid ORCPT= parameter: Invalid hexchar after '+' in xtext")?;
                out.push(hex);
                i += 3;
            }
            c @ 33..=126 if c != b'=' => {
                out.push(c);
                i += 1;
            }
            _ => return Err("Invalid ORCPT= parameter: Invalid character in xtext"),
        }
    }
    if out.is_empty() {
        return Err("Invalid ORCPT= parameter: Empty address value");
    }
    Ok(out)
}

/// Parses the path at the start of `s`: `Ok((address, rest))`, `None` for the null path
/// `<>` (when `allow_null`). The rest is what follows the path (parameters).
pub fn parse_path(s: &[u8], allow_null: bool) -> Result<(Option<Address>, &[u8]), &'static str> {
    let mut p = Parser { s, at: 0 };
    if p.peek() != Some(b'<') {
        return Err("Missing '<' at beginning of path");
    }
    p.at += 1;
    let routed = p.source_route()?;
    let local = p.local()?;
    let address = match local {
        None => {
            if p.peek() != Some(b'>') {
                return Err("Invalid character in localpart");
            }
            if routed {
                return Err("Path only consists of source route");
            }
            if !allow_null {
                return Err("Null path not allowed");
            }
            None
        }
        Some(local) => {
            let domain = if p.peek() == Some(b'@') {
                p.at += 1;
                match p.domain() {
                    Some(d) => Some(d),
                    None if p.peek().is_none() || p.peek() == Some(b'>') => {
                        return Err("Missing domain after '@'")
                    }
                    None => return Err("Invalid domain"),
                }
            } else {
                None
            };
            Some(Address { local, domain })
        }
    };
    match p.peek() {
        Some(b'>') => p.at += 1,
        Some(_) if address.is_some() && p.peek() != Some(b'@') => {
            return Err("Invalid character in localpart")
        }
        _ => return Err("Missing '>' at end of path"),
    }
    Ok((address, &s[p.at..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(local: &str, domain: Option<&str>) -> Option<Address> {
        Some(Address {
            local: local.into(),
            domain: domain.map(str::to_string),
        })
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(b"<a.b@example.com> SIZE=1", false),
            Ok((addr("a.b", Some("example.com")), &b" SIZE=1"[..]))
        );
        assert_eq!(
            parse_path(b"<alice>", false),
            Ok((addr("alice", None), &b""[..]))
        );
        assert_eq!(parse_path(b"<>", true), Ok((None, &b""[..])));
        assert_eq!(parse_path(b"<>", false), Err("Null path not allowed"));
        assert_eq!(
            parse_path(b"<@relay.example:bob@example.com>", false),
            Ok((addr("bob", Some("example.com")), &b""[..]))
        );
        assert_eq!(
            parse_path(b"<\"a b\\\"c\"@x>", false),
            Ok((addr("a b\"c", Some("x")), &b""[..]))
        );
        assert_eq!(
            parse_path(b"<[192.0.2.1]>", false),
            Err("Invalid character in localpart")
        );
        assert_eq!(
            parse_path(b"alice", false),
            Err("Missing '<' at beginning of path")
        );
        assert_eq!(
            parse_path(b"<alice", false),
            Err("Missing '>' at end of path")
        );
        assert_eq!(
            parse_path(b"<alice@>", false),
            Err("Missing domain after '@'")
        );
        assert_eq!(
            parse_path(b"<a..b>", false),
            Err("Invalid character in localpart")
        );
        assert_eq!(
            parse_path(b"<@x>", false),
            Err("Missing ':' at end of source route")
        );
    }

    #[test]
    fn details() {
        let a = Address {
            local: "alice+box".into(),
            domain: Some("example.com".into()),
        };
        assert_eq!(
            a.split_detail("+"),
            ("alice@example.com".into(), "box".into())
        );
        assert_eq!(
            a.split_detail(""),
            ("alice+box@example.com".into(), "".into())
        );
        assert_eq!(
            a.split_detail("-+"),
            ("alice@example.com".into(), "box".into())
        );
        let quoted = Address {
            local: "a b".into(),
            domain: None,
        };
        assert_eq!(quoted.encode(), "\"a b\"");
    }

    proptest! {
        #[test]
        fn never_panics(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_path(&s, true);
        }

        #[test]
        fn encoded_addresses_parse_back(local in "[a-z0-9. \"]{1,12}", domain in "[a-z]{1,8}(\\.[a-z]{1,8})?") {
            let a = Address { local, domain: Some(domain) };
            let wire = format!("<{}>", a.encode());
            prop_assert_eq!(parse_path(wire.as_bytes(), false), Ok((Some(a), &b""[..])));
        }
    }

    #[test]
    fn orcpt_values() {
        let a = parse_orcpt("rfc822;a+40b").unwrap().unwrap();
        assert_eq!(a.encode(), "a@b");
        let a = parse_orcpt("RFC822;Name+20+3Cx+40y+3E").unwrap().unwrap();
        assert_eq!(a.encode(), "x@y");
        assert_eq!(
            parse_orcpt("rfc822;local").unwrap().unwrap().encode(),
            "local"
        );
        assert_eq!(parse_orcpt("x-foo;abc"), Ok(None));
        assert_eq!(
            parse_orcpt("rfc822"),
            Err("Invalid addr-type for ORCPT= parameter")
        );
        assert_eq!(
            parse_orcpt(";abc"),
            Err("Invalid addr-type for ORCPT= parameter")
        );
        assert!(parse_orcpt("rfc822;a+4").is_err());
        assert!(parse_orcpt("rfc822;").is_err());
        assert!(parse_orcpt("rfc822;a=b").is_err());
    }
}
