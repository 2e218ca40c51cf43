//! `doveconf -n/-a` output: sorted entries printed as nested `name { }` blocks, secrets
//! hidden, filters after the global settings (Dovecot's doveconf.c human output).

use std::cmp::Ordering;

use super::export::{Entry, EntryKind};
use super::filter::Filter;

/// Indentation is cut from this string: past 15 levels Dovecot shows `!`.
const INDENT: &str = "                              !!!!";

fn indent(level: usize) -> &'static str {
    &INDENT[..(level * 2).min(INDENT.len())]
}

/// The byte string Dovecot sorts: lists get a `\x01` prefix, a unique key a `\xff` before its
/// last component.
pub(crate) fn sort_string(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.key.len() + entry.value.len() + 3);
    match entry.kind {
        EntryKind::List => {
            out.push(1);
            out.extend_from_slice(entry.key.as_bytes());
        }
        EntryKind::UniqueKey => {
            let cut = entry.key.rfind('/').map_or(0, |p| p + 1);
            out.extend_from_slice(&entry.key.as_bytes()[..cut]);
            out.push(0xff);
            out.extend_from_slice(&entry.key.as_bytes()[cut..]);
        }
        EntryKind::Normal => out.extend_from_slice(entry.key.as_bytes()),
    }
    out.push(b'=');
    out.extend_from_slice(entry.value.as_bytes());
    out
}

/// Dovecot's `config_string_cmp`: byte order as C `char` (signed), with the end of the key
/// (`=`) before anything.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let mut i = 0;
    loop {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            if x == b'=' {
                return Ordering::Less;
            }
            if y == b'=' {
                return Ordering::Greater;
            }
            return (x as i8).cmp(&(y as i8));
        }
        if x == 0 || x == b'=' {
            return Ordering::Equal;
        }
        i += 1;
    }
}

fn value_needs_quotes(value: &str) -> bool {
    !value.is_empty()
        && (value.contains('#') || value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']))
}

/// Adds backslashes before `"`, `'` and `\` (Dovecot's `str_escape`).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '"' | '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const HIDDEN_MARK: &str = "#hidden_use-P_to_show#";
const SECRETS: [&str; 6] = ["key", "secret", "pass", "http://", "https://", "ftp://"];

/// Dovecot's `hide_secrets_from_value`: `None` if nothing is hidden, else the text to print
/// (note: when the value needs quotes Dovecot escapes the pieces but prints no quotes).
fn hide_secrets(key: &str, value: &str) -> Option<String> {
    let ends_with = |suffix: &str| key.len() > suffix.len() && key.ends_with(suffix);
    if !value.is_empty()
        && (ends_with("_password")
            || ends_with("_key")
            || ends_with("_nonce")
            || key.starts_with("ssl_dh"))
    {
        return Some("# hidden, use -P to show it".to_string());
    }
    let quote = value_needs_quotes(value);
    let piece = |text: &str| {
        if quote {
            escape(text)
        } else {
            text.to_string()
        }
    };
    let bytes = value.as_bytes();
    let mut out = String::new();
    let mut hidden = false;
    let (mut ptr, mut optr) = (0usize, 0usize);
    while let Some((found, secret)) = SECRETS
        .iter()
        .filter_map(|s| value[ptr..].find(s).map(|pos| (ptr + pos, *s)))
        .min_by_key(|(pos, _)| *pos)
    {
        ptr = found;
        if secret.contains("://") {
            ptr += secret.len();
            let user_start = ptr;
            let mut host_start = None;
            while ptr < bytes.len() && !bytes[ptr].is_ascii_whitespace() && bytes[ptr] != b'/' {
                if bytes[ptr] == b'@' {
                    host_start = Some(ptr);
                    break;
                }
                ptr += 1;
            }
            out.push_str(&piece(&value[optr..user_start]));
            match host_start {
                Some(host) if host != user_start => out.push_str(HIDDEN_MARK),
                _ => out.push_str(&piece(&value[user_start..ptr])),
            }
            optr = ptr;
            hidden = true;
            continue;
        }
        hidden = true;
        if ptr == 0 || !bytes[ptr - 1].is_ascii_alphanumeric() {
            while ptr < bytes.len() && bytes[ptr] != b'=' && !bytes[ptr].is_ascii_whitespace() {
                ptr += 1;
            }
            while ptr < bytes.len() && bytes[ptr].is_ascii_whitespace() {
                ptr += 1;
            }
            out.push_str(&piece(&value[optr..ptr]));
            if bytes.get(ptr) == Some(&b'=') {
                out.push('=');
                out.push_str(HIDDEN_MARK);
                while ptr < bytes.len()
                    && !bytes[ptr].is_ascii_whitespace()
                    && bytes[ptr] != b';'
                    && bytes[ptr] != b':'
                {
                    ptr += 1;
                }
            }
            optr = ptr;
        } else {
            // "nopassword": not a secret; step past it.
            ptr += 1;
        }
    }
    if !hidden {
        return None;
    }
    out.push_str(&piece(&value[optr..]));
    Some(out)
}

/// One block of output: entries printed as `key = value` lines, nested by section.
pub(crate) struct Human<'a> {
    /// Text before the first line (a filter's opening lines), printed only if a line follows.
    pub header: String,
    /// Indentation of the first level (inside the filter's blocks).
    pub indent: usize,
    /// Show only this setting or section path (`-h service/imap`).
    pub name_filter: Option<&'a str>,
    pub hide_secrets: bool,
}

