//! APPEND (with MULTIAPPEND, RFC 3502; CATENATE, RFC 4469; BINARY's `~{n}`, RFC 3516): the
//! messages are streamed, so the command is read in steps. After its mailbox, the session
//! parses the line in streaming mode ([`super::CommandParser::args_streaming`]); at each
//! literal announcement [`AppendReader::at_literal`] says what the literal is, at the end of
//! the command [`AppendReader::at_end`] says what the last arguments were.

use super::command::{atom, CommandError};
use super::{Arg, PartialArgs};
use crate::imap::flags::{parse_flags, FlagList};
use crate::imap::response::Code;
use crate::mail::date::parse_imap_datetime;

/// What the arguments read so far mean, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendStep {
    /// A message begins.
    Begin(MessageInfo),
    /// A CATENATE URL part (RFC 4469) of the current message.
    Url(Vec<u8>),
    /// The announced literal is data of the current message: all of it, or a CATENATE TEXT
    /// part.
    Data {
        /// `~{n}`: the data is binary (to be converted for storage, RFC 3516).
        binary: bool,
    },
    /// The current message is complete.
    End,
}

/// A message's `[flags] [date-time]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageInfo {
    pub flags: FlagList,
    /// INTERNALDATE: UTC timestamp and zone offset in minutes; none given: now.
    pub date: Option<(i64, i32)>,
    /// CATENATE: the message is built from parts.
    pub catenate: bool,
}

/// Reads an APPEND's messages from the parser's partial arguments.
#[derive(Debug, Default)]
pub struct AppendReader {
    /// Inside `CATENATE (...)`.
    in_catenate: bool,
    /// The current CATENATE message's first part was a literal8 (binary conversion applies).
    catenate_binary: bool,
    /// The current CATENATE message has had a part.
    catenate_parts: bool,
    /// Messages begun.
    pub messages: u32,
}

impl AppendReader {
    /// A literal of `size` bytes was announced after `partial`.
    pub fn at_literal(
        &mut self,
        partial: PartialArgs<'_>,
        size: usize,
        binary: bool,
    ) -> Result<Vec<AppendStep>, CommandError> {
        let mut steps = Vec::new();
        let mut root = partial.root;
        if self.in_catenate {
            match partial.open {
                // Still inside the CATENATE list: its parts since the last literal.
                [parts] => {
                    if !root.is_empty() {
                        return Err(CommandError::invalid_arguments());
                    }
                    return self
                        .catenate_parts(parts, true, binary, &mut steps)
                        .map(|_| steps);
                }
                [] => {
                    // The list was closed: its last parts, then the next message.
                    let Some(Arg::List(parts)) = root.first() else {
                        return Err(CommandError::invalid_arguments());
                    };
                    self.catenate_parts(parts, false, false, &mut steps)?;
                    self.end_catenate(&mut steps);
                    root = &root[1..];
                }
                _ => return Err(CommandError::invalid_arguments()),
            }
        }
        root = self.url_only_messages(root, &mut steps)?;
        let (head, rest) = split_message_args(root);
        match (rest, partial.open) {
            ([], []) => {
                let info = head.info()?;
                if size == 0 {
                    return Err(CommandError::no(None, "Can't save a zero byte message."));
                }
                self.messages += 1;
                steps.push(AppendStep::Begin(info));
                steps.push(AppendStep::Data { binary });
                steps.push(AppendStep::End);
                Ok(steps)
            }
            ([catenate], [parts]) if is_catenate(catenate) => {
                let info = head.info()?;
                self.messages += 1;
                self.in_catenate = true;
                self.catenate_binary = matches!(parts.first(), Some(Arg::Atom(a)) if a.eq_ignore_ascii_case("TEXT"))
                    && parts.len() == 1
                    && binary;
                self.catenate_parts = false;
                steps.push(AppendStep::Begin(MessageInfo {
                    catenate: true,
                    ..info
                }));
                self.catenate_parts(parts, true, binary, &mut steps)?;
                Ok(steps)
            }
            _ => Err(CommandError::invalid_arguments()),
        }
    }

    /// The command line ended with `args` (after the last literal).
    pub fn at_end(&mut self, args: &[Arg]) -> Result<Vec<AppendStep>, CommandError> {
        let mut steps = Vec::new();
        let mut root = args;
        if self.in_catenate {
            let Some(Arg::List(parts)) = root.first() else {
                return Err(CommandError::invalid_arguments());
            };
            self.catenate_parts(parts, false, false, &mut steps)?;
            self.end_catenate(&mut steps);
            root = &root[1..];
        }
        // Messages made of URLs only may follow.
        root = self.url_only_messages(root, &mut steps)?;
        if !root.is_empty() {
            return Err(CommandError::invalid_arguments());
        }
        if self.messages == 0 {
            return Err(CommandError::bad("Missing message size."));
        }
        Ok(steps)
    }

