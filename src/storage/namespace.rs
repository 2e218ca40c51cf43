//! Namespaces: `namespace NAME { inbox prefix separator type list hidden subscriptions
//! location }` with `mailbox NAME { special_use auto }` sections, as Dovecot 2.3 builds and
//! checks them (`mail-namespace.c`), and the lookup of the namespace a mailbox name belongs to.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Settings;
use crate::storage::api::OpenOptions;
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::location::{MailFormat, MailLocation};
use crate::storage::names::NameRules;
use crate::storage::settings::StorageSettings;
use crate::storage::shared::SharedPattern;

/// `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceType {
    Private,
    Shared,
    Public,
}

/// `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMode {
    /// The namespace's mailboxes (and its prefix) are listed.
    Yes,
    /// Only mailboxes asked for by name (prefix included in the pattern).
    No,
    /// The prefix is listed only when it has children.
    Children,
}

/// `mailbox NAME { auto }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoMailbox {
    No,
    /// Created when first used (and listed as existing).
    Create,
    /// Created and always subscribed (never written to the subscriptions file).
    Subscribe,
}

/// One `mailbox` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSettings {
    /// The name inside the namespace (without the prefix).
    pub name: String,
    /// RFC 6154 flags, as configured (`\Sent`, ...).
    pub special_use: Vec<String>,
    pub auto: AutoMailbox,
    /// `comment`: the mailbox's `/private/comment` and `/shared/comment` (METADATA) until
    /// the user sets them.
    pub comment: String,
}

/// The configuration of one namespace, as read from its section (before the storage is set
/// up): values `%`-expanded by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceConfig {
    pub name: String,
    pub kind: NamespaceType,
    pub prefix: String,
    /// `separator`; empty: the layout's.
    pub separator: String,
    pub inbox: bool,
    pub hidden: bool,
    pub list: ListMode,
    pub subscriptions: bool,
    /// `location`; empty: userdb `mail`, else `mail_location`.
    pub location: String,
    pub ignore_on_failure: bool,
    pub mailboxes: Vec<MailboxSettings>,
}

impl NamespaceConfig {
    /// The namespace Dovecot creates when none is configured: INBOX, no prefix, listed.
    pub fn implicit_inbox() -> NamespaceConfig {
        NamespaceConfig {
            name: String::new(),
            kind: NamespaceType::Private,
            prefix: String::new(),
            separator: String::new(),
            inbox: true,
            hidden: false,
            list: ListMode::Yes,
            subscriptions: true,
            location: String::new(),
            ignore_on_failure: false,
            mailboxes: Vec::new(),
        }
    }

    /// The enabled namespace sections of `settings`, in configuration order, with `prefix`
    /// and `location` passed through `expand` (Dovecot's `%` variables of the user).
    pub fn from_settings(
        settings: &Settings<'_>,
        expand: &dyn Fn(&str) -> Result<String, StorageError>,
    ) -> Result<Vec<NamespaceConfig>, StorageError> {
        let mut out = Vec::new();
        for section in settings.sections("namespace") {
            if section.bool("disabled") {
                continue;
            }
            let kind = match section.str("type") {
                "shared" => NamespaceType::Shared,
                "public" => NamespaceType::Public,
                _ => NamespaceType::Private,
            };
            let list = match section.str("list") {
                "no" => ListMode::No,
                "children" => ListMode::Children,
                _ => ListMode::Yes,
            };
            let mut mailboxes = Vec::new();
            for mb in section.sections("mailbox") {
                let name = match mb.str("name") {
                    "" => mb.name().to_string(),
                    n => n.to_string(),
                };
                let auto = match mb.str("auto") {
                    "create" => AutoMailbox::Create,
                    "subscribe" => AutoMailbox::Subscribe,
                    _ => AutoMailbox::No,
                };
                mailboxes.push(MailboxSettings {
                    name,
                    special_use: mb
                        .str("special_use")
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    auto,
                    comment: mb.str("comment").to_string(),
                });
            }
            out.push(NamespaceConfig {
                name: section.name().to_string(),
                kind,
                prefix: expand(section.str("prefix"))?,
                separator: section.str("separator").to_string(),
                inbox: section.bool("inbox"),
                hidden: section.bool("hidden"),
                list,
                subscriptions: section.bool("subscriptions"),
                location: expand(section.str("location"))?,
                ignore_on_failure: section.bool("ignore_on_failure"),
                mailboxes,
            });
        }
        Ok(out)
    }
}

