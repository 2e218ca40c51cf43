//! The `From ` line that starts every message in an mbox file: `From <sender>  <date>`,
//! the date in asctime format (`Thu Nov 29 22:33:52 2001`) and the variants Dovecot accepts
//! (a day without leading zero, no seconds, a named or numeric zone before or after the
//! year, `Thu, 9 Nov 2002 22:33:52`). A line that does not parse is body text, not a
//! separator: this is what keeps an unquoted `From here on...` line inside its message.

use crate::mail::date::{civil_from_timestamp, utc_timestamp};

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A parsed From_ line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLine {
    /// The envelope sender as written (quoted local parts kept).
    pub sender: Vec<u8>,
    /// The date's fields read as if they were UTC.
    pub date_as_utc: i64,
    /// The numeric zone (minutes east of UTC) when the line has one; without it the date is
    /// in the writer's local time.
    pub zone_minutes: Option<i32>,
}

impl FromLine {
    /// The received time as a UTC timestamp; `local_offset_minutes` is used when the line
    /// has no zone (it should be the local zone's offset at that time).
    pub fn received(&self, local_offset_minutes: i32) -> i64 {
        let offset = self.zone_minutes.unwrap_or(local_offset_minutes);
        self.date_as_utc - i64::from(offset) * 60
    }
}

/// A cursor over the line, every access bounds-checked.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(self.pos + i).copied()
    }
    fn digit(&self, i: usize) -> Option<u32> {
        self.at(i)
            .filter(u8::is_ascii_digit)
            .map(|d| u32::from(d - b'0'))
    }
    fn two_digits(&self, i: usize) -> Option<u32> {
        Some(self.digit(i)? * 10 + self.digit(i + 1)?)
    }
    fn is(&self, i: usize, c: u8) -> bool {
        self.at(i) == Some(c)
    }
    /// A month name (any case) followed by a space.
    fn month(&self) -> Option<u32> {
        let name = self.s.get(self.pos..self.pos + 3)?;
        let m = MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(name))?;
        self.is(3, b' ').then_some(m as u32)
    }
    fn year(&self) -> Option<i64> {
        let hi = self.two_digits(0)?;
        let lo = self.two_digits(2)?;
        Some(i64::from(hi * 100 + lo))
    }
    /// `[+-]hhmm` at `i`, as minutes east of UTC.
    fn zone(&self, i: usize) -> Option<i32> {
        let sign = match self.at(i)? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hours = self.two_digits(i + 1)?;
        let minutes = self.two_digits(i + 3)?;
        Some(sign * (hours * 60 + minutes) as i32)
    }
}

/// Parses what follows `From ` on a separator line (up to, not including, the line feed).
pub fn parse_from_line(line: &[u8]) -> Option<FromLine> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().any(|&b| b == b'\n' || b == b'\r') {
        return None;
    }
    let mut c = Cursor { s: line, pos: 0 };
    // sender: a quoted part may hold spaces
    if c.is(0, b'"') {
        let mut escaped = false;
        c.pos += 1;
        while let Some(b) = c.at(0) {
            if b == b'"' && !escaped {
                break;
            }
            escaped = b == b'\\';
            c.pos += 1;
        }
        c.pos += 1;
    }
    while c.at(0).is_some_and(|b| b != b' ') {
        c.pos += 1;
    }
    let sender = line.get(..c.pos.min(line.len()))?.to_vec();
    while c.is(0, b' ') {
        c.pos += 1;
    }
    // the shortest accepted date: "Thu Nov 9 22:33 2001"
    if c.pos + 21 > line.len() {
        return None;
    }
    c.pos += 4; // weekday, not checked
    let (day, month, mut year, alt_stamp);
    if let Some(m) = c.month() {
        alt_stamp = false;
        month = m;
        c.pos += 4;
        if c.is(0, b' ') {
            c.pos += 1;
        }
        if c.is(1, b' ') {
            day = c.digit(0)?;
            c.pos += 2;
        } else {
            day = c.two_digits(0)?;
            if !c.is(2, b' ') {
                return None;
            }
            c.pos += 3;
        }
        year = None;
    } else {
        // "Thu, 9 Nov 2002 22:33:52"
        alt_stamp = true;
        c.pos += 1;
        let mut d = c.digit(0)?;
        c.pos += 1;
        if let Some(d2) = c.digit(0) {
            d = d * 10 + d2;
            c.pos += 1;
        }
        if !c.is(0, b' ') {
            return None;
        }
        c.pos += 1;
        day = d;
        month = c.month()?;
        c.pos += 4;
        year = Some(c.year()?);
        c.pos += 5;
    }
    let day = day.max(1);
    let hour = c.two_digits(0)?;
    if !c.is(2, b':') {
        return None;
    }
    let minute = c.two_digits(3)?;
    c.pos += 5;
    let mut second = 0;
    if c.is(0, b':') {
        second = c.two_digits(1)?;
        c.pos += 3;
    }
    let mut zone = None;
    if !alt_stamp {
        if !c.is(0, b' ') {
            return None;
        }
        c.pos += 1;
        if c.year().is_none() {
            if let Some(z) = c.zone(0).filter(|_| c.is(5, b' ')) {
                zone = Some(z);
                c.pos += 6;
            } else {
                // a named zone: skipped
                while c.at(0).is_some_and(|b| b != b' ') {
                    c.pos += 1;
                }
                if c.pos + 5 > line.len() {
                    return None;
                }
                c.pos += 1;
            }
        }
        year = Some(c.year()?);
        c.pos += 4;
    }
    if zone.is_none() && c.is(0, b' ') {
        zone = c.zone(1);
    }
    let year = year?;
    if hour > 23 || minute > 59 || second > 60 || day > 31 {
        return None;
    }
    Some(FromLine {
        sender,
        date_as_utc: utc_timestamp(year, month, day, hour, minute, second),
        zone_minutes: zone,
    })
}

