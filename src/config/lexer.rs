//! One physical line of dovecot.conf to one logical line: comments, continuation, quoting,
//! and what kind of line it is (Dovecot's `config_parse_line`).

use super::values::{unescape, white};

/// What a logical line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// Blank or comment.
    Skip,
    /// Ends with `\`: joined with the next line.
    Continue,
    /// A syntax error (Dovecot's text).
    Error(&'static str),
    /// `key = value`, quotes already removed.
    KeyValue { key: String, value: String },
    /// `key = <path`.
    KeyFile { key: String, path: String },
    /// `key = ... $name ...` (unquoted, contains `$`).
    KeyVariable { key: String, value: String },
    /// `key [name] {`.
    SectionBegin { key: String, name: String },
    /// `}`.
    SectionEnd,
    /// `!include PATTERN` / `!include_try PATTERN`.
    Include { pattern: String, try_only: bool },
}

/// The result for one physical line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Lexed {
    pub line: Line,
    /// A `#` not preceded by white space cut the line (Dovecot warns).
    pub ambiguous_hash: bool,
}

/// Classifies one physical line. `pending` holds the text of earlier lines that ended with
/// `\`; it grows on [`Line::Continue`], and the caller clears it after any other result (so a
/// comment or blank line in the middle of a continuation drops what was pending, as in
/// Dovecot).
pub(crate) fn lex(raw: &str, pending: &mut String) -> Lexed {
    let line = raw.trim_start_matches(white);
    if line.is_empty() || line.starts_with('#') {
        return Lexed {
            line: Line::Skip,
            ambiguous_hash: false,
        };
    }
    let (line, ambiguous_hash) = strip_comment(line);
    let line = line.trim_end_matches(white);

    if let Some(head) = line.strip_suffix('\\') {
        let head = head.trim_end_matches(white);
        if !head.is_empty() {
            pending.push_str(head);
            pending.push(' ');
        }
        return Lexed {
            line: Line::Continue,
            ambiguous_hash,
        };
    }
    let joined;
    let line = if pending.is_empty() {
        line
    } else {
        joined = format!("{pending}{line}");
        joined.as_str()
    };
    Lexed {
        line: classify(line),
        ambiguous_hash,
    }
}

/// Cuts the line at the first `#` outside quotes. Quotes are tracked anywhere in the line,
/// with `\` escaping inside them; an unterminated quote ends the scan.
fn strip_comment(line: &str) -> (&str, bool) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    break;
                }
            }
            b'#' => {
                // The line does not start with '#', so i > 0.
                let ambiguous = !matches!(bytes[i - 1], b' ' | b'\t');
                return (&line[..i], ambiguous);
            }
            _ => {}
        }
        i += 1;
    }
    (line, false)
}

fn classify(line: &str) -> Line {
    let key_end = line.find([' ', '\t', '=']).unwrap_or(line.len());
    let key = &line[..key_end];
    let terminator = line[key_end..].chars().next();
    let rest = if terminator.is_some_and(white) {
        line[key_end..].trim_start_matches(white)
    } else {
        &line[key_end..]
    };

    // A key ended by '=' is never an include keyword (in Dovecot it still holds the '=').
    if terminator != Some('=') {
        match key {
            "!include" => {
                return Line::Include {
                    pattern: rest.to_string(),
                    try_only: false,
                }
            }
            "!include_try" => {
                return Line::Include {
                    pattern: rest.to_string(),
                    try_only: true,
                }
            }
            _ => {}
        }
    }

    if let Some(value) = rest.strip_prefix('=') {
        let value = value.trim_start_matches(white);
        let key = key.to_string();
        if let Some(path) = value.strip_prefix('<') {
            return Line::KeyFile {
                key,
                path: path.trim_start_matches(white).to_string(),
            };
        }
        let quoted = value.starts_with(['"', '\'']);
        if !quoted && value.contains('$') {
            return Line::KeyVariable {
                key,
                value: value.to_string(),
            };
        }
        let value = match (value.chars().next(), value.chars().last()) {
            (Some(open @ ('"' | '\'')), Some(close)) if open == close => {
                unescape(value.get(1..value.len().saturating_sub(1)).unwrap_or(""))
            }
            _ => value.to_string(),
        };
        return Line::KeyValue { key, value };
    }

    if key == "}" && rest.is_empty() {
        return Line::SectionEnd;
    }

    section_begin(key, rest)
}

