//! `mail_location` (and a namespace's `location`, and userdb's `mail`): Dovecot's
//! `<format>:<root>[:KEY=VALUE]...` syntax, `~/` expansion, autodetection, and the directories
//! each mailbox uses (mail, control, index) under Maildir++ and `LAYOUT=fs`.
//!
//! Parsing follows `mailbox_list_settings_parse()` and `mail_storage_create_full()` in Dovecot
//! 2.3; the path rules follow `maildir_list_get_path()` and `fs_list_get_path()`.

mod autodetect;

use std::fmt;
use std::path::{Path, PathBuf};

use autodetect::autodetect;
pub use autodetect::{FsProbe, LocationProbe};

/// The storage format (Dovecot's storage driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFormat {
    Maildir,
    Mbox,
    /// `sdbox`, or its alias `dbox`.
    Sdbox,
    Mdbox,
    Imapc,
    Pop3c,
    Raw,
    Shared,
    Fail,
}

impl MailFormat {
    /// Dovecot's driver names, matched case-insensitively.
    fn from_name(name: &str) -> Option<MailFormat> {
        const NAMES: &[(&str, MailFormat)] = &[
            ("maildir", MailFormat::Maildir),
            ("mbox", MailFormat::Mbox),
            ("sdbox", MailFormat::Sdbox),
            ("dbox", MailFormat::Sdbox),
            ("mdbox", MailFormat::Mdbox),
            ("imapc", MailFormat::Imapc),
            ("pop3c", MailFormat::Pop3c),
            ("raw", MailFormat::Raw),
            ("shared", MailFormat::Shared),
            ("fail", MailFormat::Fail),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }

    pub fn name(self) -> &'static str {
        match self {
            MailFormat::Maildir => "maildir",
            MailFormat::Mbox => "mbox",
            MailFormat::Sdbox => "sdbox",
            MailFormat::Mdbox => "mdbox",
            MailFormat::Imapc => "imapc",
            MailFormat::Pop3c => "pop3c",
            MailFormat::Raw => "raw",
            MailFormat::Shared => "shared",
            MailFormat::Fail => "fail",
        }
    }
}

/// How mailboxes map onto directories (`LAYOUT=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `maildir++`: `.Folder.Sub` under the root, `.` on disk.
    MaildirPlusPlus,
    /// `imapdir`: `Folder.Sub` under the root.
    Imapdir,
    /// `fs`: `Folder/Sub` directories.
    Fs,
    /// `index`: names kept only in the list index.
    Index,
    /// `none`.
    None,
}

impl Layout {
    fn from_name(name: &str) -> Option<Layout> {
        const NAMES: &[(&str, Layout)] = &[
            ("maildir++", Layout::MaildirPlusPlus),
            ("imapdir", Layout::Imapdir),
            ("fs", Layout::Fs),
            ("index", Layout::Index),
            ("none", Layout::None),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, l)| l)
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::MaildirPlusPlus => "maildir++",
            Layout::Imapdir => "imapdir",
            Layout::Fs => "fs",
            Layout::Index => "index",
            Layout::None => "none",
        }
    }

    /// The separator between levels in storage names and on disk.
    pub fn separator(self) -> char {
        match self {
            Layout::MaildirPlusPlus | Layout::Imapdir => '.',
            Layout::Fs | Layout::Index | Layout::None => '/',
        }
    }
}

/// Where index files go (`INDEX=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexDir {
    /// `INDEX=MEMORY`: no index files at all.
    Memory,
    Dir(PathBuf),
}

