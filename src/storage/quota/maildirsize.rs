//! The Maildir++ quota file `maildirsize`, as Dovecot 2.3 reads and writes it
//! (`quota-maildir.c`): a first line of limits (`<bytes>S,<count>C`, either part optional,
//! 0 meaning unlimited), then lines of `<bytes> <count>` whose sums are the usage. The
//! first of those is the total a recalculation wrote; delivering and expunging processes
//! append one line each with their change.
//!
//! Only the first [`MAX_READ`] bytes are read: a longer file (or one with a NUL byte, a bad
//! line or a negative sum) is recalculated.

/// Dovecot reads up to 5120 bytes; a file that long is due for recalculation.
pub const MAX_READ: usize = 5120;

/// A usage total a file says is over its limit is trusted only from a file this fresh
/// holding nothing but the summary line (Dovecot's `MAILDIRSIZE_STALE_SECS`).
pub const STALE_SECS: i64 = 15 * 60;

/// What a `maildirsize` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaildirSize {
    /// The limits of its first line (0: unlimited).
    pub bytes_limit: u64,
    pub count_limit: u64,
    /// The usage: the sum of the other lines; `None` when the file needs recalculating
    /// (no usage line, a line that is not two numbers, a negative sum, a NUL byte, or
    /// [`MAX_READ`] bytes or more).
    pub usage: Option<Usage>,
}

/// A usage total and how many lines made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub count: u64,
    pub lines: usize,
}

/// Reads the limits line: `S` and `C` suffixed numbers separated by commas (0 or a bad part:
/// unlimited). `None` when a part is not understood (Dovecot then still uses the good ones
/// for a file, and refuses the value as a `backend=` rule).
pub fn parse_limits(line: &str) -> Option<(u64, u64)> {
    let (mut bytes, mut count, mut ok) = (0, 0, true);
    for part in line.split(',') {
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        let value = part[..digits].parse::<u64>().ok();
        match (value, &part[digits..]) {
            (Some(v), "S") => bytes = v,
            (Some(v), "C") => count = v,
            _ => ok = false,
        }
    }
    // Dovecot keeps limits in signed 64-bit numbers.
    let cap = |v: u64| v.min(i64::MAX as u64);
    ok.then_some((cap(bytes), cap(count)))
}

/// [`parse_limits`] for a file's first line: the parts that were understood.
fn file_limits(line: &str) -> (u64, u64) {
    let (mut bytes, mut count) = (0, 0);
    for part in line.split(',') {
        if let Some((v, unit)) = leading_number(part) {
            match unit {
                "S" => bytes = v,
                "C" => count = v,
                _ => {}
            }
        }
    }
    (bytes.min(i64::MAX as u64), count.min(i64::MAX as u64))
}

fn leading_number(part: &str) -> Option<(u64, &str)> {
    let digits = part.bytes().take_while(u8::is_ascii_digit).count();
    Some((part[..digits].parse().ok()?, &part[digits..]))
}

/// Parses the file's first [`MAX_READ`] bytes; `complete` says the file was not longer.
pub fn parse(data: &[u8], complete: bool) -> MaildirSize {
    let data = &data[..data.len().min(MAX_READ)];
    // A last line without its LF is being written: not part of the file yet.
    let end = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = &data[..end];
    let mut lines = text.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    let (bytes_limit, count_limit) = file_limits(&String::from_utf8_lossy(first));
    let usage = if complete && data.len() < MAX_READ && !text.contains(&0) {
        usage_lines(text)
    } else {
        None
    };
    MaildirSize {
        bytes_limit,
        count_limit,
        usage,
    }
}

/// The sum of the usage lines (after the first); `None` when broken or missing.
fn usage_lines(text: &[u8]) -> Option<Usage> {
    let body = text.strip_suffix(b"\n")?;
    let mut lines = body.split(|&b| b == b'\n');
    lines.next()?;
    let (mut bytes, mut count, mut n) = (0i64, 0i64, 0usize);
    for line in lines {
        let (b, c) = usage_line(line)?;
        bytes = bytes.checked_add(b)?;
        count = count.checked_add(c)?;
        n += 1;
    }
    if n == 0 || bytes < 0 || count < 0 {
        return None;
    }
    Some(Usage {
        bytes: bytes.unsigned_abs(),
        count: count.unsigned_abs(),
        lines: n,
    })
}

/// One `<bytes> <count>` line, read as C's `sscanf("%lld %d")`: leading white space, signed
/// numbers, anything after the second ignored.
fn usage_line(line: &[u8]) -> Option<(i64, i64)> {
    let (bytes, rest) = scan_signed(line)?;
    let (count, _) = scan_signed(rest)?;
    let count = i32::try_from(count).ok()?;
    Some((bytes, i64::from(count)))
}

