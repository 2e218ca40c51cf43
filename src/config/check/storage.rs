//! lib-storage's checks: mail storage settings, namespaces and mailboxes.

use super::modules::hash_bits;
use super::{check_words, words, View};

/// lib-storage's `mail_storage_settings_check`.
pub(super) fn check_mail_storage(set: View) -> Result<(), String> {
    if set.number("mailbox_idle_check_interval") == 0 {
        return Err("mailbox_idle_check_interval must not be 0".into());
    }
    if set.bool("mail_nfs_index") && !set.bool("mmap_disable") {
        return Err("mail_nfs_index=yes requires mmap_disable=yes".into());
    }
    if set.bool("mail_nfs_index") && set.str("mail_fsync") != "always" {
        return Err("mail_nfs_index=yes requires mail_fsync=always".into());
    }
    if set.number("mail_cache_max_size") > 1024 * 1024 * 1024 {
        return Err("mail_cache_max_size can't be over 1 GB".into());
    }
    if set.number("mail_cache_purge_delete_percentage") > 100 {
        return Err("mail_cache_purge_delete_percentage can't be over 100".into());
    }
    check_pop3_uidl_format(set.str("pop3_uidl_format"))?;
    let hash = set.str("mail_attachment_hash");
    if hash.contains('/') {
        return Err("mail_attachment_hash setting must not contain '/' characters".into());
    }
    check_hash_format(hash)
        .map_err(|error| format!("Invalid mail_attachment_hash setting: {error}"))?;
    if hash.contains('-') {
        return Err("mail_attachment_hash setting must not contain '-' characters".into());
    }
    for option in words(set.str("mail_attachment_detection_options"), &[' ']) {
        if !matches!(
            option,
            "add-flags" | "add-flags-on-save" | "no-flags-on-fetch" | "exclude-inlined"
        ) && !option.starts_with("content-type=")
        {
            return Err(format!(
                "mail_attachment_detection_options: Unknown option: {option}"
            ));
        }
    }
    for key in [
        "mail_cache_fields",
        "mail_always_cache_fields",
        "mail_never_cache_fields",
    ] {
        for field in words(set.str(key), &[' ', ',']) {
            let header = field
                .get(..4)
                .filter(|p| p.eq_ignore_ascii_case("hdr."))
                .map(|_| &field[4..]);
            if let Some(header) = header {
                if !header.bytes().all(|c| matches!(c, 33..=57 | 59..=126)) {
                    return Err(format!("Invalid {key}: {field} is not a valid header name"));
                }
            }
        }
    }
    check_imapc_pop3c(set)
}

/// The imapc and pop3c storage settings (dynamic parts of the storage settings).
fn check_imapc_pop3c(set: View) -> Result<(), String> {
    if set.number("imapc_max_idle_time") == 0 {
        return Err("imapc_max_idle_time must not be 0".into());
    }
    const IMAPC_FEATURES: &[&str] = &[
        "rfc822.size",
        "guid-forced",
        "fetch-headers",
        "gmail-migration",
        "search",
        "zimbra-workarounds",
        "no-examine",
        "proxyauth",
        "fetch-msn-workarounds",
        "fetch-fix-broken-mails",
        "modseq",
        "delay-login",
        "fetch-bodystructure",
        "send-id",
        "fetch-empty-is-expunged",
        "no-msn-updates",
        "acl",
    ];
    for feature in words(set.str("imapc_features"), &[' ', ',']) {
        let throttle = feature
            .get(..9)
            .filter(|p| p.eq_ignore_ascii_case("throttle:"))
            .map(|_| &feature[9..]);
        if let Some(values) = throttle {
            let parts: Vec<&str> = values.split(':').collect();
            if parts.len() != 3
                || parts
                    .iter()
                    .any(|p| crate::config::values::parse_uint(p).is_err())
            {
                return Err("imapc_features: Invalid throttle settings".into());
            }
            continue;
        }
        if !IMAPC_FEATURES
            .iter()
            .any(|f| f.eq_ignore_ascii_case(feature))
        {
            return Err(format!("imapc_features: Unknown feature: {feature}"));
        }
    }
    check_words(
        "pop3c_features",
        set.str("pop3c_features"),
        &["no-pipelining"],
        "feature",
    )
}

/// `%{method[:bits]}` items of a hash format (Dovecot's `hash_format_init`).
fn check_hash_format(format: &str) -> Result<(), String> {
    let bytes = format.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        if matches!(bytes.get(i), Some(b'B' | b'X')) {
            i += 1;
        }
        if bytes.get(i) != Some(&b'{') {
            return Err("No '{' after '%'".into());
        }
        i += 1;
        let Some(end) = format[i..].find('}').map(|e| i + e) else {
            return Err("Missing '}'".into());
        };
        let item = &format[i..end];
        let (name, bits) = match item.split_once(':') {
            Some((name, bits)) => (name, Some(bits)),
            None => (item, None),
        };
        let Some(max) = hash_bits(name) else {
            return Err(format!("Unknown hash method: {name}"));
        };
        if let Some(text) = bits {
            match crate::config::values::parse_uint(text) {
                Ok(n) if n != 0 && n <= max => {
                    if n % 8 != 0 {
                        return Err(format!("Currently :bits must be divisible by 8: {text}"));
                    }
                }
                _ => return Err(format!("Invalid :bits number: {text}")),
            }
        }
        i = end + 1;
    }
    Ok(())
}

