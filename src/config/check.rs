//! Whole-configuration checks done after parsing (Dovecot's `config_all_parsers_check`):
//! unclosed sections, conflicting filters, and the cross-setting checks of each settings
//! module (`mail_nfs_index=yes requires mmap_disable=yes`, ...) on the view of every filter.
//!
//! The module checks follow Dovecot's `check_func`s in the order doveconf runs them (its
//! settings roots: master service, SSL, then the modules by name). Left out: the event filter
//! syntax of `log_debug`/`log_core_filter`/`process_shutdown_filter` and of `metric { filter }`,
//! and `mail_plugin_dir` being readable when `mail_plugins` is set (cote has no plugin
//! directory).

use super::error::ConfigError;
use super::filter::Query;
use super::parser::Parsed;
use super::tree::Node;
use super::values::Value;

/// The settings `query` sees: the matching filter trees merged, most specific first.
/// With `strict`, a value set by two filters neither of which contains the other is an
/// error, as Dovecot reports it.
pub(crate) fn merged(parsed: &Parsed, query: &Query, strict: bool) -> Result<Node, String> {
    let mut matches: Vec<_> = parsed
        .filters
        .iter()
        .filter(|f| f.filter.matches(query))
        .collect();
    // Stable, as glibc's qsort (a merge sort) is for Dovecot.
    matches.sort_by(|a, b| a.filter.specificity_cmp(&b.filter));
    let Some(first) = matches.first() else {
        return Ok(parsed.filters[0].tree.root.clone());
    };
    let mut dest = first.tree.root.clone();
    for pair in matches.windows(2) {
        let (narrower, wider) = (pair[0], pair[1]);
        let strict = strict && !wider.filter.is_superset_of(&narrower.filter);
        dest.apply(&wider.tree.root, strict).map_err(|key| {
            format!(
                "Conflict in setting {key} found from filter at {}",
                wider.origin
            )
        })?;
    }
    Ok(dest)
}

/// Runs every whole-configuration check. The checker keeps the warnings, and is reused for
/// the dump's own check of its view (as doveconf checks again when it prints).
pub(crate) fn check_all(parsed: &Parsed, checker: &mut Checker) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::in_file(&parsed.path, message);
    if let Some((file, line)) = &parsed.unclosed {
        return Err(fail(format!(
            "Missing '}}' (section started at {}:{})",
            file.display(),
            line
        )));
    }
    let explicit_ssl = |node: &Node| {
        node.scalar("ssl")
            .filter(|s| s.changed)
            .map(|s| s.text.clone())
    };
    let global_ssl = explicit_ssl(&parsed.filters[0].tree.root).unwrap_or_default();
    let mut ssl_warned = false;
    for filter in &parsed.filters {
        let view = merged(parsed, &filter.filter.as_query(), true).map_err(fail)?;
        let ssl = explicit_ssl(&filter.tree.root).unwrap_or_else(|| global_ssl.clone());
        if ssl != "no" && global_ssl == "no" && !ssl_warned {
            checker.warnings.push(format!(
                "SSL is disabled because global ssl=no, ignoring ssl={ssl} for subsection"
            ));
            ssl_warned = true;
        }
        checker.check(&view).map_err(fail)?;
    }
    Ok(())
}

/// Runs the module checks; some warn only once per process, as Dovecot's do.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub warnings: Vec<String>,
    warned_auth: bool,
    warned_anvil: bool,
}

/// Read access to a merged view for the checks.
#[derive(Clone, Copy)]
struct View<'a>(&'a Node);

impl<'a> View<'a> {
    fn value(&self, key: &str) -> Option<&'a Value> {
        self.0.scalar(key).map(|s| &s.value)
    }

    fn str(&self, key: &str) -> &'a str {
        match self.value(key) {
            Some(Value::Str(Some(s)) | Value::StrVars(Some(s)) | Value::Enum(s)) => s,
            _ => "",
        }
    }

    fn is_null(&self, key: &str) -> bool {
        matches!(
            self.value(key),
            Some(Value::Str(None) | Value::StrVars(None))
        )
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.value(key), Some(Value::Bool(true)))
    }

    fn number(&self, key: &str) -> u64 {
        match self.value(key) {
            Some(Value::Uint(n) | Value::Octal(n) | Value::Time(n) | Value::TimeMsecs(n)) => {
                u64::from(*n)
            }
            Some(Value::Size(n)) => *n,
            Some(Value::Port(n)) => u64::from(*n),
            _ => 0,
        }
    }

    fn sections(&self, kind: &str) -> &'a [Node] {
        match self.0.list(kind) {
            Some(list) => &list.children,
            None => &[],
        }
    }

    fn name(&self) -> &'a str {
        self.0.name()
    }
}