/// What a backend's `open` needs to open one of a namespace's mailboxes.
pub struct OpenRequest<'a> {
    pub vname: String,
    pub location: &'a MailLocation,
    /// The name inside the namespace's list (`INBOX`, `Folder.Sub`, `Folder/Sub`).
    pub storage_name: String,
    pub settings: Arc<StorageSettings>,
    pub options: OpenOptions,
    /// INBOX and `auto = create` mailboxes: opened even when missing on disk.
    pub autocreate: bool,
}

/// A namespace with its storage set up.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub config: NamespaceConfig,
    pub location: MailLocation,
    /// The hierarchy separator clients see.
    pub separator: char,
    /// How names map onto this namespace's mailbox list.
    pub rules: NameRules,
    /// A shared namespace's root (`prefix = shared/%%u/`): the prefix's variable part. Its
    /// prefix is the part before (`shared/`) and its location the template each owner's
    /// namespace is made from ([`crate::storage::shared`]).
    pub shared_pattern: Option<SharedPattern>,
    /// One owner's namespace under a shared root (`shared/bob/`): the owner's user name.
    /// Its INBOX is the namespace root (`shared/bob`).
    pub owner: Option<String>,
}

/// `INDEXPVT=` (each viewer's `\Seen`, [`crate::storage::shared::private`]) is built for
/// Maildir; with mbox it is refused rather than ignored (ignoring it would show one
/// viewer's reads to all).
fn check_private_flags(config: &NamespaceConfig, location: &MailLocation) -> StorageResult<()> {
    if location.settings.index_pvt_dir.is_some() && location.format == MailFormat::Mbox {
        return Err(StorageError::not_implemented(format!(
            "Namespace '{}': INDEXPVT (private flags) with mbox",
            config.prefix
        )));
    }
    Ok(())
}

impl Namespace {
    /// Sets up `config` on `location`. Only Maildir and mbox are implemented; other formats and
    /// dynamic shared namespaces are refused with a clear error.
    pub fn new(config: NamespaceConfig, location: MailLocation) -> Result<Namespace, StorageError> {
        if !matches!(location.format, MailFormat::Maildir | MailFormat::Mbox) {
            return Err(StorageError::not_implemented(format!(
                "Namespace '{}': the {} mail storage",
                config.prefix,
                location.format.name()
            )));
        }
        check_private_flags(&config, &location)?;
        // Both change how names are stored on disk: ignoring them would create other files.
        for (given, what) in [
            (location.settings.broken_char.is_some(), "BROKENCHAR="),
            (
                location.settings.utf8,
                "UTF-8 mailbox names on disk (:UTF-8)",
            ),
        ] {
            if given {
                return Err(StorageError::not_implemented(format!(
                    "Namespace '{}': {what}",
                    config.prefix
                )));
            }
        }
        if config.kind == NamespaceType::Shared && config.prefix.contains('%') {
            return Err(StorageError::critical(
                None,
                format!(
                    "Namespace '{}': a shared root is made with Namespace::shared_root",
                    config.prefix
                ),
            ));
        }
        let layout_sep = location.layout.separator();
        let separator = config.separator.chars().next().unwrap_or(layout_sep);
        let mut rules = match location.layout {
            // mbox has no per-mailbox directories to reserve names for
            crate::storage::location::Layout::Fs if location.format == MailFormat::Mbox => {
                NameRules {
                    reserve_maildir_dirs: false,
                    ..NameRules::maildir_fs(separator, None)
                }
            }
            crate::storage::location::Layout::Fs => {
                let dirname =
                    Some(location.settings.maildir_name.clone()).filter(|d| !d.is_empty());
                NameRules::maildir_fs(separator, dirname)
            }
            _ => NameRules::maildir_plus_plus(separator),
        };
        rules.list_sep = layout_sep;
        rules.has_inbox = config.inbox;
        rules.has_prefix = !config.prefix.is_empty();
        Ok(Namespace {
            config,
            location,
            separator,
            rules,
            shared_pattern: None,
            owner: None,
        })
    }

