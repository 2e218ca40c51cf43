//! IDLE (RFC 2177): updates as they happen until the client sends DONE.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{Disconnect, Reply, Session, Step, WaitInput, Wake};
use crate::imap::mail_session::MailSession;
use crate::imap::parser::LineEnd;
use crate::imap::response::{Code, Status};

/// How long a change seen through inotify waits before IDLE looks (Dovecot's
/// `NOTIFY_DELAY_MSECS`): changes that come together are reported together, and the session
/// that made a change (an APPEND's \Recent) has synced it first.
pub(super) const NOTIFY_DELAY: Duration = Duration::from_millis(500);

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn idle(&mut self) -> Step<Reply> {
        if self.view.is_some() {
            // Watching starts before the first look: nothing changed in between is missed.
            let _ = self.mail.change_fd();
            self.sync(true, true, false)?;
        }
        self.line(b"+ idling")?;
        self.flush()?;
        let waiting = Instant::now();
        let mut last_output = Instant::now();
        let notify = self.settings.idle_notify_interval;
        while !self.reader.has_buffered_line() {
            let check = self.mail.idle_check_interval();
            let timeout = notify.saturating_sub(last_output.elapsed()).min(check);
            // With NOTIFY, its watch (which covers the selected mailbox too).
            let wake = self.wait_notify(timeout)?;
            if wake == Wake::Input {
                break;
            }
            if wake == Wake::Change {
                let delay = self
                    .reader
                    .get_ref()
                    .wait_input(NOTIFY_DELAY, None)
                    .map_err(|e| Disconnect::ReadFailed(crate::errtext::os_error_text(&e)))?;
                if delay == Wake::Input {
                    break;
                }
            }
            if self.view.is_some() {
                let before = self.writer.pending();
                self.sync(true, true, false)?;
                if let Some(modseq) = self
                    .enabled
                    .qresync
                    .then(|| self.highest_modseq_to_report())
                    .flatten()
                {
                    let code = Code::HighestModseq(modseq);
                    self.untagged(Status::Ok, Some(&code), "Highest")?;
                }
                if self.writer.pending() != before {
                    last_output = Instant::now();
                }
            }
            if self.notify.is_some() {
                let before = self.writer.pending();
                self.notify_check()?;
                if self.writer.pending() != before {
                    last_output = Instant::now();
                }
            }
            // Keeps NATs and firewalls from dropping an idle connection (Dovecot's keepalive).
            if last_output.elapsed() >= notify {
                self.untagged(Status::Ok, None, "Still here")?;
                last_output = Instant::now();
            }
            self.flush()?;
        }
        self.current.waited += waiting.elapsed();
        let (line, end) = self.read_line()?;
        Ok(
            if end == LineEnd::Complete && line.eq_ignore_ascii_case(b"DONE") {
                Reply::ok("Idle completed.")
            } else {
                Reply::bad("Expected DONE.")
            },
        )
    }
}
