//! IMAP LIST patterns (RFC 3501 §6.3.8) as Dovecot's `imap_match` applies them: `*` matches
//! anything, `%` anything but the hierarchy separator, and a leading `INBOX` matches in any
//! case.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
    sep: char,
}

/// `INBOX` in any case at the start of `s`, followed by `sep` or the end, made uppercase.
fn inbox_upper(s: &str, sep: char) -> String {
    let head = s.get(..5);
    if head.is_some_and(|h| h.eq_ignore_ascii_case("INBOX")) {
        let rest = &s[5..];
        if rest.is_empty() || rest.starts_with(sep) {
            return format!("INBOX{rest}");
        }
    }
    s.to_string()
}

impl Glob {
    pub fn new(pattern: &str, sep: char) -> Glob {
        Glob {
            pattern: inbox_upper(pattern, sep).chars().collect(),
            sep,
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = inbox_upper(name, self.sep).chars().collect();
        let (p, n) = (&self.pattern, &name);
        // reach[j]: the pattern prefix read so far can end having consumed n[..j].
        let mut reach = vec![false; n.len() + 1];
        reach[0] = true;
        for &pc in p {
            let mut next = vec![false; n.len() + 1];
            match pc {
                '*' | '%' => {
                    let mut on = false;
                    for j in 0..=n.len() {
                        on = on || reach[j];
                        next[j] = on;
                        if pc == '%' && j < n.len() && n[j] == self.sep {
                            // `%` does not run over a separator.
                            on = false;
                        }
                    }
                }
                c => {
                    for j in 0..n.len() {
                        if reach[j] && n[j] == c {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            reach = next;
        }
        reach[n.len()]
    }

    /// Whether the pattern has no wildcard before `prefix` ends, i.e. names starting with
    /// `prefix` are asked for explicitly (how `list = no` namespaces get listed).
    pub fn names_prefix(&self, prefix: &str) -> bool {
        let prefix: Vec<char> = prefix.chars().collect();
        self.pattern.len() >= prefix.len()
            && self.pattern[..prefix.len()] == prefix[..]
            && !prefix.contains(&'*')
            && !prefix.contains(&'%')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards() {
        let g = |p: &str| Glob::new(p, '/');
        assert!(g("*").matches("a/b/c"));
        assert!(g("%").matches("abc"));
        assert!(!g("%").matches("a/b"));
        assert!(g("a/%").matches("a/b"));
        assert!(!g("a/%").matches("a/b/c"));
        assert!(g("a/*").matches("a/b/c"));
        assert!(g("a*c").matches("a/b/c"));
        assert!(!g("a%c").matches("a/b/c"));
        assert!(g("a%c").matches("abbc"));
        assert!(g("").matches(""));
        assert!(!g("").matches("a"));
        assert!(g("inbox").matches("INBOX"));
        assert!(g("Inbox/%").matches("INBOX/x"));
        assert!(!g("inboxes").matches("INBOXES"));
        assert!(!g("Sent").matches("sent"));
        assert!(g("Other/x").names_prefix("Other/"));
        assert!(!g("Oth*").names_prefix("Other/"));
    }

    proptest! {
        #[test]
        fn star_matches_everything(name in "[a-z/]{0,12}") {
            prop_assert!(Glob::new("*", '/').matches(&name));
            prop_assert_eq!(Glob::new("%", '/').matches(&name), !name.contains('/'));
            prop_assert!(Glob::new(&name, '/').matches(&name) || name.starts_with("inbox"));
        }
    }
}