    /// The root of a shared namespace whose prefix has the owner's name (`shared/%%u/`;
    /// `config.location` the template, `%` variables unexpanded), checked as Dovecot's
    /// `shared_storage_create`. `template` is the template resolved for an imaginary
    /// owner: its format and layout are every owner's.
    pub fn shared_root(
        mut config: NamespaceConfig,
        template: &MailLocation,
    ) -> Result<Namespace, StorageError> {
        if !config.location.contains(':') {
            return Err(StorageError::new(
                ErrorKind::Temp,
                format!(
                    "Namespace '{}': Shared mailbox location not prefixed with driver",
                    config.prefix
                ),
            ));
        }
        if !matches!(template.format, MailFormat::Maildir | MailFormat::Mbox) {
            return Err(StorageError::not_implemented(format!(
                "Namespace '{}': the {} mail storage",
                config.prefix,
                template.format.name()
            )));
        }
        check_private_flags(&config, template)?;
        let separator = config
            .separator
            .chars()
            .next()
            .unwrap_or(template.layout.separator());
        let (root, pattern) =
            SharedPattern::parse(&config.prefix, separator, config.list != ListMode::No)?;
        config.prefix = root;
        let location = MailLocation {
            format: MailFormat::Shared,
            layout: template.layout,
            settings: crate::storage::location::LocationSettings::default(),
        };
        let mut rules = NameRules::maildir_fs(separator, None);
        rules.list_sep = separator;
        rules.has_inbox = false;
        rules.has_prefix = !config.prefix.is_empty();
        Ok(Namespace {
            config,
            location,
            separator,
            rules,
            shared_pattern: Some(pattern),
            owner: None,
        })
    }

    /// `owner`'s namespace under a shared root: `config` made by the root, `location`
    /// resolved for the owner (with an INBOX).
    pub fn shared_owner(
        config: NamespaceConfig,
        location: MailLocation,
        owner: &str,
    ) -> Result<Namespace, StorageError> {
        let mut ns = Namespace::new(config, location)?;
        ns.rules.has_inbox = true;
        ns.owner = Some(owner.to_string());
        Ok(ns)
    }

    /// Whether the namespace has an INBOX (the user's, or a shared owner's).
    pub fn has_inbox(&self) -> bool {
        self.config.inbox || self.owner.is_some()
    }

    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// Whether LIST shows this namespace's mailboxes.
    pub fn is_listed(&self) -> bool {
        self.config.list != ListMode::No
    }

    /// The `mailbox` settings of a name inside this namespace (INBOX case-insensitively).
    pub fn mailbox_settings(&self, name: &str) -> Option<&MailboxSettings> {
        self.config.mailboxes.iter().find(|m| {
            m.name == name
                || (self.config.inbox
                    && m.name.eq_ignore_ascii_case("INBOX")
                    && name.eq_ignore_ascii_case("INBOX"))
        })
    }

    /// The full name clients see for `name` inside this namespace.
    pub fn vname(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case("INBOX") && self.config.inbox {
            return "INBOX".to_string();
        }
        // A shared owner's INBOX is the namespace root (`shared/bob`).
        if name.is_empty() || (self.owner.is_some() && name == "INBOX") {
            // The namespace root itself: its prefix without the trailing separator.
            return self
                .prefix()
                .strip_suffix(self.separator)
                .unwrap_or(self.prefix())
                .to_string();
        }
        format!("{}{name}", self.prefix())
    }

    /// The name of mailbox `name` (inside this namespace) in its list's storage.
    pub fn storage_name(&self, name: &str) -> StorageResult<String> {
        crate::storage::names::storage_name(&self.rules, name)
            .map_err(|e| StorageError::from_name(&self.vname(name), &e))
    }

    /// [`storage_name`](Self::storage_name) for a mailbox about to be created (stricter).
    pub fn storage_name_for_create(&self, name: &str) -> StorageResult<String> {
        crate::storage::names::storage_name_for_create(&self.rules, name)
            .map_err(|e| StorageError::from_name(&self.vname(name), &e))
    }

    /// Whether a `mailbox` section makes `name` exist automatically (`auto = create` or
    /// `subscribe`).
    pub fn is_auto(&self, name: &str) -> bool {
        self.mailbox_settings(name)
            .is_some_and(|m| m.auto != AutoMailbox::No)
    }

    /// Whether `name` exists whatever is on disk: INBOX, or an auto mailbox (created when
    /// opened).
    pub fn always_exists(&self, name: &str) -> bool {
        // A shared owner's INBOX exists only when the owner has one.
        (self.owner.is_none() && crate::storage::names::is_inbox(&self.rules, name))
            || self.is_auto(name)
    }

