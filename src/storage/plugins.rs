//! `mail_plugins`: which of Dovecot's mail plugins a user's session loads. cote implements
//! some as part of itself (`acl`, `imap_acl`, `quota`, `imap_quota`, `imap_zlib`); the other plugins Dovecot
//! 2.3 ships are accepted with a warning that they do nothing here, and a name Dovecot has
//! no plugin for fails the session as Dovecot fails to load it.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::config::Settings;

/// The plugins cote implements.
const IMPLEMENTED: &[&str] = &["acl", "imap_acl", "quota", "imap_quota", "imap_zlib"];

/// Dependencies, as the plugins declare them to Dovecot's module loader.
const DEPENDENCIES: &[(&str, &str)] = &[("imap_quota", "quota"), ("imap_acl", "acl")];

/// The other plugins of Dovecot 2.3 and its Debian packages (core, Pigeonhole, FTS).
const NOT_IMPLEMENTED: &[&str] = &[
    "apparmor",
    "mail_lua",
    "lazy_expunge",
    "mail_crypt",
    "mail_crypt_acl",
    "pop3_migration",
    "last_login",
    "trash",
    "notify",
    "charset_alias",
    "fts",
    "fts_squat",
    "fts_solr",
    "fts_lucene",
    "fts_xapian",
    "fts_flatcurve",
    "listescape",
    "mail_log",
    "mailbox_alias",
    "notify_status",
    "push_notification",
    "push_notification_lua",
    "quota_clone",
    "replication",
    "virtual",
    "zlib",
    "old_stats",
    "imap_old_stats",
    "welcome",
    "sieve",
    "imap_sieve",
    "imap_filter_sieve",
    "sieve_extprograms",
];

/// The plugin names `mail_plugins` lists (Dovecot's module names: `_plugin` suffix
/// optional).
fn names<'a>(settings: &'a Settings<'_>) -> Vec<&'a str> {
    settings
        .str("mail_plugins")
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| p.strip_suffix("_plugin").unwrap_or(p))
        .collect()
}

/// Whether `mail_plugins` loads the plugin `name`.
pub fn loaded(settings: &Settings, name: &str) -> bool {
    names(settings).contains(&name)
}

/// Checks `mail_plugins` as Dovecot's module loader would: an unknown plugin or a missing
/// dependency is an error (the session cannot start); a known plugin cote does not
/// implement is logged once per process as doing nothing.
pub fn check(settings: &Settings) -> Result<(), String> {
    static WARNED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let loaded_names = names(settings);
    for name in &loaded_names {
        if IMPLEMENTED.contains(name) {
            continue;
        }
        if !NOT_IMPLEMENTED.contains(name) {
            return Err(format!(
                "Plugin '{name}' not found from directory {}",
                settings.str("mail_plugin_dir")
            ));
        }
        let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
        if warned
            .get_or_insert_with(HashSet::new)
            .insert(name.to_string())
        {
            log::warn!(
                "mail_plugins: the {name} plugin is not implemented by this build of cote: \
                 it is ignored"
            );
        }
    }
    for (plugin, needs) in DEPENDENCIES {
        if loaded_names.contains(plugin) && !loaded_names.contains(needs) {
            return Err(format!(
                "Plugin {needs} must be loaded also (you must set: \
                 mail_plugins=$mail_plugins {needs})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(text: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        (dir, config)
    }

    #[test]
    fn known_unknown_and_dependencies() {
        let (_d, c) = config("mail_plugins = quota imap_quota_plugin acl\n");
        let s = c.global();
        assert!(loaded(&s, "quota") && loaded(&s, "imap_quota") && !loaded(&s, "zlib"));
        assert_eq!(check(&s), Ok(()));
        let (_d, c) = config("mail_plugins = quota foo\n");
        assert_eq!(
            check(&c.global()),
            Err("Plugin 'foo' not found from directory /usr/lib/dovecot/modules".into())
        );
        let (_d, c) = config("mail_plugins = imap_quota\n");
        assert_eq!(
            check(&c.global()),
            Err(
                "Plugin quota must be loaded also (you must set: mail_plugins=$mail_plugins \
                 quota)"
                    .into()
            )
        );
        let (_d, c) = config("");
        assert_eq!(check(&c.global()), Ok(()));
    }
}