impl Human<'_> {
    /// Renders `entries`; returns whether any line was printed (the header with it).
    pub(crate) fn render(&self, entries: &[Entry], out: &mut String) -> bool {
        let mut sorted: Vec<(Vec<u8>, &Entry)> =
            entries.iter().map(|e| (sort_string(e), e)).collect();
        sorted.sort_by(|a, b| compare(&a.0, &b.0));

        let split = sorted
            .iter()
            .position(|(_, e)| e.kind != EntryKind::List)
            .unwrap_or(sorted.len());
        let mut prefixes: Vec<String> = Vec::new();
        for (_, entry) in &sorted[..split] {
            if entry.value.is_empty() {
                prefixes.push(format!("{}/", entry.key));
            } else {
                for name in entry.value.split(' ') {
                    prefixes.push(format!("{}/{name}/", entry.key));
                }
            }
        }

        struct Level {
            prefix: usize,
            /// Where this block's header starts in `pending` if it is not printed yet.
            pending_at: Option<usize>,
        }
        let mut stack: Vec<Level> = Vec::new();
        let mut current: Option<usize> = None;
        let mut pending = self.header.clone();
        let mut level = self.indent;
        let mut printed = false;

        for (_, entry) in &sorted[split..] {
            let unique = entry.kind == EntryKind::UniqueKey;
            let key = entry.key.as_str();
            if let Some(filter) = self.name_filter {
                let inside = key
                    .strip_prefix(filter)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
                if !inside {
                    continue;
                }
            }
            'again: loop {
                let mut search_from = 0;
                // Close the blocks this key is not in.
                while let Some(open) = current {
                    if key.starts_with(&prefixes[open]) {
                        search_from = open + 1;
                        break;
                    }
                    let Some(closed) = stack.pop() else {
                        break;
                    };
                    current = stack.last().map(|l| l.prefix);
                    level -= 1;
                    match closed.pending_at {
                        Some(at) => pending.truncate(at),
                        None => {
                            out.push_str(indent(level));
                            out.push_str("}\n");
                        }
                    }
                }
                // Open the block this key is in, if any.
                for (j, prefix) in prefixes.iter().enumerate().skip(search_from) {
                    if !key.starts_with(prefix.as_str()) {
                        continue;
                    }
                    let inner = &key[current.map_or(0, |c| prefixes[c].len())..];
                    stack.push(Level {
                        prefix: j,
                        pending_at: unique.then_some(pending.len()),
                    });
                    current = Some(j);
                    pending.push_str(indent(level));
                    pending.push_str(inner.split('/').next().unwrap_or(inner));
                    if unique && !entry.value.is_empty() {
                        if entry.value.contains(' ') {
                            pending.push_str(&format!(" \"{}\"", escape(&entry.value)));
                        } else {
                            pending.push(' ');
                            pending.push_str(&entry.value);
                        }
                    }
                    pending.push_str(" {\n");
                    level += 1;
                    if unique {
                        break 'again;
                    }
                    continue 'again;
                }
                // A value line.
                out.push_str(&pending);
                pending.clear();
                for open in &mut stack {
                    open.pending_at = None;
                }
                printed = true;
                let shown_key = &key[current.map_or(0, |c| prefixes[c].len())..];
                out.push_str(indent(level));
                out.push_str(shown_key);
                out.push_str(" = ");
                let hidden = if self.hide_secrets {
                    hide_secrets(shown_key, &entry.value)
                } else {
                    None
                };
                match hidden {
                    Some(text) => out.push_str(&text),
                    None if value_needs_quotes(&entry.value) => {
                        out.push('"');
                        out.push_str(&escape(&entry.value));
                        out.push('"');
                    }
                    None => out.push_str(&entry.value),
                }
                out.push('\n');
                break 'again;
            }
        }
        while current.is_some() {
            let Some(closed) = stack.pop() else {
                break;
            };
            if closed.pending_at.is_some() {
                break;
            }
            current = stack.last().map(|l| l.prefix);
            level -= 1;
            out.push_str(indent(level));
            out.push_str("}\n");
        }
        printed
    }
}

