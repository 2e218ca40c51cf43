//! The ID command (RFC 2971): reading the client's parameters, building the server's answer
//! from `imap_id_send`, and the `imap_id_log` line.

use crate::imap::parser::{Arg, CommandParser, ParserLimits, Progress};
use crate::imap::quote::{append_nstring, append_quoted};
use crate::log::str_sanitize;

/// RFC 2971 limits field names to 30 octets; Dovecot refuses longer ones.
pub const ID_KEY_MAX_LEN: usize = 30;
/// Dovecot logs at most this many bytes of each value.
const ID_LOG_VALUE_MAX_LEN: usize = 80;

/// The client's ID parameters, in order. A `None` value is NIL.
pub type IdParams = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The client's ID arguments are not `NIL` or a list of string/nstring pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIdParams;

/// Reads `ID (key value ...)` or `ID NIL` the way Dovecot's imap-login does: keys are strings
/// (not atoms) of at most 30 bytes, values strings or NIL, a key without a value is ignored,
/// and so is anything after the first argument. No argument at all is accepted as NIL.
pub fn parse_id_params(args: &[Arg]) -> Result<IdParams, InvalidIdParams> {
    let items = match args.first() {
        None => return Ok(Vec::new()),
        Some(arg) if arg.is_nil() => return Ok(Vec::new()),
        Some(Arg::List(items)) => items,
        Some(_) => return Err(InvalidIdParams),
    };
    let mut params = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks(2) {
        let key = pair[0].as_string().ok_or(InvalidIdParams)?;
        if key.len() > ID_KEY_MAX_LEN {
            return Err(InvalidIdParams);
        }
        let Some(value) = pair.get(1) else {
            break;
        };
        let value = value.as_nstring().ok_or(InvalidIdParams)?;
        params.push((key.to_vec(), value.map(<[u8]>::to_vec)));
    }
    Ok(params)
}

/// The `* ID` answer for `imap_id_send` (without the `* ID ` prefix): `NIL`, or a list of
/// quoted keys and nstring values where a value `*` is replaced by cote's own.
pub fn id_reply(imap_id_send: &str) -> Vec<u8> {
    let limits = ParserLimits {
        max_line: usize::MAX,
        max_token: usize::MAX,
        max_lists: 0,
        max_depth: 8,
        max_tag: 0,
        literal_minus: false,
    };
    let args = match CommandParser::new(limits).args_of_line(imap_id_send.as_bytes()) {
        Ok(Progress::Done(args)) => args,
        Ok(Progress::Literal { .. }) | Err(_) => return b"NIL".to_vec(),
    };
    let mut out = vec![b'('];
    let mut rest = &args[..];
    while let Some((key, tail)) = rest.split_first() {
        let Some(key) = key.as_astring() else {
            // Dovecot skips an unusable key together with its value.
            rest = tail.get(1..).unwrap_or(&[]);
            continue;
        };
        if out.len() > 1 {
            out.push(b' ');
        }
        append_quoted(&mut out, key);
        out.push(b' ');
        let Some((value, tail)) = tail.split_first() else {
            out.extend_from_slice(b"NIL");
            break;
        };
        let value = match value.as_astring() {
            Some(b"*") => default_id_value(key),
            Some(v) => Some(v.to_vec()),
            None => None,
        };
        append_nstring(&mut out, value.as_deref());
        rest = tail;
    }
    if out.len() == 1 {
        return b"NIL".to_vec();
    }
    out.push(b')');
    out
}