/// Words split on any of `separators`, empty ones dropped (Dovecot's `t_strsplit_spaces`).
fn words<'s>(text: &'s str, separators: &'s [char]) -> impl Iterator<Item = &'s str> + 's {
    text.split(separators).filter(|w| !w.is_empty())
}

/// A `*_client_workarounds`-style list: every word must be known (case-insensitively).
fn check_words(setting: &str, text: &str, known: &[&str], what: &str) -> Result<(), String> {
    for word in words(text, &[' ', ',']) {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            return Err(format!("{setting}: Unknown {what}: {word}"));
        }
    }
    Ok(())
}

impl Checker {
    /// The module checks on one merged view, in doveconf's order.
    pub(crate) fn check(&mut self, node: &Node) -> Result<(), String> {
        let set = View(node);
        check_master_service(set)?;
        check_ssl(set)?;
        check_auth(set)?;
        check_director(set)?;
        check_doveadm(set)?;
        check_imap(set)?;
        check_lmtp(set)?;
        check_mail_storage(set)?;
        check_namespaces(set)?;
        self.check_master(set)?;
        check_pop3(set)?;
        check_stats(set)?;
        Ok(())
    }
}

const SYSLOG_FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "uucp",
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

fn check_master_service(set: View) -> Result<(), String> {
    let facility = set.str("syslog_facility");
    if !SYSLOG_FACILITIES.contains(&facility) {
        return Err(format!("Unknown syslog_facility: {facility}"));
    }
    Ok(())
}

