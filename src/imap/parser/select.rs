//! SELECT and EXAMINE with their CONDSTORE and QRESYNC parameters (RFC 7162).

use super::command::{atom, decode_name, list, CommandError, ParseContext};
use super::Arg;
use crate::imap::seqset::SequenceSet;

/// `SELECT mailbox [(CONDSTORE | QRESYNC (...))]`, or EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub mailbox: String,
    /// EXAMINE.
    pub read_only: bool,
    /// `(CONDSTORE)`: enables CONDSTORE before the mailbox opens.
    pub condstore: bool,
    pub qresync: Option<Qresync>,
}

/// `QRESYNC (uidvalidity modseq [known-uids] [(known-seqs known-uids)])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qresync {
    pub uid_validity: u32,
    pub modseq: u64,
    /// Absent: all UIDs (`1:*`).
    pub known_uids: Option<SequenceSet>,
    /// The message sequence match data: sequence numbers and the UIDs they had.
    pub known_map: Option<(SequenceSet, SequenceSet)>,
}

/// The errors that also close the selected mailbox first (`* OK [CLOSED]`) are the caller's
/// business: every error of SELECT does, as in Dovecot.
pub fn parse_select(
    args: &[Arg],
    read_only: bool,
    ctx: &ParseContext,
) -> Result<Select, CommandError> {
    let mailbox = args
        .first()
        .and_then(Arg::as_astring)
        .ok_or_else(CommandError::invalid_arguments)?;
    let mailbox = decode_name(mailbox, ctx)?;
    let mut select = Select {
        mailbox,
        read_only,
        condstore: false,
        qresync: None,
    };
    // Dovecot ignores whatever follows, and a second argument that is not a list.
    let Some(options) = list(args.get(1)) else {
        return Ok(select);
    };
    let mut i = 0;
    while i < options.len() {
        let name = atom(options.get(i))
            .ok_or_else(|| CommandError::bad("SELECT options contain non-atoms."))?;
        i += 1;
        match name.to_ascii_uppercase().as_str() {
            "CONDSTORE" => select.condstore = true,
            "QRESYNC" => {
                select.qresync = Some(parse_qresync(options.get(i), ctx)?);
                i += 1;
            }
            // Dovecot's text.
            _ => return Err(CommandError::bad("Unknown FETCH modifier")),
        }
    }
    Ok(select)
}

fn parse_qresync(arg: Option<&Arg>, ctx: &ParseContext) -> Result<Qresync, CommandError> {
    if !ctx.qresync {
        return Err(CommandError::bad("QRESYNC not enabled"));
    }
    let params = list(arg).ok_or_else(|| CommandError::bad("QRESYNC parameters missing"))?;
    let invalid = || CommandError::bad("Invalid QRESYNC parameters");
    let uid_validity = atom(params.first())
        .and_then(number::<u32>)
        .ok_or_else(invalid)?;
    let modseq = atom(params.get(1))
        .and_then(number::<u64>)
        .ok_or_else(invalid)?;
    let mut rest = &params[2..];
    let mut known_uids = None;
    if let Some(set) = atom(rest.first()) {
        known_uids = Some(
            SequenceSet::parse_without_star(set.as_bytes())
                .map_err(|_| CommandError::bad("Invalid QRESYNC known-uids"))?,
        );
        rest = &rest[1..];
    }
    let mut known_map = None;
    if let Some(map) = list(rest.first()) {
        let seqs = atom(map.first())
            .and_then(|a| SequenceSet::parse_without_star(a.as_bytes()).ok())
            .ok_or_else(|| CommandError::bad("Invalid QRESYNC known-sequence-set"))?;
        let uids = atom(map.get(1))
            .and_then(|a| SequenceSet::parse_without_star(a.as_bytes()).ok())
            .ok_or_else(|| CommandError::bad("Invalid QRESYNC known-uid-set"))?;
        let count = |s: &SequenceSet| {
            s.ranges()
                .iter()
                .map(|&(a, b)| u64::from(b - a) + 1)
                .sum::<u64>()
        };
        if count(&seqs) != count(&uids) {
            return Err(CommandError::bad("Invalid QRESYNC sets"));
        }
        if map.len() > 2 {
            return Err(CommandError::bad(
                "Too many parameters to QRESYNC known set",
            ));
        }
        known_map = Some((seqs, uids));
        rest = &rest[1..];
    }
    if !rest.is_empty() {
        return Err(invalid());
    }
    Ok(Qresync {
        uid_validity,
        modseq,
        known_uids,
        known_map,
    })
}

