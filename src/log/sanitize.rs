//! Dovecot's `str_sanitize`, for untrusted text put into log lines and error messages.

/// Dovecot's `str_sanitize`: control characters and invalid UTF-8 bytes become `?`, and text
/// over `max_bytes` is cut at a character boundary to leave room for `...`.
pub fn str_sanitize(src: &[u8], max_bytes: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < src.len() && i < max_bytes {
        match utf8_char_at(src, i) {
            Some((c, len)) => {
                if i + len > max_bytes {
                    break;
                }
                out.push(if (c as u32) < 32 { '?' } else { c });
                i += len;
            }
            None => {
                out.push('?');
                i += 1;
            }
        }
    }
    if i < src.len() {
        if max_bytes < 3 {
            out.clear();
        } else {
            while out.len() > max_bytes - 3 {
                out.pop();
            }
        }
        out.push_str("...");
    }
    out
}

/// The UTF-8 character starting at `src[i]` and its length, if valid.
fn utf8_char_at(src: &[u8], i: usize) -> Option<(char, usize)> {
    let len = match src[i] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let bytes = src.get(i..i + len)?;
    let c = std::str::from_utf8(bytes).ok()?.chars().next()?;
    Some((c, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_like_dovecot() {
        assert_eq!(str_sanitize(b"plain", 80), "plain");
        assert_eq!(str_sanitize(b"a\tb\0c", 80), "a?b?c");
        assert_eq!(str_sanitize("héllo".as_bytes(), 80), "héllo");
        assert_eq!(str_sanitize(b"\xc3(", 80), "?(");
        assert_eq!(str_sanitize(b"abcdef", 5), "ab...");
        // A multi-byte character is never split.
        assert_eq!(str_sanitize("aaaé".as_bytes(), 4), "a...");
        assert_eq!(str_sanitize(b"abcdef", 2), "...");
        assert_eq!(str_sanitize(b"abcdef", 6), "abcdef");
    }
}
