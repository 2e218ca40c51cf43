//! Content-Transfer-Encoding decoders with Dovecot's acceptance rules, which decide whether
//! FETCH BINARY answers or fails: base64 skips whitespace, stops at any other stray byte
//! and needs complete padding; quoted-printable turns every line break into CRLF, drops
//! trailing whitespace, and keeps invalid `=` sequences as they are (but reports them).

/// Why decoding failed (Dovecot answers the first with `[PARSE]`, and disconnects on the
/// second, an unexpected end of the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    Invalid,
    Truncated,
}

/// A Content-Transfer-Encoding value as Dovecot classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// 7bit or 8bit (also the default)
    SevenEightBit,
    Binary,
    QuotedPrintable,
    Base64,
    Unknown,
}

impl TransferEncoding {
    /// Parses a Content-Transfer-Encoding header value (`base64`, ` Base64 ; x`, ...).
    pub fn parse(value: &[u8]) -> TransferEncoding {
        let mut p = super::rfc822::Rfc822Parser::new(value);
        let _ = p.skip_lwsp();
        let mut token = Vec::new();
        if p.parse_mime_token(&mut token) == Ok(true) {
            let _ = p.skip_lwsp();
            if p.peek() != b';' {
                return TransferEncoding::Unknown;
            }
        }
        match token.to_ascii_lowercase().as_slice() {
            b"7bit" | b"8bit" => TransferEncoding::SevenEightBit,
            b"base64" => TransferEncoding::Base64,
            b"binary" => TransferEncoding::Binary,
            b"quoted-printable" => TransferEncoding::QuotedPrintable,
            _ => TransferEncoding::Unknown,
        }
    }

    /// Whether FETCH BINARY changes the body (and so the header gets a new C-T-E).
    pub fn is_converted(self) -> bool {
        matches!(
            self,
            TransferEncoding::QuotedPrintable | TransferEncoding::Base64
        )
    }
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Decodes base64. On an invalid byte the output decoded so far is returned with the error.
pub fn decode_base64(input: &[u8]) -> (Vec<u8>, Option<DecodeError>) {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut buf = 0u8;
    let mut sub = 0;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        let Some(v) = base64_value(c) else {
            if is_space(c) {
                i += 1;
                continue;
            }
            break;
        };
        match sub {
            0 => buf = v,
            1 => {
                out.push((buf << 2) | (v >> 4));
                buf = v;
            }
            2 => {
                out.push((buf << 4) | (v >> 2));
                buf = v;
            }
            _ => out.push(((buf << 6) & 0xc0) | v),
        }
        sub = (sub + 1) % 4;
        i += 1;
    }
    if i == input.len() {
        return (
            out,
            if sub == 0 {
                None
            } else {
                Some(DecodeError::Truncated)
            },
        );
    }
    // padding: "==" after two symbols, "=" after three, whitespace allowed within and after
    let skip_space = |mut i: usize| {
        while i < input.len() && is_space(input[i]) {
            i += 1;
        }
        i
    };
    match sub {
        2 | 3 => {
            if input[i] != b'=' {
                return (out, Some(DecodeError::Invalid));
            }
            i += 1;
            if sub == 2 {
                i = skip_space(i);
                if i == input.len() {
                    return (out, Some(DecodeError::Truncated));
                }
                if input[i] != b'=' {
                    return (out, Some(DecodeError::Invalid));
                }
                i += 1;
            }
            if skip_space(i) < input.len() {
                return (out, Some(DecodeError::Invalid));
            }
            (out, None)
        }
        _ => (out, Some(DecodeError::Invalid)),
    }
}

/// Quoted-printable lines are at most 76 characters; more whitespace than that is an error.
const QP_MAX_WHITESPACE: usize = 76;

