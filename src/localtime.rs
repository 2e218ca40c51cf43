//! The server's clock and time zone: IMAP shows INTERNALDATE in it and compares SEARCH dates
//! in it, mbox `From ` lines and LMTP `Received:` headers are written in it (as Dovecot
//! does). Below every layer that needs it (storage must not depend on a protocol).

/// Minutes east of UTC of the local time zone at `ts` (0 if the C library cannot tell).
pub fn utc_offset_minutes(ts: i64) -> i32 {
    // time_t is 64 bits on every platform cote builds for.
    let t: libc::time_t = ts;
    // SAFETY: localtime_r with valid pointers to locals; tm is plain data.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm
    };
    i32::try_from(tm.tm_gmtoff / 60).unwrap_or(0)
}

/// The current time as a UTC timestamp.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_whole_zones() {
        for ts in [0, 1_057_049_557, now(), -86_400 * 365 * 50] {
            let offset = utc_offset_minutes(ts);
            assert!(offset.abs() <= 14 * 60, "{offset}");
        }
        assert_eq!(utc_offset_minutes(i64::MAX), utc_offset_minutes(i64::MAX));
    }
}