/// A decimal number as Dovecot's `str_to_uint32`/`str_to_uint64` reads it: digits only, no
/// overflow.
pub(crate) fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn l(items: Vec<Arg>) -> Arg {
        Arg::List(items)
    }

    fn qresync_ctx() -> ParseContext {
        ParseContext {
            qresync: true,
            ..ParseContext::default()
        }
    }

    fn err(args: &[Arg], ctx: &ParseContext) -> String {
        match parse_select(args, false, ctx) {
            Err(CommandError::Bad(text)) => text,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options() {
        let ctx = ParseContext::default();
        let s = parse_select(&[a("INBOX"), l(vec![a("condstore")])], true, &ctx).unwrap();
        assert!(s.condstore && s.read_only && s.qresync.is_none());
        // Extra arguments and a non-list second argument are ignored.
        assert!(parse_select(&[a("INBOX"), a("foo"), a("bar")], false, &ctx).is_ok());
        assert_eq!(err(&[], &ctx), "Invalid arguments.");
        assert_eq!(err(&[l(vec![a("INBOX")])], &ctx), "Invalid arguments.");
        assert_eq!(
            err(&[a("INBOX"), l(vec![a("FOO")])], &ctx),
            "Unknown FETCH modifier"
        );
        assert_eq!(
            err(
                &[a("INBOX"), l(vec![Arg::Quoted(b"CONDSTORE".to_vec())])],
                &ctx
            ),
            "SELECT options contain non-atoms."
        );
        assert_eq!(
            err(
                &[a("INBOX"), l(vec![a("QRESYNC"), l(vec![a("1"), a("1")])])],
                &ctx
            ),
            "QRESYNC not enabled"
        );
    }

    #[test]
    fn qresync_as_dovecot() {
        let ctx = qresync_ctx();
        let q = |params: Vec<Arg>| vec![a("INBOX"), l(vec![a("QRESYNC"), l(params)])];
        let s = parse_select(
            &q(vec![a("7"), a("99"), a("1:5"), l(vec![a("1,3"), a("2,9")])]),
            false,
            &ctx,
        )
        .unwrap();
        let qr = s.qresync.unwrap();
        assert_eq!((qr.uid_validity, qr.modseq), (7, 99));
        assert_eq!(qr.known_uids.unwrap().to_string(), "1:5");
        assert_eq!(qr.known_map.unwrap().1.to_string(), "2,9");
        let cases: Vec<(Vec<Arg>, &str)> = vec![
            (vec![a("x"), a("1")], "Invalid QRESYNC parameters"),
            (vec![a("1")], "Invalid QRESYNC parameters"),
            (vec![a("1"), a("1"), a("x")], "Invalid QRESYNC known-uids"),
            (vec![a("1"), a("1"), a("1:*")], "Invalid QRESYNC known-uids"),
            (
                vec![a("1"), a("1"), a("1:5"), l(vec![a("x"), a("1")])],
                "Invalid QRESYNC known-sequence-set",
            ),
            (
                vec![a("1"), a("1"), a("1:5"), l(vec![a("1"), a("x")])],
                "Invalid QRESYNC known-uid-set",
            ),
            (
                vec![a("1"), a("1"), a("1:5"), l(vec![a("1:2"), a("1")])],
                "Invalid QRESYNC sets",
            ),
            (
                vec![a("1"), a("1"), a("1:5"), l(vec![a("1"), a("1")]), a("x")],
                "Invalid QRESYNC parameters",
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(err(&q(params), &ctx), expected);
        }
        assert_eq!(
            err(&[a("INBOX"), l(vec![a("QRESYNC")])], &ctx),
            "QRESYNC parameters missing"
        );
    }
}
