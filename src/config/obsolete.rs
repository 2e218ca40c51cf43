//! Settings from older Dovecot versions that 2.3 still accepts: renamed, moved into
//! `service { }`, or removed, each with Dovecot's "Obsolete setting" warning (Dovecot's
//! old-set-parser.c).

use super::filter::{Filter, Query};
use super::lexer::Line;
use super::parser::Parser;
use super::schema;

/// State carried across lines.
#[derive(Debug)]
pub(crate) struct Obsolete {
    warned_once: bool,
    base_dir: String,
    /// 1 inside an old `auth { }` block, more inside its sub-sections.
    auth_section: u32,
    /// 1 inside `socket listen { }`, more inside its sub-sections.
    socket_listen_section: u32,
    socket: SocketSet,
}

impl Default for Obsolete {
    fn default() -> Obsolete {
        Obsolete {
            warned_once: false,
            base_dir: "/run/dovecot".to_string(),
            auth_section: 0,
            socket_listen_section: 0,
            socket: SocketSet::default(),
        }
    }
}

/// An old `socket listen { master|client { path mode user group } }` block.
#[derive(Debug, Default)]
struct SocketSet {
    path: Option<String>,
    mode: Option<String>,
    user: Option<String>,
    group: Option<String>,
    master: bool,
}

/// Settings removed without replacement.
const REMOVED: &[&str] = &[
    "login_dir",
    "dbox_rotate_min_size",
    "dbox_rotate_days",
    "director_consistent_hashing",
    "mail_log_max_lines_per_sec",
    "maildir_copy_preserve_filename",
];

fn protocol_query(name: &str) -> Query {
    Query {
        service: Some(name.to_string()),
        ..Query::default()
    }
}

/// An address list names a port (`*:143`), not just addresses.
fn listen_has_port(value: &str) -> bool {
    if !value.contains(':') {
        return false;
    }
    value
        .split([',', ' '])
        .filter(|addr| !addr.is_empty())
        .any(|addr| !matches!(addr, "*" | "::" | "[::]") && !is_ipv4(addr) && !is_ipv6(addr))
}

fn is_ipv4(addr: &str) -> bool {
    addr.bytes().all(|c| c == b'.' || c.is_ascii_digit())
}

fn is_ipv6(addr: &str) -> bool {
    let inner = addr
        .strip_prefix('[')
        .map(|a| a.strip_suffix(']').unwrap_or(a));
    let body = match inner {
        Some(body) if addr.ends_with(']') => body,
        Some(_) => return false,
        None => addr,
    };
    body.bytes().all(|c| c == b':' || c.is_ascii_hexdigit())
}

/// `ssl_protocols = !SSLv3 TLSv1.2` to the lowest enabled version.
fn min_protocol(ssl_protocols: &str) -> Result<&'static str, String> {
    const VERSIONS: [&str; 4] = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2"];
    let mut state = [0i8; 4];
    let mut explicit_enable = false;
    for word in ssl_protocols.split([',', ' ']).filter(|w| !w.is_empty()) {
        let (enable, name) = match word.strip_prefix('!') {
            Some(name) => (false, name),
            None => (true, word),
        };
        let Some(index) = VERSIONS.iter().position(|v| *v == name) else {
            return Err(format!("Unrecognized protocol '{name}'"));
        };
        state[index] = if enable { 1 } else { -1 };
        explicit_enable |= enable;
    }
    let wanted = if explicit_enable { 1 } else { 0 };
    state
        .iter()
        .position(|&s| s == wanted)
        .map(|i| VERSIONS[i])
        .ok_or_else(|| "All protocols disabled".to_string())
}

fn kv(key: &str, value: &str) -> Line {
    Line::KeyValue {
        key: key.to_string(),
        value: value.to_string(),
    }
}

impl Parser {
    fn obsolete_warning(&mut self, text: &str) {
        if !self.obsolete.warned_once {
            self.obsolete.warned_once = true;
            self.warnings.push(
                "NOTE: You can get a new clean config file with: coteconf -Pn > cote-new.conf"
                    .to_string(),
            );
        }
        let (file, line) = self.inputs.position();
        self.warnings.push(format!(
            "Obsolete setting in {}:{}: {}",
            file.display(),
            line,
            text
        ));
    }

    fn rename(&mut self, old: &str, new: &str, value: &str) {
        self.obsolete_warning(&format!("{old} has been renamed to {new}"));
        self.apply(kv(new, value));
    }

    /// Sets a `service/...` path in the top-level tree, as Dovecot's old-setting rewrites
    /// do whatever filter they appear in.
    fn apply_root_path(&mut self, key: &str, line: &str) {
        self.apply_line_to(0, key, line, None, None);
    }

