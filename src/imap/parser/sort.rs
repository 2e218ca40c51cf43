//! SORT (RFC 5256, with RFC 5957's DISPLAYFROM/DISPLAYTO and ESORT's RETURN) and THREAD.

use super::command::{list, CommandError};
use super::search::{
    parse_program, parse_return_if_found, SearchKey, SearchReturn, ThreadAlgorithm,
};
use super::Arg;

/// A sort criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// RELEVANCY (and Dovecot's old X-SCORE): full-text search scores.
    Relevancy,
    DisplayFrom,
    DisplayTo,
}

impl SortKey {
    fn parse(name: &[u8]) -> Option<SortKey> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        Some(match name.as_str() {
            "arrival" => SortKey::Arrival,
            "cc" => SortKey::Cc,
            "date" => SortKey::Date,
            "from" => SortKey::From,
            "size" => SortKey::Size,
            "subject" => SortKey::Subject,
            "to" => SortKey::To,
            "x-score" | "relevancy" => SortKey::Relevancy,
            "displayfrom" => SortKey::DisplayFrom,
            "displayto" => SortKey::DisplayTo,
            _ => return None,
        })
    }
}

/// `SORT [RETURN (...)] (criteria) charset keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub uid: bool,
    pub returns: Option<SearchReturn>,
    /// Criteria in order, each at most once, with whether it is reversed.
    pub criteria: Vec<(SortKey, bool)>,
    pub program: Vec<SearchKey>,
    /// `RETURN (UPDATE (fetch-att))` (see [`super::search::parse_update_fetch`]).
    pub update_fetch: Vec<super::fetch::FetchItem>,
}

/// `THREAD algorithm charset keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub uid: bool,
    pub algorithm: ThreadAlgorithm,
    pub program: Vec<SearchKey>,
}

/// Dovecot's `cmd_sort`.
pub fn parse_sort(args: &[Arg], uid: bool) -> Result<Sort, CommandError> {
    let (returns, args) = parse_return_if_found(args)?;
    let criteria = list(args.first()).ok_or_else(|| CommandError::bad("Invalid sort argument."))?;
    let criteria = parse_criteria(criteria)?;
    let charset = args
        .get(1)
        .and_then(Arg::as_astring)
        .ok_or_else(|| CommandError::bad("Invalid charset argument."))?;
    let charset = String::from_utf8_lossy(charset);
    let program = parse_program(&args[2..], Some(&charset))?;
    Ok(Sort {
        uid,
        returns,
        criteria,
        program,
        update_fetch: Vec::new(),
    })
}

/// The sort program (Dovecot's `get_sort_program`): a repeated criterion counts once,
/// REVERSE applies to the next one and toggles.
fn parse_criteria(args: &[Arg]) -> Result<Vec<(SortKey, bool)>, CommandError> {
    if args.is_empty() {
        return Err(CommandError::bad("Empty sort program."));
    }
    let mut criteria: Vec<(SortKey, bool)> = Vec::new();
    let mut reverse = false;
    let mut last_reverse = false;
    for arg in args {
        let Some(name) = arg.as_astring() else {
            return Err(CommandError::bad("Invalid sort list argument."));
        };
        last_reverse = name.eq_ignore_ascii_case(b"reverse");
        if last_reverse {
            reverse = !reverse;
            continue;
        }
        let key = SortKey::parse(name).ok_or_else(|| {
            CommandError::bad(format!(
                "Unknown sort argument: {}",
                String::from_utf8_lossy(name)
            ))
        })?;
        if criteria.iter().all(|&(k, _)| k != key) {
            criteria.push((key, reverse));
        }
        reverse = false;
    }
    if last_reverse {
        return Err(CommandError::bad("Sort list ends with REVERSE."));
    }
    Ok(criteria)
}

/// Dovecot's `cmd_thread`.
pub fn parse_thread(args: &[Arg], uid: bool) -> Result<Thread, CommandError> {
    let (Some(algorithm), Some(charset)) = (
        args.first().and_then(Arg::as_astring),
        args.get(1).and_then(Arg::as_astring),
    ) else {
        return Err(CommandError::invalid_arguments());
    };
    let algorithm = std::str::from_utf8(algorithm)
        .ok()
        .and_then(ThreadAlgorithm::parse)
        .ok_or_else(|| CommandError::bad("Unknown thread algorithm."))?;
    let charset = String::from_utf8_lossy(charset);
    let program = parse_program(&args[2..], Some(&charset))?;
    Ok(Thread {
        uid,
        algorithm,
        program,
    })
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

    fn sort_err(args: &[Arg]) -> String {
        match parse_sort(args, false) {
            Err(e) => e.to_string(),
            Ok(s) => panic!("{s:?}"),
        }
    }

    #[test]
    fn sort() {
        let s = parse_sort(
            &[
                l(vec![a("REVERSE"), a("date"), a("subject"), a("DATE")]),
                a("UTF-8"),
                a("ALL"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            s.criteria,
            [(SortKey::Date, true), (SortKey::Subject, false)]
        );
        let s = parse_sort(
            &[
                a("RETURN"),
                l(vec![a("MIN")]),
                l(vec![a("ARRIVAL")]),
                a("UTF-8"),
                a("ALL"),
            ],
            false,
        )
        .unwrap();
        assert!(s.returns.unwrap().min);
        let cases: Vec<(Vec<Arg>, &str)> = vec![
            (
                vec![l(vec![]), a("UTF-8"), a("ALL")],
                "BAD Empty sort program.",
            ),
            (
                vec![l(vec![a("FOO")]), a("UTF-8"), a("ALL")],
                "BAD Unknown sort argument: FOO",
            ),
            (
                vec![l(vec![a("DATE"), a("REVERSE")]), a("UTF-8"), a("ALL")],
                "BAD Sort list ends with REVERSE.",
            ),
            (vec![l(vec![a("DATE")])], "BAD Invalid charset argument."),
            (
                vec![l(vec![a("DATE")]), a("UTF-8")],
                "BAD Missing search parameters",
            ),
            (
                vec![a("DATE"), a("UTF-8"), a("ALL")],
                "BAD Invalid sort argument.",
            ),
            (
                vec![l(vec![a("DATE")]), a("X-FOO"), a("ALL")],
                "NO [BADCHARSET] Unknown charset",
            ),
            (
                vec![l(vec![l(vec![])]), a("UTF-8"), a("ALL")],
                "BAD Invalid sort list argument.",
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(sort_err(&args), expected);
        }
    }

    #[test]
    fn thread() {
        let t = parse_thread(&[a("references"), a("UTF-8"), a("ALL")], false).unwrap();
        assert_eq!(t.algorithm, ThreadAlgorithm::References);
        let err = |args: &[Arg]| parse_thread(args, false).unwrap_err().to_string();
        assert_eq!(
            err(&[a("FOO"), a("UTF-8"), a("ALL")]),
            "BAD Unknown thread algorithm."
        );
        assert_eq!(err(&[a("REFERENCES")]), "BAD Invalid arguments.");
        assert_eq!(
            err(&[l(vec![a("REFERENCES")]), a("UTF-8"), a("ALL")]),
            "BAD Invalid arguments."
        );
    }
}
