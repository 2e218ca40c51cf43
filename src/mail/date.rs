//! Dates: the Date: header as Dovecot reads it (for SENTBEFORE/SENTON/SENTSINCE), and the
//! IMAP date / date-time forms (INTERNALDATE, SEARCH dates, APPEND).

use super::rfc822::Rfc822Parser;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (months 0-11; out-of-range days
/// simply run on, as mktime normalises them).
fn days_from_civil(year: i64, month0: i64, day: i64) -> i64 {
    let (y, m) = if month0 < 2 {
        (year - 1, month0 + 13)
    } else {
        (year, month0 + 1)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m - 3) + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + day - 1
}

/// Seconds since the epoch of a UTC calendar time.
pub fn utc_timestamp(year: i64, month0: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    days_from_civil(year, i64::from(month0), i64::from(day)) * 86_400
        + i64::from(hour) * 3600
        + i64::from(min) * 60
        + i64::from(sec)
}

/// (year, month0, day, hour, min, sec) of a UTC timestamp.
pub fn civil_from_timestamp(ts: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month0 = if mp < 10 { mp + 2 } else { mp - 10 } as u32;
    let year = yoe + era * 400 + i64::from(month0 < 2);
    (
        year,
        month0,
        day,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
    )
}

/// A zone: `+hhmm`, military letters, UT, GMT, [ECMP][SD]T; anything else is UTC.
fn zone_offset(zone: &[u8]) -> i32 {
    match zone.len() {
        5 if (zone[0] == b'+' || zone[0] == b'-') && zone[1..].iter().all(u8::is_ascii_digit) => {
            let d = |i: usize| i32::from(zone[i] - b'0');
            let offset = (d(1) * 10 + d(2)) * 60 + d(3) * 10 + d(4);
            if zone[0] == b'+' {
                offset
            } else {
                -offset
            }
        }
        1 => {
            // Dovecot's arithmetic uses the letter as written, its case test the upper form
            let c = zone[0].to_ascii_uppercase();
            let raw = i32::from(zone[0]);
            if c < b'J' {
                (raw - i32::from(b'A') + 1) * 60
            } else if c == b'J' {
                0
            } else if c <= b'M' {
                (raw - i32::from(b'A')) * 60
            } else if c < b'Z' {
                (i32::from(b'M') - raw) * 60
            } else {
                0
            }
        }
        3 if zone[2] == b'T' => {
            let base = match zone[0].to_ascii_uppercase() {
                b'E' => -5 * 60,
                b'C' => -6 * 60,
                b'M' => -7 * 60,
                b'P' => -8 * 60,
                _ => return 0,
            };
            match zone[1].to_ascii_uppercase() {
                b'D' => base + 60,
                b'S' => base,
                _ => 0,
            }
        }
        _ => 0,
    }
}

fn two_digits(v: &[u8]) -> Option<u32> {
    match v {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

fn one_or_two_digits(v: &[u8]) -> Option<u32> {
    match v {
        [a] if a.is_ascii_digit() => Some(u32::from(a - b'0')),
        _ => two_digits(v),
    }
}

/// Parses a Date: header value: `[Wkd,] d Mon [yy]yy hh:mm[:ss] [zone]`. Returns the UTC
/// timestamp and the zone offset in minutes.
pub fn parse_message_date(value: &[u8]) -> Option<(i64, i32)> {
    let mut p = Rfc822Parser::new(value);
    let next = |p: &mut Rfc822Parser<'_>| -> Option<Vec<u8>> {
        let mut token = Vec::new();
        if p.more() {
            p.parse_atom(&mut token).ok()?;
        }
        Some(token)
    };
    let _ = p.skip_lwsp();
    let mut token = next(&mut p).filter(|t| !t.is_empty())?;
    if token.len() == 3 {
        if p.peek() != b',' {
            return None;
        }
        p.pos += 1;
        let _ = p.skip_lwsp();
        token = next(&mut p).filter(|t| !t.is_empty())?;
    }
    let day = one_or_two_digits(&token)?;
    let month = next(&mut p).filter(|t| t.len() >= 3)?;
    let month0 = MONTHS
        .iter()
        .position(|m| month[..3].eq_ignore_ascii_case(*m))? as u32;
    let year_token = next(&mut p).filter(|t| t.len() == 2 || t.len() == 4)?;
    if !year_token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut year: i64 = year_token
        .iter()
        .fold(0, |y, &c| y * 10 + i64::from(c - b'0'));
    if year_token.len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    } else if year < 1900 {
        return None;
    }
    let hour = one_or_two_digits(&next(&mut p)?)?;
    if !matches!(p.peek(), b':' | b'.') {
        return None;
    }
    p.pos += 1;
    let _ = p.skip_lwsp();
    let min = two_digits(&next(&mut p)?)?;
    let mut sec = 0;
    if p.more() && matches!(p.peek(), b':' | b'.') {
        p.pos += 1;
        let _ = p.skip_lwsp();
        sec = two_digits(&next(&mut p)?)?;
    }
    let zone = next(&mut p)?;
    let offset = if zone.is_empty() {
        0
    } else {
        zone_offset(&zone)
    };
    let ts = utc_timestamp(year, month0, day, hour, min, sec) - i64::from(offset) * 60;
    Some((ts, offset))
}

/// Parses an IMAP `date` (`d-Mon-yyyy`, a leading space allowed): the UTC timestamp of its
/// midnight.
pub fn parse_imap_date(s: &[u8]) -> Option<i64> {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    let (day, rest) = match s {
        [d, b'-', rest @ ..] if d.is_ascii_digit() => (u32::from(d - b'0'), rest),
        [a, b, b'-', rest @ ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
            (u32::from(a - b'0') * 10 + u32::from(b - b'0'), rest)
        }
        _ => return None,
    };
    let month0 = MONTHS
        .iter()
        .position(|m| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(*m))?
        as u32;
    let year = match &rest[3..] {
        [b'-', y @ ..] if y.len() == 4 && y.iter().all(u8::is_ascii_digit) => {
            y.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0'))
        }
        _ => return None,
    };
    Some(utc_timestamp(year, month0, day, 0, 0, 0))
}

/// Parses an IMAP `date-time` (`dd-Mon-yyyy hh:mm:ss +zzzz`, the day possibly one digit after
/// a space): the UTC timestamp and the zone offset in minutes. As in Dovecot the time fields
/// are not range-checked (they run on, as mktime normalises them) and a zone that is not
/// `+hhmm`/`-hhmm` counts as UTC.
pub fn parse_imap_datetime(s: &[u8]) -> Option<(i64, i32)> {
    let lead = usize::from(s.first() == Some(&b' '));
    let date_end = lead + s[lead..].iter().position(|&c| c == b' ')?;
    let day = parse_imap_date(&s[..date_end])?;
    let time = &s[date_end + 1..];
    let field = |i: usize, sep: u8| -> Option<i64> {
        match time.get(i..i + 3)? {
            [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && *c == sep => {
                Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            }
            _ => None,
        }
    };
    let (hour, min, sec) = (field(0, b':')?, field(3, b':')?, field(6, b' ')?);
    let zone = &time[9..];
    let offset = match zone.get(..5) {
        Some([sign @ (b'+' | b'-'), digits @ ..]) if digits.iter().all(u8::is_ascii_digit) => {
            let d = |i: usize| i32::from(digits[i] - b'0');
            let minutes = (d(0) * 10 + d(1)) * 60 + d(2) * 10 + d(3);
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => 0,
    };
    let local = day + hour * 3600 + min * 60 + sec;
    Some((local - i64::from(offset) * 60, offset))
}

/// INTERNALDATE's form: `dd-Mon-yyyy hh:mm:ss +zzzz` for `ts` shown in the zone
/// `offset_minutes` east of UTC.
pub fn format_imap_datetime(ts: i64, offset_minutes: i32) -> String {
    let (year, month0, day, hour, min, sec) =
        civil_from_timestamp(ts + i64::from(offset_minutes) * 60);
    let sign = if offset_minutes >= 0 { '+' } else { '-' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{day:02}-{}-{year:04} {hour:02}:{min:02}:{sec:02} {sign}{:02}{:02}",
        std::str::from_utf8(MONTHS[month0 as usize]).unwrap_or("Jan"),
        off / 60,
        off % 60
    )
}

/// RFC 5322's date-time (`Sat, 28 Nov 2026 21:29:20 +0000`) for `ts` shown in the zone
/// `offset_minutes` east of UTC, as Dovecot's `message_date_create` writes it.
pub fn format_message_date(ts: i64, offset_minutes: i32) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let local = ts + i64::from(offset_minutes) * 60;
    let (year, month0, day, hour, min, sec) = civil_from_timestamp(local);
    let weekday = WEEKDAYS[local.div_euclid(86_400).rem_euclid(7) as usize];
    let sign = if offset_minutes >= 0 { '+' } else { '-' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{weekday}, {day:02} {} {year:04} {hour:02}:{min:02}:{sec:02} {sign}{:02}{:02}",
        std::str::from_utf8(MONTHS[month0 as usize]).unwrap_or("Jan"),
        off / 60,
        off % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_date_format() {
        assert_eq!(
            format_message_date(1_795_901_360, 0),
            "Sat, 28 Nov 2026 21:29:20 +0000"
        );
        assert_eq!(
            format_message_date(0, -90),
            "Wed, 31 Dec 1969 22:30:00 -0130"
        );
    }

    #[test]
    fn message_dates() {
        let (ts, off) = parse_message_date(b"Tue, 1 Jul 2003 10:52:37 +0200").unwrap();
        assert_eq!(off, 120);
        assert_eq!(ts, 1_057_049_557);
        assert_eq!(
            parse_message_date(b"1 jul 03 10.52 EDT"),
            Some((utc_timestamp(2003, 6, 1, 14, 52, 0), -240))
        );
        assert_eq!(parse_message_date(b"garbage"), None);
        assert_eq!(parse_message_date(b"Tue 1 Jul 2003 10:52"), None);
    }

    #[test]
    fn imap_dates() {
        assert_eq!(parse_imap_date(b"1-Feb-1994"), Some(760_060_800));
        assert_eq!(parse_imap_date(b"01-feb-1994"), Some(760_060_800));
        assert_eq!(parse_imap_date(b"1-Feb-94"), None);
        assert_eq!(
            format_imap_datetime(1_057_049_557, 120),
            "01-Jul-2003 10:52:37 +0200"
        );
        assert_eq!(format_imap_datetime(0, -90), "31-Dec-1969 22:30:00 -0130");
    }

    #[test]
    fn imap_datetimes() {
        let jan1 = utc_timestamp(2020, 0, 1, 10, 0, 0);
        assert_eq!(
            parse_imap_datetime(b"01-Jan-2020 10:00:00 +0100"),
            Some((jan1 - 3600, 60))
        );
        assert_eq!(
            parse_imap_datetime(b" 1-Jan-2020 10:00:00 -0030"),
            Some((jan1 + 1800, -30))
        );
        // An unreadable zone is UTC; the time runs on.
        assert_eq!(
            parse_imap_datetime(b"1-Jan-2020 10:00:00 EST"),
            Some((jan1, 0))
        );
        assert_eq!(
            parse_imap_datetime(b"1-Jan-2020 10:00:60 +0000"),
            Some((jan1 + 60, 0))
        );
        for bad in [
            &b"2020-01-01"[..],
            b"01-Jan-2020",
            b"01-Jan-2020 10:00",
            b"01-Jan-2020 10:00:00",
            b"01-Jan-2020 1:00:00 +0000",
            b"01-Jan-20 10:00:00 +0000",
            b"",
            b" ",
        ] {
            assert_eq!(
                parse_imap_datetime(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let (ts, off) = parse_imap_datetime(b"08-Feb-1994 05:52:25 +0000").unwrap();
        assert_eq!(format_imap_datetime(ts, off), "08-Feb-1994 05:52:25 +0000");
    }
}