    /// Handles `line` if it is an old-style setting. False: parse it normally.
    pub(super) fn handle_obsolete(&mut self, line: &Line) -> bool {
        match line {
            Line::KeyValue { key, value } => {
                if self.pathlen == 0 {
                    self.obsolete_moved(key, value) || self.obsolete_top_level(key, value)
                } else {
                    self.obsolete_in_path(key, value)
                }
            }
            Line::SectionBegin { key, name } => self.obsolete_section_begin(key, name),
            Line::SectionEnd => self.obsolete_section_end(),
            _ => false,
        }
    }

    fn obsolete_section_begin(&mut self, key: &str, name: &str) -> bool {
        if self.obsolete.auth_section > 0 {
            return self.obsolete_auth_section(key, name);
        }
        if self.pathlen != 0 {
            return false;
        }
        match (key, name) {
            ("auth", _) => {
                self.obsolete_warning(
                    "add auth_ prefix to all settings inside auth {} and remove the auth {} \
                     section completely",
                );
                self.obsolete.auth_section = 1;
                true
            }
            ("protocol", "managesieve") => {
                self.obsolete_warning(
                    "protocol managesieve {} has been replaced by protocol sieve { }",
                );
                self.apply(Line::SectionBegin {
                    key: "protocol".into(),
                    name: "sieve".into(),
                });
                true
            }
            ("service", "dns_client") => {
                self.obsolete_warning(
                    "service dns_client {} has been replaced by service dns-client { }",
                );
                self.apply(Line::SectionBegin {
                    key: "service".into(),
                    name: "dns-client".into(),
                });
                true
            }
            _ => false,
        }
    }

    fn obsolete_section_end(&mut self) -> bool {
        if self.obsolete.auth_section > 0 {
            self.obsolete.auth_section -= 1;
            if self.obsolete.auth_section == 0 {
                return true;
            }
        }
        if self.obsolete.socket_listen_section > 0 {
            if self.obsolete.socket_listen_section == 2 {
                self.apply_socket();
            }
            self.obsolete.socket_listen_section -= 1;
            return true;
        }
        false
    }

    fn obsolete_auth_section(&mut self, key: &str, name: &str) -> bool {
        self.obsolete.socket = SocketSet::default();
        self.obsolete.auth_section += 1;
        let level = self.obsolete.auth_section;
        if matches!(key, "passdb" | "userdb") && level == 2 {
            self.obsolete_warning(&format!(
                "{key} {name} {{}} has been replaced by {key} {{ driver={name} }}"
            ));
            self.apply(Line::SectionBegin {
                key: key.to_string(),
                name: String::new(),
            });
            if self.error.is_none() {
                self.apply(kv("driver", name));
            }
            return true;
        }
        if key == "socket" && level == 2 {
            if name == "connect" {
                self.obsolete_warning(
                    "socket connect {} is no longer supported, configure external auth server \
                     separately",
                );
                return false;
            }
            if name != "listen" {
                return false;
            }
            self.obsolete.socket_listen_section += 1;
            return true;
        }
        if self.obsolete.socket_listen_section > 0 {
            self.obsolete.socket_listen_section += 1;
        }
        if matches!(key, "master" | "client") && self.obsolete.socket_listen_section == 2 {
            self.obsolete.socket.master = key == "master";
            return true;
        }
        false
    }

    fn apply_socket(&mut self) {
        let socket = std::mem::take(&mut self.obsolete.socket);
        let Some(full_path) = socket.path else {
            self.error = Some("socket listen {} is missing path".to_string());
            return;
        };
        let base = format!("{}/", self.obsolete.base_dir);
        let path = full_path
            .strip_prefix(&base)
            .unwrap_or(&full_path)
            .to_string();
        let master_suffix =
            path.len() >= 7 && (path.ends_with("-master") || path.ends_with("-userdb"));
        if socket.master && !master_suffix {
            self.error = Some(
                "socket listen { master { path=.. } } must end with -master (or -userdb) suffix"
                    .to_string(),
            );
            return;
        }
        if !socket.master && master_suffix {
            self.error = Some(
                "socket listen { client { path=.. } } must end not with -master or -userdb suffix"
                    .to_string(),
            );
            return;
        }
        let escaped = super::values::section_escape(&path);
        let tree = self.current_tree();
        self.apply_line_to(
            tree,
            "unix_listener",
            &format!("service/auth/unix_listener={escaped}"),
            Some(&path),
            None,
        );
        let prefix = format!("service/auth/unix_listener/{escaped}");
        for (key, value) in [
            ("mode", socket.mode),
            ("user", socket.user),
            ("group", socket.group),
        ] {
            if let Some(value) = value {
                self.apply_line_to(tree, key, &format!("{prefix}/{key}={value}"), None, None);
            }
        }
    }

