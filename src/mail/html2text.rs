//! HTML to plain text as Dovecot 2.3's `mail-html2text` turns it for previews: tags dropped
//! (a space where one ended), comments, `<script>` and `<style>` contents and CDATA markers
//! dropped, character references decoded, and each tag inside a `<blockquote>` followed by a
//! new line starting with `>` (so the preview treats the quote as quoted text). What is cut
//! off at the end of the input (a tag or a reference never closed) is lost, as in Dovecot.

use super::html_entities::ENTITIES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Tag,
    TagDoubleQuoted,
    TagDoubleQuotedEscape,
    TagSingleQuoted,
    TagSingleQuotedEscape,
    Comment,
    /// `--` seen inside a comment: waiting for `>`.
    CommentEnd,
    Script,
    Style,
    Cdata,
}

fn is_html_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `data` starts with `word` (ASCII case ignored).
fn starts_with_ignore_case(data: &[u8], word: &[u8]) -> bool {
    data.len() >= word.len() && data[..word.len()].eq_ignore_ascii_case(word)
}

/// The text of an HTML document (UTF-8 in, UTF-8 out).
pub fn html_to_text(html: &[u8]) -> Vec<u8> {
    let mut converter = Converter {
        state: State::Text,
        quote_level: 0,
        add_newline: false,
        out: Vec::with_capacity(html.len() / 2),
    };
    converter.run(html);
    converter.out
}

struct Converter {
    state: State,
    quote_level: u32,
    /// A `</blockquote>` ended: the next tag's end starts a new line.
    add_newline: bool,
    out: Vec<u8>,
}

impl Converter {
    /// A space, unless the text so far is empty or ends with a space or a new line.
    fn add_space(&mut self) {
        if self.out.last().is_some_and(|&c| c != b' ' && c != b'\n') {
            self.out.push(b' ');
        }
    }

    /// After a `<`: what the tag's name makes of the state; how many bytes (the `<`
    /// included) it took, 0 when the name is cut off by the end of the input.
    fn tag_name(&mut self, data: &[u8]) -> usize {
        let ends_word = |i: usize| data.get(i).is_some_and(|&c| is_html_space(c) || c == b'>');
        if data.starts_with(b"!--") {
            self.state = State::Comment;
            return 4;
        }
        if data.len() >= 7 && starts_with_ignore_case(data, b"script") && ends_word(6) {
            self.state = State::Script;
            return 8;
        }
        if data.len() >= 6 && starts_with_ignore_case(data, b"style") && ends_word(5) {
            self.state = State::Style;
            return 7;
        }
        if starts_with_ignore_case(data, b"![CDATA[") {
            self.state = State::Cdata;
            return 9;
        }
        if data.len() >= 11 && starts_with_ignore_case(data, b"blockquote") && ends_word(10) {
            self.quote_level += 1;
            self.state = State::Tag;
            return 1;
        } else if self.quote_level > 0 && starts_with_ignore_case(data, b"/blockquote>") {
            self.quote_level -= 1;
            self.add_newline = true;
            self.state = State::Tag;
            return 1;
        }
        if data.len() < 12 && !data.iter().any(|&c| is_html_space(c) || c == b'>') {
            return 0;
        }
        self.state = State::Tag;
        1
    }