    /// What opening mailbox `name` (inside this namespace) needs.
    pub fn open_request(
        &self,
        name: &str,
        settings: &Arc<StorageSettings>,
        options: OpenOptions,
    ) -> StorageResult<OpenRequest<'_>> {
        let vname = self.vname(name);
        if name.is_empty() {
            return Err(StorageError::not_found(&vname));
        }
        Ok(OpenRequest {
            storage_name: self.storage_name(name)?,
            autocreate: self.always_exists(name),
            vname,
            location: &self.location,
            settings: settings.clone(),
            options,
        })
    }

    /// The directory the namespace's mailboxes are under.
    pub fn root_dir(&self) -> StorageResult<PathBuf> {
        self.location
            .root_dir()
            .map(std::path::Path::to_path_buf)
            .ok_or_else(|| StorageError::not_possible("Mailbox creation not supported"))
    }

    /// Whether `vname` (a full name) belongs to this namespace by its prefix, and how well
    /// (Dovecot's `mail_namespace_is_usable_prefix`).
    fn usable_prefix(&self, vname: &str, inbox: bool) -> bool {
        let prefix = self.prefix();
        if vname.starts_with(prefix) {
            return true;
        }
        if inbox && prefix.starts_with("INBOX") {
            if let (Some(p), Some(v)) = (prefix.get(5..), vname.get(5..)) {
                if v.starts_with(p) {
                    return true;
                }
            }
        }
        // The namespace prefix itself, without its separator.
        matches!(prefix.strip_suffix(self.separator), Some(root) if !root.is_empty() && root == vname)
    }
}

/// Checks a set of namespaces as Dovecot's `namespaces_check()` does; errors read as
/// `namespace configuration error: ...`.
pub fn check(namespaces: &[Namespace]) -> Result<(), StorageError> {
    let err = |why: String| {
        StorageError::new(
            ErrorKind::NotPossible,
            format!("namespace configuration error: {why}"),
        )
    };
    let mut inbox_seen = false;
    let mut visible = false;
    let mut list_yes = false;
    let mut list_sep: Option<char> = None;
    let mut subscriptions = 0;
    for (i, ns) in namespaces.iter().enumerate() {
        let prefix = ns.prefix();
        if namespaces[i + 1..].iter().any(|o| o.prefix() == prefix) {
            return Err(err(format!("Duplicate namespace prefix: \"{prefix}\"")));
        }
        if !ns.config.hidden {
            visible = true;
        }
        if ns.config.inbox {
            if inbox_seen {
                return Err(err("There can be only one namespace with inbox=yes".into()));
            }
            inbox_seen = true;
        }
        let listed = ns.config.list != ListMode::No;
        if !prefix.is_empty() && listed && !prefix.ends_with(ns.separator) {
            return Err(err(format!(
                "list=yes requires prefix={prefix} to end with separator {}",
                ns.separator
            )));
        }
        if !prefix.is_empty() && listed && prefix.starts_with(ns.separator) {
            return Err(err(format!(
                "list=yes requires prefix={prefix} not to start with separator"
            )));
        }
        if listed {
            if ns.config.list == ListMode::Yes {
                list_yes = true;
            }
            match list_sep {
                None => list_sep = Some(ns.separator),
                Some(sep) if sep != ns.separator => {
                    return Err(err(
                        "All list=yes namespaces must use the same separator".into()
                    ));
                }
                Some(_) => {}
            }
        }
        if ns.config.subscriptions {
            subscriptions += 1;
        }
        if prefix
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("INBOX"))
            && !prefix.starts_with("INBOX")
        {
            return Err(StorageError::new(
                ErrorKind::NotPossible,
                format!("Invalid server configuration: Namespace prefix={prefix} must be uppercase INBOX"),
            ));
        }
    }
    if !inbox_seen {
        return Err(err("inbox=yes namespace missing".into()));
    }
    if !list_yes {
        return Err(err("list=yes namespace missing".into()));
    }
    if !visible {
        return Err(err("hidden=no namespace missing".into()));
    }
    if subscriptions == 0 {
        return Err(err("subscriptions=yes namespace missing".into()));
    }
    Ok(())
}