/// The From_ line Dovecot writes (with its line feed): `From <sender>  Www Mmm dd hh:mm:ss
/// yyyy`, the date in the local zone given as `offset_minutes` east of UTC.
pub fn format_from_line(sender: &str, received: i64, offset_minutes: i32) -> String {
    let local = received + i64::from(offset_minutes) * 60;
    let (year, month0, day, hour, minute, second) = civil_from_timestamp(local);
    let weekday = (local.div_euclid(86_400) + 4).rem_euclid(7) as usize;
    format!(
        "From {sender}  {} {} {day:02} {hour:02}:{minute:02}:{second:02} {year:04}\n",
        WEEKDAYS[weekday],
        MONTHS[month0 as usize % 12]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Option<FromLine> {
        parse_from_line(s.as_bytes())
    }

    #[test]
    fn dovecot_and_common_variants() {
        let t = utc_timestamp(2001, 10, 29, 22, 33, 52);
        let l = parse("alice@vm  Thu Nov 29 22:33:52 2001").unwrap();
        assert_eq!(l.sender, b"alice@vm");
        assert_eq!((l.date_as_utc, l.zone_minutes), (t, None));
        assert_eq!(l.received(60), t - 3600);
        let l = parse("a@b Thu Nov 29 22:33:52 2001 +0300").unwrap();
        assert_eq!((l.date_as_utc, l.zone_minutes), (t, Some(180)));
        assert_eq!(l.received(0), t - 3 * 3600);
        let l = parse("a@b Thu Nov 29 22:33:52 -0130 2001").unwrap();
        assert_eq!(l.zone_minutes, Some(-90));
        let l = parse("a@b Thu Nov 29 22:33:52 EET 2001").unwrap();
        assert_eq!((l.date_as_utc, l.zone_minutes), (t, None));
        let l = parse("a@b Thu Nov  9 22:33 2001").unwrap();
        assert_eq!(l.date_as_utc, utc_timestamp(2001, 10, 9, 22, 33, 0));
        let l = parse("\"x y\"@z Thu, 9 Nov 2002 22:33:52").unwrap();
        assert_eq!(l.sender, b"\"x y\"@z");
        assert_eq!(l.date_as_utc, utc_timestamp(2002, 10, 9, 22, 33, 52));
        assert!(parse("MAILER-DAEMON  sat nov 28 15:09:59 2026\r").is_some());
    }

    #[test]
    fn body_text_is_not_a_separator() {
        for s in [
            "the body line",
            "here on, we go",
            "",
            "a@b Thu Nov 29 22:33:52",
            "a@b Thu Xyz 29 22:33:52 2001",
            "a@b Thu Nov 29 2:33:52 2001",
            "a@b Thu Nov 29 22:33:52 20x1",
            "a@b Thu Nov 29 25:33:52 2001",
            "a@b Thu Nov 29 22:33:52 2001\nx",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn written_line_matches_dovecot() {
        let t = utc_timestamp(2026, 10, 28, 15, 9, 59);
        assert_eq!(
            format_from_line("alice@vm", t, 0),
            "From alice@vm  Sat Nov 28 15:09:59 2026\n"
        );
        assert_eq!(
            format_from_line("MAILER-DAEMON", t, -60),
            "From MAILER-DAEMON  Sat Nov 28 14:09:59 2026\n"
        );
    }

    proptest! {
        #[test]
        fn written_lines_parse_back(ts in 0i64..8_000_000_000, off in -720i32..840, sender in "[a-zA-Z0-9.@_-]{1,30}") {
            let line = format_from_line(&sender, ts, off);
            let rest = line.strip_prefix("From ").unwrap().trim_end_matches('\n');
            let parsed = parse_from_line(rest.as_bytes()).unwrap();
            prop_assert_eq!(&parsed.sender, sender.as_bytes());
            prop_assert_eq!(parsed.received(off), ts);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = parse_from_line(&bytes);
        }
    }
}
