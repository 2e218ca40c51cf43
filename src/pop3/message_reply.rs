//! A message as the body of a POP3 multi-line reply (RETR, TOP): CRLF line ends whatever the
//! storage holds (Maildir keeps LF), a `.` at the start of a line doubled (RFC 1939
//! byte-stuffing), a final CRLF when the message lacks one, and Dovecot's client workarounds.
//! The terminating `.` line is the caller's.

use super::settings::Workarounds;

/// How much of the message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// RETR: all of it.
    Whole,
    /// TOP n: the header, the empty line after it and `n` body lines.
    Top(u64),
}

/// The reply body for `message`.
pub fn message_reply(message: &[u8], extent: Extent, workarounds: Workarounds) -> Vec<u8> {
    // Body lines still to send; the empty line ending the header counts as one (so TOP 0
    // still sends it).
    let mut lines_left = match extent {
        Extent::Whole => u64::MAX,
        Extent::Top(n) => n.saturating_add(1),
    };
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 8);
    // The byte before the current one as sent; NUL at the start (as Dovecot's state is).
    let mut last = 0u8;
    let mut in_body = false;
    for &c in message {
        if (c == b'\r' || c == b'\n') && !in_body && (last == 0 || last == b'\n') {
            // An empty line (or an empty first line): the header ends here.
            in_body = true;
        }
        match c {
            b'\n' => {
                if last != b'\r' {
                    out.push(b'\r');
                }
                out.push(b'\n');
                last = b'\n';
                if in_body {
                    lines_left -= 1;
                    if lines_left == 0 {
                        break;
                    }
                }
                continue;
            }
            // Also on the message's first byte, which Dovecot misses (a message starting
            // with ".\n" would end its reply early).
            b'.' if last == b'\n' || out.is_empty() => out.push(b'.'),
            0 if workarounds.outlook_no_nuls => {
                out.push(0x80);
                last = 0x80;
                continue;
            }
            _ => {}
        }
        out.push(c);
        last = c;
    }
    if last != b'\n' {
        out.extend_from_slice(b"\r\n");
    }
    if !in_body && workarounds.oe_ns_eoh {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NONE: Workarounds = Workarounds {
        outlook_no_nuls: false,
        oe_ns_eoh: false,
    };

    #[test]
    fn crlf_and_stuffing() {
        let msg = b"Subject: x\n\n.line\nok\r\n..two\n.";
        assert_eq!(
            message_reply(msg, Extent::Whole, NONE),
            b"Subject: x\r\n\r\n..line\r\nok\r\n...two\r\n..\r\n"
        );
    }

    #[test]
    fn top_counts_body_lines() {
        let msg = b"A: 1\nB: 2\n\none\ntwo\nthree\n";
        assert_eq!(
            message_reply(msg, Extent::Top(0), NONE),
            b"A: 1\r\nB: 2\r\n\r\n"
        );
        assert_eq!(
            message_reply(msg, Extent::Top(2), NONE),
            b"A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\n"
        );
        assert_eq!(
            message_reply(msg, Extent::Top(99), NONE),
            message_reply(msg, Extent::Whole, NONE)
        );
        // A message that starts with its body (no header at all).
        assert_eq!(
            message_reply(b"\nbody\nmore\n", Extent::Top(1), NONE),
            b"\r\nbody\r\n"
        );
    }

    #[test]
    fn workarounds() {
        let both = Workarounds {
            outlook_no_nuls: true,
            oe_ns_eoh: true,
        };
        assert_eq!(
            message_reply(b"A: \0x\n", Extent::Whole, both),
            b"A: \x80x\r\n\r\n"
        );
        assert_eq!(
            message_reply(b"A: \0x\n", Extent::Whole, NONE),
            b"A: \0x\r\n"
        );
        assert_eq!(message_reply(b"", Extent::Whole, NONE), b"\r\n");
    }

    proptest! {
        /// Whatever the message, the reply has only CRLF line ends, no line that is a lone
        /// `.`, ends with CRLF, and un-stuffing it gives the message with CRLF line ends.
        #[test]
        fn reply_is_wire_safe(msg in proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'.'), Just(b'a'), any::<u8>()], 0..200))
        {
            let out = message_reply(&msg, Extent::Whole, NONE);
            prop_assert!(out.ends_with(b"\r\n"));
            let mut lines = Vec::new();
            let mut rest = &out[..];
            while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
                lines.push(&rest[..at]);
                rest = &rest[at + 2..];
            }
            prop_assert!(rest.is_empty());
            for line in &lines {
                prop_assert!(!line.contains(&b'\n'));
                prop_assert!(*line != b".");
            }
            let unstuffed: Vec<u8> = lines
                .iter()
                .flat_map(|l| {
                    let l = l.strip_prefix(b".").unwrap_or(l);
                    l.iter().copied().chain(*b"\r\n")
                })
                .collect();
            let mut expected = Vec::new();
            let mut prev = 0u8;
            for &c in &msg {
                if c == b'\n' && prev != b'\r' {
                    expected.push(b'\r');
                }
                expected.push(c);
                prev = c;
            }
            if !expected.ends_with(b"\n") {
                expected.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(unstuffed, expected);
        }
    }
}