    /// Old top-level settings that moved into `service { }` blocks or listeners.
    fn obsolete_moved(&mut self, key: &str, value: &str) -> bool {
        let filter = self.current_filter().clone();
        let root = filter.matches(&Query::default());
        let in_imap = filter.matches(&protocol_query("imap"));
        let in_pop3 = filter.matches(&protocol_query("pop3"));
        let in_sieve = filter.matches(&protocol_query("sieve"));

        if key == "ssl_listen" || (key == "listen" && (listen_has_port(value) || !root)) {
            let ssl = if key == "ssl_listen" { "s" } else { "" };
            if value.is_empty() {
                return true;
            }
            let mut address = value;
            if let (Some(colon), true) = (value.rfind(':'), listen_has_port(value)) {
                self.obsolete_warning(&format!(
                    "{key}=..:port has been replaced by service {{ inet_listener {{ port }} }}"
                ));
                address = &value[..colon];
                let port = &value[colon + 1..];
                self.apply_listeners(&filter, ssl, "port", port);
            }
            if root && ssl.is_empty() {
                // Only the global filter matches everything: this is the top level.
                self.apply(kv(key, address));
            } else {
                self.obsolete_warning(&format!(
                    "protocol {{ {key} }} has been replaced by service {{ inet_listener {{ address }} }}"
                ));
                self.apply_listeners(&filter, ssl, "address", address);
            }
            return true;
        }

        let login = |setting: &'static str, value: String| Some((setting, value));
        let login_set = match key {
            "login_chroot" => login("chroot", if value == "no" { "" } else { "login" }.into()),
            "login_user" => login("user", value.into()),
            "login_executable" => login("executable", value.into()),
            "login_process_size" => login("vsz_limit", format!("{value} M")),
            "login_process_per_connection" => login(
                "service_count",
                if value == "no" { "0" } else { "1" }.into(),
            ),
            "login_processes_count" => login("process_min_avail", value.into()),
            "login_max_processes_count" => login("process_limit", value.into()),
            "login_max_connections" => login("client_limit", value.into()),
            _ => None,
        };
        if let Some((setting, value)) = login_set {
            self.obsolete_warning(&format!(
                "{key} has been replaced by service {{ {setting} }}"
            ));
            for (matched, service) in [
                (in_imap, "imap-login"),
                (in_pop3, "pop3-login"),
                (in_sieve, "managesieve-login"),
            ] {
                self.apply_service_setting(matched, service, setting, &value);
            }
            return true;
        }

        let mail_set = match key {
            "max_mail_processes" => Some(("process_limit", value.to_string())),
            "mail_executable" => Some(("executable", value.to_string())),
            "mail_process_size" => Some(("vsz_limit", format!("{value} M"))),
            "mail_drop_priv_before_exec" => Some(("drop_priv_before_exec", value.to_string())),
            _ => None,
        };
        if let Some((setting, value)) = mail_set {
            self.obsolete_warning(&format!(
                "{key} has been replaced by service {{ {setting} }}"
            ));
            for (matched, service) in [
                (in_imap, "imap"),
                (in_pop3, "pop3"),
                (in_sieve, "managesieve"),
            ] {
                self.apply_service_setting(matched, service, setting, &value);
            }
            return true;
        }

        let key = if self.obsolete.auth_section == 1 && !key.starts_with("auth_") {
            format!("auth_{key}")
        } else {
            key.to_string()
        };
        let auth_set = match key.as_str() {
            "auth_executable" => Some(("executable", value.to_string())),
            "auth_process_size" => Some(("vsz_limit", format!("{value} M"))),
            "auth_user" => Some(("user", value.to_string())),
            "auth_chroot" => Some(("chroot", value.to_string())),
            _ => None,
        };
        if let Some((setting, value)) = auth_set {
            self.obsolete_warning(&format!(
                "{key} has been replaced by service auth {{ {setting} }}"
            ));
            self.apply_root_path(setting, &format!("service/auth/{setting}={value}"));
            return true;
        }
        if key == "auth_cache_size" {
            if let Ok(size) = value.parse::<u64>() {
                if (1..1024).contains(&size) && value.bytes().all(|c| c.is_ascii_digit()) {
                    self.obsolete_warning(&format!(
                        "auth_cache_size value no longer defaults to megabytes. Use {value}M"
                    ));
                    self.apply_root_path(&key, &format!("{key}={value}M"));
                    return true;
                }
            }
        }
        if key == "auth_count" {
            self.obsolete_warning(if value == "count" {
                "auth_count has been removed"
            } else {
                "auth_count has been removed, and its value must be 1"
            });
            return true;
        }
        if self.obsolete.socket_listen_section == 2 {
            let slot = match key.as_str() {
                "path" => Some(&mut self.obsolete.socket.path),
                "mode" => Some(&mut self.obsolete.socket.mode),
                "user" => Some(&mut self.obsolete.socket.user),
                "group" => Some(&mut self.obsolete.socket.group),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = Some(value.to_string());
                return true;
            }
        }
        false
    }