/// The opening lines of a filter block and their depth (Dovecot's
/// `config_dump_filter_begin`).
pub(crate) fn filter_header(filter: &Filter) -> (String, usize) {
    let mut out = String::new();
    let mut depth = 0;
    if let Some(local) = filter.local.filter(|n| n.bits > 0) {
        out.push_str(&format!("local {} {{\n", local.display()));
        depth += 1;
    }
    if let Some(name) = &filter.local_name {
        out.push_str(&format!("{}local_name {name} {{\n", indent(depth)));
        depth += 1;
    }
    if let Some(remote) = filter.remote.filter(|n| n.bits > 0) {
        out.push_str(&format!(
            "{}remote {} {{\n",
            indent(depth),
            remote.display()
        ));
        depth += 1;
    }
    if let Some(service) = &filter.service {
        out.push_str(&format!("{}protocol {service} {{\n", indent(depth)));
        depth += 1;
    }
    (out, depth)
}

/// Closes `depth` filter blocks.
pub(crate) fn filter_footer(depth: usize, out: &mut String) {
    for level in (0..depth).rev() {
        out.push_str(indent(level));
        out.push_str("}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, key: &str, value: &str) -> Entry {
        Entry {
            kind,
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn sorting() {
        let mut strings = [
            b"service/auth/x=1".to_vec(),
            b"service/auth-worker/x=1".to_vec(),
            b"mail=1".to_vec(),
            b"mail_location=1".to_vec(),
        ];
        strings.sort_by(|a, b| compare(a, b));
        assert_eq!(strings[0], b"mail=1");
        assert_eq!(strings[2], b"service/auth-worker/x=1");
    }

    #[test]
    fn nested_blocks() {
        let entries = vec![
            entry(EntryKind::List, "namespace", "inbox"),
            entry(EntryKind::UniqueKey, "namespace/inbox/name", "inbox"),
            entry(EntryKind::Normal, "namespace/inbox/inbox", "yes"),
            entry(
                EntryKind::List,
                "namespace/inbox/mailbox",
                "Sent\\_Messages",
            ),
            entry(
                EntryKind::UniqueKey,
                "namespace/inbox/mailbox/Sent\\_Messages/name",
                "Sent Messages",
            ),
            entry(
                EntryKind::Normal,
                "namespace/inbox/mailbox/Sent\\_Messages/special_use",
                "\\Sent",
            ),
            entry(EntryKind::List, "service", "imap"),
            entry(EntryKind::UniqueKey, "service/imap/name", "imap"),
            entry(EntryKind::Normal, "mail_location", "maildir:~/M#x"),
            entry(EntryKind::List, "passdb", "0"),
            entry(EntryKind::Normal, "passdb/0/driver", "pam"),
        ];
        let mut out = String::new();
        let human = Human {
            header: String::new(),
            indent: 0,
            name_filter: None,
            hide_secrets: true,
        };
        assert!(human.render(&entries, &mut out));
        assert_eq!(
            out,
            "mail_location = \"maildir:~/M#x\"\nnamespace inbox {\n  inbox = yes\n  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n  }\n}\npassdb {\n  driver = pam\n}\n"
        );
    }

    #[test]
    fn secrets() {
        assert_eq!(
            hide_secrets("ssl_key", "x").as_deref(),
            Some("# hidden, use -P to show it")
        );
        assert_eq!(hide_secrets("ssl_key", ""), None);
        assert_eq!(
            hide_secrets("ssl_dh", "x").as_deref(),
            Some("# hidden, use -P to show it")
        );
        assert_eq!(hide_secrets("args", "/etc/users"), None);
        assert_eq!(
            hide_secrets("args", "user=u password=secret x").as_deref(),
            Some("user=u password=#hidden_use-P_to_show# x")
        );
        assert_eq!(
            hide_secrets("uri", "https://user:pw@host/x").as_deref(),
            Some("https://#hidden_use-P_to_show#@host/x")
        );
        assert_eq!(hide_secrets("x", "nopassword"), Some("nopassword".into()));
    }
}
