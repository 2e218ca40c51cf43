//! The preview text of a message (RFC 8970 PREVIEW, Dovecot's SNIPPET) as Dovecot 2.3
//! makes it (`message_snippet_generate` over the first text part):
//!
//! - the part: the message itself when it is text (or has no type), else the first text
//!   part found depth first in its multiparts; in a multipart/alternative text/plain before
//!   text/html before other text; message/rfc822 parts are not entered;
//! - its body decoded (transfer encoding, charset to UTF-8), HTML turned into text;
//! - runs of whitespace become one space, NULs and byte order marks are dropped;
//! - lines starting with `>` are quoted text, used (with a leading `>`) only when there is
//!   nothing else;
//! - at most 200 characters, a space counted as one.
//!
//! Dovecot caches it with its algorithm's version, `1`, in front ([`ALGORITHM_V1`]).

use super::html2text::html_to_text;
use super::parser::MessagePart;
use super::part_data::ContentData;
use super::search::body_decoding;
use super::Message;

/// Dovecot's `BODY_SNIPPET_MAX_CHARS`.
pub const MAX_CHARS: usize = 200;
/// The version byte Dovecot's cache keeps before the text (`BODY_SNIPPET_ALGO_V1`).
pub const ALGORITHM_V1: u8 = b'1';

impl Message {
    /// The preview text (possibly empty).
    pub fn snippet(&self) -> String {
        let data = self.data();
        let Some(part) = first_text_part(data, self.root()) else {
            return String::new();
        };
        let decoding = body_decoding(&part.fields(data));
        let html = match decoding.first_type.as_deref() {
            None => false,
            Some(t) if t.eq_ignore_ascii_case(b"text/html") => true,
            Some(t) if t.eq_ignore_ascii_case(b"application/xhtml+xml") => true,
            Some(t) if t.len() >= 5 && t[..5].eq_ignore_ascii_case(b"text/") => false,
            Some(_) => return String::new(),
        };
        let Some(body) = decoding.decoded_body(part.body(data)) else {
            return String::new();
        };
        let text = super::decode::body_to_utf8(decoding.charset.as_deref(), &body);
        let text = if html {
            html_to_text(text.as_bytes())
        } else {
            text.into_bytes()
        };
        generate(&text, MAX_CHARS)
    }
}

/// Dovecot's `index_mail_find_first_text_mime_part`.
fn first_text_part<'a>(data: &[u8], part: &'a MessagePart) -> Option<&'a MessagePart> {
    let content = ContentData::of_part(data, part);
    let Some((main, sub)) = content.content_type else {
        return Some(part);
    };
    if main.eq_ignore_ascii_case(b"text") {
        return Some(part);
    }
    if !main.eq_ignore_ascii_case(b"multipart") {
        return None;
    }
    if !sub.eq_ignore_ascii_case(b"alternative") {
        return part
            .children
            .iter()
            .find_map(|child| first_text_part(data, child));
    }
    let (mut html, mut other) = (None, None);
    for child in &part.children {
        match ContentData::of_part(data, child).content_type {
            None => return Some(child),
            Some((main, sub)) if main.eq_ignore_ascii_case(b"text") => {
                if sub.eq_ignore_ascii_case(b"plain") {
                    return Some(child);
                }
                if sub.eq_ignore_ascii_case(b"html") {
                    html = Some(child);
                } else {
                    other = Some(child);
                }
            }
            Some(_) => {}
        }
    }
    html.or(other)
}

/// C's `isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes of the UTF-8 sequence a byte starts.
fn char_len(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        0xf8..=0xfb => 5,
        0xfc..=0xfd => 6,
        _ => 1,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At the start of a line.
    Start,
    Normal,
    /// In a line that started with `>`: up to its end.
    Quoted,
}

/// A text being collected, and how many characters it may still take.
struct Collected {
    text: Vec<u8>,
    left: usize,
}

struct Generator {
    main: Collected,
    quoted: Collected,
    state: LineState,
    /// Whitespace was skipped after some text: a space goes before the next character.
    add_space: bool,
}

