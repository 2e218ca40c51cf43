//! The quota plugin's settings, read as Dovecot 2.3 reads them (`quota_user_read_settings`):
//! `quota`, `quota2`, ... each `<backend>[:<root name>[:<params>]]`, with their
//! `<root>_rule`, `<root>_rule2`, ..., `<root>_grace`; and `quota_exceeded_message`,
//! `quota_vsizes`, `quota_max_mail_size`. Values come from the `plugin { }` section, the
//! userdb's extra fields overriding them (`quota_rule=*:storage=2G` for one user).

use super::rules::RootRules;

/// Dovecot's default `quota_exceeded_message`.
pub const DEFAULT_EXCEEDED_MESSAGE: &str = "Quota exceeded (mailbox for user is full)";

/// The backends cote implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Maildir++: the `maildirsize` file.
    Maildir,
    /// The sizes cote's own indexes hold for every mailbox.
    Count,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Maildir => "maildir",
            BackendKind::Count => "count",
        }
    }
}

/// One quota root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSettings {
    /// The root's name (`User quota`), as GETQUOTAROOT shows it.
    pub name: String,
    pub backend: BackendKind,
    pub rules: RootRules,
    /// `hidden`: not shown by GETQUOTAROOT.
    pub hidden: bool,
    /// `noenforcing`: counted, never refused.
    pub noenforcing: bool,
    /// `ignoreunlimited`: a root without limits is not tracked at all.
    pub ignore_unlimited: bool,
    /// `ns=<prefix>`: only this namespace counts (otherwise every private one).
    pub ns_prefix: Option<String>,
}

/// Everything the quota plugin was configured with for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSettings {
    pub roots: Vec<RootSettings>,
    pub exceeded_message: String,
    /// `quota_vsizes`: count messages by their RFC822.SIZE (CRLF) rather than as stored.
    pub vsizes: bool,
    /// `quota_max_mail_size` (0: none).
    pub max_mail_size: u64,
}

impl QuotaSettings {
    /// Reads the settings through `env` (a plugin setting's value: the userdb's, else the
    /// `plugin { }` section's). `Ok(None)`: nothing to enforce (no root and no maximum
    /// size). Warnings go to `warn`. Errors read as Dovecot's (`Invalid quota root quota:
    /// ...`), for `Failed to initialize quota: ...`.
    pub fn read(
        env: &dyn Fn(&str) -> Option<String>,
        warn: &mut dyn FnMut(String),
    ) -> Result<Option<QuotaSettings>, String> {
        let exceeded_message =
            env("quota_exceeded_message").unwrap_or_else(|| DEFAULT_EXCEEDED_MESSAGE.to_string());
        let vsizes = env("quota_vsizes").is_some_and(|v| is_yes(&v));
        let max_mail_size = match env("quota_max_mail_size") {
            None => 0,
            Some(v) => {
                crate::config::parse_size(&v).map_err(|e| format!("quota_max_mail_size: {e}"))?
            }
        };
        let mut roots = Vec::new();
        let mut root_name = "quota".to_string();
        for i in 2.. {
            let Some(def) = env(&root_name).filter(|d| !d.is_empty()) else {
                break;
            };
            let root = read_root(env, &root_name, &def, vsizes, warn)
                .map_err(|e| format!("Invalid quota root {root_name}: {e}"))?;
            roots.push(root);
            root_name = format!("quota{i}");
        }
        if roots.is_empty() && max_mail_size == 0 {
            return Ok(None);
        }
        Ok(Some(QuotaSettings {
            roots,
            exceeded_message,
            vsizes,
            max_mail_size,
        }))
    }
}

/// Dovecot's boolean plugin settings: `yes`, `y` or `1` (any case).
fn is_yes(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "yes" | "y" | "1")
}

/// One root: `<backend>[:<name>[:<params>]]` and its rules and grace.
fn read_root(
    env: &dyn Fn(&str) -> Option<String>,
    env_name: &str,
    def: &str,
    vsizes: bool,
    warn: &mut dyn FnMut(String),
) -> Result<RootSettings, String> {
    let mut parts = def.splitn(3, ':');
    let backend_name = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default().to_string();
    let params = parts.next().unwrap_or_default();
    let backend = match backend_name {
        "maildir" => BackendKind::Maildir,
        "count" => BackendKind::Count,
        "dict" | "dirsize" | "fs" | "imapc" => {
            return Err(format!(
                "The {backend_name} quota backend is not supported by this build of cote yet"
            ))
        }
        _ => return Err(format!("Unknown quota backend: {backend_name}")),
    };
    if backend == BackendKind::Count && !vsizes {
        return Err(
            "count quota init failed: quota count backend requires quota_vsizes=yes".into(),
        );
    }
    let mut root = RootSettings {
        name,
        backend,
        rules: RootRules::default(),
        hidden: false,
        noenforcing: false,
        ignore_unlimited: false,
        ns_prefix: None,
    };
    parse_params(&mut root, params)
        .map_err(|e| format!("{backend_name} quota init failed: {e}"))?;
    let mut rule_name = format!("{env_name}_rule");
    for i in 2.. {
        let Some(rule) = env(&rule_name) else { break };
        let root_label = root.name.clone();
        root.rules
            .add_rule(&rule, &mut |w| warn(format!("quota root {root_label} {w}")))
            .map_err(|e| format!("Invalid rule {rule}: {e}"))?;
        rule_name = format!("{env_name}_rule{i}");
    }
    if env(&format!("{env_name}_warning")).is_some() {
        warn(format!(
            "{env_name}_warning: quota warning scripts are not supported by this build of cote \
             yet; no warning will run"
        ));
    }
    if env(&format!("{env_name}_set")).is_some() {
        warn(format!(
            "{env_name}_set: quota limits set through a dict are not supported by this build of \
             cote yet; SETQUOTA is refused"
        ));
    }
    let grace_name = format!("{env_name}_grace");
    let grace = env(&grace_name);
    root.rules.set_grace(grace.as_deref()).map_err(|e| {
        format!(
            "Invalid {grace_name} value '{}': {e}",
            grace.as_deref().unwrap_or_default()
        )
    })?;
    Ok(root)
}