/// `%` variables of `pop3_uidl_format`: at least one of `%v %u %m %f %g`.
fn check_pop3_uidl_format(format: &str) -> Result<(), String> {
    let bytes = format.as_bytes();
    let mut ok = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        i += 1;
        match variable_key(&bytes[i..]) {
            b'v' | b'u' | b'm' | b'f' | b'g' => ok = true,
            b'%' => {}
            other => {
                return Err(format!(
                    "Unknown pop3_uidl_format variable: %{}",
                    char::from(other)
                ))
            }
        }
        i += 1;
    }
    if !ok {
        return Err("pop3_uidl_format setting doesn't contain any %% variables.".into());
    }
    Ok(())
}

/// The variable letter after a `%`: past `[offset.]width` and modifiers; `{` for a
/// `%{name}` form (Dovecot's `var_get_key`).
fn variable_key(rest: &[u8]) -> u8 {
    let at = |i: usize| rest.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while at(i).is_ascii_digit() || at(i) == b'-' {
        i += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() || at(i) == b'-' {
            i += 1;
        }
    }
    while b"LUEXRHNMDT".contains(&at(i)) && at(i) != 0 {
        i += 1;
    }
    at(i)
}

/// lib-storage's namespace and mailbox checks.
pub(super) fn check_namespaces(set: View) -> Result<(), String> {
    let namespaces = set.sections("namespace");
    for ns in namespaces.iter().map(View) {
        let prefix = ns.str("prefix");
        if ns.str("separator").len() > 1 {
            return Err(format!(
                "Namespace '{prefix}': Hierarchy separator must be only one character long"
            ));
        }
        if !ns.is_null("alias_for") && !ns.bool("disabled") {
            let alias_for = ns.str("alias_for");
            let Some(target) = namespaces
                .iter()
                .map(View)
                .find(|n| n.str("prefix") == alias_for)
            else {
                return Err(format!(
                    "Namespace '{prefix}': alias_for points to unknown namespace: {alias_for}"
                ));
            };
            if !target.is_null("alias_for") {
                return Err(format!(
                    "Namespace '{prefix}': alias_for chaining isn't allowed: {alias_for} -> {}",
                    target.str("alias_for")
                ));
            }
        }
        for mailbox in ns.sections("mailbox").iter().map(View) {
            check_special_use(mailbox)?;
        }
    }
    Ok(())
}

/// `special_use` holds only RFC 6154 flags.
fn check_special_use(mailbox: View) -> Result<(), String> {
    const FLAGS: &[&str] = &[
        "All",
        "Archive",
        "Drafts",
        "Flagged",
        "Important",
        "Junk",
        "Sent",
        "Trash",
    ];
    for flag in words(mailbox.str("special_use"), &[' ']) {
        let known = flag
            .strip_prefix('\\')
            .is_some_and(|name| FLAGS.iter().any(|f| f.eq_ignore_ascii_case(name)));
        if !known {
            return Err(format!(
                "mailbox {}: unknown special_use: {flag}",
                mailbox.name()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidl_formats() {
        assert_eq!(check_pop3_uidl_format("%08Xu%08Xv"), Ok(()));
        assert_eq!(check_pop3_uidl_format("%%%m"), Ok(()));
        assert_eq!(
            check_pop3_uidl_format("%x"),
            Err("Unknown pop3_uidl_format variable: %x".to_string())
        );
        assert_eq!(
            check_pop3_uidl_format("%{uid}"),
            Err("Unknown pop3_uidl_format variable: %{".to_string())
        );
        assert_eq!(
            check_pop3_uidl_format("plain"),
            Err("pop3_uidl_format setting doesn't contain any %% variables.".to_string())
        );
    }

    #[test]
    fn hash_formats() {
        assert_eq!(check_hash_format("%{sha1}"), Ok(()));
        assert_eq!(check_hash_format("%B{sha256:128}x"), Ok(()));
        assert_eq!(
            check_hash_format("%{sha1:12}"),
            Err("Currently :bits must be divisible by 8: 12".to_string())
        );
        assert_eq!(
            check_hash_format("%{sha1:999}"),
            Err("Invalid :bits number: 999".to_string())
        );
        assert_eq!(
            check_hash_format("%{crc}"),
            Err("Unknown hash method: crc".to_string())
        );
        assert_eq!(check_hash_format("%x"), Err("No '{' after '%'".to_string()));
        assert_eq!(check_hash_format("%{sha1"), Err("Missing '}'".to_string()));
    }
}
