//! The quota side of [`MailUser`] for other users' mailboxes: as Dovecot 2.3 does, saves
//! into a mailbox under a shared root (`shared/alice/Team`) count against its owner's
//! quota (the owner's roots, limits and `quota_exceeded_message`, from the owner's userdb
//! fields and the `plugin { }` settings), whoever saves; whether a MOVE is checked at all
//! is decided by the quota of the session's user.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::{new_list, MailUser, MailUserInfo};
use crate::storage::quota::{Quota, QuotaSettings, QuotaSource};

/// What the quota plugin needs to give owners their quotas.
pub(super) struct OwnerQuotas {
    /// The `plugin { }` section's settings (each owner's userdb fields come first).
    plugin: Vec<(String, String)>,
    /// Each owner's quota (`None`: the owner has none), by user name.
    by_owner: HashMap<String, Option<Rc<RefCell<Quota>>>>,
}

impl OwnerQuotas {
    pub(super) fn new(plugin: Vec<(String, String)>) -> OwnerQuotas {
        OwnerQuotas {
            plugin,
            by_owner: HashMap::new(),
        }
    }
}

/// A plugin setting's value for the user `info` names: the userdb's extra field
/// (`quota_rule` or `plugin/quota_rule`), else the `plugin { }` section's.
pub(super) fn plugin_value(
    plugin: &[(String, String)],
    info: &MailUserInfo,
    name: &str,
) -> Option<String> {
    let from_userdb = info.userdb_fields.as_ref().and_then(|fields| {
        fields
            .iter()
            .find(|(k, _)| k == name || k.strip_prefix("plugin/") == Some(name))
            .map(|(_, v)| v.clone())
    });
    from_userdb.or_else(|| {
        plugin
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

/// The quota a mailbox's saves count against.
pub struct MailboxQuota {
    pub quota: Rc<RefCell<Quota>>,
    /// The mailbox's namespace among the quota's sources.
    pub source: usize,
    /// The quota is another user's (the mailbox is under a shared root).
    pub other_user: bool,
}

impl MailUser {
    /// After the namespace `i` of `owner`'s mailboxes was added under a shared root: the
    /// owner's quota (built once per owner), and the namespace made known to the user's
    /// own quota (which does not count it) so that MOVE checks can tell where it is.
    pub(super) fn add_owner_quota(&mut self, i: usize, owner: &MailUserInfo) {
        let ns = self.lists[i].namespace().clone();
        let policy = self.settings.for_location(&ns.location).fs.clone();
        if let Some(quota) = &self.quota {
            quota.borrow_mut().add_source(QuotaSource {
                ns: ns.clone(),
                list: new_list(ns.clone(), &self.settings, &owner.username),
                policy: policy.clone(),
            });
        }
        let Some(owners) = self.owner_quotas.as_mut() else {
            return;
        };
        if owners.by_owner.contains_key(&owner.username) {
            return;
        }
        let read = QuotaSettings::read(
            &|name| plugin_value(&owners.plugin, owner, name),
            &mut |warning| log::warn!("quota: {warning}"),
        );
        let quota = match read {
            Ok(Some(settings)) => {
                let delivering = matches!(self.info.service.as_str(), "lmtp" | "lda");
                let source = QuotaSource {
                    list: new_list(ns.clone(), &self.settings, &owner.username),
                    ns,
                    policy,
                };
                Some(Rc::new(RefCell::new(Quota::for_owner(
                    settings, source, delivering,
                ))))
            }
            Ok(None) => None,
            Err(e) => {
                log::error!(
                    "quota: Failed to initialize quota of user {}: {e}",
                    owner.username
                );
                None
            }
        };
        owners.by_owner.insert(owner.username.clone(), quota);
    }

    /// The quota that saves into namespace `i` count against, if any.
    pub(super) fn quota_at(&self, i: usize) -> Option<MailboxQuota> {
        match &self.lists[i].namespace().owner {
            Some(owner) => {
                let quota = self.owner_quotas.as_ref()?.by_owner.get(owner)?.clone()?;
                Some(MailboxQuota {
                    quota,
                    source: 0,
                    other_user: true,
                })
            }
            None => self.quota.clone().map(|quota| MailboxQuota {
                quota,
                source: i,
                other_user: false,
            }),
        }
    }

    /// The quota that saves into mailbox `vname` count against (APPEND's check of a
    /// message's announced size); `None` when none does or the name is in no namespace.
    pub fn mailbox_quota(&mut self, vname: &str) -> Option<MailboxQuota> {
        let (i, _) = self.find_namespace(vname).ok()?;
        self.quota_at(i)
    }

    /// Whether `vname` is another user's mailbox (under a shared root, also of a user who
    /// does not exist: Dovecot has a namespace for them too): GETQUOTAROOT does not show
    /// their quota.
    pub fn is_other_users(&mut self, vname: &str) -> bool {
        self.find_namespace(vname).is_ok_and(|(i, inner)| {
            let ns = self.lists[i].namespace();
            ns.owner.is_some() || (ns.shared_pattern.is_some() && !inner.is_empty())
        })
    }
}