fn check_ssl(set: View) -> Result<(), String> {
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
fn hash_bits(name: &str) -> Option<u32> {
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

fn check_auth(set: View) -> Result<(), String> {
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
        if super::values::parse_uint(n).map_or(true, |n| n == 0) {
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

fn check_director(set: View) -> Result<(), String> {
    if set.number("director_user_expire") < 10 {
        return Err("director_user_expire is too low".into());
    }
    Ok(())
}

fn check_doveadm(set: View) -> Result<(), String> {
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

fn check_imap(set: View) -> Result<(), String> {
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

fn check_lmtp(set: View) -> Result<(), String> {
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

/// lib-storage's `mail_storage_settings_check`.
fn check_mail_storage(set: View) -> Result<(), String> {
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
    Ok(())
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
            match super::values::parse_uint(text) {
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
        return Err("pop3_uidl_format setting doesn't contain any % variables.".into());
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
fn check_namespaces(set: View) -> Result<(), String> {
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

/// Built-in services that must run as a single process (Dovecot's `process_limit_1`).
const SINGLE_PROCESS_SERVICES: &[&str] = &[
    "anvil",
    "auth",
    "director",
    "indexer",
    "ipc",
    "log",
    "old-stats",
    "replicator",
];

const SERVICE_TYPES: &[&str] = &["", "log", "config", "anvil", "login", "startup", "worker"];

fn user_exists(name: &str) -> bool {
    matches!(nix::unistd::User::from_name(name), Ok(Some(_)))
}

impl Checker {
    /// master's `master_settings_verify`: services, protocols and listeners.
    fn check_master(&mut self, set: View) -> Result<(), String> {
        if set.str("listen").is_empty() {
            return Err("listen can't be set empty".into());
        }
        let base_dir = set.str("base_dir");
        let base_dir = base_dir.strip_suffix('/').unwrap_or(base_dir);
        let (first_uid, last_uid) = (set.number("first_valid_uid"), set.number("last_valid_uid"));
        if last_uid != 0 && first_uid > last_uid {
            return Err("first_valid_uid can't be larger than last_valid_uid".into());
        }
        let (first_gid, last_gid) = (set.number("first_valid_gid"), set.number("last_valid_gid"));
        if last_gid != 0 && first_gid > last_gid {
            return Err("first_valid_gid can't be larger than last_valid_gid".into());
        }
        for key in ["default_login_user", "default_internal_user"] {
            let user = set.str(key);
            if !user_exists(user) {
                return Err(format!("{key} doesn't exist: {user}"));
            }
        }
        let services: Vec<View> = set.sections("service").iter().map(View).collect();
        if services.is_empty() {
            return Err("No services defined".into());
        }
        for (i, service) in services.iter().enumerate() {
            let name = service.name();
            if name.is_empty() {
                return Err(format!("Service #{i} is missing name"));
            }
            let kind = service.str("type");
            if !SERVICE_TYPES.contains(&kind) {
                return Err(format!("Unknown service type: {kind}"));
            }
            if services[..i].iter().any(|s| s.name() == name) {
                return Err(format!("Duplicate service name: {name}"));
            }
        }
        let mut protocols: Vec<&str> = words(set.str("protocols"), &[' ']).collect();
        if protocols == ["none"] {
            protocols.clear();
        }
        for protocol in &protocols {
            if !services.iter().any(|s| s.str("protocol") == *protocol) {
                return Err(format!("protocols: Unknown protocol: {protocol}"));
            }
        }
        let default_process_limit = set.number("default_process_limit");
        let default_client_limit = set.number("default_client_limit");
        let mut listeners: Vec<String> = Vec::new();
        let mut auth_clients = 0u64;
        let mut auth_reason = String::new();
        let mut anvil_clients = 2u64;
        let mut anvil_reason = String::new();
        for service in &services {
            let name = service.name();
            let protocol = service.str("protocol");
            if !protocol.is_empty() && !protocols.contains(&protocol) {
                continue;
            }
            let chroot = service.str("chroot");
            if service.bool("drop_priv_before_exec") && !chroot.is_empty() {
                return Err(format!(
                    "service({name}): drop_priv_before_exec=yes can't be used with chroot"
                ));
            }
            let process_limit = match service.number("process_limit") {
                0 => default_process_limit,
                n => n,
            };
            if service.number("process_min_avail") > process_limit {
                return Err(format!(
                    "service({name}): process_min_avail is higher than process_limit"
                ));
            }
            let vsz = service.number("vsz_limit");
            if vsz != 0 && vsz < 1024 * 1024 {
                return Err(format!("service({name}): vsz_limit is too low"));
            }
            if SINGLE_PROCESS_SERVICES.contains(&name) && process_limit > 1 {
                return Err(format!("service({name}): process_limit must be 1"));
            }
            let kind = service.str("type");
            if !protocol.is_empty()
                && (service.number("service_count") != 1 || kind == "login")
                && name != "imap-hibernate"
            {
                auth_reason.push_str(&format!(
                    " + service {name} {{ process_limit={process_limit} }}"
                ));
                auth_clients += process_limit;
            }
            if kind == "login" || name == "auth" {
                anvil_clients += process_limit;
                anvil_reason.push_str(&format!(
                    " + service {name} {{ process_limit={process_limit} }}"
                ));
            }
            for (kind, label) in [
                ("unix_listener", "unix_listener"),
                ("fifo_listener", "fifo_listener"),
            ] {
                for listener in service.sections(kind).iter().map(View) {
                    let path = listener.name();
                    if path.is_empty() {
                        return Err(format!("service({name}): {label}: path must not be empty"));
                    }
                    let full = if !path.starts_with('/') {
                        format!("{base_dir}/{path}")
                    } else {
                        if path
                            .strip_prefix(base_dir)
                            .is_some_and(|rest| rest.starts_with('/'))
                        {
                            self.warnings.push(format!(
                                "You should remove base_dir prefix from unix_listener: {path}"
                            ));
                        }
                        path.to_string()
                    };
                    if listener.number("mode") != 0 {
                        listeners.push(full);
                    }
                }
            }
            for listener in service.sections("inet_listener").iter().map(View) {
                let port = listener.number("port");
                if port != 0 {
                    listeners.push(format!("{port}:{}", listener.str("address")));
                }
            }
        }
        let client_limit = |wanted: &str| {
            services
                .iter()
                .find(|s| s.name() == wanted)
                .map(|s| s.number("client_limit"))
                .filter(|&n| n != 0)
                .unwrap_or(default_client_limit)
        };
        let auth_limit = client_limit("auth");
        if auth_limit < auth_clients && !self.warned_auth {
            self.warned_auth = true;
            self.warnings.push(format!(
                "service auth {{ client_limit={auth_limit} }} is lower than required under max. \
                 load ({auth_clients}). Counted for protocol services with service_count != 1: {}",
                auth_reason.get(3..).unwrap_or("")
            ));
        }
        let anvil_limit = client_limit("anvil");
        if anvil_limit < anvil_clients && !self.warned_anvil {
            self.warned_anvil = true;
            self.warnings.push(format!(
                "service anvil {{ client_limit={anvil_limit} }} is lower than required under \
                 max. load ({anvil_clients}). Counted with: {}",
                anvil_reason.get(3..).unwrap_or("")
            ));
        }
        listeners.sort();
        if let Some(pair) = listeners.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!("duplicate listener: {}", pair[1]));
        }
        Ok(())
    }
}

fn check_pop3(set: View) -> Result<(), String> {
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
fn check_stats(set: View) -> Result<(), String> {
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
            Err("pop3_uidl_format setting doesn't contain any % variables.".to_string())
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
