//! APPEND: the mailbox, then each message streamed from the connection into storage as it
//! arrives (MULTIAPPEND, CATENATE, literal8), committed together at the end.
//!
//! As in Dovecot, wrong arguments end the command at once (`BAD`), while after a failure of
//! the mailbox or of storage (`NO`) the command still reads what the client sends without
//! waiting — non-synchronizing literals are read and dropped — so the session stays in step;
//! a client that waits for `+ OK` gets the answer instead.

use std::io::{self, Read, Write};
use std::time::Instant;

use super::{Disconnect, Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::parser::append::{AppendReader, AppendStep};
use crate::imap::parser::command::decode_name;
use crate::imap::parser::{CommandError, LineEnd, ParseError, Progress};
use crate::imap::response::Code;
use crate::index::uidset::UidSet;
use crate::net::{LineError, LineReader};

/// A literal's data as a reader, straight from the connection.
struct LiteralReader<'r, R: Read> {
    reader: &'r mut LineReader<R>,
    remaining: usize,
}

impl<R: Read> Read for LiteralReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.remaining).min(64 * 1024);
        if want == 0 {
            return Ok(0);
        }
        let mut data = Vec::with_capacity(want);
        self.reader
            .read_exact_into(want, &mut data)
            .map_err(|e| match e {
                LineError::Io { source, .. } => source,
                LineError::Timeout => io::Error::new(io::ErrorKind::TimedOut, "read timed out"),
                other => io::Error::new(io::ErrorKind::UnexpectedEof, other.to_string()),
            })?;
        buf[..want].copy_from_slice(&data);
        self.remaining -= want;
        Ok(want)
    }
}

/// The message being received: its size so far, and whether CATENATE composes it.
#[derive(Debug, Clone, Copy, Default)]
struct MessageSize {
    bytes: u64,
    composed: bool,
}

/// What running the steps of a literal announcement did.
struct StepsDone {
    /// The announced literal's data was read.
    literal_read: bool,
    /// The first failure (the rest of the command is then only read, not stored).
    error: Option<CommandError>,
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// Runs APPEND; `None` when the command was already answered as a parse error. Whatever
    /// ends the session meanwhile drops the messages not committed.
    pub(super) fn append(&mut self, end: LineEnd) -> Step<Option<Reply>> {
        let result = self.append_command(end);
        if result.is_err() {
            self.mail.append_abort();
        }
        result
    }