/// The root's `:`-separated parameters.
fn parse_params(root: &mut RootSettings, mut params: &str) -> Result<(), String> {
    while !params.is_empty() {
        let (param, rest) = params.split_once(':').unwrap_or((params, ""));
        if let Some(prefix) = param.strip_prefix("ns=") {
            root.ns_prefix = Some(prefix.to_string());
        } else {
            match param {
                "hidden" => root.hidden = true,
                "noenforcing" => root.noenforcing = true,
                "ignoreunlimited" => root.ignore_unlimited = true,
                _ => {
                    return Err(format!(
                        "Unknown parameter for backend {}: {params}",
                        root.backend.name()
                    ))
                }
            }
        }
        params = rest;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> (Result<Option<QuotaSettings>, String>, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut warnings = Vec::new();
        let r = QuotaSettings::read(&|k| map.get(k).cloned(), &mut |w| warnings.push(w));
        (r, warnings)
    }

    #[test]
    fn a_sites_configuration() {
        let (r, w) = read(&[
            ("quota", "maildir:User quota"),
            ("quota_rule", "*:storage=1G"),
            ("quota_rule2", "Trash:storage=+100M"),
            ("quota_rule3", "*:messages=1000"),
            ("quota_grace", "5%"),
            ("quota_exceeded_message", "Mailbox full"),
            ("quota_max_mail_size", "20M"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        let s = r.unwrap().unwrap();
        assert_eq!(s.roots.len(), 1);
        let root = &s.roots[0];
        assert_eq!(root.name, "User quota");
        assert_eq!(root.backend, BackendKind::Maildir);
        assert_eq!(root.rules.default.bytes, 1 << 30);
        assert_eq!(root.rules.default.count, 1000);
        assert_eq!(root.rules.grace_bytes(1000), 50);
        assert_eq!(s.exceeded_message, "Mailbox full");
        assert_eq!(s.max_mail_size, 20 << 20);
    }

    #[test]
    fn several_roots_and_params() {
        let (r, _) = read(&[
            ("quota", "maildir:User quota:noenforcing:ns=INBOX/"),
            ("quota2", "count:Second:hidden"),
            ("quota2_rule", "*:messages=10"),
            ("quota_vsizes", "yes"),
        ]);
        let s = r.unwrap().unwrap();
        assert!(s.roots[0].noenforcing);
        assert_eq!(s.roots[0].ns_prefix.as_deref(), Some("INBOX/"));
        assert!(s.roots[1].hidden);
        assert_eq!(s.roots[1].rules.default.count, 10);
        assert_eq!(s.roots[0].rules.default.count, 0);
    }

    #[test]
    fn errors_as_dovecot() {
        let err = |pairs: &[(&str, &str)]| read(pairs).0.unwrap_err();
        assert_eq!(
            err(&[("quota", "nope:x")]),
            "Invalid quota root quota: Unknown quota backend: nope"
        );
        assert_eq!(
            err(&[("quota", "count:x")]),
            "Invalid quota root quota: count quota init failed: quota count backend requires \
             quota_vsizes=yes"
        );
        assert_eq!(
            err(&[("quota", "maildir:x:bogus")]),
            "Invalid quota root quota: maildir quota init failed: Unknown parameter for backend \
             maildir: bogus"
        );
        assert_eq!(
            err(&[("quota", "maildir"), ("quota_rule", "*:x=1")]),
            "Invalid quota root quota: Invalid rule *:x=1: Unknown rule limit name: x"
        );
        assert!(err(&[("quota", "dict:x:proxy::quota")]).contains("not supported"));
    }

    #[test]
    fn nothing_configured() {
        assert_eq!(read(&[]).0, Ok(None));
        assert_eq!(read(&[("quota", "")]).0, Ok(None));
        let s = read(&[("quota_max_mail_size", "1k")]).0.unwrap().unwrap();
        assert!(s.roots.is_empty());
        assert_eq!(s.exceeded_message, DEFAULT_EXCEEDED_MESSAGE);
    }
}