/// Why a location was refused. Displays as Dovecot's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationError {
    /// `~/` (or `~`) with no home directory; `what` is `mail root dir` or the key.
    NoHome {
        what: String,
        location: String,
    },
    /// `~user/` for a user the system does not know.
    NoSystemHome {
        user: String,
        what: String,
        location: String,
    },
    RootNotGiven(String),
    UnknownSetting(String),
    BrokenCharNotSingle,
    IterIndexNeedsIndex,
    ListIndexRelativeMemory,
    UnknownDriver(String),
    UnknownLayout(String),
    /// The layout does not take a key (`DIRNAME=` or `ALT=` with Maildir++).
    LayoutRefuses {
        layout: &'static str,
        what: &'static str,
    },
    RootDirNotGiven,
    AutodetectFailed {
        home: String,
    },
    AutoAutodetectFailed {
        location: String,
        home: String,
    },
    Ambiguous(String),
}

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocationError::NoHome { what, location } => write!(
                f,
                "Home directory not set for user. Can't expand ~/ for {what} in: {location}"
            ),
            LocationError::NoSystemHome {
                user,
                what,
                location,
            } => write!(
                f,
                "No home directory for system user. Can't expand {user} for {what} in: {location}"
            ),
            LocationError::RootNotGiven(location) => {
                write!(f, "Mail root directory not given: {location}")
            }
            LocationError::UnknownSetting(key) => write!(f, "Unknown setting: {key}"),
            LocationError::BrokenCharNotSingle => {
                f.write_str("BROKENCHAR value must be a single character")
            }
            LocationError::IterIndexNeedsIndex => {
                f.write_str("ITERINDEX requires INDEX to be explicitly set")
            }
            LocationError::ListIndexRelativeMemory => {
                f.write_str("LISTINDEX directory is relative but INDEX=MEMORY")
            }
            LocationError::UnknownDriver(d) => write!(f, "Unknown mail storage driver {d}"),
            LocationError::UnknownLayout(l) => {
                write!(f, "Mailbox list driver {l}: Unknown driver name")
            }
            LocationError::LayoutRefuses { layout, what } => {
                write!(
                    f,
                    "Mailbox list driver {layout}: {what} not supported by this driver"
                )
            }
            LocationError::RootDirNotGiven => f.write_str("Root mail directory not given"),
            LocationError::AutodetectFailed { home } => {
                write!(f, "Mail storage autodetection failed with home={home}")
            }
            LocationError::AutoAutodetectFailed { location, home } => {
                write!(f, "Autodetection failed for {location} (home={home})")
            }
            LocationError::Ambiguous(location) => write!(
                f,
                "Ambiguous mail location setting, don't know what to do with it: {location} \
                 (try prefixing it with mbox: or maildir:)"
            ),
        }
    }
}

impl std::error::Error for LocationError {}

/// The location a namespace uses: its own `location`, else userdb's `mail`, else
/// `mail_location` (an empty value counts as unset, as in Dovecot). Userdb values arrive
/// already expanded; the others need `%` expansion by the caller.
pub fn effective_location<'a>(
    namespace_location: Option<&'a str>,
    userdb_mail: Option<&'a str>,
    mail_location: &'a str,
) -> &'a str {
    [namespace_location, userdb_mail]
        .into_iter()
        .flatten()
        .find(|l| !l.is_empty())
        .unwrap_or(mail_location)
}

/// A parsed location: Dovecot's `mailbox_list_settings` plus the driver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocationSettings {
    /// The driver written before the first `:` (`maildir`), `None` to autodetect.
    pub driver: Option<String>,
    pub root_dir: Option<PathBuf>,
    pub inbox_path: Option<PathBuf>,
    pub index_dir: Option<IndexDir>,
    pub index_pvt_dir: Option<PathBuf>,
    pub index_cache_dir: Option<PathBuf>,
    pub control_dir: Option<PathBuf>,
    pub alt_dir: Option<PathBuf>,
    pub alt_nocheck: bool,
    pub layout: Option<String>,
    pub subscription_fname: Option<String>,
    /// `DIRNAME=` / `FULLDIRNAME=`: the per-mailbox subdirectory; empty when unset.
    pub maildir_name: String,
    /// `FULLDIRNAME=`: index and control directories use the subdirectory too.
    pub full_dirname: bool,
    /// `MAILBOXDIR=`: the directory under the root holding the mailboxes; empty when unset.
    pub mailbox_dir_name: String,
    pub volatile_dir: Option<PathBuf>,
    /// `LISTINDEX=`: the list index's file name, and its directory when the value has one.
    pub list_index_fname: String,
    pub list_index_dir: Option<String>,
    pub broken_char: Option<u8>,
    pub iter_from_index_dir: bool,
    pub no_noselect: bool,
    pub no_fs_validation: bool,
    pub utf8: bool,
}

