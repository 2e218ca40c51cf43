//! Which settings cote acts on. Every setting not listed here is parsed and validated but
//! `NotImplemented`: setting it to a non-default value logs a warning. To mark a setting
//! implemented, add its line here (the tests check that every line names a real setting).
//!
//! cote's own settings, which Dovecot does not have, are listed in `COTE_OWN` with the check
//! of their value; the generator adds their rows to the tables (`COTE_OWN` in
//! contrib/gen-settings-tables.py, with type and default).

use super::super::cote_own::check_maildir_info_separator;
use super::super::{Support, ValueCheck};

/// cote's own settings: (section kind, key, value check).
///
/// - `maildir_info_separator` (default `:`): the Maildir info separator, for stores on shares
///   that refuse `:` in file names (CIFS/SMB); Dovecot 2.3 has it as a compile-time constant.
///   One printable ASCII character, not a letter or digit and not `/ . , =`; global only
///   (refused inside `protocol`/`local`/`remote` filters). Every cote server and tool on one
///   store must use the same one: a name is read with the configured separator only, so
///   files named with another one look flagless to it. Dovecot can't share such a store.
const COTE_OWN: &[(&str, &str, ValueCheck)] =
    &[("", "maildir_info_separator", check_maildir_info_separator)];

/// (section kind, key); `""` is the top level.
const IMPLEMENTED: &[(&str, &str)] = &[
    // master
    ("", "base_dir"),
    ("", "default_client_limit"),
    ("", "default_idle_kill"),
    ("", "default_process_limit"),
    ("", "instance_name"),
    ("", "listen"),
    ("", "protocols"),
    ("", "shutdown_clients"),
    ("", "state_dir"),
    ("", "verbose_proctitle"),
    // logging
    ("", "debug_log_path"),
    ("", "info_log_path"),
    ("", "log_path"),
    ("", "log_timestamp"),
    ("", "syslog_facility"),
    ("", "mail_debug"),
    // login and authentication
    ("", "auth_anonymous_username"),
    ("", "auth_cache_negative_ttl"),
    ("", "auth_cache_size"),
    ("", "auth_cache_ttl"),
    ("", "auth_debug"),
    ("", "auth_debug_passwords"),
    ("", "auth_default_realm"),
    ("", "auth_failure_delay"),
    ("", "auth_master_user_separator"),
    ("", "auth_mechanisms"),
    ("", "auth_socket_path"),
    ("", "auth_proxy_self"),
    ("", "auth_realms"),
    ("", "auth_ssl_require_client_cert"),
    ("", "auth_ssl_username_from_cert"),
    ("", "auth_username_chars"),
    ("", "auth_username_format"),
    ("", "auth_username_translation"),
    ("", "auth_verbose"),
    ("", "auth_verbose_passwords"),
    ("", "auth_worker_max_count"),
    ("", "login_log_format"),
    ("", "login_log_format_elements"),
    ("", "disable_plaintext_auth"),
    ("", "login_greeting"),
    ("", "login_proxy_max_disconnect_delay"),
    ("", "login_proxy_max_reconnects"),
    ("", "login_proxy_timeout"),
    ("", "login_trusted_networks"),
    ("", "mail_max_userip_connections"),
    ("", "ssl"),
    ("", "ssl_ca"),
    ("", "ssl_cert"),
    ("", "ssl_cert_username_field"),
    ("", "ssl_client_ca_dir"),
    ("", "ssl_client_ca_file"),
    ("", "ssl_client_cert"),
    ("", "ssl_client_key"),
    ("", "ssl_cipher_list"),
    ("", "ssl_cipher_suites"),
    ("", "ssl_curve_list"),
    ("", "ssl_dh"),
    ("", "ssl_key"),
    ("", "ssl_key_password"),
    ("", "ssl_min_protocol"),
    ("", "ssl_options"),
    ("", "ssl_prefer_server_ciphers"),
    ("", "ssl_verify_client_cert"),
    // processes and privileges (src/master)
    ("", "default_internal_group"),
    ("", "default_internal_user"),
    ("", "default_login_user"),
    ("", "first_valid_gid"),
    ("", "first_valid_uid"),
    ("", "last_valid_gid"),
    ("", "last_valid_uid"),
    ("", "mail_access_groups"),
    ("", "mail_chroot"),
    ("", "mail_gid"),
    ("", "mail_log_prefix"),
    ("", "mail_privileged_group"),
    ("", "mail_uid"),
    ("", "valid_chroot_dirs"),
    // shared files (src/fs)
    ("", "dotlock_use_excl"),
    ("", "lock_method"),
    ("", "mail_fsync"),
    ("", "mail_max_lock_timeout"),
    ("", "mail_nfs_index"),
    ("", "mail_nfs_storage"),
    ("", "mmap_disable"),
    // index files (src/index)
    ("", "mail_cache_max_size"),
    ("", "mail_cache_record_max_size"),
    ("", "mail_index_log2_max_age"),
    ("", "mail_index_log_rotate_max_size"),
    ("", "mail_index_log_rotate_min_age"),
    ("", "mail_index_log_rotate_min_size"),
    ("", "mail_index_rewrite_max_log_bytes"),
    ("", "mail_index_rewrite_min_log_bytes"),
    // mail storage (src/storage)
    ("", "mail_location"),
    // names checked per session (storage::plugins); quota, imap_quota, imap_zlib implemented
    ("", "mail_plugins"),
    ("", "mail_temp_scan_interval"),
    ("", "maildir_broken_filename_sizes"),
    ("", "maildir_copy_with_hardlinks"),
    ("", "maildir_empty_new"),
    ("", "maildir_stat_dirs"),
    ("", "maildir_very_dirty_syncs"),
    ("namespace", "disabled"),
    ("namespace", "hidden"),
    ("namespace", "ignore_on_failure"),
    ("namespace", "inbox"),
    ("namespace", "list"),
    ("namespace", "location"),
    ("namespace", "mailbox"),
    ("namespace", "name"),
    ("namespace", "prefix"),
    ("namespace", "separator"),
    ("namespace", "subscriptions"),
    ("namespace", "type"),
    ("mailbox", "auto"),
    ("mailbox", "comment"),
    ("mailbox", "name"),
    ("mailbox", "special_use"),
    // imap
    ("", "imap_capability"),
    ("", "imap_id_log"),
    ("", "imap_id_send"),
    ("", "imap_literal_minus"),
    ("", "imap_logout_format"),
    ("", "imap_max_line_length"),
    ("", "imap_metadata"),
    ("", "imap_urlauth_host"),
    ("", "imap_urlauth_port"),
    ("", "imap_urlauth_stream_user"),
    ("", "imap_urlauth_submit_user"),
    // mailbox attributes (METADATA)
    ("", "mail_attribute_dict"),
    ("", "mail_server_admin"),
    ("", "mail_server_comment"),
    // pop3
    ("", "pop3_client_workarounds"),
    ("", "pop3_delete_type"),
    ("", "pop3_deleted_flag"),
    ("", "pop3_enable_last"),
    ("", "pop3_fast_size_lookups"),
    ("", "pop3_lock_session"),
    ("", "pop3_logout_format"),
    ("", "pop3_no_flag_updates"),
    ("", "pop3_reuse_xuidl"),
    ("", "pop3_save_uidl"),
    ("", "pop3_uidl_duplicates"),
    ("", "pop3_uidl_format"),
    // lmtp and lda (lda_mailbox_autosubscribe is not)
    ("", "hostname"),
    ("", "lda_mailbox_autocreate"),
    ("", "lmtp_add_received_header"),
    ("", "lmtp_hdr_delivery_address"),
    ("", "lmtp_proxy"),
    ("", "lmtp_rcpt_check_quota"),
    ("", "lmtp_save_to_detail_mailbox"),
    ("", "lmtp_user_concurrency_limit"),
    ("", "mail_temp_dir"),
    ("", "quota_full_tempfail"),
    ("", "recipient_delimiter"),
    // passdb { } and userdb { }
    ("passdb", "args"),
    ("passdb", "auth_verbose"),
    ("passdb", "default_fields"),
    ("passdb", "deny"),
    ("passdb", "driver"),
    ("passdb", "master"),
    ("passdb", "mechanisms"),
    ("passdb", "name"),
    ("passdb", "override_fields"),
    ("passdb", "pass"),
    ("passdb", "result_failure"),
    ("passdb", "result_internalfail"),
    ("passdb", "result_success"),
    ("passdb", "skip"),
    ("passdb", "username_filter"),
    ("userdb", "args"),
    ("userdb", "auth_verbose"),
    ("userdb", "default_fields"),
    ("userdb", "driver"),
    ("userdb", "name"),
    ("userdb", "override_fields"),
    ("userdb", "result_failure"),
    ("userdb", "result_internalfail"),
    ("userdb", "result_success"),
    ("userdb", "skip"),
    // director
    ("", "director_mail_servers"),
    ("", "director_servers"),
    ("", "director_user_expire"),
    ("", "director_username_hash"),
    // service { }
    ("service", "chroot"),
    // Only a login service's auth socket argument (`imap-login director`): the master
    // warns about any other use.
    ("service", "executable"),
    ("service", "client_limit"),
    ("service", "extra_groups"),
    ("service", "group"),
    ("service", "idle_kill"),
    ("service", "name"),
    ("service", "process_limit"),
    ("service", "privileged_group"),
    ("service", "process_min_avail"),
    ("service", "protocol"),
    ("service", "service_count"),
    ("service", "type"),
    ("service", "user"),
    ("inet_listener", "address"),
    ("inet_listener", "name"),
    ("inet_listener", "port"),
    ("inet_listener", "reuse_port"),
    ("inet_listener", "ssl"),
    ("unix_listener", "group"),
    ("unix_listener", "mode"),
    ("unix_listener", "path"),
    ("unix_listener", "user"),
];

