//! The ESEARCH response (RFC 4731, with RFC 5267's PARTIAL and RFC 7162's MODSEQ): one
//! function that writes `* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set PARTIAL (r set)
//! COUNT n MODSEQ m` from a command's result, in Dovecot's order. SEARCH uses it; SORT's
//! ESORT (RFC 5267) gives it the sorted result.

use crate::imap::parser::search::SearchReturn;
use crate::mail::quote::append_nstring;

/// `* ESEARCH ...` for the result `ids`: message numbers (sequence numbers, or UIDs when
/// `uid`) in result order (ascending for SEARCH, the sort order for SORT). MIN and MAX are
/// the first and last of them, ALL and PARTIAL write them as runs of consecutive ascending
/// numbers in that order, COUNT counts them; `modseq`: the MODSEQ to report (CONDSTORE).
/// Which items appear follows `ret`; MIN, MAX and ALL are left out for an empty result, as
/// RFC 4731 says. SAVE alone sends no ESEARCH at all: see [`SearchReturn::sends_esearch`].
/// RELEVANCY (RFC 6203) gives `scored` scores: Dovecot without a full-text index scores
/// every message alike, which its scale turns into 1 each.
pub fn esearch_response(
    tag: &str,
    uid: bool,
    ret: &SearchReturn,
    ids: &[u32],
    modseq: Option<u64>,
    scored: usize,
) -> Vec<u8> {
    let mut line = b"* ESEARCH (TAG ".to_vec();
    append_nstring(&mut line, Some(tag.as_bytes()));
    line.push(b')');
    let mut text = String::new();
    if uid {
        text.push_str(" UID");
    }
    if let (true, Some(first)) = (ret.min, ids.first()) {
        text.push_str(&format!(" MIN {first}"));
    }
    if let (true, Some(last)) = (ret.max, ids.last()) {
        text.push_str(&format!(" MAX {last}"));
    }
    if ret.all && !ids.is_empty() {
        text.push_str(&format!(" ALL {}", format_runs(ids)));
    }
    if ret.relevancy {
        let scores = vec!["1"; scored];
        text.push_str(&format!(" RELEVANCY ({})", scores.join(" ")));
    }
    if let Some((first, last)) = ret.partial {
        let part = partial_slice(ids, first, last);
        let set = if part.is_empty() {
            "NIL".to_string()
        } else {
            format_runs(part)
        };
        text.push_str(&format!(" PARTIAL ({first}:{last} {set})"));
    }
    if ret.count {
        text.push_str(&format!(" COUNT {}", ids.len()));
    }
    if let Some(modseq) = modseq {
        text.push_str(&format!(" MODSEQ {modseq}"));
    }
    line.extend_from_slice(text.as_bytes());
    line
}

/// The `first`-th to `last`-th results (1-based, inclusive; RFC 5267 PARTIAL).
pub fn partial_slice(ids: &[u32], first: u32, last: u32) -> &[u32] {
    let start = (first as usize).saturating_sub(1).min(ids.len());
    let end = (last as usize).min(ids.len()).max(start);
    &ids[start..end]
}

/// `1:3,7,5:6`: the numbers in their order, runs of consecutive ascending ones as ranges.
fn format_runs(ids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && end.checked_add(1) == Some(ids[i + 1]) {
            end = ids[i + 1];
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(f: impl FnOnce(&mut SearchReturn)) -> SearchReturn {
        let mut r = SearchReturn::default();
        f(&mut r);
        r
    }

    fn text(tag: &str, uid: bool, r: &SearchReturn, ids: &[u32], modseq: Option<u64>) -> String {
        String::from_utf8(esearch_response(tag, uid, r, ids, modseq, ids.len())).unwrap()
    }

    /// RFC 4731's examples (section 3.1) and Dovecot's answers to them.
    #[test]
    fn rfc_4731_examples() {
        let min_count = ret(|r| {
            r.min = true;
            r.count = true;
        });
        assert_eq!(
            text("A282", false, &min_count, &[2, 10, 11], None),
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3"
        );
        let all = ret(|r| r.all = true);
        let ids: Vec<u32> = std::iter::once(2).chain(10..=600).collect();
        assert_eq!(
            text("A283", false, &all, &ids, None),
            "* ESEARCH (TAG \"A283\") ALL 2,10:600"
        );
        let count = ret(|r| r.count = true);
        assert_eq!(
            text("A284", false, &count, &[], None),
            "* ESEARCH (TAG \"A284\") COUNT 0"
        );
        let min_max = ret(|r| {
            r.min = true;
            r.max = true;
        });
        assert_eq!(
            text("A285", true, &min_max, &[7, 3800], None),
            "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800"
        );
        assert_eq!(
            text("A286", false, &min_max, &[], None),
            "* ESEARCH (TAG \"A286\")"
        );
    }

    #[test]
    fn every_item_in_dovecots_order() {
        let everything = ret(|r| {
            r.min = true;
            r.max = true;
            r.count = true;
            r.partial = Some((2, 3));
        });
        assert_eq!(
            text("t", true, &everything, &[4, 5, 9], Some(12)),
            "* ESEARCH (TAG \"t\") UID MIN 4 MAX 9 PARTIAL (2:3 5,9) COUNT 3 MODSEQ 12"
        );
        let far = ret(|r| r.partial = Some((5, 9)));
        assert_eq!(
            text("t", false, &far, &[1, 2], None),
            "* ESEARCH (TAG \"t\") PARTIAL (5:9 NIL)"
        );
        // A tag that needs quoting.
        let all = ret(|r| r.all = true);
        assert_eq!(
            text("a\"b", false, &all, &[1], None),
            "* ESEARCH (TAG \"a\\\"b\") ALL 1"
        );
    }

    /// A sorted result keeps its order (ESORT).
    #[test]
    fn runs_keep_the_result_order() {
        let all = ret(|r| {
            r.all = true;
            r.min = true;
            r.max = true;
        });
        assert_eq!(
            text("s", false, &all, &[5, 6, 7, 2, 9, 3, 4], None),
            "* ESEARCH (TAG \"s\") MIN 5 MAX 4 ALL 5:7,2,9,3:4"
        );
        assert_eq!(format_runs(&[u32::MAX, 1]), "4294967295,1");
        assert_eq!(partial_slice(&[1, 2, 3], 2, 9), &[2, 3]);
        assert_eq!(partial_slice(&[1, 2, 3], 4, 9), &[] as &[u32]);
    }
}