/// Dovecot's `MAILBOX_LIST_INDEX_DEFAULT_PREFIX`.
const LIST_INDEX_DEFAULT: &str = "dovecot.list.index";

/// Splits at `:`; `::` is a literal colon and a trailing `:` is ignored.
fn split_args(data: &str) -> Vec<String> {
    let parts: Vec<&str> = data.split(':').collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let mut arg = parts[i].to_string();
        i += 1;
        while i < parts.len() && parts[i].is_empty() {
            i += 1;
            if i == parts.len() {
                break;
            }
            arg.push(':');
            arg.push_str(parts[i]);
            i += 1;
        }
        args.push(arg);
    }
    args
}

/// Expands `~` and `~/...` with `home`, `~user/...` with the system user's home, and drops
/// one trailing `/` (Dovecot's `fix_path()`).
fn fix_path(
    path: &str,
    home: Option<&str>,
    what: &str,
    location: &str,
) -> Result<PathBuf, LocationError> {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(PathBuf::from(path));
    };
    if rest.is_empty() || rest.starts_with('/') {
        let Some(home) = home else {
            return Err(LocationError::NoHome {
                what: what.to_string(),
                location: location.to_string(),
            });
        };
        return Ok(PathBuf::from(format!("{home}{rest}")));
    }
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Ok(PathBuf::from(format!("{}{tail}", u.dir.display()))),
        _ => Err(LocationError::NoSystemHome {
            user: format!("~{user}"),
            what: what.to_string(),
            location: location.to_string(),
        }),
    }
}

/// Parses a location (after `%` expansion). `home` expands `~/`.
pub fn parse(location: &str, home: Option<&str>) -> Result<LocationSettings, LocationError> {
    let mut set = LocationSettings {
        list_index_fname: LIST_INDEX_DEFAULT.to_string(),
        ..LocationSettings::default()
    };
    // `driver:` is a leading run of letters, digits and `_` followed by `:`.
    let driver_len = location
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let data = if driver_len > 0 && location.as_bytes().get(driver_len) == Some(&b':') {
        set.driver = Some(location[..driver_len].to_string());
        &location[driver_len + 1..]
    } else {
        location
    };
    if data.is_empty() {
        return Ok(set);
    }
    let args = split_args(data);
    let root = fix_path(&args[0], home, "mail root dir", data)?;
    if root.to_string_lossy().starts_with("INBOX=") {
        return Err(LocationError::RootNotGiven(data.to_string()));
    }
    set.root_dir = Some(root);
    for arg in &args[1..] {
        if arg == "UTF-8" {
            set.utf8 = true;
            continue;
        }
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k, v),
            None => (arg.as_str(), ""),
        };
        let path = |value: &str| fix_path(value, home, key, data);
        match key {
            "INBOX" => set.inbox_path = Some(path(value)?),
            "INDEX" => {
                set.index_dir = Some(match path(value)? {
                    p if p.as_os_str() == "MEMORY" => IndexDir::Memory,
                    p => IndexDir::Dir(p),
                })
            }
            "INDEXPVT" => set.index_pvt_dir = Some(path(value)?),
            "INDEXCACHE" => set.index_cache_dir = Some(path(value)?),
            "CONTROL" => set.control_dir = Some(path(value)?),
            "ALT" => set.alt_dir = Some(path(value)?),
            "ALTNOCHECK" => set.alt_nocheck = true,
            "LAYOUT" => set.layout = Some(path_string(path(value)?)),
            "SUBSCRIPTIONS" => set.subscription_fname = Some(path_string(path(value)?)),
            "DIRNAME" => set.maildir_name = path_string(path(value)?),
            "FULLDIRNAME" => {
                set.full_dirname = true;
                set.maildir_name = path_string(path(value)?);
            }
            "MAILBOXDIR" => set.mailbox_dir_name = path_string(path(value)?),
            "VOLATILEDIR" => set.volatile_dir = Some(path(value)?),
            "LISTINDEX" => set.list_index_fname = path_string(path(value)?),
            "BROKENCHAR" => {
                let &[c] = value.as_bytes() else {
                    return Err(LocationError::BrokenCharNotSingle);
                };
                set.broken_char = Some(c);
            }
            "ITERINDEX" => set.iter_from_index_dir = true,
            "NO-NOSELECT" => set.no_noselect = true,
            "NO-FS-VALIDATION" => set.no_fs_validation = true,
            _ => return Err(LocationError::UnknownSetting(key.to_string())),
        }
    }
    let index_is_dir =
        matches!(set.index_dir, Some(IndexDir::Dir(ref p)) if !p.as_os_str().is_empty());
    if set.iter_from_index_dir && !index_is_dir {
        return Err(LocationError::IterIndexNeedsIndex);
    }
    if let Some(slash) = set.list_index_fname.rfind('/') {
        let dir = set.list_index_fname[..slash].to_string();
        set.list_index_fname = set.list_index_fname[slash + 1..].to_string();
        if !dir.starts_with('/') && set.index_dir == Some(IndexDir::Memory) {
            return Err(LocationError::ListIndexRelativeMemory);
        }
        set.list_index_dir = Some(dir);
    }
    Ok(set)
}

