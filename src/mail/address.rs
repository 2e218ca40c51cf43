//! Address lists (From, To, ...) parsed as Dovecot parses them for ENVELOPE: groups become
//! a start marker (mailbox = group name, no domain) and an end marker (all empty); missing
//! parts are filled with `MISSING_MAILBOX`, `MISSING_DOMAIN`, `SYNTAX_ERROR` or
//! `INVALID_ROUTE`, so a broken address still shows up.

use super::rfc822::{is_atext, Broken, Rfc822Parser, Step};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub route: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub domain: Option<Vec<u8>>,
    pub invalid_syntax: bool,
}

impl Address {
    /// A group start (`mailbox` is the group name) or end (everything empty).
    pub fn is_group_marker(&self) -> bool {
        self.domain.is_none()
    }
}

struct AddressParser<'a> {
    p: Rfc822Parser<'a>,
    addrs: Vec<Address>,
    addr: Address,
}

/// Parses an address-list header value.
pub fn parse_list(value: &[u8]) -> Vec<Address> {
    let mut p = Rfc822Parser::new(value);
    p.last_comment = Some(Vec::new());
    p.replace_nuls = true;
    let mut ctx = AddressParser {
        p,
        addrs: Vec::new(),
        addr: Address::default(),
    };
    if let Ok(true) = ctx.p.skip_lwsp() {
        ctx.address_list();
    }
    ctx.addrs
}

fn step_code(s: Step) -> i32 {
    match s {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(Broken) => -1,
    }
}

