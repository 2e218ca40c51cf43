//! IMAP responses as Dovecot 2.3 writes them: status responses with response codes, the
//! timing Dovecot appends to every tagged reply, and literals.

use std::fmt;
use std::time::Duration;

use crate::imap::seqset::format_set;
use crate::index::uidset::UidSet;

/// The status of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    Preauth,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::Preauth => "PREAUTH",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response code (`resp-text-code`), the part in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    Alert,
    Parse,
    /// The flags as written (`\Answered \Flagged ... \*`).
    PermanentFlags(String),
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    Unseen(u32),
    /// RFC 7162: the previous mailbox was closed by SELECT/EXAMINE.
    Closed,
    HighestModseq(u64),
    NoModseq,
    /// RFC 7162: messages UNCHANGEDSINCE did not store (`1:3,5`).
    Modified(UidSet),
    /// RFC 4315: UIDVALIDITY and the appended UIDs.
    AppendUid(u32, UidSet),
    /// RFC 4315: UIDVALIDITY, source UIDs, destination UIDs.
    CopyUid(u32, UidSet, UidSet),
    /// RFC 5530 and Dovecot's.
    Unavailable,
    ServerBug,
    ClientBug,
    Cannot,
    Limit,
    OverQuota,
    AlreadyExists,
    Nonexistent,
    NoPerm,
    InUse,
    ExpungeIssued,
    Corruption,
    ContactAdmin,
    /// RFC 3516: BINARY could not decode a part.
    UnknownCte,
    /// RFC 3501: the charsets SEARCH knows (Dovecot sends none).
    BadCharset,
    Capability(String),
    /// RFC 5092/4469 CATENATE: the URL that failed.
    BadUrl(String),
    /// RFC 4978 etc. can add theirs later.
    Other(String),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Alert => f.write_str("ALERT"),
            Code::Parse => f.write_str("PARSE"),
            Code::PermanentFlags(flags) => write!(f, "PERMANENTFLAGS ({flags})"),
            Code::ReadOnly => f.write_str("READ-ONLY"),
            Code::ReadWrite => f.write_str("READ-WRITE"),
            Code::TryCreate => f.write_str("TRYCREATE"),
            Code::UidNext(n) => write!(f, "UIDNEXT {n}"),
            Code::UidValidity(n) => write!(f, "UIDVALIDITY {n}"),
            Code::Unseen(n) => write!(f, "UNSEEN {n}"),
            Code::Closed => f.write_str("CLOSED"),
            Code::HighestModseq(n) => write!(f, "HIGHESTMODSEQ {n}"),
            Code::NoModseq => f.write_str("NOMODSEQ"),
            Code::Modified(set) => write!(f, "MODIFIED {}", format_set(set)),
            Code::AppendUid(validity, uids) => {
                write!(f, "APPENDUID {validity} {}", format_set(uids))
            }
            Code::CopyUid(validity, src, dst) => {
                write!(
                    f,
                    "COPYUID {validity} {} {}",
                    format_set(src),
                    format_set(dst)
                )
            }
            Code::Unavailable => f.write_str("UNAVAILABLE"),
            Code::ServerBug => f.write_str("SERVERBUG"),
            Code::ClientBug => f.write_str("CLIENTBUG"),
            Code::Cannot => f.write_str("CANNOT"),
            Code::Limit => f.write_str("LIMIT"),
            Code::OverQuota => f.write_str("OVERQUOTA"),
            Code::AlreadyExists => f.write_str("ALREADYEXISTS"),
            Code::Nonexistent => f.write_str("NONEXISTENT"),
            Code::NoPerm => f.write_str("NOPERM"),
            Code::InUse => f.write_str("INUSE"),
            Code::ExpungeIssued => f.write_str("EXPUNGEISSUED"),
            Code::Corruption => f.write_str("CORRUPTION"),
            Code::ContactAdmin => f.write_str("CONTACTADMIN"),
            Code::UnknownCte => f.write_str("UNKNOWN-CTE"),
            Code::BadCharset => f.write_str("BADCHARSET"),
            Code::Capability(caps) => write!(f, "CAPABILITY {caps}"),
            Code::BadUrl(url) => write!(f, "BADURL {url}"),
            Code::Other(text) => f.write_str(text),
        }
    }
}

/// `[CODE] text` or `text`.
pub fn resp_text(code: Option<&Code>, text: &str) -> String {
    match code {
        Some(code) => format!("[{code}] {text}"),
        None => text.to_string(),
    }
}

/// `* STATUS [CODE] text`: an untagged status response.
pub fn untagged(status: Status, code: Option<&Code>, text: &str) -> Vec<u8> {
    format!("* {status} {}", resp_text(code, text)).into_bytes()
}