/// The namespace a full mailbox name belongs to (Dovecot's `mail_namespace_find`): for
/// `INBOX` the inbox=yes namespace, else the one with the longest matching prefix. Returns
/// its index and the name inside it (`""` for the namespace root; `INBOX` normalized).
pub fn find(namespaces: &[Namespace], vname: &str) -> Option<(usize, String)> {
    let inbox = vname
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("INBOX"));
    if inbox && vname.len() == 5 {
        let i = namespaces
            .iter()
            .position(|ns| ns.config.inbox)
            .or_else(|| namespaces.iter().position(|ns| ns.prefix().is_empty()))?;
        return Some((i, "INBOX".to_string()));
    }
    let mut best: Option<usize> = None;
    for (i, ns) in namespaces.iter().enumerate() {
        if ns.usable_prefix(vname, inbox)
            && best.is_none_or(|b| ns.prefix().len() >= namespaces[b].prefix().len())
        {
            best = Some(i);
        }
    }
    let i = best?;
    let ns = &namespaces[i];
    let prefix = ns.prefix();
    let inner = if vname
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    {
        &vname[prefix.len()..]
    } else {
        // The prefix itself without its separator: the namespace root.
        ""
    };
    // `INBOX` inside its namespace in any case is INBOX; a shared owner's namespace root
    // is the owner's INBOX (Dovecot's NAMESPACE_FLAG_INBOX_ANY).
    let inner = if (ns.owner.is_some() && inner.is_empty())
        || (ns.has_inbox() && inner.eq_ignore_ascii_case("INBOX"))
    {
        "INBOX".to_string()
    } else if prefix.is_empty() && inner.len() > 5 && inner.is_char_boundary(5) {
        // So is `inbox` as a name's first level: clients expect INBOX to be case
        // insensitive (Dovecot's mailbox_alloc, for any namespace without a prefix).
        let (head, rest) = inner.split_at(5);
        if head.eq_ignore_ascii_case("INBOX") && rest.starts_with(ns.separator) {
            format!("INBOX{rest}")
        } else {
            inner.to_string()
        }
    } else {
        inner.to_string()
    };
    Some((i, inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::location::tests::FakeDisk;
    use crate::storage::location::{resolve, LocationOwner};

    fn ns(prefix: &str, sep: &str, inbox: bool, list: ListMode) -> Namespace {
        let owner = LocationOwner {
            home: Some("/home/u"),
            username: "u",
            has_inbox: inbox,
        };
        let loc = resolve("maildir:~/Maildir", owner, &FakeDisk::default()).unwrap();
        let config = NamespaceConfig {
            prefix: prefix.to_string(),
            separator: sep.to_string(),
            inbox,
            list,
            ..NamespaceConfig::implicit_inbox()
        };
        Namespace::new(config, loc).unwrap()
    }

    #[test]
    fn default_separator_is_the_layouts() {
        let n = ns("", "", true, ListMode::Yes);
        assert_eq!(n.separator, '.');
        assert_eq!(n.rules.list_sep, '.');
        let n = ns("", "/", true, ListMode::Yes);
        assert_eq!(n.separator, '/');
    }

    #[test]
    fn checks_like_dovecot() {
        let msg = |v: Vec<Namespace>| check(&v).unwrap_err().client_text().to_string();
        assert!(check(&[ns("", "", true, ListMode::Yes)]).is_ok());
        assert_eq!(
            msg(vec![ns("", "", false, ListMode::Yes)]),
            "namespace configuration error: inbox=yes namespace missing"
        );
        assert_eq!(
            msg(vec![
                ns("", "/", true, ListMode::Yes),
                ns("", "/", false, ListMode::Yes)
            ]),
            "namespace configuration error: Duplicate namespace prefix: \"\""
        );
        assert_eq!(
            msg(vec![
                ns("", "/", true, ListMode::Yes),
                ns("Shared", "/", false, ListMode::Yes)
            ]),
            "namespace configuration error: list=yes requires prefix=Shared to end with separator /"
        );
        assert_eq!(
            msg(vec![
                ns("", "/", true, ListMode::Yes),
                ns("x.", ".", false, ListMode::Yes)
            ]),
            "namespace configuration error: All list=yes namespaces must use the same separator"
        );
        assert_eq!(
            msg(vec![ns("Inbox/", "/", true, ListMode::Yes)]),
            "Invalid server configuration: Namespace prefix=Inbox/ must be uppercase INBOX"
        );
    }

    #[test]
    fn finds_the_namespace_of_a_name() {
        let set = vec![
            ns("", "/", true, ListMode::Yes),
            ns("Other/", "/", false, ListMode::Yes),
            ns("Other/Deep/", "/", false, ListMode::Yes),
        ];
        assert_eq!(find(&set, "inbox"), Some((0, "INBOX".into())));
        assert_eq!(find(&set, "Sent"), Some((0, "Sent".into())));
        assert_eq!(find(&set, "Other/x"), Some((1, "x".into())));
        assert_eq!(find(&set, "Other"), Some((1, "".into())));
        assert_eq!(find(&set, "Other/Deep/y"), Some((2, "y".into())));
        let prefixed = vec![ns("INBOX/", "/", true, ListMode::Yes)];
        assert_eq!(find(&prefixed, "INBOX"), Some((0, "INBOX".into())));
        assert_eq!(find(&prefixed, "inbox/Sent"), Some((0, "Sent".into())));
        assert_eq!(find(&prefixed, "Sent"), None);
        assert_eq!(set[1].vname("x"), "Other/x");
        assert_eq!(set[1].vname(""), "Other");
        assert_eq!(set[0].vname("inbox"), "INBOX");
    }
}