    /// The complete messages at the start of `args` (`[flags] [date] CATENATE (...)`, made
    /// of URLs only since no literal came in them); returns what follows them.
    fn url_only_messages<'a>(
        &mut self,
        mut args: &'a [Arg],
        steps: &mut Vec<AppendStep>,
    ) -> Result<&'a [Arg], CommandError> {
        loop {
            let (head, rest) = split_message_args(args);
            let (Some(catenate), Some(Arg::List(parts))) = (rest.first(), rest.get(1)) else {
                return Ok(args);
            };
            if !is_catenate(catenate) {
                return Ok(args);
            }
            let info = head.info()?;
            if parts.is_empty() {
                return Err(CommandError::bad("Empty CATENATE list."));
            }
            self.messages += 1;
            steps.push(AppendStep::Begin(MessageInfo {
                catenate: true,
                ..info
            }));
            self.catenate_binary = false;
            self.catenate_parts = false;
            self.catenate_parts(parts, false, false, steps)?;
            steps.push(AppendStep::End);
            args = &rest[2..];
        }
    }

    /// CATENATE parts: `URL url` pairs and, when `then_literal`, a final `TEXT` whose
    /// literal was just announced.
    fn catenate_parts(
        &mut self,
        parts: &[Arg],
        then_literal: bool,
        binary: bool,
        steps: &mut Vec<AppendStep>,
    ) -> Result<(), CommandError> {
        let mut i = 0;
        while i < parts.len() {
            let kind = atom(parts.get(i)).ok_or_else(CommandError::invalid_arguments)?;
            if kind.eq_ignore_ascii_case("URL") {
                let url = parts
                    .get(i + 1)
                    .and_then(Arg::as_astring)
                    .ok_or_else(CommandError::invalid_arguments)?;
                steps.push(AppendStep::Url(url.to_vec()));
                self.catenate_parts = true;
                i += 2;
            } else if kind.eq_ignore_ascii_case("TEXT") && then_literal && i + 1 == parts.len() {
                if binary && !self.catenate_binary {
                    return Err(CommandError::no(
                        Some(Code::UnknownCte),
                        "Binary input allowed only when the first part is binary.",
                    ));
                }
                steps.push(AppendStep::Data { binary });
                self.catenate_parts = true;
                return Ok(());
            } else {
                return Err(CommandError::invalid_arguments());
            }
        }
        if then_literal {
            // The literal came where no TEXT asked for it.
            return Err(CommandError::invalid_arguments());
        }
        Ok(())
    }

    fn end_catenate(&mut self, steps: &mut Vec<AppendStep>) {
        self.in_catenate = false;
        steps.push(AppendStep::End);
    }

    /// Whether a CATENATE message is open (its parts continue after the literal).
    pub fn in_catenate(&self) -> bool {
        self.in_catenate
    }

    /// Whether the current CATENATE message has no part yet (an empty list is an error).
    pub fn catenate_is_empty(&self) -> bool {
        self.in_catenate && !self.catenate_parts
    }
}

fn is_catenate(arg: &Arg) -> bool {
    matches!(arg, Arg::Atom(a) if a.eq_ignore_ascii_case("CATENATE"))
}

/// A message's optional `[(flags)] [date-time]`, not yet checked.
struct MessageHead<'a> {
    flags: Option<&'a [Arg]>,
    date: Option<&'a [u8]>,
}

impl MessageHead<'_> {
    /// Checked as Dovecot does, once the message's form is known to be right: the flags,
    /// then the date.
    fn info(&self) -> Result<MessageInfo, CommandError> {
        let mut info = MessageInfo::default();
        if let Some(flags) = self.flags {
            info.flags = parse_flags(flags).map_err(|e| CommandError::bad(e.to_string()))?;
        }
        if let Some(date) = self.date {
            info.date = Some(
                parse_imap_datetime(date)
                    .ok_or_else(|| CommandError::bad("Invalid internal date."))?,
            );
        }
        Ok(info)
    }
}