fn path_string(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

/// A location ready to use: the format, the layout and every root path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLocation {
    pub format: MailFormat,
    pub layout: Layout,
    pub settings: LocationSettings,
}

/// Who the location is for (what autodetection and the INBOX default depend on).
#[derive(Debug, Clone, Copy)]
pub struct LocationOwner<'a> {
    pub home: Option<&'a str>,
    pub username: &'a str,
    /// Whether this namespace holds the user's INBOX.
    pub has_inbox: bool,
}

/// Parses and resolves a location: the driver (autodetected when missing or `auto`), the
/// layout and the defaults Dovecot's storage classes apply.
pub fn resolve(
    location: &str,
    owner: LocationOwner<'_>,
    probe: &dyn LocationProbe,
) -> Result<MailLocation, LocationError> {
    let mut set = parse(location, owner.home)?;
    let explicit = match set.driver.as_deref() {
        None => None,
        Some("auto") => {
            if set
                .root_dir
                .as_ref()
                .is_some_and(|r| r.as_os_str().is_empty())
            {
                set.root_dir = None;
            }
            None
        }
        Some(d) => Some(
            MailFormat::from_name(d).ok_or_else(|| LocationError::UnknownDriver(d.to_string()))?,
        ),
    };
    let no_root = set
        .root_dir
        .as_ref()
        .is_none_or(|r| r.as_os_str().is_empty());
    if no_root {
        let root_optional = match explicit {
            None => true,
            Some(f) => matches!(
                f,
                MailFormat::Imapc | MailFormat::Pop3c | MailFormat::Shared | MailFormat::Fail
            ),
        };
        let layout_without_root = set
            .layout
            .as_deref()
            .and_then(Layout::from_name)
            .is_some_and(|l| matches!(l, Layout::Index | Layout::None));
        if !root_optional && !layout_without_root {
            return Err(LocationError::RootDirNotGiven);
        }
    }
    let format = match explicit {
        Some(f) => f,
        None => autodetect(&mut set, owner, probe).ok_or_else(|| {
            let home = owner
                .home
                .filter(|h| !h.is_empty())
                .unwrap_or("(not set)")
                .to_string();
            if location.is_empty() {
                LocationError::AutodetectFailed { home }
            } else if location.starts_with("auto:") {
                LocationError::AutoAutodetectFailed {
                    location: location.to_string(),
                    home,
                }
            } else {
                LocationError::Ambiguous(location.to_string())
            }
        })?,
    };
    apply_class_defaults(format, &mut set, owner.has_inbox);
    let layout_name = set.layout.clone().unwrap_or_else(|| "fs".to_string());
    let layout =
        Layout::from_name(&layout_name).ok_or(LocationError::UnknownLayout(layout_name))?;
    if matches!(layout, Layout::MaildirPlusPlus | Layout::Imapdir) {
        if !set.maildir_name.is_empty() {
            return Err(LocationError::LayoutRefuses {
                layout: layout.name(),
                what: "maildir_name",
            });
        }
        if set.alt_dir.is_some() {
            return Err(LocationError::LayoutRefuses {
                layout: layout.name(),
                what: "alt_dir",
            });
        }
    }
    // A control or index directory equal to the root is the same as none.
    if let Some(root) = set.root_dir.clone() {
        if set.control_dir.as_ref() == Some(&root) {
            set.control_dir = None;
        }
        if set.index_dir == Some(IndexDir::Dir(root.clone())) {
            set.index_dir = None;
        }
        if set.index_pvt_dir.as_ref() == Some(&root) {
            set.index_pvt_dir = None;
        }
        if set.index_cache_dir.as_ref() == Some(&root) {
            set.index_cache_dir = None;
        }
    }
    if !set.mailbox_dir_name.is_empty() && !set.mailbox_dir_name.ends_with('/') {
        set.mailbox_dir_name.push('/');
    }
    Ok(MailLocation {
        format,
        layout,
        settings: set,
    })
}