fn scan_signed(s: &[u8]) -> Option<(i64, &[u8])> {
    let start = s.iter().position(|b| !b.is_ascii_whitespace())?;
    let s = &s[start..];
    let sign_len = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let digits = s[sign_len..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let end = sign_len + digits;
    let value = std::str::from_utf8(&s[..end]).ok()?.parse::<i64>().ok()?;
    Some((value, &s[end..]))
}

/// A whole file as a recalculation writes it. With no limits at all the line says `0S`
/// rather than being empty, as Dovecot writes it.
pub fn format(bytes_limit: u64, count_limit: u64, bytes: u64, count: u64) -> String {
    let mut limits = String::new();
    if bytes_limit != 0 || count_limit == 0 {
        limits.push_str(&format!("{bytes_limit}S"));
    }
    if count_limit != 0 {
        if !limits.is_empty() {
            limits.push(',');
        }
        limits.push_str(&format!("{count_limit}C"));
    }
    format!("{limits}\n{bytes} {count}\n")
}

/// The line a delivery or an expunge appends.
pub fn update_line(bytes_diff: i64, count_diff: i64) -> String {
    format!("{bytes_diff} {count_diff}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dovecots_files() {
        let f = parse(b"10240S,5C\n0 0\n3013 1\n3013 1\n-3013 -1\n", true);
        assert_eq!((f.bytes_limit, f.count_limit), (10240, 5));
        assert_eq!(
            f.usage,
            Some(Usage {
                bytes: 3013,
                count: 1,
                lines: 4
            })
        );
        let f = parse(b"5C\n12 3\n", true);
        assert_eq!((f.bytes_limit, f.count_limit), (0, 5));
        assert_eq!(f.usage.unwrap().bytes, 12);
    }

    #[test]
    fn what_needs_recalculating() {
        // No usage line, a bad line, a negative sum, a NUL byte, too long, not all read.
        for data in [
            &b"100S\n"[..],
            b"100S\nx y\n",
            b"100S\n5 1\n-10 -1\n",
            b"100S\n5 1\0\n",
            b"",
        ] {
            assert_eq!(parse(data, true).usage, None, "{data:?}");
        }
        let long = format!("100S\n{}", "1 1\n".repeat(2000));
        assert_eq!(parse(long.as_bytes(), true).usage, None);
        assert_eq!(parse(b"100S\n1 1\n", false).usage, None);
        assert_eq!(parse(long.as_bytes(), false).bytes_limit, 100);
    }

    #[test]
    fn a_torn_last_line_is_not_read() {
        let f = parse(b"100S\n10 1\n5", true);
        assert_eq!(f.usage.unwrap().bytes, 10);
    }

    #[test]
    fn lines_read_as_sscanf_does() {
        assert_eq!(usage_line(b"  12   3 trailing"), Some((12, 3)));
        assert_eq!(usage_line(b"+5 -1"), Some((5, -1)));
        assert_eq!(usage_line(b"5-1"), Some((5, -1)));
        assert_eq!(usage_line(b"5 99999999999"), None);
        assert_eq!(usage_line(b"5"), None);
    }

    #[test]
    fn written_as_dovecot_writes() {
        assert_eq!(format(10240, 5, 9039, 3), "10240S,5C\n9039 3\n");
        assert_eq!(format(0, 0, 0, 0), "0S\n0 0\n");
        assert_eq!(format(0, 7, 1, 1), "7C\n1 1\n");
        assert_eq!(update_line(-3013, -1), "-3013 -1\n");
        let f = parse(format(1, 2, 3, 4).as_bytes(), true);
        assert_eq!(
            (f.bytes_limit, f.count_limit, f.usage.unwrap().count),
            (1, 2, 4)
        );
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limits("1000S,10C"), Some((1000, 10)));
        assert_eq!(parse_limits("10C"), Some((0, 10)));
        assert_eq!(parse_limits("10X"), None);
        assert_eq!(parse_limits(""), None);
        assert_eq!(file_limits("10X,5C"), (0, 5));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(data in proptest::collection::vec(proptest::num::u8::ANY, 0..6000), complete: bool) {
            let _ = parse(&data, complete);
            let _ = parse_limits(&String::from_utf8_lossy(&data));
        }

        #[test]
        fn what_is_written_reads_back(bl: u32, cl: u32, b: u32, c: u16) {
            let f = parse(format(bl.into(), cl.into(), b.into(), c.into()).as_bytes(), true);
            proptest::prop_assert_eq!((f.bytes_limit, f.count_limit), (u64::from(bl), u64::from(cl)));
            let u = f.usage.unwrap();
            proptest::prop_assert_eq!((u.bytes, u.count), (u64::from(b), u64::from(c)));
        }
    }
}
