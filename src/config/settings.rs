//! The public view of a loaded configuration: typed getters over the global settings or the
//! settings one connection sees, and over sections (services, namespaces, passdbs, ...).

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::check::{check_all, merged, Checker};
use super::error::ConfigError;
use super::export::section_path_name;
use super::filter::{Net, Query};
use super::parser::{parse, FileValues, ParseOptions, Parsed};
use super::schema::{self, SettingDef, SettingType, Support};
use super::tree::{Node, Scalar, SetMeta, Slot};
use super::values::Value;

/// One loaded configuration: the main file, everything it includes, and every filter.
#[derive(Debug, Clone)]
pub struct Config {
    parsed: Parsed,
    warnings: Vec<String>,
}

/// Who is asking for settings: the connection's protocol, addresses and TLS SNI name.
#[derive(Debug, Default, Clone)]
pub struct FilterQuery {
    pub protocol: Option<String>,
    pub local_ip: Option<IpAddr>,
    pub remote_ip: Option<IpAddr>,
    pub local_name: Option<String>,
}

impl FilterQuery {
    pub(crate) fn to_query(&self) -> Query {
        let host = |ip: &Option<IpAddr>| {
            ip.map(|ip| Net {
                ip,
                bits: if ip.is_ipv4() { 32 } else { 128 },
            })
        };
        Query {
            service: self.protocol.clone(),
            local_name: self.local_name.clone(),
            local: host(&self.local_ip),
            remote: host(&self.remote_ip),
        }
    }
}

impl Config {
    /// Loads `path` as Dovecot's config service does: includes, `$variables` expanded,
    /// filters, every value validated, and Dovecot's cross-setting checks. `<file` values of
    /// string settings are read only when asked for ([`Settings::read`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_overrides(path, &[])
    }

    /// [`load`](Self::load), then `overrides` (`key=value`, the `-o` of `dovecot-lda` and
    /// other tools), which win over the file wherever it sets the key, filters included.
    /// As Dovecot's `-o`, a key that is no setting is ignored; a value that is invalid, or a
    /// word without `=`, is an error `Invalid -o parameter ...`.
    pub fn load_with_overrides(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let mut parsed = parse(
            path,
            ParseOptions {
                expand_vars: true,
                files: FileValues::Lazy,
            },
            &mut warnings,
        )?;
        for line in overrides {
            apply_override(&mut parsed, line)
                .map_err(|e| ConfigError::plain(format!("Invalid -o parameter {line}: {e}")))?;
        }
        let mut checker = Checker::default();
        check_all(&parsed, &mut checker)?;
        warnings.extend(checker.warnings);
        warnings.extend(not_implemented_warnings(&parsed));
        warnings.extend(local_name_warnings(&parsed));
        Ok(Config { parsed, warnings })
    }

    /// The main configuration file.
    pub fn path(&self) -> &Path {
        &self.parsed.path
    }

    /// Every warning found while loading (each names its file and line): Dovecot's own, and
    /// one for each setting cote does not implement yet that is set to a non-default value.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every `local_name` filter section's names, as written (space-separated, `*`
    /// wildcards): a login process prepares a TLS context for each before dropping root.
    pub fn local_names(&self) -> Vec<&str> {
        self.parsed
            .filters
            .iter()
            .filter_map(|f| f.filter.local_name.as_deref())
            .collect()
    }

    /// The global settings, no filter applied.
    pub fn global(&self) -> Settings<'_> {
        Settings {
            node: Cow::Borrowed(&self.parsed.filters[0].tree.root),
        }
    }

    /// The settings a connection matching `query` sees: the most specific matching filter
    /// wins for each setting. (Where two unrelated filters both set a value, which Dovecot
    /// refuses per connection, the more specific one by Dovecot's order wins.)
    pub fn settings(&self, query: &FilterQuery) -> Settings<'_> {
        let node = merged(&self.parsed, &query.to_query(), false)
            .unwrap_or_else(|_| self.parsed.filters[0].tree.root.clone());
        Settings {
            node: Cow::Owned(node),
        }
    }
}

/// Sets one `-o key=value` in the global settings and in each filter that sets the key too.
fn apply_override(parsed: &mut Parsed, line: &str) -> Result<(), String> {
    let Some((key, value)) = line.split_once('=') else {
        return Err("Missing '='".into());
    };
    let meta = SetMeta::default();
    for (i, filter) in parsed.filters.iter_mut().enumerate() {
        let set_here =
            i == 0 || matches!(filter.tree.get(key), Some((_, Slot::Scalar(s))) if s.changed);
        if set_here && filter.tree.set(key, value, &meta)?.is_none() {
            // Not a setting: ignored, as Dovecot's -o does.
            return Ok(());
        }
    }
    Ok(())
}

