//! Checks of the smaller settings modules: logging, SSL, auth, director, doveadm, IMAP,
//! LMTP, POP3, stats.

use super::{check_words, words, View};

const SYSLOG_FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "uucp",
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

pub(super) fn check_master_service(set: View) -> Result<(), String> {
    let facility = set.str("syslog_facility");
    if !SYSLOG_FACILITIES.contains(&facility) {
        return Err(format!("Unknown syslog_facility: {facility}"));
    }
    Ok(())
}

pub(super) fn check_ssl(set: View) -> Result<(), String> {
    if set.str("ssl") == "no" {
        return Ok(());
    }
    if set.bool("ssl_verify_client_cert") && set.str("ssl_ca").is_empty() {
        return Err("ssl_verify_client_cert set, but ssl_ca not".into());
    }
    for option in words(set.str("ssl_options"), &[',', ' ']) {
        if !["compression", "no_compression", "no_ticket"]
            .iter()
            .any(|o| o.eq_ignore_ascii_case(option))
        {
            return Err(format!("ssl_options: unknown flag: '{option}'"));
        }
    }
    Ok(())
}

/// Digest sizes in bits of the hash methods Dovecot knows.
pub(super) fn hash_bits(name: &str) -> Option<u32> {
    Some(match name {
        "md4" | "md5" => 128,
        "sha1" => 160,
        "sha256" | "sha3-256" => 256,
        "sha384" => 384,
        "sha512" | "sha3-512" => 512,
        "size" => 64,
        _ => return None,
    })
}

pub(super) fn check_auth(set: View) -> Result<(), String> {
    if set.number("auth_worker_max_count") == 0 {
        return Err("auth_worker_max_count must be above zero".into());
    }
    let cache = set.number("auth_cache_size");
    if cache > 0 && cache < 1024 {
        return Err(format!(
            "auth_cache_size value is too small ({cache} bytes)"
        ));
    }
    let verbose = set.str("auth_verbose_passwords");
    let (mode, truncate) = match verbose.split_once(':') {
        Some((mode, n)) => (mode, Some(n)),
        None => (verbose, None),
    };
    if let Some(n) = truncate {
        if crate::config::values::parse_uint(n).map_or(true, |n| n == 0) {
            return Err(format!(
                "auth_verbose_passwords: Invalid truncation number: '{n}'"
            ));
        }
    }
    if !matches!(mode, "no" | "plain" | "sha1" | "yes") {
        return Err("auth_verbose_passwords: Invalid value".into());
    }
    if !set.str("auth_policy_server_url").is_empty() {
        if set.str("auth_policy_hash_nonce").is_empty() {
            return Err("auth_policy_hash_nonce must be set when policy server is used".into());
        }
        let Some(bits) = hash_bits(set.str("auth_policy_hash_mech")) else {
            return Err("invalid auth_policy_hash_mech given".into());
        };
        let truncate = set.number("auth_policy_hash_truncate");
        if truncate > 0 && truncate >= u64::from(bits) {
            return Err(format!(
                "policy_hash_truncate is not smaller than digest size ({truncate} >= {bits})"
            ));
        }
    }
    for passdb in set.sections("passdb").iter().map(View) {
        if passdb.str("driver").is_empty() {
            return Err("passdb is missing driver".into());
        }
        if passdb.bool("pass") && passdb.str("result_success") != "return-ok" {
            return Err("Obsolete pass=yes setting mixed with non-default result_success".into());
        }
    }
    for userdb in set.sections("userdb").iter().map(View) {
        if userdb.str("driver").is_empty() {
            return Err("userdb is missing driver".into());
        }
    }
    Ok(())
}

pub(super) fn check_director(set: View) -> Result<(), String> {
    if set.number("director_user_expire") < 10 {
        return Err("director_user_expire is too low".into());
    }
    Ok(())
}