/// Each storage class's `get_list_settings()`: default layout, subscriptions file and INBOX.
fn apply_class_defaults(format: MailFormat, set: &mut LocationSettings, has_inbox: bool) {
    match format {
        MailFormat::Maildir => {
            set.layout.get_or_insert_with(|| "maildir++".to_string());
            set.subscription_fname
                .get_or_insert_with(|| "subscriptions".to_string());
            let layout = set.layout.as_deref().and_then(Layout::from_name);
            if set.inbox_path.is_none()
                && set.maildir_name.is_empty()
                && matches!(layout, Some(Layout::MaildirPlusPlus | Layout::Fs))
                && has_inbox
            {
                // Maildir++ INBOX is the Maildir root itself.
                set.inbox_path = set.root_dir.clone();
            }
        }
        MailFormat::Mbox => {
            set.layout.get_or_insert_with(|| "fs".to_string());
            set.subscription_fname
                .get_or_insert_with(|| ".subscriptions".to_string());
            if set.inbox_path.is_none()
                && set
                    .layout
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case("fs"))
            {
                if let Some(root) = &set.root_dir {
                    set.inbox_path = Some(root.join("inbox"));
                }
            }
        }
        MailFormat::Sdbox | MailFormat::Mdbox => {
            set.layout.get_or_insert_with(|| "fs".to_string());
            set.subscription_fname
                .get_or_insert_with(|| "subscriptions".to_string());
            if set.maildir_name.is_empty() {
                set.maildir_name = "dbox-Mails".to_string();
            }
            if set.mailbox_dir_name.is_empty() {
                set.mailbox_dir_name = "mailboxes".to_string();
            }
        }
        _ => {
            set.layout.get_or_insert_with(|| "fs".to_string());
        }
    }
}

/// The directories one mailbox uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPaths {
    /// The mailbox itself (for Maildir: the directory holding `cur/ new/ tmp/`).
    pub mailbox: PathBuf,
    /// `dovecot-uidlist`, `dovecot-keywords`.
    pub control: PathBuf,
    /// Index files; `None` with `INDEX=MEMORY`.
    pub index: Option<PathBuf>,
    /// `INDEXCACHE=`, else the index directory.
    pub index_cache: Option<PathBuf>,
    /// `INDEXPVT=`.
    pub index_private: Option<PathBuf>,
}

impl MailLocation {
    /// The root mail directory.
    pub fn root_dir(&self) -> Option<&Path> {
        self.settings.root_dir.as_deref()
    }

    /// Where per-user files (`subscriptions`, `dovecot-uidvalidity`) live: `CONTROL=` or the
    /// root.
    pub fn control_root(&self) -> Option<&Path> {
        self.settings
            .control_dir
            .as_deref()
            .or(self.settings.root_dir.as_deref())
    }