impl Generator {
    /// Takes the character at the start of `data` into the main or the quoted text; returns
    /// how many bytes it had.
    fn add(&mut self, quoted: bool, data: &[u8]) -> usize {
        let Some(&first) = data.first() else {
            return 1;
        };
        if data.len() >= 3 && (data[..3] == [0xef, 0xbb, 0xbf] || data[..3] == [0xbf, 0xbb, 0xef]) {
            return 3;
        }
        if first == 0 {
            return 1;
        }
        let target = if quoted {
            &mut self.quoted
        } else {
            &mut self.main
        };
        if is_space(first) {
            if !target.text.is_empty() {
                self.add_space = true;
            }
            if first == b'\n' {
                self.state = LineState::Start;
            }
            return 1;
        }
        if target.left == 0 {
            return 1;
        }
        target.left -= 1;
        if self.add_space {
            if target.left == 0 {
                // No space at the end (and no room for the character after it).
                return 1;
            }
            target.text.push(b' ');
            self.add_space = false;
            target.left -= 1;
        }
        let n = char_len(first).min(data.len());
        target.text.extend_from_slice(&data[..n]);
        n
    }
}

/// The preview of a plain UTF-8 text, at most `max_chars` characters.
pub fn generate(data: &[u8], max_chars: usize) -> String {
    let mut g = Generator {
        main: Collected {
            text: Vec::new(),
            left: max_chars,
        },
        quoted: Collected {
            text: Vec::new(),
            // Room for the '>' put in front.
            left: max_chars.saturating_sub(1),
        },
        state: LineState::Start,
        add_space: false,
    };
    let mut i = 0;
    while i < data.len() {
        if g.state == LineState::Start {
            if data[i] == b'>' {
                g.state = LineState::Quoted;
                i += 1;
            } else {
                g.state = LineState::Normal;
            }
        }
        let quoted = g.state == LineState::Quoted;
        let count = g.add(quoted, data.get(i..).unwrap_or_default());
        if g.main.left == 0 {
            break;
        }
        i += count;
    }
    let trimmed = |text: &[u8]| -> String {
        let start = text
            .iter()
            .position(|&c| !is_space(c))
            .unwrap_or(text.len());
        String::from_utf8_lossy(&text[start..]).into_owned()
    };
    if !g.main.text.is_empty() {
        trimmed(&g.main.text)
    } else if !g.quoted.text.is_empty() {
        format!(">{}", trimmed(&g.quoted.text))
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(message: &str) -> String {
        Message::parse(message.as_bytes().to_vec()).snippet()
    }

    #[test]
    fn whitespace_and_length() {
        assert_eq!(
            generate(b"  Hello,\r\n\r\n  world\t!  ", 200),
            "Hello, world !"
        );
        let long = "word ".repeat(100);
        let s = generate(long.as_bytes(), 200);
        assert_eq!(s.chars().count(), 199);
        assert!(s.starts_with("word word") && s.ends_with("word"));
        assert_eq!(generate("é\u{feff}\0x".as_bytes(), 200), "éx");
        assert_eq!(generate("abc".as_bytes(), 2), "ab");
        assert_eq!(generate("a bc".as_bytes(), 3), "a b");
        assert_eq!(generate("a b".as_bytes(), 2), "a");
    }

    #[test]
    fn quoted_text_only_when_nothing_else() {
        assert_eq!(generate(b"> quoted\n>more\nreply", 200), "reply");
        assert_eq!(generate(b"> quoted\n>more\n", 200), ">quoted more");
        assert_eq!(generate(b"text\n> quoted", 200), "text");
    }

    proptest::proptest! {
        /// Any text: no panic, at most the limit, no whitespace at either end.
        #[test]
        fn bounded_and_trimmed(text in "[a-c> \t\r\n\u{e9}\u{feff}\u{0}]{0,300}", max in 1usize..50) {
            let s = generate(text.as_bytes(), max);
            proptest::prop_assert!(s.chars().count() <= max);
            proptest::prop_assert!(!s.starts_with(char::is_whitespace));
            proptest::prop_assert!(!s.ends_with(char::is_whitespace));
        }

        /// Not even invalid UTF-8 makes it panic.
        #[test]
        fn any_bytes(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = generate(&data, MAX_CHARS);
            let _ = Message::parse(data).snippet();
        }
    }

    #[test]
    fn parts_and_encodings() {
        assert_eq!(snippet("Subject: x\r\n\r\nHello there\r\n"), "Hello there");
        let alternative = "Content-Type: multipart/alternative; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/html\r\n\r\n<p>html &amp; text</p>\r\n\
            --b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\r\nplain =E9t=E9\r\n--b--\r\n";
        assert_eq!(snippet(alternative), "plain été");
        let html_only = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n\
            --b\r\nContent-Type: text/html\r\n\r\n<p>html &amp; text</p>\r\n--b--\r\n";
        assert_eq!(snippet(html_only), "html & text");
        let no_text = "Content-Type: image/png\r\n\r\nxyz\r\n";
        assert_eq!(snippet(no_text), "");
        let base64 = "Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nw6lsw6lwaGFudA==\r\n";
        assert_eq!(snippet(base64), "éléphant");
    }
}