/// How long a command took, as Dovecot reports it in every tagged reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Time spent running the command.
    pub running: Duration,
    /// Time the command spent waiting for the client (literal data, IDLE's DONE) or for
    /// locks, during which it did not run.
    pub waiting: Duration,
    /// Time since the command last ran, when it did not finish in its last run (Dovecot's
    /// third number; left out when zero).
    pub since_last_run: Duration,
}

impl Timing {
    /// ` (0.001 + 0.000 secs).`: Dovecot counts whole milliseconds, rounded up.
    pub fn suffix(&self) -> String {
        let msecs = |d: Duration| {
            let ms = d.as_micros().div_ceil(1000);
            format!("{}.{:03}", ms / 1000, ms % 1000)
        };
        let mut out = format!(" ({} + {} ", msecs(self.running), msecs(self.waiting));
        if !self.since_last_run.is_zero() {
            out.push_str(&format!("+ {} ", msecs(self.since_last_run)));
        }
        out.push_str("secs).");
        out
    }
}

/// A tagged status response: `tag STATUS [CODE] text`, and with `timing` the text's final
/// period replaced by Dovecot's ` (n.nnn + n.nnn secs).`. An empty tag is written `*`, as
/// Dovecot does for a command whose tag could not be read.
pub fn tagged(
    tag: &str,
    status: Status,
    code: Option<&Code>,
    text: &str,
    timing: Option<&Timing>,
) -> Vec<u8> {
    let tag = if tag.is_empty() { "*" } else { tag };
    let mut line = format!("{tag} {status} {}", resp_text(code, text));
    if let Some(timing) = timing {
        if line.ends_with('.') {
            line.pop();
        }
        line.push_str(&timing.suffix());
    }
    line.into_bytes()
}

/// Appends `{n}\r\n` and the data, or `~{n}\r\n` for a literal8 (RFC 3516).
pub fn append_literal(out: &mut Vec<u8>, data: &[u8], literal8: bool) {
    if literal8 {
        out.push(b'~');
    }
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn tagged_lines_as_dovecot() {
        let timing = Timing {
            running: Duration::from_micros(1),
            waiting: Duration::ZERO,
            since_last_run: Duration::ZERO,
        };
        assert_eq!(
            tagged("a", Status::Ok, None, "Fetch completed.", Some(&timing)),
            b"a OK Fetch completed (0.001 + 0.000 secs).".to_vec()
        );
        assert_eq!(
            tagged(
                "b",
                Status::No,
                None,
                "Mailbox doesn't exist: X",
                Some(&timing)
            ),
            b"b NO Mailbox doesn't exist: X (0.001 + 0.000 secs).".to_vec()
        );
        assert_eq!(
            tagged(
                "",
                Status::Bad,
                None,
                "Error in IMAP tag: Invalid tag.",
                None
            ),
            b"* BAD Error in IMAP tag: Invalid tag.".to_vec()
        );
        let slow = Timing {
            running: ms(12_345),
            waiting: ms(2),
            since_last_run: Duration::from_micros(1_000_001),
        };
        assert_eq!(slow.suffix(), " (12.345 + 0.002 + 1.001 secs).");
        assert_eq!(
            tagged(
                "c",
                Status::Ok,
                Some(&Code::ReadWrite),
                "Select completed.",
                None
            ),
            b"c OK [READ-WRITE] Select completed.".to_vec()
        );
    }

    #[test]
    fn codes() {
        let set = |v: &[u32]| v.iter().copied().collect::<UidSet>();
        assert_eq!(
            Code::CopyUid(7, set(&[1, 2, 3, 5]), set(&[10, 11, 12, 13])).to_string(),
            "COPYUID 7 1:3,5 10:13"
        );
        assert_eq!(Code::AppendUid(1, set(&[4])).to_string(), "APPENDUID 1 4");
        assert_eq!(Code::Modified(set(&[1, 2])).to_string(), "MODIFIED 1:2");
        assert_eq!(
            Code::PermanentFlags("\\Seen \\*".into()).to_string(),
            "PERMANENTFLAGS (\\Seen \\*)"
        );
        assert_eq!(
            untagged(Status::Ok, Some(&Code::UidNext(6)), "Predicted next UID"),
            b"* OK [UIDNEXT 6] Predicted next UID".to_vec()
        );
    }

    #[test]
    fn literals() {
        let mut out = Vec::new();
        append_literal(&mut out, b"ab", false);
        append_literal(&mut out, b"\0", true);
        assert_eq!(out, b"{2}\r\nab~{1}\r\n\0");
    }
}