pub(super) fn check_doveadm(set: View) -> Result<(), String> {
    if set.str("dsync_hashed_headers").is_empty() {
        return Err("dsync_hashed_headers must not be empty".into());
    }
    if set.str("dsync_alt_char").is_empty() {
        return Err("dsync_alt_char must not be empty".into());
    }
    check_words(
        "dsync_features",
        set.str("dsync_features"),
        &["empty-header-workaround"],
        "feature",
    )
}

pub(super) fn check_imap(set: View) -> Result<(), String> {
    check_words(
        "imap_client_workarounds",
        set.str("imap_client_workarounds"),
        &["delay-newmail", "tb-extra-mailbox-sep", "tb-lsub-flags"],
        "workaround",
    )?;
    let failure = set.str("imap_fetch_failure");
    if !matches!(
        failure,
        "disconnect-immediately" | "disconnect-after" | "no-after"
    ) {
        return Err(format!("Unknown imap_fetch_failure: {failure}"));
    }
    Ok(())
}

pub(super) fn check_lmtp(set: View) -> Result<(), String> {
    check_words(
        "lmtp_client_workarounds",
        set.str("lmtp_client_workarounds"),
        &["whitespace-before-path", "mailbox-for-path"],
        "workaround",
    )?;
    let address = set.str("lmtp_hdr_delivery_address");
    if !matches!(address, "none" | "final" | "original") {
        return Err(format!("Unknown lmtp_hdr_delivery_address: {address}"));
    }
    Ok(())
}

pub(super) fn check_pop3(set: View) -> Result<(), String> {
    check_words(
        "pop3_client_workarounds",
        set.str("pop3_client_workarounds"),
        &["outlook-no-nuls", "oe-ns-eoh"],
        "workaround",
    )?;
    match set.str("pop3_delete_type") {
        "default" | "expunge" => Ok(()),
        "flag" if set.str("pop3_deleted_flag").is_empty() => {
            Err("pop3_delete_type=flag, but pop3_deleted_flag not set".into())
        }
        "flag" => Ok(()),
        other => Err(format!("pop3_delete_type: Unknown value '{other}'")),
    }
}

/// stats' exporter checks (metric filters are not parsed).
pub(super) fn check_stats(set: View) -> Result<(), String> {
    for exporter in set.sections("event_exporter").iter().map(View) {
        if exporter.name().is_empty() {
            return Err("Exporter name can't be empty".into());
        }
        let format = exporter.str("format");
        let time_required = match format {
            "" => return Err("Exporter format name can't be empty".into()),
            "none" => false,
            "json" | "tab-text" => true,
            other => return Err(format!("Unknown exporter format '{other}'")),
        };
        match exporter.str("transport") {
            "" => return Err("Exporter transport name can't be empty".into()),
            "drop" | "http-post" | "log" => {}
            other => return Err(format!("Unknown transport type '{other}'")),
        }
        let mut time_format = None;
        for arg in words(exporter.str("format_args"), &[' ']) {
            if !matches!(arg, "time-rfc3339" | "time-unix") {
                return Err(format!("Unknown exporter format arg: {arg}"));
            }
            if time_format.is_some_and(|t| t != arg) {
                return Err(format!(
                    "Exporter '{}' specifies multiple time format args",
                    exporter.name()
                ));
            }
            time_format = Some(arg);
        }
        if time_required && time_format.is_none() {
            return Err(format!(
                "{format} exporter format requires a time-* argument"
            ));
        }
    }
    Ok(())
}

/// submission and submission-login each check the workarounds (so a bad one is reported
/// twice by dumps, as Dovecot does).
pub(super) fn check_submission(set: View) -> Result<(), String> {
    check_words(
        "submission_client_workarounds",
        set.str("submission_client_workarounds"),
        &[
            "whitespace-before-path",
            "mailbox-for-path",
            "implicit-auth-external",
            "exotic-backend",
        ],
        "workaround",
    )
}
