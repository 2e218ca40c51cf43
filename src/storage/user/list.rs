//! LIST for [`MailUser`]: every listed namespace's mailboxes matching the patterns, with
//! their attributes, ACLs applied, and shared roots shown as Dovecot shows them.

use std::collections::{BTreeMap, HashSet};

use super::acl::ListVisibility;
use super::{ListOptions, MailUser};
use crate::storage::api::{ListAttributes, ListEntry};
use crate::storage::error::StorageResult;
use crate::storage::list::glob::Glob;
use crate::storage::namespace::{self, ListMode, Namespace};

impl MailUser {
    /// LIST: the mailboxes (and namespace prefixes) of every listed namespace whose full
    /// name matches one of `patterns` (reference already applied), with their attributes.
    pub fn list(
        &mut self,
        patterns: &[String],
        options: ListOptions,
    ) -> StorageResult<Vec<ListEntry>> {
        self.add_listed_shared_namespaces()?;
        let subscribed: HashSet<String> = if options.subscribed_only || options.return_subscribed {
            self.subscriptions()?.into_iter().collect()
        } else {
            HashSet::new()
        };
        let all_namespaces: Vec<Namespace> =
            self.lists.iter().map(|l| l.namespace().clone()).collect();
        let mut entries: BTreeMap<String, ListEntry> = BTreeMap::new();
        // Shared roots, listed after their owners' namespaces: whether any has a mailbox
        // the user may see says whether the root has children.
        let mut shared_roots: Vec<usize> = Vec::new();
        let mut visible_owners: Vec<String> = Vec::new();
        for i in 0..self.lists.len() {
            let ns = self.lists[i].namespace().clone();
            if ns.shared_pattern.is_some() {
                shared_roots.push(i);
                continue;
            }
            let globs: Vec<Glob> = patterns
                .iter()
                .map(|p| Glob::new(p, ns.separator))
                .collect();
            let asked =
                !ns.prefix().is_empty() && globs.iter().any(|g| g.names_prefix(ns.prefix()));
            if !ns.is_listed() && !asked {
                continue;
            }
            let matches = |vname: &str| globs.iter().any(|g| g.matches(vname));
            let mut mailboxes = match self.lists[i].mailboxes() {
                Ok(m) => m,
                // Another user's mailboxes this user cannot read are not listed (Dovecot
                // drops such a namespace); the reason is logged.
                Err(e) if ns.owner.is_some() => {
                    log::error!("{}", e.internal().unwrap_or(e.client_text()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            // ACLs: what the user may not look up is hidden (LSUB lists subscriptions
            // without checking them, as Dovecot does).
            let visibility = if options.subscribed_only {
                None
            } else {
                self.acl_list_visibility(i, &mailboxes, &globs, patterns)?
            };
            if let Some(visibility) = &visibility {
                mailboxes.retain(|m| visibility.get(&m.name) != Some(&ListVisibility::Hidden));
            }
            if ns.owner.is_some() && !mailboxes.is_empty() {
                visible_owners.push(ns.prefix().to_string());
            }
            // A shared owner's INBOX is the namespace root: not one of its children.
            let has_children = mailboxes
                .iter()
                .any(|m| ns.owner.is_none() || m.name != "INBOX");
            let mut add = |vname: String, attributes: ListAttributes| {
                entries
                    .entry(vname.clone())
                    .and_modify(|e| {
                        let a = &mut e.attributes;
                        if !attributes.noselect {
                            a.noselect = false;
                            a.nonexistent = false;
                        }
                        if attributes.children == Some(true) {
                            a.children = Some(true);
                        }
                        a.subscribed |= attributes.subscribed;
                    })
                    .or_insert(ListEntry {
                        vname,
                        separator: ns.separator,
                        attributes,
                    });
            };
            let prefix_root = ns.vname("");
            if !ns.prefix().is_empty()
                && (ns.config.list == ListMode::Yes
                    || (ns.config.list == ListMode::Children && !mailboxes.is_empty())
                    || asked)
                && matches(&prefix_root)
                && !options.subscribed_only
            {
                add(
                    prefix_root.clone(),
                    ListAttributes {
                        // A shared owner's namespace root is no directory (Dovecot:
                        // \NonExistent), unless it is their INBOX.
                        noselect: ns.owner.is_none(),
                        nonexistent: ns.owner.is_some(),
                        children: Some(has_children),
                        subscribed: subscribed.contains(&prefix_root),
                        ..ListAttributes::default()
                    },
                );
            }
            for m in mailboxes {
                let vname = ns.vname(&m.name);
                if !matches(&vname) {
                    continue;
                }
                let is_subscribed = subscribed.contains(&vname);
                if options.subscribed_only && !is_subscribed {
                    continue;
                }
                let special_use = ns
                    .mailbox_settings(&m.name)
                    .map(|s| s.special_use.clone())
                    .unwrap_or_default();
                let mut attributes = ListAttributes {
                    noselect: !m.selectable,
                    nonexistent: false,
                    noinferiors: m.no_inferiors,
                    children: Some(m.has_children),
                    subscribed: is_subscribed,
                    special_use,
                };
                match visibility.as_ref().and_then(|v| v.get(&m.name)) {
                    Some(ListVisibility::Visible {
                        has_visible_children,
                    }) => {
                        attributes.children = Some(m.has_children && *has_visible_children);
                    }
                    Some(ListVisibility::ParentOnly) => {
                        attributes = ListAttributes {
                            noselect: true,
                            nonexistent: true,
                            children: Some(true),
                            subscribed: is_subscribed,
                            ..ListAttributes::default()
                        };
                    }
                    _ => {}
                }
                add(vname, attributes);
            }
            if options.subscribed_only {
                // Subscribed names that no longer exist are still listed (\NonExistent).
                for vname in &subscribed {
                    let in_ns =
                        namespace::find(&all_namespaces, vname).is_some_and(|(j, _)| j == i);
                    if in_ns && matches(vname) {
                        add(
                            vname.clone(),
                            ListAttributes {
                                noselect: true,
                                nonexistent: true,
                                subscribed: true,
                                ..ListAttributes::default()
                            },
                        );
                    }
                }
            }
        }
        for i in shared_roots {
            let ns = self.lists[i].namespace();
            let root = ns.vname("");
            let children = visible_owners.iter().any(|p| p.starts_with(ns.prefix()));
            let shown = match ns.config.list {
                ListMode::Yes => true,
                ListMode::Children => children,
                ListMode::No => patterns
                    .iter()
                    .any(|p| Glob::new(p, ns.separator).names_prefix(ns.prefix())),
            };
            if shown
                && !options.subscribed_only
                && patterns
                    .iter()
                    .any(|p| Glob::new(p, ns.separator).matches(&root))
            {
                entries.entry(root.clone()).or_insert(ListEntry {
                    separator: ns.separator,
                    attributes: ListAttributes {
                        nonexistent: true,
                        children: Some(children),
                        subscribed: subscribed.contains(&root),
                        ..ListAttributes::default()
                    },
                    vname: root,
                });
            }
        }
        Ok(entries.into_values().collect())
    }
}