/// One warning per setting that cote parses but does not act on, when set to a value other
/// than its default (a built-in service's own default for its settings). Each names the
/// file and line, and the setting as a `coteconf -h` path.
fn not_implemented_warnings(parsed: &Parsed) -> Vec<String> {
    fn walk(node: &Node, pristine: &Node, path: &str, out: &mut Vec<String>) {
        for (index, (def, slot)) in node.info.settings.iter().zip(&node.slots).enumerate() {
            match slot {
                Slot::Scalar(scalar) => {
                    let default = match &pristine.slots[index] {
                        Slot::Scalar(default) => &default.value,
                        _ => continue,
                    };
                    if !scalar.changed
                        || def.support != Support::NotImplemented
                        || node.info.name_key == Some(def.key)
                        || scalar.value == *default
                    {
                        continue;
                    }
                    let place = match &scalar.meta.origin {
                        Some(o) => format!("{} line {}", o.file.display(), o.line),
                        None => "configuration".to_string(),
                    };
                    out.push(format!(
                        "{place}: {path}{} is not implemented by cote yet, its value is ignored",
                        def.key
                    ));
                }
                Slot::List(list) => {
                    for (i, child) in list.children.iter().enumerate() {
                        let same = match &pristine.slots[index] {
                            Slot::List(defaults) if list.unique && !child.name().is_empty() => {
                                defaults.children.iter().find(|c| c.name() == child.name())
                            }
                            _ => None,
                        };
                        let fresh;
                        let child_pristine = match same {
                            Some(node) => node,
                            None => {
                                fresh = Node::new(list.section);
                                &fresh
                            }
                        };
                        let name = section_path_name(list.unique, child, i);
                        let child_path = format!("{path}{}/{name}/", def.key);
                        walk(child, child_pristine, &child_path, out);
                    }
                }
                Slot::StrList(_) | Slot::Alias => {}
            }
        }
    }
    let pristine = Node::new(schema::root());
    let mut out = Vec::new();
    for filter in &parsed.filters {
        walk(&filter.tree.root, &pristine, "", &mut out);
    }
    out
}

/// One warning per setting inside a `local_name` filter that is not a TLS setting: cote
/// picks the certificate and TLS settings by SNI, but does not apply other settings of the
/// name (Dovecot re-reads the login settings for it).
fn local_name_warnings(parsed: &Parsed) -> Vec<String> {
    let mut out = Vec::new();
    for filter in parsed
        .filters
        .iter()
        .filter(|f| f.filter.local_name.is_some())
    {
        let node = &filter.tree.root;
        for (def, slot) in node.info.settings.iter().zip(&node.slots) {
            let Slot::Scalar(scalar) = slot else {
                continue;
            };
            if !scalar.changed || def.key.starts_with("ssl_") {
                continue;
            }
            let place = match &scalar.meta.origin {
                Some(o) => format!("{} line {}", o.file.display(), o.line),
                None => "configuration".to_string(),
            };
            out.push(format!(
                "{place}: {} inside local_name is not implemented by cote yet (only ssl_* \
                 settings are), its value is ignored",
                def.key
            ));
        }
    }
    out
}

/// Settings as seen globally or by one connection.
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    node: Cow<'a, Node>,
}

/// One section (a service, listener, namespace, mailbox, passdb, ...).
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    node: &'a Node,
}

impl Settings<'_> {
    fn node(&self) -> &Node {
        &self.node
    }
}

impl<'a> Section<'a> {
    fn node(&self) -> &'a Node {
        self.node
    }

    /// The section's name (`imap-login`, `inbox`, `Sent Messages`, a listener's path), `""`
    /// for an anonymous one.
    pub fn name(&self) -> &'a str {
        self.node.name()
    }

    /// The section keyword (`service`, `inet_listener`, `namespace`, ...).
    pub fn kind(&self) -> &'static str {
        self.node.info.kind
    }
}

fn scalar<'n>(node: &'n Node, key: &str) -> Option<(&'static SettingDef, &'n Scalar)> {
    let index = node.resolve_alias(node.index(key)?);
    match &node.slots[index] {
        Slot::Scalar(scalar) => Some((&node.info.settings[index], scalar)),
        _ => None,
    }
}

fn missing(node: &Node, key: &str) {
    debug_assert!(
        false,
        "setting {key} is not a setting of {:?} in the schema",
        node.info.kind
    );
}

