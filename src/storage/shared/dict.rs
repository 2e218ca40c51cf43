//! `acl_shared_dict`: who shares mailboxes with whom, as Dovecot's `acl-lookup-dict.c`
//! keeps it, so that LIST can show other users' shared mailboxes without opening every
//! user's storage.
//!
//! A key `shared/shared-boxes/<id>/<owner>` (value `1`) says that `owner` gave the lookup
//! right on some mailbox to `<id>`: `anyone` (also for `authenticated`), `user/<name>` or
//! `group/<name>` (also for `group-override`). An owner's keys are rebuilt from all of the
//! owner's private mailboxes' ACLs whenever SETACL/DELETEACL may have changed them. Only
//! the `file` dict is implemented (the one cote has for `mail_attribute_dict`).

use std::collections::BTreeSet;

use crate::fs::FsPolicy;
use crate::storage::acl::acllist::gives_nonowner_lookup;
use crate::storage::acl::{AclEntry, IdType};
use crate::storage::attribute::dict_file::FileDict;
use crate::storage::error::{StorageError, StorageResult};

/// Where the keys are (Dovecot's `DICT_PATH_SHARED` + `shared-boxes/`).
const PREFIX: &str = "shared/shared-boxes/";

/// The `acl_shared_dict` of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDict {
    dict: FileDict,
}

/// The dict id an entry of `owner`'s ACLs adds (Dovecot: entries other than `owner`'s that
/// give the lookup right, except the owner's own `user=` entry).
pub fn entry_id(entry: &AclEntry, owner: &str) -> Option<String> {
    if !gives_nonowner_lookup(entry) {
        return None;
    }
    match entry.id.kind {
        IdType::Owner => None,
        IdType::Anyone | IdType::Authenticated => Some("anyone".to_string()),
        IdType::User if entry.id.name == owner => None,
        IdType::User => Some(format!("user/{}", entry.id.name)),
        IdType::Group | IdType::GroupOverride => Some(format!("group/{}", entry.id.name)),
    }
}

impl SharedDict {
    /// The dict of an `acl_shared_dict` value (`file:PATH[:lock=...]`); a `~/` path is
    /// under `home`.
    pub fn from_setting(uri: &str, home: Option<&str>) -> StorageResult<SharedDict> {
        let Some(args) = uri.strip_prefix("file:") else {
            let driver = uri.split(':').next().unwrap_or(uri);
            return Err(StorageError::not_implemented(format!(
                "acl_shared_dict: the {driver} dict"
            )));
        };
        FileDict::from_uri(args, home)
            .map(|dict| SharedDict { dict })
            .map_err(|e| {
                StorageError::new(
                    crate::storage::error::ErrorKind::Temp,
                    format!("acl: dict_init({uri}) failed: {e}"),
                )
            })
    }

