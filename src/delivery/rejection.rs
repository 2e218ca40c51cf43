//! Rejection mails, as `dovecot-lda` sends them when a delivery is refused for good and it
//! was not told `-e` (Dovecot's `mail_send_rejection`): a `multipart/report` to the message's
//! return address with `rejection_subject` and `rejection_reason`, a delivery-status part, and
//! the original header; handed to `sendmail_path` (`-i -f <> -- <address>`).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::config::var_expand::{self, Vars};
use crate::mail::date::format_message_date;
use crate::mail::Message;

/// What a rejection says and to whom.
pub struct Rejection<'a> {
    /// The refused message as received.
    pub message: &'a [u8],
    /// The address it was for (`Final-Recipient`, `%t`).
    pub recipient: &'a str,
    /// Why (`%r`).
    pub reason: &'a str,
    /// Where it goes (see [`return_address`]).
    pub to: &'a str,
    /// `postmaster_address`, expanded: the `From:`.
    pub from: &'a str,
    /// `hostname`: `Reporting-MTA` and the MIME boundary.
    pub hostname: &'a str,
    pub rejection_subject: &'a str,
    pub rejection_reason: &'a str,
    /// Refused for quota (`Status: 5.2.2`), else `5.2.0`.
    pub mailbox_full: bool,
}

/// The first value of header `name` in `message`, unfolded and trimmed.
fn header(message: &[u8], name: &str) -> Option<String> {
    let parsed = Message::parse(message[..header_end(message)].to_vec());
    parsed
        .header_fields()
        .into_iter()
        .find(|f| f.is(name))
        .map(|f| {
            String::from_utf8_lossy(&f.value_oneline())
                .trim()
                .to_string()
        })
}

/// Where the header ends (after its empty line), or the message's end.
fn header_end(message: &[u8]) -> usize {
    let mut at = 0;
    while at < message.len() {
        let line_end = message[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| at + i + 1);
        let line = &message[at..line_end];
        if line == b"\n" || line == b"\r\n" {
            return line_end;
        }
        at = line_end;
    }
    message.len()
}

/// Whether the message says it was sent automatically (`Auto-Submitted:` other than `no`):
/// those are never answered.
pub fn is_auto_submitted(message: &[u8]) -> bool {
    header(message, "Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no"))
}

/// Where a rejection goes: the envelope sender (`-f`, the `From_` line) unless it is the
/// null sender, else the message's `Return-Path:`; `None` for nowhere.
pub fn return_address(envelope_sender: Option<&str>, message: &[u8]) -> Option<String> {
    if let Some(sender) = envelope_sender.filter(|s| !s.is_empty()) {
        return Some(sender.to_string());
    }
    let path = header(message, "Return-Path")?;
    let inner = path
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!inner.is_empty()).then(|| inner.to_string())
}