/// Getters shared by [`Settings`] and [`Section`].
macro_rules! getters {
    ($ty:ident) => {
        impl $ty<'_> {
            /// The value as text (after `$variable` expansion); the default when not set;
            /// `<path` for a `key = <path` value.
            pub fn str(&self, key: &str) -> &str {
                match scalar(self.node(), key) {
                    Some((_, s)) => s.text.as_str(),
                    None => {
                        missing(self.node(), key);
                        ""
                    }
                }
            }

            /// Like [`str`](Self::str), but a `key = <path` value is the file's contents,
            /// read now.
            pub fn read(&self, key: &str) -> Result<String, ConfigError> {
                let Some((def, s)) = scalar(self.node(), key) else {
                    missing(self.node(), key);
                    return Ok(String::new());
                };
                let Some(path) = &s.meta.file else {
                    return Ok(s.text.clone());
                };
                std::fs::read(path)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .map_err(|error| read_error(def.key, path, &s.meta.origin, &error))
            }

            /// Whether the configuration set this setting (even to its default).
            pub fn is_set(&self, key: &str) -> bool {
                scalar(self.node(), key).is_some_and(|(_, s)| s.changed)
            }

            pub fn bool(&self, key: &str) -> bool {
                match self.typed(key) {
                    Some(Value::Bool(b)) => *b,
                    _ => false,
                }
            }

            pub fn uint(&self, key: &str) -> u64 {
                match self.typed(key) {
                    Some(Value::Uint(n)) => u64::from(*n),
                    _ => 0,
                }
            }

            pub fn octal(&self, key: &str) -> u32 {
                match self.typed(key) {
                    Some(Value::Octal(n)) => *n,
                    _ => 0,
                }
            }

            pub fn size(&self, key: &str) -> u64 {
                match self.typed(key) {
                    Some(Value::Size(n)) => *n,
                    _ => 0,
                }
            }

            pub fn time(&self, key: &str) -> Duration {
                match self.typed(key) {
                    Some(Value::Time(secs)) => Duration::from_secs(u64::from(*secs)),
                    Some(Value::TimeMsecs(ms)) => Duration::from_millis(u64::from(*ms)),
                    _ => Duration::ZERO,
                }
            }

            pub fn port(&self, key: &str) -> u16 {
                match self.typed(key) {
                    Some(Value::Port(n)) => *n,
                    _ => 0,
                }
            }

            /// Where the setting was set: file and line.
            pub fn origin(&self, key: &str) -> Option<(&Path, u32)> {
                let (_, s) = scalar(self.node(), key)?;
                s.meta.origin.as_ref().map(|o| (&*o.file, o.line))
            }

            /// The sections of `kind` (`service`, `namespace`, `passdb`, `inet_listener`,
            /// `mailbox`, ...) in order: built-in ones (Dovecot's default services and their
            /// listeners) first, then the configured ones in config order.
            pub fn sections(&self, kind: &str) -> Vec<Section<'_>> {
                match self.node().list(kind) {
                    Some(list) => list.children.iter().map(|node| Section { node }).collect(),
                    None => {
                        missing(self.node(), kind);
                        Vec::new()
                    }
                }
            }

            /// The entries of a free-form block (`plugin { }`), in config order.
            pub fn strlist(&self, key: &str) -> Vec<(&str, &str)> {
                match self.node().strlist(key) {
                    Some(list) => list
                        .entries
                        .iter()
                        .map(|e| (e.key.as_str(), e.value.as_str()))
                        .collect(),
                    None => {
                        missing(self.node(), key);
                        Vec::new()
                    }
                }
            }

            fn typed(&self, key: &str) -> Option<&Value> {
                let found = scalar(self.node(), key);
                if found.is_none() {
                    missing(self.node(), key);
                }
                let (def, s) = found?;
                debug_assert!(
                    !matches!(def.ty, SettingType::Str | SettingType::StrVars),
                    "setting {key} is a string, not a typed value"
                );
                Some(&s.value)
            }
        }
    };
}

getters!(Settings);
getters!(Section);

fn read_error(
    key: &str,
    path: &Path,
    origin: &Option<super::tree::Origin>,
    error: &std::io::Error,
) -> ConfigError {
    let message = format!(
        "{key}: Can't open file {}: {}",
        path.display(),
        crate::errtext::os_error_text(error)
    );
    match origin {
        Some(o) => ConfigError::at_line(&o.file, o.line, message),
        None => ConfigError::plain(message),
    }
}
