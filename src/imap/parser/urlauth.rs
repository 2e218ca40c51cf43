//! The arguments of URLAUTH's commands (RFC 4467, URLFETCH's extended form from RFC 5524),
//! read as Dovecot 2.3's `cmd-genurlauth.c`, `cmd-resetkey.c` and `cmd-urlfetch.c` read
//! them, with their error texts.

use super::command::{decode_name, CommandError, ParseContext};
use super::Arg;

/// GENURLAUTH: `(rump URL, mechanism)` pairs, in order. `invalid_after`: the arguments after
/// the pairs are not another pair (Dovecot finds that only when it gets there, after
/// generating the URLs before it: their errors come first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenUrlAuth {
    pub pairs: Vec<(String, String)>,
    pub invalid_after: bool,
}

/// RESETKEY: no mailbox (all keys), or a mailbox with mechanisms (`None`: one of them is
/// not an astring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetKey {
    All,
    Mailbox {
        mailbox: String,
        mechanisms: Option<Vec<String>>,
    },
}

/// What URLFETCH's extended form asks for a URL (RFC 5524); `None` in [`FetchUrl`] for the
/// plain form, which answers the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FetchParams {
    pub body_part_structure: bool,
    pub binary: bool,
    /// `BODY`; also when nothing is asked (`(url)`).
    pub body: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchUrl {
    pub url: String,
    pub extended: Option<FetchParams>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `GENURLAUTH url mechanism [url mechanism ...]`: the URL an astring, the mechanism an
/// atom.
pub fn parse_genurlauth(args: &[Arg]) -> GenUrlAuth {
    let mut pairs = Vec::new();
    let mut rest = args;
    while !rest.is_empty() {
        match rest {
            [url, Arg::Atom(mechanism), tail @ ..] if url.as_astring().is_some() => {
                pairs.push((
                    text(url.as_astring().unwrap_or_default()),
                    mechanism.clone(),
                ));
                rest = tail;
            }
            _ => {
                return GenUrlAuth {
                    pairs,
                    invalid_after: true,
                }
            }
        }
    }
    GenUrlAuth {
        pairs,
        invalid_after: false,
    }
}

/// `RESETKEY [mailbox [mechanism ...]]`.
pub fn parse_resetkey(args: &[Arg], ctx: &ParseContext) -> Result<ResetKey, CommandError> {
    let Some((first, mechanisms)) = args.split_first() else {
        return Ok(ResetKey::All);
    };
    let mailbox = first
        .as_astring()
        .ok_or_else(CommandError::invalid_arguments)?;
    let mechanisms = mechanisms
        .iter()
        .map(|m| m.as_astring().map(text))
        .collect::<Option<Vec<String>>>();
    Ok(ResetKey::Mailbox {
        mailbox: decode_name(mailbox, ctx)?,
        mechanisms,
    })
}

/// `URLFETCH url ...`, each URL an astring or `(url [BODYPARTSTRUCTURE] [BINARY|BODY])`.
pub fn parse_urlfetch(args: &[Arg]) -> Result<Vec<FetchUrl>, CommandError> {
    if args.is_empty() {
        return Err(CommandError::invalid_arguments());
    }
    args.iter().map(parse_fetch_url).collect()
}

fn parse_fetch_url(arg: &Arg) -> Result<FetchUrl, CommandError> {
    let (url, params) = match arg {
        Arg::List(items) => match items.split_first() {
            Some((url, params)) => (url, Some(params)),
            None => return Err(CommandError::invalid_arguments()),
        },
        url => (url, None),
    };
    let url = url
        .as_astring()
        .map(text)
        .ok_or_else(CommandError::invalid_arguments)?;
    let Some(params) = params else {
        return Ok(FetchUrl {
            url,
            extended: None,
        });
    };
    let mut asked = FetchParams::default();
    for param in params {
        let Arg::Atom(name) = param else {
            return Err(CommandError::bad("Invalid URL fetch parameter."));
        };
        match name.to_ascii_uppercase().as_str() {
            "BODY" => asked.body = true,
            "BINARY" => asked.binary = true,
            "BODYPARTSTRUCTURE" => asked.body_part_structure = true,
            _ => {
                return Err(CommandError::bad(format!(
                    "Unknown URL fetch parameter: {name}"
                )))
            }
        }
    }
    if asked.body && asked.binary {
        return Err(CommandError::bad(
            "URL cannot have both BODY and BINARY fetch parameters.",
        ));
    }
    if asked == FetchParams::default() {
        asked.body = true;
    }
    Ok(FetchUrl {
        url,
        extended: Some(asked),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn quoted(s: &str) -> Arg {
        Arg::Quoted(s.as_bytes().to_vec())
    }

    #[test]
    fn genurlauth_pairs() {
        let got = parse_genurlauth(&[quoted("u1"), atom("INTERNAL"), atom("u2"), atom("x")]);
        assert_eq!(
            got.pairs,
            vec![("u1".into(), "INTERNAL".into()), ("u2".into(), "x".into())]
        );
        assert!(!got.invalid_after);
        let got = parse_genurlauth(&[quoted("u1"), atom("INTERNAL"), quoted("u2"), quoted("m")]);
        assert_eq!(got.pairs.len(), 1);
        assert!(got.invalid_after);
        assert!(parse_genurlauth(&[quoted("u1")]).invalid_after);
        assert_eq!(
            parse_genurlauth(&[]),
            GenUrlAuth {
                pairs: Vec::new(),
                invalid_after: false
            }
        );
    }

    #[test]
    fn resetkey_forms() {
        let ctx = ParseContext::default();
        assert_eq!(parse_resetkey(&[], &ctx), Ok(ResetKey::All));
        assert_eq!(
            parse_resetkey(&[atom("INBOX"), atom("INTERNAL")], &ctx),
            Ok(ResetKey::Mailbox {
                mailbox: "INBOX".into(),
                mechanisms: Some(vec!["INTERNAL".into()])
            })
        );
        assert_eq!(
            parse_resetkey(&[atom("INBOX"), Arg::List(vec![])], &ctx),
            Ok(ResetKey::Mailbox {
                mailbox: "INBOX".into(),
                mechanisms: None
            })
        );
        assert_eq!(
            parse_resetkey(&[Arg::List(vec![])], &ctx),
            Err(CommandError::invalid_arguments())
        );
    }

    #[test]
    fn urlfetch_forms_and_errors() {
        let got = parse_urlfetch(&[
            atom("u1"),
            Arg::List(vec![quoted("u2")]),
            Arg::List(vec![atom("u3"), atom("binary"), atom("BODYPARTSTRUCTURE")]),
        ])
        .unwrap();
        assert_eq!(got[0].extended, None);
        assert_eq!(
            got[1].extended,
            Some(FetchParams {
                body: true,
                ..FetchParams::default()
            })
        );
        assert_eq!(
            got[2].extended,
            Some(FetchParams {
                binary: true,
                body_part_structure: true,
                body: false
            })
        );
        let err = |args: &[Arg]| match parse_urlfetch(args) {
            Err(CommandError::Bad(text)) => text,
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&[]), "Invalid arguments.");
        assert_eq!(err(&[Arg::List(vec![])]), "Invalid arguments.");
        assert_eq!(
            err(&[Arg::List(vec![atom("u"), quoted("BODY")])]),
            "Invalid URL fetch parameter."
        );
        assert_eq!(
            err(&[Arg::List(vec![atom("u"), atom("FOO")])]),
            "Unknown URL fetch parameter: FOO"
        );
        assert_eq!(
            err(&[Arg::List(vec![atom("u"), atom("BODY"), atom("BINARY")])]),
            "URL cannot have both BODY and BINARY fetch parameters."
        );
    }
}
