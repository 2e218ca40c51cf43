//! The base subject of RFC 5256 §2.1 (SORT SUBJECT, THREAD), as Dovecot 2.3 extracts it: the
//! Subject value decoded to UTF-8 and normalised (title-cased and decomposed, as SEARCH
//! compares), whitespace packed, then `Re:`/`Fwd:` leaders, `[blob]`s, `(fwd)` trailers and
//! `[fwd: ...]` wrappers taken off until nothing changes.

use super::decode::header_search_text;

/// A subject reduced to its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseSubject {
    /// UTF-8, normalised; compared bytewise.
    pub text: Vec<u8>,
    /// A `Re:`, `Fwd:`, `(fwd)` or `[fwd: ...]` was removed (THREAD=REFERENCES prefers the
    /// original over replies when it merges threads by subject).
    pub reply_or_forward: bool,
}

/// The base subject of a Subject header value (raw, encoded words and all).
pub fn base_subject(value: &[u8]) -> BaseSubject {
    // (1) decode and normalise; the result is a C string in Dovecot: a NUL (decoded from an
    // encoded word) ends it
    let mut buf = header_search_text(value);
    if let Some(nul) = buf.iter().position(|&b| b == 0) {
        buf.truncate(nul);
    }
    pack_whitespace(&mut buf);
    let mut reply_or_forward = false;
    let mut start = 0;
    loop {
        // (2) trailers
        remove_trailers(&mut buf, start, &mut reply_or_forward);
        loop {
            // (3) leaders, (4) a leading blob when something is left after it, (5) repeat
            let leader = remove_leader(&buf, &mut start, &mut reply_or_forward);
            let blob = remove_blob_when_nonempty(&buf, &mut start);
            if !(leader || blob) {
                break;
            }
        }
        // (6) "[fwd:" ... "]" around everything: take it off and start over
        if !remove_fwd_wrapper(&mut buf, &mut start, &mut reply_or_forward) {
            break;
        }
    }
    let start = start.min(buf.len());
    BaseSubject {
        text: buf.split_off(start),
        reply_or_forward,
    }
}

/// Every run of SP, TAB, CR and LF becomes one space.
fn pack_whitespace(buf: &mut Vec<u8>) {
    let mut out = Vec::with_capacity(buf.len());
    let mut last_space = false;
    for &c in buf.iter() {
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            if !last_space {
                out.push(b' ');
                last_space = true;
            }
        } else {
            out.push(c);
            last_space = false;
        }
    }
    *buf = out;
}

/// `subj-trailer = "(fwd)" / WSP`, from the end, as long as any is there.
fn remove_trailers(buf: &mut Vec<u8>, start: usize, reply_or_forward: &mut bool) {
    let mut size = buf.len();
    while size > start {
        if buf[size - 1] == b' ' {
            size -= 1;
        } else if size >= 5 && &buf[size - 5..size] == b"(FWD)" {
            *reply_or_forward = true;
            size -= 5;
        } else {
            break;
        }
    }
    buf.truncate(size);
}

/// `subj-blob = "[" *BLOBCHAR "]"` at `pos`, with one space after it: where it ends.
fn blob_end(buf: &[u8], pos: usize) -> Option<usize> {
    if buf.get(pos) != Some(&b'[') {
        return None;
    }
    let mut p = pos + 1;
    while p < buf.len() && buf[p] != b'[' && buf[p] != b']' {
        p += 1;
    }
    if buf.get(p) != Some(&b']') {
        return None;
    }
    p += 1;
    if buf.get(p) == Some(&b' ') {
        p += 1;
    }
    Some(p)
}

/// `subj-leader = (*subj-blob subj-refwd) / WSP`, where
/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
fn remove_leader(buf: &[u8], start: &mut usize, reply_or_forward: &mut bool) -> bool {
    let mut pos = *start;
    let mut removed = false;
    if buf.get(pos) == Some(&b' ') {
        // a leading space goes whatever follows
        pos += 1;
        *start += 1;
        removed = true;
    }
    while buf.get(pos) == Some(&b'[') {
        match blob_end(buf, pos) {
            Some(end) => pos = end,
            None => return removed,
        }
    }
    let rest = &buf[pos.min(buf.len())..];
    if rest.starts_with(b"RE") {
        pos += 2;
    } else if rest.starts_with(b"FWD") {
        pos += 3;
    } else if rest.starts_with(b"FW") {
        pos += 2;
    } else {
        return removed;
    }
    if buf.get(pos) == Some(&b' ') {
        pos += 1;
    }
    if buf.get(pos) == Some(&b'[') {
        match blob_end(buf, pos) {
            Some(end) => pos = end,
            None => return removed,
        }
    }
    if buf.get(pos) != Some(&b':') {
        return removed;
    }
    *start = pos + 1;
    *reply_or_forward = true;
    true
}