    fn apply_listeners(&mut self, filter: &Filter, ssl: &str, setting: &str, value: &str) {
        if filter.matches(&protocol_query("imap")) {
            self.apply_root_path(
                setting,
                &format!("service/imap-login/inet_listener/imap{ssl}/{setting}={value}"),
            );
        }
        if filter.matches(&protocol_query("pop3")) {
            self.apply_root_path(
                setting,
                &format!("service/pop3-login/inet_listener/pop3{ssl}/{setting}={value}"),
            );
        }
        if ssl.is_empty() && filter.matches(&protocol_query("sieve")) {
            self.apply_root_path(
                setting,
                &format!("service/managesieve-login/inet_listener/managesieve/{setting}={value}"),
            );
            // Without Pigeonhole there is no such service: ignored, as in Dovecot.
            self.error = None;
        }
    }

    fn apply_service_setting(&mut self, matched: bool, service: &str, setting: &str, value: &str) {
        if !matched {
            return;
        }
        self.apply_root_path(setting, &format!("service/{service}/{setting}={value}"));
        if service.starts_with("managesieve") {
            self.error = None;
        }
    }

    /// Old top-level settings renamed or removed.
    fn obsolete_top_level(&mut self, key: &str, value: &str) -> bool {
        if key == "base_dir" {
            self.obsolete.base_dir = value.strip_suffix('/').unwrap_or(value).to_string();
        }
        match key {
            "protocols" => {
                self.obsolete_protocols(value);
                return true;
            }
            "ssl_cert_file" | "ssl_key_file" | "ssl_ca_file" => {
                if value.is_empty() {
                    return true;
                }
                let new = &key[..key.rfind('_').unwrap_or(key.len())];
                self.obsolete_warning(&format!("{key} has been replaced by {new} = <file"));
                self.apply(Line::KeyFile {
                    key: new.to_string(),
                    path: value.to_string(),
                });
                return true;
            }
            "ssl_disable" => {
                let value = if value.eq_ignore_ascii_case("yes") {
                    "no"
                } else if value.eq_ignore_ascii_case("no") {
                    "yes"
                } else {
                    value
                };
                self.rename(key, "ssl", value);
                return true;
            }
            "ssl_parameters_regenerate" | "ssl_dh_parameters_length" => {
                self.obsolete_warning(&format!("{key} is no longer needed"));
                return true;
            }
            "ssl_protocols" => {
                self.obsolete_warning(&format!("{key} has been replaced by ssl_min_protocol"));
                match min_protocol(value) {
                    Ok(min) => self.apply(kv("ssl_min_protocol", min)),
                    Err(error) => self.warnings.push(format!(
                        "Could not find a minimum ssl_min_protocol setting from ssl_protocols = \
                         {value}: {error}"
                    )),
                }
                return true;
            }
            "sieve" | "sieve_storage" => {
                if key == "sieve_storage" {
                    self.obsolete_warning("sieve_storage has been moved into plugin { sieve_dir }");
                } else {
                    self.obsolete_warning(&format!(
                        "{key} has been moved into plugin {{}} section"
                    ));
                }
                let tree = self.current_tree();
                self.apply_line_to(tree, "", "plugin=", None, None);
                self.apply_line_to(tree, key, &format!("plugin/{key}={value}"), None, None);
                return true;
            }
            "fsync_disable" => {
                let value = if value.eq_ignore_ascii_case("yes") {
                    "never"
                } else if value.eq_ignore_ascii_case("no") {
                    "optimized"
                } else {
                    value
                };
                self.rename(key, "mail_fsync", value);
                return true;
            }
            "imap_client_workarounds" => {
                let mut words = Vec::new();
                for word in value.split([' ', ',']).filter(|w| !w.is_empty()) {
                    match word {
                        "outlook-idle" => {
                            self.obsolete_warning(
                                "imap_client_workarounds=outlook-idle is no longer necessary",
                            );
                            words.push("");
                        }
                        "netscape-eoh" => {
                            self.obsolete_warning(
                                "imap_client_workarounds=netscape-eoh is no longer supported",
                            );
                            words.push("");
                        }
                        other => words.push(other),
                    }
                }
                self.apply(kv(key, &words.join(" ")));
                return true;
            }
            _ => {}
        }
        if let Some(rest) = key.strip_prefix("mail_cache_compress_") {
            self.rename(key, &format!("mail_cache_purge_{rest}"), value);
            return true;
        }
        if let Some(new) = schema::renamed(key) {
            self.rename(key, new, value);
            return true;
        }
        if REMOVED.contains(&key) {
            self.obsolete_warning(&format!("{key} has been removed"));
            return true;
        }
        if self.obsolete.auth_section == 1 {
            let key = if key.starts_with("auth_") {
                key.to_string()
            } else {
                format!("auth_{key}")
            };
            self.apply(kv(&key, value));
            return true;
        }
        false
    }