    /// The index root: `None` with `INDEX=MEMORY`.
    pub fn index_root(&self) -> Option<&Path> {
        match &self.settings.index_dir {
            Some(IndexDir::Memory) => None,
            Some(IndexDir::Dir(d)) => Some(d),
            None => self.settings.root_dir.as_deref(),
        }
    }

    /// The subscriptions file.
    pub fn subscriptions_path(&self) -> Option<PathBuf> {
        let name = self.settings.subscription_fname.as_deref()?;
        Some(self.control_root()?.join(name))
    }

    /// The `dovecot-uidvalidity` file.
    pub fn uidvalidity_path(&self) -> Option<PathBuf> {
        Some(self.control_root()?.join("dovecot-uidvalidity"))
    }

    /// Where short-lived lock files go: `VOLATILEDIR=`, if set.
    pub fn volatile_dir(&self) -> Option<&Path> {
        self.settings.volatile_dir.as_deref()
    }

    /// The directories of the mailbox with this storage name (`INBOX`, `Folder.Sub` for
    /// Maildir++, `Folder/Sub` for fs). The name must have passed `names::storage_name`.
    pub fn mailbox_paths(&self, storage_name: &str) -> MailboxPaths {
        let s = &self.settings;
        let root = s.root_dir.clone().unwrap_or_default();
        let inbox = (storage_name == "INBOX")
            .then_some(s.inbox_path.as_ref())
            .flatten();
        match self.layout {
            Layout::MaildirPlusPlus | Layout::Imapdir => {
                let under = |dir: &Path| self.dirname_path(dir, storage_name);
                let mailbox = inbox.cloned().unwrap_or_else(|| under(&root));
                let control = s
                    .control_dir
                    .as_deref()
                    .map(under)
                    .unwrap_or_else(|| mailbox.clone());
                let index = match &s.index_dir {
                    Some(IndexDir::Memory) => None,
                    Some(IndexDir::Dir(d)) => Some(under(d)),
                    None => Some(mailbox.clone()),
                };
                MailboxPaths {
                    index_cache: match &s.index_cache_dir {
                        Some(d) => Some(under(d)),
                        None => index.clone(),
                    },
                    index_private: s.index_pvt_dir.as_deref().map(under),
                    mailbox,
                    control,
                    index,
                }
            }
            Layout::Fs | Layout::Index | Layout::None => {
                let boxdir = format!("{}{storage_name}", s.mailbox_dir_name);
                let to = |dir: &Path| {
                    if !s.maildir_name.is_empty() && s.full_dirname {
                        dir.join(&boxdir).join(&s.maildir_name)
                    } else {
                        dir.join(&boxdir)
                    }
                };
                let mailbox = inbox.cloned().unwrap_or_else(|| {
                    if s.maildir_name.is_empty() {
                        root.join(&boxdir)
                    } else {
                        root.join(&boxdir).join(&s.maildir_name)
                    }
                });
                let control = s
                    .control_dir
                    .as_deref()
                    .map(to)
                    .unwrap_or_else(|| mailbox.clone());
                let index = match &s.index_dir {
                    Some(IndexDir::Memory) => None,
                    Some(IndexDir::Dir(d)) => Some(to(d)),
                    None => Some(mailbox.clone()),
                };
                MailboxPaths {
                    index_cache: match &s.index_cache_dir {
                        Some(d) => Some(to(d)),
                        None => index.clone(),
                    },
                    index_private: s.index_pvt_dir.as_deref().map(to),
                    mailbox,
                    control,
                    index,
                }
            }
        }
    }

    /// Maildir++: `<dir>/.<name>` (`imapdir`: `<dir>/<name>`); the empty name is `<dir>`.
    fn dirname_path(&self, dir: &Path, name: &str) -> PathBuf {
        if name.is_empty() {
            dir.to_path_buf()
        } else if self.layout == Layout::Imapdir {
            dir.join(name)
        } else {
            dir.join(format!(".{name}"))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
