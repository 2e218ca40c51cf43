//! Mailbox attributes: what RFC 5464 METADATA stores, kept as Dovecot 2.3 keeps them
//! (`mailbox-attribute.c`, `index-attribute.c`), so one dict file serves cote and Dovecot.
//!
//! Every attribute of every mailbox of a user lives in the user's `mail_attribute_dict`
//! under `priv/<mailbox GUID>/<key>` or `shared/<mailbox GUID>/<key>` (keys are by GUID,
//! so a RENAME keeps them; a DELETE drops them). Server attributes are INBOX's under
//! `vendor/vendor.dovecot/pvt/server/`. Besides the dict, a few *internal* attributes come
//! from the configuration: `/private/specialuse` (the mailbox's `special_use`, read-only),
//! `/private/comment` and `/shared/comment` (the mailbox's `comment` unless the dict has
//! one), and the server's `/shared/comment` and `/shared/admin` (`mail_server_comment`,
//! `mail_server_admin`, read-only).
//!
//! With `imap_metadata = no` IMAP may still reach the *validated* internal attributes
//! (`/private/specialuse`), and nothing in the dict.

pub mod dict_file;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use crate::fs::FsPolicy;
use crate::storage::error::{ErrorKind, StorageError, StorageResult};

use dict_file::{DictMap, DictStamp, FileDict};

/// Dovecot's own prefix for attributes users cannot reach
/// (`MAILBOX_ATTRIBUTE_PREFIX_DOVECOT_PVT`).
pub const PREFIX_DOVECOT_PVT: &str = "vendor/vendor.dovecot/pvt/";
/// Where server attributes live in INBOX (`MAILBOX_ATTRIBUTE_PREFIX_DOVECOT_PVT_SERVER`).
pub const PREFIX_DOVECOT_PVT_SERVER: &str = "vendor/vendor.dovecot/pvt/server/";

/// `/private` or `/shared`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AttributeType {
    Private,
    Shared,
}

impl AttributeType {
    /// The dict's key prefix (`DICT_PATH_PRIVATE`, `DICT_PATH_SHARED`).
    fn dict_prefix(self) -> &'static str {
        match self {
            AttributeType::Private => "priv/",
            AttributeType::Shared => "shared/",
        }
    }

    fn name(self) -> &'static str {
        match self {
            AttributeType::Private => "private",
            AttributeType::Shared => "shared",
        }
    }
}

/// One attribute as storage keys it: its type and its key below the mailbox (`comment`,
/// `vendor/...`). `validated`: only validated internal attributes may be reached
/// (`imap_metadata = no`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeKey {
    pub ty: AttributeType,
    pub key: Vec<u8>,
    pub validated: bool,
}

/// A change: the new value, or `None` to remove the attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeChange {
    pub key: AttributeKey,
    pub value: Option<Vec<u8>>,
}

/// The mailbox whose attributes are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMailbox {
    /// The mailbox GUID as 32 lowercase hex digits.
    pub guid: String,
    /// The user's INBOX (the only mailbox with server attributes).
    pub is_inbox: bool,
    /// Its `special_use` setting, as configured.
    pub special_use: String,
    /// Its `comment` setting.
    pub comment: String,
}

/// Where an internal attribute's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    SpecialUse,
    MailboxComment,
    ServerComment,
    ServerAdmin,
}

/// Dovecot's internal attribute ranks that cote has: the configuration only gives a
/// default (the dict wins), or is the only source (read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Default,
    Authority,
}

struct Internal {
    ty: AttributeType,
    key: &'static str,
    rank: Rank,
    /// Reachable with `imap_metadata = no`.
    validated: bool,
    source: Source,
}

/// Sorted by (type, key) as Dovecot's registry is: listing relies on the order.
const INTERNAL: [Internal; 5] = [
    Internal {
        ty: AttributeType::Private,
        key: "comment",
        rank: Rank::Default,
        validated: false,
        source: Source::MailboxComment,
    },
    Internal {
        ty: AttributeType::Private,
        key: "specialuse",
        rank: Rank::Authority,
        validated: true,
        source: Source::SpecialUse,
    },
    Internal {
        ty: AttributeType::Shared,
        key: "comment",
        rank: Rank::Default,
        validated: false,
        source: Source::MailboxComment,
    },
    Internal {
        ty: AttributeType::Shared,
        key: "vendor/vendor.dovecot/pvt/server/admin",
        rank: Rank::Authority,
        validated: false,
        source: Source::ServerAdmin,
    },
    Internal {
        ty: AttributeType::Shared,
        key: "vendor/vendor.dovecot/pvt/server/comment",
        rank: Rank::Authority,
        validated: false,
        source: Source::ServerComment,
    },
];

/// What `mail_attribute_dict` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DictSetting {
    /// Empty: attributes are not enabled.
    None,
    File(FileDict),
    /// A dict cote cannot use (another driver, a bad parameter): why.
    Unusable(String),
}