/// Splits `[(flags)] [date-time]` off the start of `args`.
fn split_message_args(args: &[Arg]) -> (MessageHead<'_>, &[Arg]) {
    let mut head = MessageHead {
        flags: None,
        date: None,
    };
    let mut rest = args;
    if let Some(Arg::List(flags)) = rest.first() {
        head.flags = Some(flags);
        rest = &rest[1..];
    }
    if let Some(Arg::Quoted(date) | Arg::Literal(date)) = rest.first() {
        head.date = Some(date);
        rest = &rest[1..];
    }
    (head, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::flags::MailFlags;

    fn a(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn q(s: &str) -> Arg {
        Arg::Quoted(s.as_bytes().to_vec())
    }

    fn l(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn at_literal(
        r: &mut AppendReader,
        root: &[Arg],
        open: &[Vec<Arg>],
        size: usize,
    ) -> Result<Vec<AppendStep>, CommandError> {
        r.at_literal(PartialArgs { root, open }, size, false)
    }

    #[test]
    fn plain_and_multiappend() {
        let mut r = AppendReader::default();
        let steps = at_literal(
            &mut r,
            &[
                l(vec![a("\\Seen"), a("foo")]),
                q("01-Jan-2020 10:00:00 +0100"),
            ],
            &[],
            5,
        )
        .unwrap();
        let AppendStep::Begin(info) = &steps[0] else {
            panic!()
        };
        assert_eq!(info.flags.system, MailFlags::SEEN);
        assert_eq!(info.date.unwrap().1, 60);
        assert_eq!(
            &steps[1..],
            [AppendStep::Data { binary: false }, AppendStep::End]
        );
        assert_eq!(at_literal(&mut r, &[], &[], 3).unwrap().len(), 3);
        assert_eq!(r.at_end(&[]).unwrap(), []);
        assert_eq!(r.messages, 2);
    }

    #[test]
    fn catenate() {
        let mut r = AppendReader::default();
        let steps = at_literal(&mut r, &[a("CATENATE")], &[vec![a("TEXT")]], 5).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(r.in_catenate());
        let steps = at_literal(&mut r, &[], &[vec![a("URL"), q("/x"), a("TEXT")]], 6).unwrap();
        assert_eq!(
            steps,
            [
                AppendStep::Url(b"/x".to_vec()),
                AppendStep::Data { binary: false }
            ]
        );
        let steps = r.at_end(&[l(vec![a("URL"), q("/y")])]).unwrap();
        assert_eq!(steps, [AppendStep::Url(b"/y".to_vec()), AppendStep::End]);
        // A message of URLs only before one with a literal (MULTIAPPEND).
        let mut r = AppendReader::default();
        let steps = at_literal(
            &mut r,
            &[a("CATENATE"), l(vec![a("URL"), q("/u")]), a("CATENATE")],
            &[vec![a("TEXT")]],
            5,
        )
        .unwrap();
        assert!(
            matches!(&steps[..], [AppendStep::Begin(_), AppendStep::Url(u), AppendStep::End, AppendStep::Begin(_), AppendStep::Data { .. }] if u == b"/u")
        );
        assert_eq!(r.messages, 2);
        // A message of URLs only.
        let mut r = AppendReader::default();
        let steps = r
            .at_end(&[a("CATENATE"), l(vec![a("URL"), q("/z")])])
            .unwrap();
        assert_eq!(steps.len(), 3);
    }

    #[test]
    fn errors_as_dovecot() {
        let err = |root: &[Arg], open: &[Vec<Arg>], size: usize| {
            at_literal(&mut AppendReader::default(), root, open, size)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[q("2020-01-01")], &[], 5),
            "BAD Invalid internal date."
        );
        assert_eq!(err(&[a("01-Jan-2020")], &[], 5), "BAD Invalid arguments.");
        assert_eq!(
            err(&[l(vec![a("\\Foo")])], &[], 5),
            "BAD Invalid system flag \\FOO"
        );
        assert_eq!(err(&[], &[], 0), "NO Can't save a zero byte message.");
        assert_eq!(
            err(&[a("CATENATE")], &[vec![a("FOO")]], 5),
            "BAD Invalid arguments."
        );
        let end = |args: &[Arg]| {
            AppendReader::default()
                .at_end(args)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(end(&[]), "BAD Missing message size.");
        assert_eq!(end(&[a("hello")]), "BAD Invalid arguments.");
        assert_eq!(end(&[q("hello")]), "BAD Invalid arguments.");
        assert_eq!(end(&[a("CATENATE"), l(vec![])]), "BAD Empty CATENATE list.");
        assert_eq!(end(&[a("CATENATE"), a("TEXT")]), "BAD Invalid arguments.");
        assert_eq!(
            end(&[a("CATENATE"), l(vec![a("FOO"), a("bar")])]),
            "BAD Invalid arguments."
        );
        // A literal8 TEXT after a first part that was not binary.
        let mut r = AppendReader::default();
        at_literal(&mut r, &[a("CATENATE")], &[vec![a("TEXT")]], 5).unwrap();
        let e = r
            .at_literal(
                PartialArgs {
                    root: &[],
                    open: &[vec![a("TEXT")]],
                },
                5,
                true,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "NO [UNKNOWN-CTE] Binary input allowed only when the first part is binary."
        );
    }
}