/// The rejection mail (CRLF line ends).
pub fn compose(r: &Rejection<'_>, now: i64, message_id: &str) -> Vec<u8> {
    let subject = header(r.message, "Subject").unwrap_or_default();
    let subject: String = subject.chars().take(80).collect();
    let mut vars = Vars::new();
    vars.set(Some(b'n'), Some("crlf"), Some("\r\n"));
    vars.set(Some(b'r'), Some("reason"), Some(r.reason));
    vars.set(Some(b's'), Some("subject"), Some(&subject));
    vars.set(Some(b't'), Some("to"), Some(r.recipient));
    let expand = |template: &str, what: &str| {
        var_expand::expand(template, &vars).unwrap_or_else(|e| {
            log::error!("Failed to expand {what}={template}: {e}");
            String::new()
        })
    };
    let boundary = format!("{}/{}", std::process::id(), r.hostname);
    let date = format_message_date(now, crate::localtime::utc_offset_minutes(now));
    let mut out = format!(
        "Message-ID: {message_id}\r\nDate: {date}\r\nFrom: {}\r\nTo: <{}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\nSubject: {}\r\nAuto-Submitted: auto-replied (rejected)\r\n\
         Precedence: bulk\r\n\r\nThis is a MIME-encapsulated message\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        r.from,
        r.to,
        expand(r.rejection_subject, "rejection_subject"),
        expand(r.rejection_reason, "rejection_reason"),
    );
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; {}\r\n",
        r.hostname
    ));
    if let Some(original) = header(r.message, "Original-Recipient") {
        out.push_str(&format!("Original-Recipient: rfc822; {original}\r\n"));
    }
    out.push_str(&format!(
        "Final-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\n\r\n",
        r.recipient,
        if r.mailbox_full { "5.2.2" } else { "5.2.0" }
    ));
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&original_header(r.message));
    out.extend_from_slice(format!("\r\n\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// The original header without `Content-Type` (the body is not included) and without CRs,
/// up to and including its empty line.
fn original_header(message: &[u8]) -> Vec<u8> {
    let head = &message[..header_end(message)];
    let mut out = Vec::with_capacity(head.len());
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if !continuation {
            let name_end = line.iter().position(|&b| b == b':').unwrap_or(0);
            skipping = line[..name_end].eq_ignore_ascii_case(b"Content-Type");
        }
        if skipping {
            continue;
        }
        out.extend(line.iter().filter(|&&b| b != b'\r'));
    }
    out
}

/// Hands `mail` to `sendmail_path` (its words, then `-i -f <> -- <to>`) and waits for it.
pub fn send_with_sendmail(sendmail_path: &str, to: &str, mail: &[u8]) -> Result<(), String> {
    let mut words = sendmail_path.split(' ').filter(|w| !w.is_empty());
    let program = words.next().ok_or("sendmail_path is empty")?;
    let mut child = Command::new(program)
        .args(words)
        .args(["-i", "-f", "<>", "--", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "Failed to execute sendmail: {program}: {}",
                crate::errtext::os_error_text(&e)
            )
        })?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(mail));
    let status = child
        .wait()
        .map_err(|e| format!("waitpid() failed: {}", crate::errtext::os_error_text(&e)))?;
    if !status.success() {
        return Err("Sendmail program returned error".into());
    }
    match written {
        Some(Err(e)) => Err(format!(
            "write(sendmail) failed: {}",
            crate::errtext::os_error_text(&e)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"Return-Path: <ret@example.com>\r\nSubject: hello\r\n\
        Content-Type: multipart/mixed;\r\n boundary=x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";

    #[test]
    fn return_addresses() {
        assert_eq!(return_address(Some("s@x"), MESSAGE).as_deref(), Some("s@x"));
        assert_eq!(
            return_address(Some(""), MESSAGE).as_deref(),
            Some("ret@example.com")
        );
        assert_eq!(return_address(None, b"Return-Path: <>\n\nx"), None);
        assert_eq!(return_address(None, b"Subject: x\n\nx"), None);
        assert!(is_auto_submitted(b"Auto-Submitted: auto-replied\n\nx"));
        assert!(!is_auto_submitted(b"Auto-Submitted: no\n\nx"));
        assert!(!is_auto_submitted(MESSAGE));
    }

    #[test]
    fn the_rejection_as_dovecot_writes_it() {
        let r = Rejection {
            message: MESSAGE,
            recipient: "alice@example.org",
            reason: "Quota exceeded",
            to: "ret@example.com",
            from: "postmaster@example.org",
            hostname: "mx.example.org",
            rejection_subject: "Rejected: %s",
            rejection_reason: "Your message to <%t> was automatically rejected:%n%r",
            mailbox_full: true,
        };
        let text = String::from_utf8(compose(&r, 1_795_901_360, "<id@mx>")).unwrap();
        assert!(text.starts_with("Message-ID: <id@mx>\r\nDate: "), "{text}");
        for part in [
            "\r\nFrom: postmaster@example.org\r\nTo: <ret@example.com>\r\n",
            "\r\nSubject: Rejected: hello\r\nAuto-Submitted: auto-replied (rejected)\r\n",
            "Your message to <alice@example.org> was automatically rejected:\r\nQuota exceeded\r\n",
            "Reporting-MTA: dns; mx.example.org\r\nFinal-Recipient: rfc822; alice@example.org\r\n\
             Action: failed\r\nStatus: 5.2.2\r\n",
            "Content-Type: message/rfc822\r\n\r\nReturn-Path: <ret@example.com>\nSubject: hello\n\
             Message-ID: <m@x>\n\n\r\n\r\n--",
        ] {
            assert!(text.contains(part), "{part:?} in {text}");
        }
        assert!(!text.contains("boundary=x"));
        assert!(!text.contains("body"));
    }
}