/// One user's attributes: the dict and the server's configured attributes.
#[derive(Debug, Clone)]
pub struct AttributeStore {
    dict: DictSetting,
    policy: FsPolicy,
    server_comment: String,
    server_admin: String,
    /// The dict as last read, while the file stays that version (a GETMETADATA reads it
    /// once per entry).
    cache: RefCell<Option<(DictStamp, Rc<DictMap>)>>,
}

impl AttributeStore {
    /// The store of `mail_attribute_dict` (already `%`-expanded, or why it could not be;
    /// `home` for `~/`), with `mail_server_comment` and `mail_server_admin`.
    pub fn new(
        dict_uri: Result<&str, &str>,
        home: Option<&str>,
        policy: FsPolicy,
        server_comment: &str,
        server_admin: &str,
    ) -> AttributeStore {
        let dict = match dict_uri {
            Ok("") => DictSetting::None,
            Ok(uri) => match uri.split_once(':') {
                Some(("file", args)) => match FileDict::from_uri(args, home) {
                    Ok(dict) => DictSetting::File(dict),
                    Err(e) => DictSetting::Unusable(format!("dict_init({uri}) failed: {e}")),
                },
                _ => DictSetting::Unusable(format!(
                    "dict_init({uri}) failed: only the file dict is supported by cote"
                )),
            },
            Err(why) => DictSetting::Unusable(why.to_string()),
        };
        AttributeStore {
            dict,
            policy,
            server_comment: server_comment.to_string(),
            server_admin: server_admin.to_string(),
            cache: RefCell::new(None),
        }
    }

    /// No `mail_attribute_dict` (tests and tools).
    pub fn disabled() -> AttributeStore {
        AttributeStore::new(Ok(""), None, FsPolicy::dovecot_defaults(), "", "")
    }

    /// Whether attributes can be stored: a `file:` dict is configured (METADATA and
    /// URLAUTH are advertised only then).
    pub fn enabled(&self) -> bool {
        matches!(self.dict, DictSetting::File(_))
    }

    /// Whether `mail_attribute_dict` is set at all.
    pub fn configured(&self) -> bool {
        self.dict != DictSetting::None
    }

