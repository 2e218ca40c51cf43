//! The value rules of cote's own settings (`Support::CoteOwn`), which Dovecot does not have.
//! `support.rs` lists those settings with these checks; the layers that act on a setting read
//! its value through the same function, so the rule lives in one place.

/// `maildir_info_separator`: the byte that separates a Maildir file name's unique part from its
/// info part (`:` in `<base>:2,<flags>`, Dovecot's compile-time `MAILDIR_INFO_SEP`). Shares
/// that refuse `:` in names (CIFS/SMB) need another one.
///
/// It must be one printable ASCII character that cannot occur in the unique part cote writes
/// (`<secs>.M<usecs>P<pid>.<host>,S=<size>,W=<vsize>`), since the first separator in a name
/// ends that part: no letter or digit, no `.`, `,` or `=`, and not `/`, whitespace or NUL,
/// which no file name can hold or which tools split on.
pub fn maildir_info_separator(text: &str) -> Result<u8, String> {
    let sep = match text.as_bytes() {
        [sep] => *sep,
        _ => {
            return Err(format!(
                "maildir_info_separator must be exactly one character: '{text}'"
            ))
        }
    };
    if !sep.is_ascii_graphic() || sep.is_ascii_alphanumeric() || b"/.,=".contains(&sep) {
        return Err(format!(
            "maildir_info_separator can't be '{}': it must be a printable ASCII character \
             other than a letter, a digit, '/', '.', ',' or '='",
            text.escape_default()
        ));
    }
    Ok(sep)
}

/// [`maildir_info_separator`] as a value check.
pub(super) fn check_maildir_info_separator(text: &str) -> Result<(), String> {
    maildir_info_separator(text).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_separator_rules() {
        assert_eq!(maildir_info_separator(":"), Ok(b':'));
        assert_eq!(maildir_info_separator(";"), Ok(b';'));
        assert_eq!(maildir_info_separator("!"), Ok(b'!'));
        assert_eq!(maildir_info_separator("-"), Ok(b'-'));
        for bad in [
            "", "::", "a", "Z", "7", "/", ".", ",", "=", " ", "\t", "\0", "\u{7f}", "é", ";;",
        ] {
            assert!(maildir_info_separator(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            maildir_info_separator("ab").unwrap_err(),
            "maildir_info_separator must be exactly one character: 'ab'"
        );
        assert!(maildir_info_separator("\t")
            .unwrap_err()
            .contains("can't be '\\t'"));
    }
}