impl AddressParser<'_> {
    fn add(&mut self) {
        self.addrs.push(std::mem::take(&mut self.addr));
    }

    /// Dovecot's non-strict dot-atom for local parts (`a..b`, a trailing dot).
    fn nonstrict_dot_atom(&mut self, out: &mut Vec<u8>) -> i32 {
        let mut ret = -1;
        loop {
            while self.p.peek() == b'.' && self.p.more() {
                out.push(b'.');
                self.p.pos += 1;
                if self.p.at_end() {
                    return 0;
                }
                ret = 1;
            }
            if self.p.peek() == b'@' {
                break;
            }
            ret = step_code(self.p.parse_atom(out));
            if !(ret > 0 && self.p.peek() == b'.') {
                break;
            }
        }
        ret
    }

    fn local_part(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = if self.p.peek() == b'"' {
            step_code(self.p.parse_quoted_string(&mut s))
        } else {
            self.nonstrict_dot_atom(&mut s)
        };
        if ret < 0 {
            return -1;
        }
        self.addr.mailbox = Some(s);
        ret
    }

    fn domain(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = step_code(self.p.parse_domain(&mut s));
        if ret < 0 {
            return -1;
        }
        self.addr.domain = Some(s);
        ret
    }

    fn domain_list(&mut self) -> i32 {
        let mut s = Vec::new();
        loop {
            if self.p.at_end() {
                return 0;
            }
            if self.p.peek() != b'@' {
                break;
            }
            if !s.is_empty() {
                s.push(b',');
            }
            s.push(b'@');
            let ret = step_code(self.p.parse_domain(&mut s));
            if ret <= 0 {
                return ret;
            }
            while step_code(self.p.skip_lwsp()) > 0 && self.p.peek() == b',' {
                self.p.pos += 1;
            }
        }
        self.addr.route = Some(s);
        1
    }

    fn angle_addr(&mut self) -> i32 {
        self.p.pos += 1; // '<'
        if step_code(self.p.skip_lwsp()) <= 0 {
            return -1;
        }
        if self.p.peek() == b'@' {
            if self.domain_list() > 0 && self.p.peek() == b':' {
                self.p.pos += 1;
            } else {
                self.addr.route = Some(b"INVALID_ROUTE".to_vec());
                if self.p.at_end() {
                    return -1;
                }
            }
            if step_code(self.p.skip_lwsp()) <= 0 {
                return -1;
            }
        }
        if self.p.peek() != b'>' {
            if self.local_part() <= 0 {
                return -1;
            }
            if self.p.peek() == b'@' && self.domain() <= 0 {
                return -1;
            }
        }
        if self.p.peek() != b'>' {
            return -1;
        }
        self.p.pos += 1;
        step_code(self.p.skip_lwsp())
    }

    fn name_addr(&mut self) -> i32 {
        let mut s = Vec::new();
        if step_code(self.p.parse_phrase(&mut s)) <= 0 || self.p.peek() != b'<' {
            return -1;
        }
        self.addr.name = if s.is_empty() { None } else { Some(s) };
        if self.angle_addr() < 0 {
            self.addr.domain = Some(b"SYNTAX_ERROR".to_vec());
            self.addr.invalid_syntax = true;
        }
        i32::from(self.p.more())
    }

    fn addr_spec(&mut self) -> i32 {
        let mut ret2 = -2;
        self.p.last_comment = Some(Vec::new());
        let quoted = self.p.peek() == b'"';
        let mut ret = self.local_part();
        if ret <= 0 {
            self.addr.invalid_syntax = true;
        }
        if ret != 0 && self.p.more() && self.p.peek() == b'@' {
            ret2 = self.domain();
            if ret2 <= 0 {
                ret = ret2;
            }
        }
        let comment = self.p.last_comment.clone().unwrap_or_default();
        if !comment.is_empty() {
            self.addr.name = Some(comment);
        } else if ret2 == -2 {
            // a lone "user": a mailbox, unless more words follow (then a display name)
            let mut s = self.addr.mailbox.clone().unwrap_or_default();
            s.push(b' ');
            let orig = s.len();
            let _ = self.p.parse_phrase(&mut s);
            if s.len() != orig {
                self.addr.mailbox = None;
                self.addr.name = Some(s);
            } else if !quoted {
                self.addr.domain = Some(Vec::new());
            }
            self.addr.invalid_syntax = true;
            ret = -1;
        }
        ret
    }

    fn fixed_address(&mut self) {
        if self.addr.mailbox.is_none() {
            self.addr.mailbox = Some(b"MISSING_MAILBOX".to_vec());
            self.addr.invalid_syntax = true;
        }
        if self.addr.domain.as_ref().is_none_or(|d| d.is_empty()) {
            self.addr.domain = Some(b"MISSING_DOMAIN".to_vec());
            self.addr.invalid_syntax = true;
        }
        self.add();
    }

    fn mailbox(&mut self) -> i32 {
        let start = self.p.pos;
        let mut ret = self.name_addr();
        if ret < 0 {
            self.p.pos = start;
            ret = self.addr_spec();
            if self.addr.invalid_syntax
                && self.addr.name.is_none()
                && self.addr.mailbox.is_some()
                && self.addr.domain.is_none()
            {
                self.addr.name = self.addr.mailbox.take();
            }
        }
        if ret < 0 {
            self.addr.invalid_syntax = true;
        }
        self.fixed_address();
        ret
    }

    fn group(&mut self) -> i32 {
        let mut s = Vec::new();
        if step_code(self.p.parse_phrase(&mut s)) <= 0 || self.p.peek() != b':' {
            return -1;
        }
        self.p.pos += 1;
        let mut ret = step_code(self.p.skip_lwsp());
        if ret <= 0 {
            self.addr.invalid_syntax = true;
        }
        self.addr.mailbox = Some(s);
        self.add();
        if ret > 0 && self.p.peek() != b';' {
            loop {
                let _ = self.mailbox();
                if self.p.at_end() || self.p.peek() != b',' {
                    break;
                }
                self.p.pos += 1;
                if step_code(self.p.skip_lwsp()) <= 0 {
                    ret = -1;
                    break;
                }
            }
        }
        if ret >= 0 {
            if self.p.at_end() || self.p.peek() != b';' {
                ret = -1;
            } else {
                self.p.pos += 1;
                ret = step_code(self.p.skip_lwsp());
            }
        }
        if ret < 0 {
            self.addr.invalid_syntax = true;
        }
        self.add();
        if ret == 0 {
            0
        } else {
            1
        }
    }

    fn address(&mut self) -> i32 {
        let start = self.p.pos;
        let saved = self.addrs.len();
        let ret = self.group();
        if ret < 0 {
            self.addrs.truncate(saved);
            self.addr = Address::default();
            self.p.pos = start;
            return self.mailbox();
        }
        ret
    }

    fn address_list(&mut self) {
        loop {
            if self.address() == 0 {
                break;
            }
            if self.p.at_end() || self.p.peek() != b',' {
                break;
            }
            self.p.pos += 1;
            let ret = step_code(self.p.skip_lwsp());
            if ret <= 0 {
                if ret < 0 {
                    // ends with some garbage
                    self.fixed_address();
                }
                break;
            }
        }
    }
}