    fn internal(&self, mb: &AttributeMailbox, key: &AttributeKey) -> Option<&'static Internal> {
        let found = INTERNAL
            .iter()
            .find(|i| i.ty == key.ty && i.key.as_bytes() == key.key.as_slice())?;
        if key.validated && !found.validated {
            return None;
        }
        if !mb.is_inbox && found.key.starts_with(PREFIX_DOVECOT_PVT_SERVER) {
            return None;
        }
        Some(found)
    }

    fn internal_value(&self, mb: &AttributeMailbox, source: Source) -> Option<Vec<u8>> {
        let value = match source {
            Source::SpecialUse => &mb.special_use,
            Source::MailboxComment => &mb.comment,
            Source::ServerComment => &self.server_comment,
            Source::ServerAdmin => &self.server_admin,
        };
        (!value.is_empty()).then(|| value.as_bytes().to_vec())
    }

    /// The dict for a generic (not internal) attribute, or Dovecot's refusal.
    fn dict_for(&self, validated: bool) -> StorageResult<&FileDict> {
        if validated {
            return Err(StorageError::not_possible(
                "Generic mailbox attributes not enabled",
            ));
        }
        match &self.dict {
            DictSetting::File(dict) => Ok(dict),
            DictSetting::None => Err(StorageError::not_possible("Mailbox attributes not enabled")),
            DictSetting::Unusable(e) => Err(StorageError::critical(
                None,
                format!("mail_attribute_dict: {e}"),
            )),
        }
    }

    /// The dict's content: the cached one when the file is still the version it was read
    /// from.
    fn read(&self, dict: &FileDict) -> StorageResult<Rc<DictMap>> {
        let fs_err = |e| StorageError::from_fs(None, &e);
        let now = dict.stamp(&self.policy).map_err(fs_err)?;
        if let (Some(now), Some((stamp, map))) = (now, self.cache.borrow().as_ref()) {
            if now == *stamp {
                return Ok(map.clone());
            }
        }
        let (stamp, map) = dict.read_stamped(&self.policy).map_err(fs_err)?;
        let map = Rc::new(map);
        *self.cache.borrow_mut() = stamp.map(|stamp| (stamp, map.clone()));
        Ok(map)
    }

    /// An attribute's value (`None`: it has none).
    pub fn get(&self, mb: &AttributeMailbox, key: &AttributeKey) -> StorageResult<Option<Vec<u8>>> {
        let internal = self.internal(mb, key);
        if let Some(i) = internal.filter(|i| i.rank == Rank::Authority) {
            return Ok(self.internal_value(mb, i.source));
        }
        let dict = self.dict_for(key.validated)?;
        if let Some(value) = self.read(dict)?.get(&dict_key(mb, key.ty, &key.key)) {
            return Ok(Some(value.clone()));
        }
        Ok(internal.and_then(|i| self.internal_value(mb, i.source)))
    }

    /// The keys below `prefix` (relative to it; `prefix` ends with `/` or is empty): the
    /// dict's in key order, then the internal ones, as Dovecot lists them.
    pub fn keys(
        &self,
        mb: &AttributeMailbox,
        prefix: &AttributeKey,
    ) -> StorageResult<Vec<Vec<u8>>> {
        let extras = self.internal_keys(mb, prefix);
        let mut keys = Vec::new();
        match self.dict_for(prefix.validated) {
            Ok(dict) => {
                let full = dict_key(mb, prefix.ty, &prefix.key);
                for key in self.read(dict)?.keys() {
                    if let Some(rest) = key.strip_prefix(full.as_slice()) {
                        if !extras.iter().any(|e| e.eq_ignore_ascii_case(rest)) {
                            keys.push(rest.to_vec());
                        }
                    }
                }
            }
            // Listing without the dict lists only the internal attributes.
            Err(e) if e.kind() == ErrorKind::NotPossible => {}
            Err(e) => return Err(e),
        }
        keys.extend(extras);
        Ok(keys)
    }

    /// Dovecot's `mailbox_internal_attributes_get`: the internal attributes at or below
    /// `prefix`, minus server ones outside INBOX.
    fn internal_keys(&self, mb: &AttributeMailbox, prefix: &AttributeKey) -> Vec<Vec<u8>> {
        let bare = prefix.key.strip_suffix(b"/").unwrap_or(&prefix.key);
        let mut out = Vec::new();
        let start = INTERNAL
            .iter()
            .position(|i| (i.ty, i.key.as_bytes()) >= (prefix.ty, bare))
            .unwrap_or(INTERNAL.len());
        for i in &INTERNAL[start..] {
            if i.ty != prefix.ty {
                break;
            }
            if prefix.validated && !i.validated {
                continue;
            }
            let key = i.key.as_bytes();
            let rest = if bare.is_empty() {
                key
            } else if !key.starts_with(bare) {
                break;
            } else {
                match key.get(bare.len()) {
                    Some(b'/') => &key[bare.len() + 1..],
                    None => &key[bare.len()..],
                    Some(_) => break,
                }
            };
            let listed = self.configured() || i.rank == Rank::Authority;
            // Dovecot compares the key relative to the prefix here, as this does.
            if listed && (mb.is_inbox || !rest.starts_with(PREFIX_DOVECOT_PVT_SERVER.as_bytes())) {
                out.push(rest.to_vec());
            }
        }
        out
    }

    /// Applies `changes` at once: all of them, or none when one is refused.
    pub fn set(&self, mb: &AttributeMailbox, changes: &[AttributeChange]) -> StorageResult<()> {
        let mut dict = None;
        for change in changes {
            let key = &change.key;
            if let Some(i) = self.internal(mb, key) {
                if i.rank == Rank::Authority {
                    return Err(StorageError::not_possible(format!(
                        "The /{}/{} attribute cannot be changed",
                        key.ty.name(),
                        String::from_utf8_lossy(&key.key)
                    )));
                }
            }
            dict = Some(self.dict_for(key.validated)?);
            if change.value.as_ref().is_some_and(|v| v.contains(&0)) {
                return Err(StorageError::params("Attribute string value has NULs"));
            }
        }
        let Some(dict) = dict else {
            return Ok(());
        };
        dict.update(&self.policy, |map| {
            let mut changed = false;
            for change in changes {
                let k = dict_key(mb, change.key.ty, &change.key.key);
                changed |= match &change.value {
                    Some(v) => map.insert(k, v.clone()).as_ref() != Some(v),
                    None => map.remove(&k).is_some(),
                };
            }
            changed
        })
        .map(|_| ())
        .map_err(|e| StorageError::from_fs(None, &e))
    }

    /// A mailbox is being deleted: its attributes go too (INBOX keeps the server's).
    pub fn delete_mailbox(&self, guid: &str, is_inbox: bool) -> StorageResult<()> {
        let DictSetting::File(dict) = &self.dict else {
            return Ok(());
        };
        let prefixes: BTreeSet<Vec<u8>> = [AttributeType::Private, AttributeType::Shared]
            .iter()
            .map(|ty| format!("{}{guid}/", ty.dict_prefix()).into_bytes())
            .collect();
        dict.update(&self.policy, |map| {
            let before = map.len();
            map.retain(|key, _| {
                let Some(rest) = prefixes.iter().find_map(|p| key.strip_prefix(p.as_slice()))
                else {
                    return true;
                };
                is_inbox && rest.starts_with(PREFIX_DOVECOT_PVT_SERVER.as_bytes())
            });
            map.len() != before
        })
        .map(|_| ())
        .map_err(|e| StorageError::from_fs(None, &e))
    }
}

/// `priv/<guid>/<key>` or `shared/<guid>/<key>`.
fn dict_key(mb: &AttributeMailbox, ty: AttributeType, key: &[u8]) -> Vec<u8> {
    let mut out = format!("{}{}/", ty.dict_prefix(), mb.guid).into_bytes();
    out.extend_from_slice(key);
    out
}

#[cfg(test)]
mod tests;
