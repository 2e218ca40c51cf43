//! The master's checks: services, protocols and listeners (`master_settings_verify`).

use super::{words, Checker, View};

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
    pub(super) fn check_master(&mut self, set: View) -> Result<(), String> {
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