fn section_begin(key: &str, rest: &str) -> Line {
    let (name, after) = if rest.starts_with('{') {
        (String::new(), rest)
    } else if let Some(quoted) = rest.strip_prefix('"') {
        match quoted.find('"') {
            Some(end) => (
                unescape(&quoted[..end]),
                quoted[end + 1..].trim_start_matches(white),
            ),
            None => return Line::Error("Expecting '{'"),
        }
    } else {
        let end = rest.find(white).unwrap_or(rest.len());
        (
            rest[..end].to_string(),
            rest[end..].trim_start_matches(white),
        )
    };
    if !after.starts_with('{') {
        return Line::Error("Expecting '{'");
    }
    if after.len() > 1 {
        return Line::Error("Garbage after '{'");
    }
    Line::SectionBegin {
        key: key.to_string(),
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Line {
        lex(raw, &mut String::new()).line
    }

    fn kv(key: &str, value: &str) -> Line {
        Line::KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn key_values() {
        assert_eq!(one("  ssl=no"), kv("ssl", "no"));
        assert_eq!(one("a = b = c "), kv("a", "b = c"));
        assert_eq!(one("a ="), kv("a", ""));
        assert_eq!(one("a = \"x y\""), kv("a", "x y"));
        assert_eq!(one("a = \"x\" y"), kv("a", "\"x\" y"));
        assert_eq!(one("a = 'q\\'s'"), kv("a", "q's"));
        assert_eq!(one("a = \""), kv("a", ""));
        assert_eq!(one("a = \"x\\\\\""), kv("a", "x\\"));
        assert_eq!(one("=x"), kv("", "x"));
        assert_eq!(
            one("a = $b c"),
            Line::KeyVariable {
                key: "a".into(),
                value: "$b c".into()
            }
        );
        assert_eq!(one("a = \"$b\""), kv("a", "$b"));
        assert_eq!(
            one("ssl_key =<  /x y"),
            Line::KeyFile {
                key: "ssl_key".into(),
                path: "/x y".into()
            }
        );
    }

    #[test]
    fn comments() {
        assert_eq!(one("# x"), Line::Skip);
        assert_eq!(one("   "), Line::Skip);
        let lexed = lex("a = b#c", &mut String::new());
        assert_eq!(lexed.line, kv("a", "b"));
        assert!(lexed.ambiguous_hash);
        let lexed = lex("a = b #c", &mut String::new());
        assert_eq!(lexed.line, kv("a", "b"));
        assert!(!lexed.ambiguous_hash);
        assert_eq!(one("a = \"b#c\""), kv("a", "b#c"));
        assert_eq!(one("a = 'b\\'#c'"), kv("a", "b'#c"));
        assert_eq!(one("a = \"b#c"), kv("a", "\"b#c"));
    }

    #[test]
    fn continuation() {
        let mut pending = String::new();
        assert_eq!(lex("a = x \\", &mut pending).line, Line::Continue);
        assert_eq!(lex("  y\\", &mut pending).line, Line::Continue);
        assert_eq!(lex("\\", &mut pending).line, Line::Continue);
        assert_eq!(lex(" z", &mut pending).line, kv("a", "x y z"));
    }

    #[test]
    fn sections() {
        let begin = |k: &str, n: &str| Line::SectionBegin {
            key: k.into(),
            name: n.into(),
        };
        assert_eq!(one("service imap {"), begin("service", "imap"));
        assert_eq!(one("passdb {"), begin("passdb", ""));
        assert_eq!(
            one("mailbox \"Sent Messages\"   {"),
            begin("mailbox", "Sent Messages")
        );
        assert_eq!(
            one("unix_listener login/x {"),
            begin("unix_listener", "login/x")
        );
        assert_eq!(one("dict { }"), Line::Error("Garbage after '{'"));
        assert_eq!(one("service imap"), Line::Error("Expecting '{'"));
        assert_eq!(one("service imap{"), Line::Error("Expecting '{'"));
        assert_eq!(one("foo{"), Line::Error("Expecting '{'"));
        assert_eq!(one("} x"), Line::Error("Expecting '{'"));
        assert_eq!(one("mailbox \"x {"), Line::Error("Expecting '{'"));
        assert_eq!(one("}"), Line::SectionEnd);
        assert_eq!(one("  }  # end"), Line::SectionEnd);
    }

    #[test]
    fn includes() {
        assert_eq!(
            one("!include conf.d/*.conf"),
            Line::Include {
                pattern: "conf.d/*.conf".into(),
                try_only: false
            }
        );
        assert_eq!(
            one("!include_try"),
            Line::Include {
                pattern: "".into(),
                try_only: true
            }
        );
        assert_eq!(one("!include=x"), kv("!include", "x"));
    }
}