/// A leading blob, when the subject does not end with it.
fn remove_blob_when_nonempty(buf: &[u8], start: &mut usize) -> bool {
    match blob_end(buf, *start) {
        Some(end) if end < buf.len() => {
            *start = end;
            true
        }
        _ => false,
    }
}

/// `subj-fwd = "[fwd:" subject "]"`.
fn remove_fwd_wrapper(buf: &mut Vec<u8>, start: &mut usize, reply_or_forward: &mut bool) -> bool {
    if !buf[(*start).min(buf.len())..].starts_with(b"[FWD:") || buf.last() != Some(&b']') {
        return false;
    }
    *reply_or_forward = true;
    buf.pop();
    *start += 5;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        let b = base_subject(s.as_bytes());
        (String::from_utf8(b.text).unwrap(), b.reply_or_forward)
    }

    #[test]
    fn rfc5256_examples() {
        assert_eq!(base("Hello world"), ("HELLO WORLD".into(), false));
        assert_eq!(base("Re: hello"), ("HELLO".into(), true));
        assert_eq!(base("RE:  RE:re: hello "), ("HELLO".into(), true));
        assert_eq!(base("Fwd: hello"), ("HELLO".into(), true));
        assert_eq!(base("fw: hello"), ("HELLO".into(), true));
        assert_eq!(base("Re[2]: hello"), ("HELLO".into(), true));
        assert_eq!(base("[list] Re: hello"), ("HELLO".into(), true));
        assert_eq!(base("[list] hello"), ("HELLO".into(), false));
        // a blob that is the whole subject stays
        assert_eq!(base("[list]"), ("[LIST]".into(), false));
        assert_eq!(base("hello (fwd)"), ("HELLO".into(), true));
        assert_eq!(base("hello (fwd) (FWD)  "), ("HELLO".into(), true));
        assert_eq!(base("[fwd: hello]"), ("HELLO".into(), true));
        assert_eq!(base("[Fwd: Re: [x] hello (fwd)]"), ("HELLO".into(), true));
        assert_eq!(base("Re: Fwd: [list] thing"), ("THING".into(), true));
        assert_eq!(
            base("tab\tseparated\t\tsubject"),
            ("TAB SEPARATED SUBJECT".into(), false)
        );
        assert_eq!(base("Folded\n subject"), ("FOLDED SUBJECT".into(), false));
        assert_eq!(base(""), (String::new(), false));
        assert_eq!(base("Re:"), (String::new(), true));
        assert_eq!(base("Rex: hello"), ("REX: HELLO".into(), false));
        assert_eq!(base("re : hello"), ("HELLO".into(), true));
        // whitespace is packed first
        assert_eq!(base("re  : hello"), ("HELLO".into(), true));
    }

    #[test]
    fn decoded_and_normalised() {
        assert_eq!(
            base("=?UTF-8?B?w4TDlsOc?="),
            ("A\u{308}O\u{308}U\u{308}".into(), false)
        );
        assert_eq!(
            base("=?ISO-8859-1?Q?caf=E9?= au lait"),
            ("CAFE\u{301} AU LAIT".into(), false)
        );
        assert_eq!(base("=?utf-8?q?a?= =?utf-8?q?b?="), ("AB".into(), false));
        assert_eq!(base("=?utf-8?q?Re=3A_x?="), ("X".into(), true));
        // a NUL from an encoded word ends the subject
        assert_eq!(base("=?utf-8?q?ab=00cd?="), ("AB".into(), false));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "[",
            "]",
            "[fwd:",
            "[fwd:]",
            "[fwd:[fwd:]]",
            "re[",
            "re[x",
            " ",
            "(fwd)",
            "[[]]x",
        ] {
            let _ = base(s);
        }
        assert_eq!(base("[fwd:]"), (String::new(), true));
    }
}