/// Dovecot's `str_append_maybe_escape`: quotes (and escapes `"`, `\`, `'`) unless every byte
/// is atext (dots too, unless `escape_dot`).
fn append_maybe_escape(out: &mut Vec<u8>, s: &[u8], escape_dot: bool) {
    if s.iter().all(|&c| is_atext(c) || (!escape_dot && c == b'.')) {
        out.extend_from_slice(s);
        return;
    }
    out.push(b'"');
    for &c in s {
        if matches!(c, b'"' | b'\\' | b'\'') {
            out.push(b'\\');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// Writes addresses back as a header value (Dovecot's `message_address_write`), the form
/// SEARCH FROM/TO/CC/BCC match against.
pub fn write(out: &mut Vec<u8>, addrs: &[Address]) {
    let Some(first) = addrs.first() else {
        return;
    };
    if first.mailbox.is_none() && first.domain.is_none() {
        out.extend_from_slice(b"<>");
        return;
    }
    let mut first = true;
    let mut in_group = false;
    for addr in addrs {
        if first {
            first = false;
        } else {
            out.extend_from_slice(b", ");
        }
        if addr.domain.is_none() {
            if !in_group {
                match addr.mailbox.as_deref() {
                    Some(m) if !m.is_empty() => {
                        if m.windows(2).any(|w| w == b"=?") {
                            out.extend_from_slice(m);
                        } else {
                            append_maybe_escape(out, m, true);
                        }
                    }
                    _ => out.extend_from_slice(b"\"\""),
                }
                out.extend_from_slice(b": ");
                first = true;
            } else {
                if out.ends_with(b", ") {
                    out.truncate(out.len() - 2);
                } else if out.ends_with(b": ") {
                    out.truncate(out.len() - 1);
                }
                out.push(b';');
            }
            in_group = !in_group;
            continue;
        }
        let mailbox = addr.mailbox.as_deref().unwrap_or_default();
        let domain = addr.domain.as_deref().unwrap_or_default();
        if let Some(name) = &addr.name {
            if name.windows(2).any(|w| w == b"=?") {
                out.extend_from_slice(name);
            } else {
                append_maybe_escape(out, name, true);
            }
        }
        if addr.route.is_some() || !mailbox.is_empty() || !domain.is_empty() {
            if addr.name.as_ref().is_some_and(|n| !n.is_empty()) {
                out.push(b' ');
            }
            out.push(b'<');
            if let Some(route) = &addr.route {
                out.extend_from_slice(route);
                out.push(b':');
            }
            if mailbox.is_empty() {
                out.extend_from_slice(b"\"\"");
            } else {
                append_maybe_escape(out, mailbox, false);
            }
            if !domain.is_empty() {
                out.push(b'@');
                out.extend_from_slice(domain);
            }
            out.push(b'>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: Option<&str>, mailbox: &str, domain: &str) -> (Option<String>, String, String) {
        (name.map(str::to_string), mailbox.into(), domain.into())
    }

    fn simple(v: &str) -> Vec<(Option<String>, String, String)> {
        parse_list(v.as_bytes())
            .into_iter()
            .map(|a| {
                (
                    a.name.map(|n| String::from_utf8_lossy(&n).into_owned()),
                    String::from_utf8_lossy(&a.mailbox.unwrap_or_default()).into_owned(),
                    String::from_utf8_lossy(&a.domain.unwrap_or_default()).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn common_forms() {
        assert_eq!(
            simple("\"Joe Q. Public\" <john.q.public@example.com>, jdoe@example.org"),
            vec![
                one(Some("Joe Q. Public"), "john.q.public", "example.com"),
                one(None, "jdoe", "example.org")
            ]
        );
        assert_eq!(
            simple("user@host (Comment Name)"),
            vec![one(Some("Comment Name"), "user", "host")]
        );
        assert_eq!(
            simple("undisclosed"),
            vec![one(None, "undisclosed", "MISSING_DOMAIN")]
        );
    }

    #[test]
    fn groups() {
        let a = parse_list(b"A Group: a@b, c@d;, e@f");
        assert_eq!(a.len(), 5);
        assert_eq!(a[0].mailbox.as_deref(), Some(&b"A Group"[..]));
        assert!(a[0].is_group_marker() && a[3].is_group_marker());
        let mut out = Vec::new();
        write(&mut out, &a);
        assert_eq!(out, b"\"A Group\": <a@b>, <c@d>;, <e@f>");
    }
}