    /// The owners whose shared mailboxes `viewer` (in `groups`) may see, in Dovecot's
    /// order (`anyone`'s, then the user's, then each group's), without duplicates.
    pub fn visible_owners(
        &self,
        viewer: &str,
        groups: &[String],
        policy: &FsPolicy,
    ) -> StorageResult<Vec<String>> {
        let map = self
            .dict
            .read(policy)
            .map_err(|e| StorageError::from_fs(None, &e))?;
        let mut ids = vec!["anyone".to_string(), format!("user/{viewer}")];
        ids.extend(groups.iter().map(|g| format!("group/{g}")));
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            let prefix = format!("{PREFIX}{id}/");
            for key in map.keys() {
                let Some(owner) = key.strip_prefix(prefix.as_bytes()) else {
                    continue;
                };
                let owner = String::from_utf8_lossy(owner).into_owned();
                if !owner.is_empty() && !out.contains(&owner) {
                    out.push(owner);
                }
            }
        }
        Ok(out)
    }

    /// Dovecot's `acl_lookup_dict_rebuild_update` for `user`'s session: every key of
    /// `keys` (`(id, owner)`: `id` may look up a mailbox of `owner`'s) is added, and the
    /// keys of `user`'s own mailboxes that are not among them are removed unless
    /// `no_removes` (some ACLs could not be read). Other owners' keys are only ever added:
    /// the session may not see every mailbox of theirs.
    pub fn rebuild(
        &self,
        user: &str,
        keys: &BTreeSet<(String, String)>,
        no_removes: bool,
        policy: &FsPolicy,
    ) -> StorageResult<()> {
        let suffix = format!("/{user}");
        self.dict
            .update(policy, |map| {
                let old: BTreeSet<Vec<u8>> = map
                    .keys()
                    .filter(|k| {
                        // An id between the prefix and the user (the two must not overlap).
                        k.len() > PREFIX.len() + suffix.len()
                            && k.starts_with(PREFIX.as_bytes())
                            && k.ends_with(suffix.as_bytes())
                    })
                    .cloned()
                    .collect();
                let new: BTreeSet<Vec<u8>> = keys
                    .iter()
                    .map(|(id, owner)| format!("{PREFIX}{id}/{owner}").into_bytes())
                    .collect();
                let mut changed = false;
                for key in &new {
                    if !map.contains_key(key) {
                        map.insert(key.clone(), b"1".to_vec());
                        changed = true;
                    }
                }
                if !no_removes {
                    for key in old.difference(&new) {
                        map.remove(key);
                        changed = true;
                    }
                }
                changed
            })
            .map(|_| ())
            .map_err(|e| StorageError::from_fs(None, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::acl::rights::parse_line;

    #[test]
    fn ids_of_entries() {
        let id = |line: &str| entry_id(&parse_line(line).unwrap(), "alice");
        assert_eq!(id("user=bob lr").as_deref(), Some("user/bob"));
        assert_eq!(id("user=bob r"), None);
        assert_eq!(id("-user=bob l"), None);
        assert_eq!(id("user=alice lr"), None);
        assert_eq!(id("owner lr"), None);
        assert_eq!(id("anyone l").as_deref(), Some("anyone"));
        assert_eq!(id("authenticated l").as_deref(), Some("anyone"));
        assert_eq!(id("group=staff l").as_deref(), Some("group/staff"));
        assert_eq!(id("group-override=staff l").as_deref(), Some("group/staff"));
    }

    #[test]
    fn rebuild_keeps_other_owners_and_lists_by_viewer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db/shared-mailboxes.db");
        let dict = SharedDict::from_setting(&format!("file:{}", path.display()), None).unwrap();
        let policy = FsPolicy::default();
        let set = |owner: &str, ids: &[&str]| {
            ids.iter()
                .map(|s| (s.to_string(), owner.to_string()))
                .collect::<BTreeSet<_>>()
        };
        dict.rebuild(
            "alice",
            &set("alice", &["user/bob", "group/staff"]),
            false,
            &policy,
        )
        .unwrap();
        dict.rebuild("carol", &set("carol", &["anyone"]), false, &policy)
            .unwrap();
        // Keys of other layouts (or broken ones) are left alone.
        std::fs::write(
            &path,
            format!(
                "{}shared/shared-boxes/alice\n1\nshared/shared-boxes//alice\n1\n",
                std::fs::read_to_string(&path).unwrap()
            ),
        )
        .unwrap();
        dict.rebuild(
            "alice",
            &set("alice", &["user/bob", "group/staff"]),
            false,
            &policy,
        )
        .unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("shared/shared-boxes/alice\n"));
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap().replace(
                "shared/shared-boxes/alice\n1\nshared/shared-boxes//alice\n1\n",
                "",
            ),
        )
        .unwrap();
        // Dovecot's file layout: key line, value line.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "shared/shared-boxes/anyone/carol\n1\n\
             shared/shared-boxes/group/staff/alice\n1\n\
             shared/shared-boxes/user/bob/alice\n1\n"
        );
        let owners =
            |user: &str, groups: &[String]| dict.visible_owners(user, groups, &policy).unwrap();
        assert_eq!(owners("bob", &[]), ["carol", "alice"]);
        assert_eq!(owners("dave", &["staff".into()]), ["carol", "alice"]);
        assert_eq!(owners("dave", &[]), ["carol"]);
        // alice takes bob's right away; a failed read keeps what was there.
        dict.rebuild("alice", &set("alice", &["group/staff"]), true, &policy)
            .unwrap();
        assert_eq!(owners("bob", &[]), ["carol", "alice"]);
        dict.rebuild("alice", &set("alice", &["group/staff"]), false, &policy)
            .unwrap();
        assert_eq!(owners("bob", &[]), ["carol"]);
        // bob (who administers a mailbox of alice's) gives carol the lookup right: his
        // session adds alice's key, and removes only keys of his own mailboxes.
        let mut keys = set("alice", &["user/carol"]);
        keys.extend(set("bob", &["anyone"]));
        dict.rebuild("bob", &keys, false, &policy).unwrap();
        assert_eq!(owners("carol", &[]), ["bob", "carol", "alice"]);
        dict.rebuild("bob", &BTreeSet::new(), false, &policy)
            .unwrap();
        assert_eq!(owners("carol", &[]), ["carol", "alice"]);
        assert_eq!(
            SharedDict::from_setting("proxy::acl", None)
                .unwrap_err()
                .kind(),
            crate::storage::error::ErrorKind::NotImplemented
        );
    }
}