    fn append_command(&mut self, end: LineEnd) -> Step<Option<Reply>> {
        let Some((args, _)) = self.read_args(Some(1), end)? else {
            return Ok(None);
        };
        let mailbox = match args.first().map(|a| a.as_astring()) {
            None => return self.command_failed(CommandError::bad("Missing arguments")),
            Some(None) => return self.command_failed(CommandError::invalid_arguments()),
            Some(Some(name)) => name,
        };
        let ctx = self.parse_context();
        let mut failed: Option<CommandError> = match decode_name(mailbox, &ctx) {
            Ok(mailbox) => match self.mail.append_begin(&mailbox) {
                Ok(()) => None,
                Err(e) if e.kind == MailErrorKind::NotFound => {
                    Some(CommandError::no(Some(Code::TryCreate), e.text))
                }
                Err(e) => Some(CommandError::no(e.code(false), e.text)),
            },
            Err(e) => Some(e),
        };
        let mut reader = AppendReader::default();
        let mut progress = self.parser.args_streaming();
        // A failure known when a LITERAL+ message is announced is answered at once, as
        // Dovecot does; the rest of the command is then read and dropped.
        let mut answered = false;
        // The current message's size so far (CATENATE adds part after part).
        let mut message_size = MessageSize::default();
        loop {
            match progress {
                Err(e) => {
                    self.mail.append_abort();
                    if answered {
                        return Ok(None);
                    }
                    if let Some(failure) = failed {
                        return self.command_failed(failure);
                    }
                    if self.settings.literal_minus && e == ParseError::NonSyncLiteralTooLarge {
                        self.bye(&format!("[TOOBIG] {}", e.message()));
                        return Err(Disconnect::LiteralTooLarge(e.message().to_string()));
                    }
                    self.parse_error(e)?;
                    return Ok(None);
                }
                Ok(Progress::Done(args)) => {
                    if failed.is_none() {
                        let steps = reader.at_end(&args);
                        failed = match steps {
                            Ok(steps) => self.append_steps(&steps, None, &mut message_size)?.error,
                            Err(e) => Some(e),
                        };
                    }
                    if let Some(failure) = failed {
                        self.mail.append_abort();
                        if answered {
                            return Ok(None);
                        }
                        return self.command_failed(failure);
                    }
                    let committed = self.mail.append_commit();
                    if committed.is_ok() {
                        self.stats.appended += u64::from(reader.messages);
                    }
                    return Ok(Some(match committed {
                        Ok(result) if result.uids.is_empty() => Reply::ok("Append completed."),
                        Ok(result) => {
                            let uids: UidSet = result.uids.iter().copied().collect();
                            Reply::ok_with(
                                Code::AppendUid(result.uid_validity, uids),
                                "Append completed.",
                            )
                        }
                        Err(e) => Reply::mail_error(&e, false),
                    }));
                }
                Ok(Progress::Literal { size, sync }) => {
                    let mut literal_read = false;
                    if failed.is_none() {
                        let binary = self.parser.literal_is_binary();
                        let steps = reader.at_literal(self.parser.partial_args(), size, binary);
                        match steps {
                            Ok(steps) => {
                                let done = self.append_steps(
                                    &steps,
                                    Some((size, sync)),
                                    &mut message_size,
                                )?;
                                literal_read = done.literal_read;
                                failed = done.error;
                            }
                            // Wrong arguments end the command at once, as in Dovecot: the
                            // literal is not read (what the client sends next is a command).
                            Err(e @ CommandError::Bad(_)) => {
                                self.mail.append_abort();
                                return self.command_failed(e);
                            }
                            Err(e) => failed = Some(e),
                        }
                    }
                    if !literal_read {
                        if sync {
                            // The client waits for "+ OK": it gets the answer instead.
                            self.mail.append_abort();
                            let failure = failed.unwrap_or_else(CommandError::invalid_arguments);
                            return self.command_failed(failure);
                        }
                        if let (false, Some(CommandError::Reply { status, code, text })) =
                            (answered, &failed)
                        {
                            let reply = Reply {
                                status: *status,
                                code: code.clone(),
                                text: text.clone(),
                            };
                            self.tagged(reply)?;
                            self.flush()?;
                            answered = true;
                        }
                        self.skip_literal(size)?;
                    }
                    self.parser.literal_streamed();
                    let (line, end) = self.read_line()?;
                    progress = self.parser.continue_line(&line, end);
                }
            }
        }
    }

    /// The answer of a command that reads its own arguments (APPEND, SETMETADATA) and
    /// failed: a parse error (answered here), or the tagged reply.
    pub(super) fn command_failed(&mut self, failure: CommandError) -> Step<Option<Reply>> {
        match failure {
            CommandError::Bad(text) => {
                self.param_error(&text)?;
                Ok(None)
            }
            CommandError::Reply { status, code, text } => Ok(Some(Reply { status, code, text })),
        }
    }