/// cote's value for an ID field the configuration asks for with `*`.
fn default_id_value(key: &[u8]) -> Option<Vec<u8>> {
    let key = String::from_utf8_lossy(key).to_ascii_lowercase();
    let value = match key.as_str() {
        "name" => Some("cote".to_string()),
        "version" => Some(env!("CARGO_PKG_VERSION").to_string()),
        "os" => uname_field(UnameField::Sysname),
        "os-version" => uname_field(UnameField::Release),
        "support-url" => non_empty(env!("CARGO_PKG_REPOSITORY")),
        // cote has no build revision or support address to announce.
        _ => None,
    };
    value.map(String::into_bytes)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

enum UnameField {
    Sysname,
    Release,
}

fn uname_field(field: UnameField) -> Option<String> {
    // SAFETY: uname() fills the zeroed struct; its fields are NUL-terminated arrays.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let chars = match field {
        UnameField::Sysname => &uts.sysname[..],
        UnameField::Release => &uts.release[..],
    };
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The text after `ID sent: ` for `imap_id_log` (`*` for every key, or a space-separated list
/// of keys), or `None` when ID logging is off. Keys and values are sanitized as Dovecot does.
pub fn id_log_text(params: &IdParams, imap_id_log: &str) -> Option<String> {
    if imap_id_log.is_empty() {
        return None;
    }
    let wanted: Vec<&str> = imap_id_log.split(' ').filter(|k| !k.is_empty()).collect();
    let log_all = imap_id_log == "*";
    let entries: Vec<String> = params
        .iter()
        .filter(|(key, _)| {
            log_all
                || wanted
                    .iter()
                    .any(|w| w.as_bytes().eq_ignore_ascii_case(key))
        })
        .map(|(key, value)| {
            let value = match value {
                Some(v) => str_sanitize(v, ID_LOG_VALUE_MAX_LEN),
                None => "NIL".to_string(),
            };
            format!("{}={}", str_sanitize(key, ID_KEY_MAX_LEN), value)
        })
        .collect();
    Some(entries.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Arg {
        Arg::Quoted(s.as_bytes().to_vec())
    }

    fn reply(setting: &str) -> String {
        String::from_utf8(id_reply(setting)).unwrap()
    }

    #[test]
    fn params_like_dovecot() {
        let nil = Arg::Atom("NIL".into());
        assert_eq!(parse_id_params(&[]), Ok(vec![]));
        assert_eq!(parse_id_params(&[nil.clone(), q("junk")]), Ok(vec![]));
        assert_eq!(
            parse_id_params(&[Arg::List(vec![
                q("name"),
                q("foo"),
                Arg::Literal(b"os".to_vec()),
                nil.clone(),
                q("odd")
            ])]),
            Ok(vec![
                (b"name".to_vec(), Some(b"foo".to_vec())),
                (b"os".to_vec(), None)
            ])
        );
        let invalid = [
            vec![Arg::List(vec![Arg::Atom("name".into()), q("foo")])],
            vec![Arg::List(vec![q("name"), Arg::Atom("foo".into())])],
            vec![Arg::List(vec![q("a"), Arg::List(vec![q("b")])])],
            vec![Arg::List(vec![q(&"k".repeat(31)), q("v")])],
            vec![q("x")],
            vec![Arg::Atom("5".into())],
        ];
        for args in invalid {
            assert_eq!(parse_id_params(&args), Err(InvalidIdParams), "{args:?}");
        }
        assert!(parse_id_params(&[Arg::List(vec![q(&"k".repeat(30)), q("v")])]).is_ok());
    }

    #[test]
    fn reply_from_setting() {
        assert_eq!(reply("name *"), "(\"name\" \"cote\")");
        assert_eq!(
            reply("name * version *"),
            format!(
                "(\"name\" \"cote\" \"version\" \"{}\")",
                env!("CARGO_PKG_VERSION")
            )
        );
        // As observed on Dovecot: NIL keys and values are the text "NIL", a last key without
        // a value gets NIL, unknown `*` keys are NIL.
        assert_eq!(
            reply("x-foo bar \"Quoted Key\" \"v\" NIL nil x-nil NIL x-empty \"\" revision * nokey"),
            "(\"x-foo\" \"bar\" \"Quoted Key\" \"v\" \"NIL\" \"nil\" \"x-nil\" \"NIL\" \
             \"x-empty\" \"\" \"revision\" NIL \"nokey\" NIL)"
        );
        assert_eq!(reply(""), "NIL");
        assert_eq!(reply("NIL"), "(\"NIL\" NIL)");
        // A setting that does not parse as IMAP gives NIL, as in Dovecot.
        assert_eq!(reply("a \"a\\\\\"b\" c"), "NIL");
        assert_eq!(reply("(list) v name x"), "(\"name\" \"x\")");
        assert_eq!(reply("k (list)"), "(\"k\" NIL)");
        assert_eq!(reply("k \"\u{e9}\""), "(\"k\" {2}\r\n\u{e9})");
        assert!(reply("os *").starts_with("(\"os\" \""));
    }

    #[test]
    fn log_text() {
        let params: IdParams = vec![
            (b"name".to_vec(), Some(b"foo\"bar".to_vec())),
            (b"version".to_vec(), Some(b"1\x01\xff".to_vec())),
            (b"os".to_vec(), None),
            (b"k".repeat(30), Some(b"y".repeat(100))),
        ];
        assert_eq!(id_log_text(&params, ""), None);
        assert_eq!(
            id_log_text(&params, "*").unwrap(),
            format!(
                "name=foo\"bar, version=1??, os=NIL, {}={}...",
                "k".repeat(30),
                "y".repeat(77)
            )
        );
        assert_eq!(
            id_log_text(&params, "NAME os").unwrap(),
            "name=foo\"bar, os=NIL"
        );
        assert_eq!(id_log_text(&vec![], "*").unwrap(), "");
    }
}