/// Decodes quoted-printable into CRLF-terminated lines. Invalid sequences are kept as they
/// were; the first error is returned with the full output.
pub fn decode_qp(input: &[u8]) -> (Vec<u8>, Option<DecodeError>) {
    #[derive(PartialEq, Clone, Copy)]
    enum State {
        Text,
        Whitespace,
        Equals,
        EqualsWhitespace,
        Hex2(u8),
        Cr,
        SoftCr,
    }
    let mut out = Vec::with_capacity(input.len());
    let mut ws: Vec<u8> = Vec::new();
    let mut state = State::Text;
    let mut error = None;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    // puts back what an invalid state held, as Dovecot does
    let invalid = |state: State, out: &mut Vec<u8>, ws: &mut Vec<u8>| match state {
        State::Equals => out.push(b'='),
        State::Hex2(h) => out.extend_from_slice(&[b'=', h]),
        State::EqualsWhitespace => {
            out.push(b'=');
            out.append(ws);
        }
        State::Cr => {
            out.append(ws);
            out.push(b'\r');
        }
        State::SoftCr => {
            out.push(b'=');
            out.append(ws);
            out.push(b'\r');
        }
        State::Text | State::Whitespace => {}
    };
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        match state {
            State::Text => match c {
                b'=' => state = State::Equals,
                b'\r' => state = State::Cr,
                b'\n' => out.extend_from_slice(b"\r\n"),
                b' ' | b'\t' => {
                    state = State::Whitespace;
                    ws.push(c);
                }
                _ => out.push(c),
            },
            State::Whitespace => match c {
                b' ' | b'\t' => {
                    if ws.len() <= QP_MAX_WHITESPACE {
                        ws.push(c);
                    }
                }
                b'\r' => state = State::Cr,
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    ws.clear();
                    state = State::Text;
                }
                _ => {
                    if ws.len() > QP_MAX_WHITESPACE {
                        error.get_or_insert(DecodeError::Invalid);
                    }
                    out.append(&mut ws);
                    state = State::Text;
                    continue;
                }
            },
            State::Equals => {
                if c.is_ascii_hexdigit() {
                    state = State::Hex2(c);
                } else if c == b' ' || c == b'\t' {
                    ws.push(c);
                    state = State::EqualsWhitespace;
                } else if c == b'\r' {
                    state = State::SoftCr;
                } else if c == b'\n' {
                    state = State::Text;
                } else {
                    invalid(state, &mut out, &mut ws);
                    error.get_or_insert(DecodeError::Invalid);
                    state = State::Text;
                    continue;
                }
            }
            State::Hex2(h) => match (hex(h), hex(c)) {
                (Some(a), Some(b)) => {
                    out.push(a << 4 | b);
                    state = State::Text;
                }
                _ => {
                    invalid(state, &mut out, &mut ws);
                    error.get_or_insert(DecodeError::Invalid);
                    state = State::Text;
                    continue;
                }
            },
            State::EqualsWhitespace => match c {
                b' ' | b'\t' => {
                    if ws.len() <= QP_MAX_WHITESPACE {
                        ws.push(c);
                    }
                }
                b'\r' => state = State::SoftCr,
                b'\n' => {
                    ws.clear();
                    state = State::Text;
                }
                _ => {
                    invalid(state, &mut out, &mut ws);
                    error.get_or_insert(DecodeError::Invalid);
                    state = State::Text;
                    continue;
                }
            },
            State::Cr | State::SoftCr => {
                if c == b'\n' {
                    ws.clear();
                    if state == State::Cr {
                        out.extend_from_slice(b"\r\n");
                    }
                    state = State::Text;
                } else {
                    invalid(state, &mut out, &mut ws);
                    error.get_or_insert(DecodeError::Invalid);
                    state = State::Text;
                    continue;
                }
            }
        }
        i += 1;
    }
    if !matches!(state, State::Text | State::Whitespace) {
        invalid(state, &mut out, &mut ws);
        error.get_or_insert(DecodeError::Truncated);
    }
    (out, error)
}

/// How Dovecot stores a saved message (`mail_save_crlf = no`): CRLF becomes LF, a CR before
/// anything else stays, a CR at the very end is dropped. The storage layer saves with this;
/// sizes and answers are then computed on the stored bytes.
pub fn to_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut pending_cr = false;
    for &b in data {
        match b {
            b'\r' => {
                if pending_cr {
                    out.push(b'\r');
                }
                pending_cr = true;
            }
            b'\n' => {
                pending_cr = false;
                out.push(b'\n');
            }
            _ => {
                if pending_cr {
                    out.push(b'\r');
                    pending_cr = false;
                }
                out.push(b);
            }
        }
    }
    out
}

/// Bare LFs become CRLF (the form IMAP sends message data in).
pub fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rules() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\n"), (b"hello".to_vec(), None));
        assert_eq!(decode_base64(b"QUJD"), (b"ABC".to_vec(), None));
        assert_eq!(decode_base64(b"QQ= =\n"), (b"A".to_vec(), None));
        assert_eq!(decode_base64(b"QQ").1, Some(DecodeError::Truncated));
        assert_eq!(decode_base64(b"QQ=").1, Some(DecodeError::Truncated));
        assert_eq!(
            decode_base64(b"aGVsbG8*gd29y").1,
            Some(DecodeError::Invalid)
        );
        assert_eq!(decode_base64(b"QQ==\nAAA=").1, Some(DecodeError::Invalid));
    }

    #[test]
    fn qp_rules() {
        assert_eq!(
            decode_qp(b"a=41b  \nc=\r\nd\n"),
            (b"aAb\r\ncd\r\n".to_vec(), None)
        );
        assert_eq!(
            decode_qp(b"x=ZZ"),
            (b"x=ZZ".to_vec(), Some(DecodeError::Invalid))
        );
        assert_eq!(
            decode_qp(b"abc="),
            (b"abc=".to_vec(), Some(DecodeError::Truncated))
        );
    }

    #[test]
    fn save_form() {
        assert_eq!(to_lf(b"a\r\nb\rc\r\r\nd\r"), b"a\nb\rc\r\nd");
    }

    #[test]
    fn cte() {
        assert_eq!(
            TransferEncoding::parse(b" Base64"),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::parse(b"base64 binary"),
            TransferEncoding::Unknown
        );
        assert_eq!(TransferEncoding::parse(b"x-uue"), TransferEncoding::Unknown);
        assert_eq!(
            TransferEncoding::parse(b"7bit; x"),
            TransferEncoding::SevenEightBit
        );
    }
}