/// Whether cote implements setting `key` of section kind `kind`.
pub(super) const fn of(kind: &str, key: &str) -> Support {
    if check_of(kind, key).is_some() {
        return Support::CoteOwn;
    }
    let mut i = 0;
    while i < IMPLEMENTED.len() {
        if bytes_eq(IMPLEMENTED[i].0, kind) && bytes_eq(IMPLEMENTED[i].1, key) {
            return Support::Implemented;
        }
        i += 1;
    }
    Support::NotImplemented
}

/// The value check of setting `key` of section kind `kind`, if it is one of cote's own.
pub(super) const fn check_of(kind: &str, key: &str) -> Option<ValueCheck> {
    let mut i = 0;
    while i < COTE_OWN.len() {
        if bytes_eq(COTE_OWN[i].0, kind) && bytes_eq(COTE_OWN[i].1, key) {
            return Some(COTE_OWN[i].2);
        }
        i += 1;
    }
    None
}

/// `a == b`, usable in a const fn.
const fn bytes_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
pub(super) fn implemented() -> &'static [(&'static str, &'static str)] {
    IMPLEMENTED
}

#[cfg(test)]
pub(super) fn cote_own() -> impl Iterator<Item = (&'static str, &'static str)> {
    COTE_OWN.iter().map(|(kind, key, _)| (*kind, *key))
}