    /// After a `&`: a reference up to `;` (at most 9 bytes, no whitespace) is decoded, or
    /// dropped when unknown; a broken one leaves its text as text. Returns the bytes taken
    /// (the `&` included), 0 when the input ends first.
    fn entity(&mut self, data: &[u8]) -> usize {
        let mut end = None;
        for (i, &c) in data.iter().enumerate() {
            if is_html_space(c) || i >= 10 {
                return 1;
            }
            if c == b';' {
                end = Some(i);
                break;
            }
        }
        let Some(end) = end else {
            return 0;
        };
        if let Some(c) = entity_char(&data[..end]) {
            let mut buf = [0; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        end + 2
    }

    /// The end `</script>`/`</style>` at `data` (whose first byte is `<`): `Some(true)`
    /// found, `Some(false)` not this, `None` cut off by the end of the input.
    fn closing(data: &[u8], tag: &[u8]) -> Option<bool> {
        let n = data.len().min(tag.len());
        if !data[..n].eq_ignore_ascii_case(&tag[..n]) {
            return Some(false);
        }
        (n == tag.len()).then_some(true)
    }

    fn run(&mut self, data: &[u8]) {
        let mut i = 0;
        while i < data.len() {
            let c = data[i];
            match self.state {
                State::Text => {
                    if c == b'<' {
                        let taken = self.tag_name(&data[i + 1..]);
                        if taken == 0 {
                            return;
                        }
                        i += taken - 1;
                    } else if c == b'&' {
                        let taken = self.entity(&data[i + 1..]);
                        if taken == 0 {
                            return;
                        }
                        i += taken - 1;
                    } else {
                        self.out.push(c);
                    }
                }
                State::Tag => match c {
                    b'"' => self.state = State::TagDoubleQuoted,
                    b'\'' => self.state = State::TagSingleQuoted,
                    b'>' => {
                        self.state = State::Text;
                        if self.quote_level > 0 {
                            self.out.extend_from_slice(b"\n>");
                        } else if self.add_newline {
                            self.out.push(b'\n');
                        }
                        self.add_newline = false;
                        self.add_space();
                    }
                    _ => {}
                },
                State::TagDoubleQuoted => match c {
                    b'"' => self.state = State::Tag,
                    b'\\' => self.state = State::TagDoubleQuotedEscape,
                    _ => {}
                },
                State::TagDoubleQuotedEscape => self.state = State::TagDoubleQuoted,
                State::TagSingleQuoted => match c {
                    b'\'' => self.state = State::Tag,
                    b'\\' => self.state = State::TagSingleQuotedEscape,
                    _ => {}
                },
                State::TagSingleQuotedEscape => self.state = State::TagSingleQuoted,
                State::Comment => {
                    if c == b'-' {
                        match data.get(i + 1) {
                            None => return,
                            Some(b'-') => {
                                self.state = State::CommentEnd;
                                i += 1;
                            }
                            Some(_) => {}
                        }
                    }
                }
                State::CommentEnd => {
                    if c == b'>' {
                        self.state = State::Text;
                    } else if !is_html_space(c) {
                        self.state = State::Comment;
                    }
                }
                State::Script | State::Style => {
                    let tag: &[u8] = if self.state == State::Script {
                        b"</script>"
                    } else {
                        b"</style>"
                    };
                    if c == b'<' {
                        match Self::closing(&data[i..], tag) {
                            None => return,
                            Some(true) => {
                                self.add_space();
                                self.state = State::Text;
                                i += tag.len() - 1;
                            }
                            Some(false) => {}
                        }
                    }
                }
                State::Cdata => {
                    if c == b']' {
                        match Self::closing(&data[i..], b"]]>") {
                            None => return,
                            Some(true) => {
                                self.state = State::Text;
                                i += 3;
                                continue;
                            }
                            Some(false) => {}
                        }
                    }
                    self.out.push(c);
                }
            }
            i += 1;
        }
    }
}

/// A reference's character: a name of [`ENTITIES`] (case counts), `#n` or `#xn` (lower-case
/// `x`) for a Unicode scalar value or NUL.
fn entity_char(name: &[u8]) -> Option<char> {
    let name = std::str::from_utf8(name).ok()?;
    if let Ok(i) = ENTITIES.binary_search_by_key(&name, |&(n, _)| n) {
        return Some(ENTITIES[i].1);
    }
    let number = name.strip_prefix('#')?;
    let all_digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let code = match number.strip_prefix('x') {
        Some(hex) if all_digits(hex, 16) => u32::from_str_radix(hex, 16).ok(),
        _ if all_digits(number, 10) => number.parse().ok(),
        _ => None,
    }?;
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        String::from_utf8(html_to_text(html.as_bytes())).unwrap()
    }

    #[test]
    fn tags_comments_scripts() {
        assert_eq!(text("<p>Hello <b>world</b></p>"), "Hello world ");
        assert_eq!(text("a<!-- x -- y -->b"), "ab");
        assert_eq!(
            text("<style type=x>p {}</style>x<SCRIPT>a<b</script>y"),
            "x y"
        );
        assert_eq!(text("<a href=\"x>y\" title='q\\'r>'>z"), "z");
        assert_eq!(text("<![CDATA[a<b]]>c"), "a<bc");
    }

    #[test]
    fn references() {
        assert_eq!(text("&lt;&amp;&gt; &eacute;&#233;&#xe9;"), "<&> ééé");
        assert_eq!(text("&nosuch;x"), "x");
        assert_eq!(text("&lang;&rang;"), "\u{27e8}\u{27e9}");
        // Broken: whitespace or too long; the rest stays text.
        assert_eq!(text("a & b"), "a  b");
        assert_eq!(text("&verylongname;"), "verylongname;");
        assert_eq!(text("&#X41;&#xD800;x"), "x");
        // Cut off at the end: lost.
        assert_eq!(text("ab&amp"), "ab");
        assert_eq!(text("ab<span"), "ab");
    }

    proptest::proptest! {
        /// Any input, valid HTML or not: no panic, and UTF-8 stays UTF-8.
        #[test]
        fn any_input(html in "[<>&;#x!/a-z\\\"' \n\u{e9}-]{0,200}") {
            let out = html_to_text(html.as_bytes());
            proptest::prop_assert!(std::str::from_utf8(&out).is_ok());
        }
    }

    #[test]
    fn blockquotes_become_quoted_lines() {
        assert_eq!(
            text("<p>new</p><blockquote>old<br>text</blockquote>after"),
            "new \n> old\n> text\nafter"
        );
    }
}
