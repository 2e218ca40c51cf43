//! The settings cote knows: every setting Dovecot 2.3 has, with its type, its default and
//! whether cote implements it. Names, types and defaults are Dovecot 2.3.19's (`doveconf -a -s`
//! on Debian 12, Debian's build defaults where they differ from upstream).
//!
//! The parser (`config::parse`) validates every value against these definitions; the dumps
//! (`coteconf -n/-a`) compare against the defaults here.

/// The type of one setting's value, as Dovecot's `enum setting_type`.
#[derive(Debug, Clone, Copy)]
pub enum SettingType {
    /// `yes`/`y`/`1`/`no`, case-insensitive.
    Bool,
    /// Unsigned decimal number.
    Uint,
    /// Unsigned octal number (file modes), written `0600`.
    UintOct,
    /// Time interval with a unit (`30 secs`), whole seconds.
    Time,
    /// Time interval that also accepts `ms`/`msecs`, milliseconds.
    TimeMsecs,
    /// Size with an optional unit suffix (`10M`, `1 G`), bytes.
    Size,
    /// TCP/UDP port, 0..=65535.
    InPort,
    /// Plain string.
    Str,
    /// String that may contain `%variables` expanded at run time.
    StrVars,
    /// One of a fixed list of words; the first one is the default.
    Enum(&'static [&'static str]),
    /// Repeated named sub-sections of the given kind (`service`, `inet_listener`, ...).
    /// `unique` says two sections with the same name are merged (Dovecot's DEFLIST_UNIQUE).
    Sections {
        section: &'static SectionInfo,
        unique: bool,
    },
    /// Free-form `key = value` list (`plugin { }`): any key is accepted.
    StrList,
    /// Another name for the named setting of the same section (Dovecot's SET_ALIAS, e.g. `mail`
    /// for `mail_location`): setting it sets that one, and dumps never show it.
    Alias(&'static str),
}

/// Whether cote acts on a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// cote implements what the setting does.
    Implemented,
    /// The value is parsed and validated, but cote does not act on it yet: setting it to a
    /// non-default value logs one warning naming the file and line.
    NotImplemented,
    /// cote's own setting, which Dovecot does not have (listed in `support.rs`): implemented,
    /// and the dumps print it only when the configuration sets it, so that `coteconf -a` of a
    /// configuration Dovecot accepts stays `doveconf -a`'s.
    CoteOwn,
}

/// A check of one setting's value beyond its type, run where the value is parsed so that the
/// error names the file and line.
pub type ValueCheck = fn(&str) -> Result<(), String>;

/// One setting definition.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub key: &'static str,
    pub ty: SettingType,
    /// The default exactly as `doveconf -a` prints it (`30 secs`, `64 k`, `yes`, ``).
    pub default: &'static str,
    /// Only shown by `doveconf -a -s`.
    pub hidden: bool,
    pub support: Support,
    /// The default is "no value" (a NULL string in Dovecot, e.g. namespace `alias_for`), not the
    /// empty string: `doveconf -a` omits it, and setting it to `""` is a change.
    pub null_default: bool,
    /// The auth process reads it too (Dovecot's `auth` settings root: `auth_*`, `passdb`,
    /// `userdb`, `base_dir`, `first_valid_uid`, ...): it is refused inside `local`, `remote` and
    /// `local_name` filters.
    pub auth: bool,
    /// The value's own check, if the setting has one (cote's own settings).
    pub check: Option<ValueCheck>,
}

/// The settings allowed inside one kind of section (or at the top level).
#[derive(Debug)]
pub struct SectionInfo {
    /// The section keyword: `service`, `inet_listener`, `namespace`, ... (`""` for the root).
    pub kind: &'static str,
    /// Which setting the section's name fills (`name` for services, `path` for unix
    /// listeners), if any.
    pub name_key: Option<&'static str>,
    pub settings: &'static [SettingDef],
}

impl SectionInfo {
    pub fn setting(&self, key: &str) -> Option<&'static SettingDef> {
        self.settings.iter().find(|s| s.key == key)
    }
}

/// Default values that differ per named section instance, e.g. `service imap-login` has
/// `chroot = login` and an `inet_listener imap { port = 143 }`.
#[derive(Debug)]
pub struct SectionDefaults {
    pub kind: &'static str,
    pub name: &'static str,
    /// Overrides of the section kind's generic defaults.
    pub values: &'static [(&'static str, &'static str)],
    /// Default sub-sections, e.g. the listeners a service has unless configured otherwise.
    pub children: &'static [SectionDefaults],
}

/// A setting renamed in a later 2.3 release: the old name is accepted with Dovecot's warning
/// `Obsolete setting in F:N: OLD has been renamed to NEW`.
#[derive(Debug)]
pub struct Renamed {
    pub old: &'static str,
    pub new: &'static str,
}

mod cote_own;
mod tables;
pub use cote_own::maildir_info_separator;
pub use tables::{builtin_sections, renamed, root, section};