    /// `protocols`: drops `imaps`/`pop3s` (turning off the plain listener when only the SSL
    /// one was wanted), renames `managesieve`, and normalizes spacing.
    fn obsolete_protocols(&mut self, value: &str) {
        let mut have = (false, false, false, false);
        let mut words = Vec::new();
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            match word {
                "imap" => {
                    have.0 = true;
                    words.push(word);
                }
                "imaps" => have.1 = true,
                "pop3" => {
                    have.2 = true;
                    words.push(word);
                }
                "pop3s" => have.3 = true,
                "managesieve" => {
                    self.obsolete_warning(
                        "protocols=managesieve has been renamed to protocols=sieve",
                    );
                    words.push("sieve");
                }
                other => words.push(other),
            }
        }
        let mut value = words.join(" ");
        let (have_imap, have_imaps, have_pop3, have_pop3s) = have;
        if have_imaps && !have_imap {
            self.obsolete_warning(
                "'imaps' protocol can no longer be specified (use protocols=imap). to disable \
                 non-ssl imap, use service imap-login { inet_listener imap { port=0 } }",
            );
            value.push_str(" imap");
            let tree = self.current_tree();
            self.apply_line_to(
                tree,
                "port",
                "service/imap-login/inet_listener/imap/port=0",
                None,
                None,
            );
        } else if have_imaps {
            self.obsolete_warning("'imaps' protocol is no longer necessary, remove it");
        }
        if have_pop3s && !have_pop3 {
            self.obsolete_warning(
                "'pop3s' protocol can no longer be specified (use protocols=pop3). to disable \
                 non-ssl pop3, use service pop3-login { inet_listener pop3 { port=0 } }",
            );
            value.push_str(" pop3");
            let tree = self.current_tree();
            self.apply_line_to(
                tree,
                "port",
                "service/pop3-login/inet_listener/pop3/port=0",
                None,
                None,
            );
        } else if have_pop3s {
            self.obsolete_warning("'pop3s' protocol is no longer necessary, remove it");
        }
        let value = value.strip_prefix(' ').unwrap_or(&value).to_string();
        self.apply(kv("protocols", &value));
    }

    fn obsolete_in_path(&mut self, key: &str, value: &str) -> bool {
        if self.path == "plugin/0/" && key == "imap_zlib_compress_level" {
            self.obsolete_warning(&format!(
                "{key} has been replaced by imap_compress_deflate_level"
            ));
            let tree = self.current_tree();
            self.apply_line_to(
                tree,
                key,
                &format!("plugin/0/imap_compress_deflate_level={value}"),
                None,
                None,
            );
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_listen() {
        assert!(listen_has_port("*:143"));
        assert!(!listen_has_port("*, ::"));
        assert!(!listen_has_port("::1, [::]"));
        assert!(listen_has_port("localhost:143"));
    }

    #[test]
    fn min_protocols() {
        assert_eq!(min_protocol("!SSLv3"), Ok("TLSv1"));
        assert_eq!(min_protocol("TLSv1.2 TLSv1.1"), Ok("TLSv1.1"));
        assert_eq!(min_protocol("!SSLv3 !TLSv1 !TLSv1.1"), Ok("TLSv1.2"));
        assert_eq!(
            min_protocol("!SSLv3 !TLSv1 !TLSv1.1 !TLSv1.2"),
            Err("All protocols disabled".to_string())
        );
        assert_eq!(
            min_protocol("SSLv2"),
            Err("Unrecognized protocol 'SSLv2'".to_string())
        );
    }
}