    /// Whether a message of `size` bytes may be saved: `quota_max_mail_size`, advertised as
    /// APPENDLIMIT (RFC 7889), refuses a larger one with the quota plugin's text and RFC
    /// 7889's `[TOOBIG]` (as Dovecot 2.4, which added APPENDLIMIT; 2.3 advertised no limit
    /// and answered `[LIMIT]`), then the quota is asked. A literal is checked before it is
    /// read; a CATENATE message after each part, with all its parts so far, and within
    /// `max_composed_size` too.
    fn check_message_size(&mut self, size: MessageSize) -> Result<(), MailError> {
        if size.composed
            && self
                .settings
                .max_composed_size
                .is_some_and(|limit| size.bytes > limit)
        {
            // Dovecot's text for a composed size past what it can count.
            return Err(MailError::new(
                MailErrorKind::Limit,
                "[TOOBIG] Composed message grows too big.",
            ));
        }
        let size = size.bytes;
        if self
            .settings
            .max_mail_size
            .is_some_and(|limit| size > limit)
        {
            return Err(MailError::new(
                MailErrorKind::Limit,
                "[TOOBIG] Mail size is larger than the maximum size allowed by server \
                 configuration",
            ));
        }
        self.mail.append_check_size(size)
    }

    /// Runs the steps of one literal announcement (or of the end of the command; `literal`
    /// is then `None`). The `Data` step reads the announced literal (`size`, synchronizing).
    /// `message_size`: the current message's so far.
    fn append_steps(
        &mut self,
        steps: &[AppendStep],
        literal: Option<(usize, bool)>,
        message_size: &mut MessageSize,
    ) -> Step<StepsDone> {
        let mut done = StepsDone {
            literal_read: false,
            error: None,
        };
        for step in steps {
            let result = match step {
                AppendStep::Begin(info) => {
                    *message_size = MessageSize {
                        bytes: 0,
                        composed: info.catenate,
                    };
                    self.mail.append_message(info)
                }
                AppendStep::Url(url) => self.mail.append_url(url).and_then(|size| {
                    message_size.bytes = message_size.bytes.saturating_add(size);
                    self.check_message_size(*message_size)
                }),
                AppendStep::End => self.mail.append_message_end(),
                AppendStep::Data { binary } => match literal {
                    Some((size, sync)) => {
                        let total = MessageSize {
                            bytes: message_size.bytes.saturating_add(size as u64),
                            ..*message_size
                        };
                        // Checked before the data is read (Dovecot's early quota check):
                        // a client waiting for "+ OK" gets the NO instead.
                        match self.check_message_size(total) {
                            Err(e) => Err(e),
                            Ok(()) => {
                                done.literal_read = true;
                                *message_size = total;
                                self.stream_literal(size, sync, *binary)?
                            }
                        }
                    }
                    None => Ok(()),
                },
            };
            if let Err(e) = result {
                done.error = Some(CommandError::no(e.code(false), e.text));
                return Ok(done);
            }
        }
        Ok(done)
    }

    /// Sends `+ OK` for a synchronizing literal, then hands the data to storage; what storage
    /// leaves unread is read and dropped. `Err`: the connection broke.
    fn stream_literal(
        &mut self,
        size: usize,
        sync: bool,
        binary: bool,
    ) -> Step<Result<(), MailError>> {
        if sync {
            self.line(b"+ OK")?;
            self.flush()?;
        }
        let waiting = Instant::now();
        let mut data = LiteralReader {
            reader: &mut self.reader,
            remaining: size,
        };
        let stored = self.mail.append_data(&mut data, binary);
        let drained = io::copy(&mut data, &mut io::sink());
        self.current.waited += waiting.elapsed();
        if let Err(e) = drained {
            self.mail.append_abort();
            return Err(read_error(&e));
        }
        Ok(stored)
    }

    /// Reads and drops a literal (after a failure, for a client that does not wait).
    pub(super) fn skip_literal(&mut self, size: usize) -> Step {
        let mut data = LiteralReader {
            reader: &mut self.reader,
            remaining: size,
        };
        io::copy(&mut data, &mut io::sink())
            .map(|_| ())
            .map_err(|e| read_error(&e))
    }
}

fn read_error(e: &io::Error) -> Disconnect {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Disconnect::ClientClosed,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Disconnect::Inactivity,
        _ => Disconnect::ReadFailed(crate::errtext::os_error_text(e)),
    }
}
