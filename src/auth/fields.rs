//! Field lists as the auth protocols carry them: Dovecot's TAB escaping and the ordered
//! `key[=value]` lists of passdb extra fields and userdb replies, with the flags that decide
//! what a client sees (hidden fields), what one passdb lookup changed (for the cache) and
//! what a failed lookup takes back (snapshot / rollback).

/// Escapes a value for a TAB-separated line: `\x01` → `\x011`, TAB → `\x01t`, CR → `\x01r`,
/// LF → `\x01n`.
pub fn tab_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\x01' => out.push_str("\x011"),
            '\t' => out.push_str("\x01t"),
            '\r' => out.push_str("\x01r"),
            '\n' => out.push_str("\x01n"),
            _ => out.push(c),
        }
    }
    out
}

/// Reverses [`tab_escape`] (also `\x010` → NUL). An escape character at the end or before an
/// unknown letter stands for the letter itself, as Dovecot's unescaper does.
pub fn tab_unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\x01' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('\0'),
            Some('1') => out.push('\x01'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Splits a protocol line at TABs and unescapes each part.
pub fn split_tabescaped(line: &str) -> Vec<String> {
    line.split('\t').map(tab_unescape).collect()
}

/// Splits `key=value` (a bare `key` has an empty value).
pub fn split_key_value(arg: &str) -> (&str, &str) {
    match arg.split_once('=') {
        Some((k, v)) => (k, v),
        None => (arg, ""),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    key: String,
    /// `None` prints as a bare key (Dovecot stores an empty value as NULL).
    value: Option<String>,
    /// Kept for internal use (cache, workers) but never sent to a client.
    hidden: bool,
    /// Set or changed since the last snapshot.
    changed: bool,
}

/// An ordered field list (Dovecot's `auth_fields`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    fields: Vec<Field>,
    snapshot: Vec<Field>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Adds or replaces `key` (keeping its place in the list). An empty value is stored as
    /// "no value".
    pub fn add(&mut self, key: &str, value: &str, hidden: bool) {
        let value = (!value.is_empty()).then(|| value.to_string());
        match self.fields.iter_mut().find(|f| f.key == key) {
            Some(f) => {
                f.value = value;
                f.hidden = hidden;
                f.changed = true;
            }
            None => self.fields.push(Field {
                key: key.to_string(),
                value,
                hidden,
                changed: true,
            }),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.fields.retain(|f| f.key != key);
    }

    /// The value of `key` (`""` for a bare key), if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_deref().unwrap_or(""))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Makes `key` a bare flag (`nologin`, `proxy`), as the login side expects them.
    pub fn booleanize(&mut self, key: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.key == key) {
            f.value = None;
        }
    }

    /// Remembers the current fields as the state a rollback returns to; marks all unchanged.
    pub fn snapshot(&mut self) {
        for f in &mut self.fields {
            f.changed = false;
        }
        self.snapshot = self.fields.clone();
    }

    /// Drops whatever was set since the last snapshot.
    pub fn rollback(&mut self) {
        self.fields = self.snapshot.clone();
    }

    /// Visible fields as `key[=escaped value]` joined by TABs.
    pub fn visible_line(&self) -> String {
        self.join(|f| !f.hidden)
    }

    /// Fields set since the last snapshot (what the cache stores), hidden ones included.
    pub fn changed_line(&self) -> String {
        self.join(|f| f.changed)
    }

    /// Every field with its hidden flag, for passing a request to an auth worker.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.fields
            .iter()
            .map(|f| (f.key.as_str(), f.value.as_deref().unwrap_or(""), f.hidden))
    }

    /// Fields set since the last snapshot, with their hidden flag.
    pub fn changed(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.fields
            .iter()
            .filter(|f| f.changed)
            .map(|f| (f.key.as_str(), f.value.as_deref().unwrap_or(""), f.hidden))
    }

    /// Visible fields as (key, value) pairs.
    pub fn visible(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .filter(|f| !f.hidden)
            .map(|f| (f.key.as_str(), f.value.as_deref().unwrap_or("")))
    }

    fn join(&self, keep: impl Fn(&Field) -> bool) -> String {
        let mut out = String::new();
        for f in self.fields.iter().filter(|f| keep(f)) {
            if !out.is_empty() {
                out.push('\t');
            }
            out.push_str(&f.key);
            if let Some(v) = &f.value {
                out.push('=');
                out.push_str(&tab_escape(v));
            }
        }
        out
    }

    /// Adds each `key[=value]` of a TAB-separated, escaped list.
    pub fn import_line(&mut self, line: &str, hidden: bool) {
        for arg in line.split('\t').filter(|a| !a.is_empty()) {
            let (k, v) = split_key_value(arg);
            self.add(k, &tab_unescape(v), hidden);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_as_dovecot() {
        assert_eq!(tab_escape("a\tb\nc\rd\x01e"), "a\x01tb\x01nc\x01rd\x011e");
        assert_eq!(tab_unescape("a\x01tb\x010\x01"), "a\tb\0");
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in ".*") {
            prop_assert_eq!(tab_unescape(&tab_escape(&s)), s.clone());
            prop_assert!(!tab_escape(&s).contains(['\t', '\n', '\r']));
        }
    }

    #[test]
    fn hidden_fields_and_rollback() {
        let mut f = Fields::new();
        f.add("userdb_mail", "maildir:~/M", true);
        f.add("nologin", "", false);
        f.add("reason", "Go\taway", false);
        assert_eq!(f.visible_line(), "nologin\treason=Go\x01taway");
        f.snapshot();
        f.add("allow_nets", "10.0.0.0/8", true);
        f.add("reason", "x", false);
        assert_eq!(f.changed_line(), "reason=x\tallow_nets=10.0.0.0/8");
        f.rollback();
        assert_eq!(f.get("reason"), Some("Go\taway"));
        assert!(!f.contains("allow_nets"));
        assert_eq!(f.get("nologin"), Some(""));
    }
}
