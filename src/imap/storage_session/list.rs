//! LIST and LSUB as Dovecot 2.3 answers them (`cmd-list.c`, `mailbox-list-iter.c`,
//! `mailbox-list-subscriptions.c`): the reference joined to each pattern, `LIST ref ""` for
//! the hierarchy root, the flags each form of the command returns, and for subscriptions
//! (LSUB, `LIST (SUBSCRIBED)`) RECURSIVEMATCH's parents with subscribed children.

use std::collections::{BTreeMap, HashSet};

use crate::imap::mail_session::ListEntry;
use crate::imap::parser::list::List;
use crate::storage::api::ListAttributes;
use crate::storage::error::StorageResult;
use crate::storage::list::glob::Glob;
use crate::storage::location::Layout;
use crate::storage::namespace::{self, Namespace};
use crate::storage::user::{ListOptions, MailUser};

/// What the command asks for (Dovecot's `mailbox_list_iter_flags` as `cmd_list_full` sets
/// them).
#[derive(Debug, Clone, Copy, Default)]
struct Want {
    select_subscribed: bool,
    select_special_use: bool,
    recursive_match: bool,
    return_subscribed: bool,
    return_children: bool,
    return_special_use: bool,
    /// LSUB without `tb-lsub-flags`: only the subscription flags.
    no_flags: bool,
    /// LIST-EXTENDED syntax was used (RFC 5258 answers: `\NonExistent`, CHILDINFO).
    listext: bool,
    /// LSUB with a pattern not ending in `%`: parents that only have subscribed children
    /// are not shown.
    lsub_no_unsubscribed: bool,
}

impl Want {
    fn of(request: &List) -> Want {
        if request.lsub {
            let pattern = request.patterns.first().map_or("", String::as_str);
            return Want {
                select_subscribed: true,
                recursive_match: true,
                return_special_use: true,
                return_children: request.returns.children,
                no_flags: !request.returns.children,
                lsub_no_unsubscribed: !pattern.ends_with('%'),
                ..Want::default()
            };
        }
        if !request.extended {
            return Want {
                return_children: true,
                return_special_use: true,
                ..Want::default()
            };
        }
        let s = request.selection;
        let r = &request.returns;
        Want {
            select_subscribed: s.subscribed,
            select_special_use: s.special_use,
            recursive_match: s.recursive_match,
            return_subscribed: r.subscribed || s.subscribed,
            return_children: r.children,
            return_special_use: r.special_use || s.special_use,
            no_flags: false,
            listext: true,
            lsub_no_unsubscribed: false,
        }
    }
}

/// One name to answer with, before its flags are written.
#[derive(Debug, Clone, Default)]
struct Found {
    attributes: ListAttributes,
    subscribed: bool,
    child_subscribed: bool,
    child_special_use: bool,
}

pub(super) fn list(user: &mut MailUser, request: &List) -> StorageResult<Vec<ListEntry>> {
    let namespaces: Vec<Namespace> = user.namespaces().into_iter().cloned().collect();
    let first_pattern_empty = request.patterns.first().is_none_or(String::is_empty);
    if !request.extended && !request.lsub && first_pattern_empty {
        return Ok(vec![hierarchy_root(&namespaces, &request.reference)]);
    }
    let want = Want::of(request);
    let patterns = join_reference(&namespaces, &request.reference, &request.patterns);
    let found = if want.select_subscribed {
        subscribed(user, &namespaces, &patterns, &want)?
    } else {
        mailboxes(user, &namespaces, &patterns, &want)?
    };
    Ok(found
        .into_iter()
        .filter(|(_, f)| !(want.lsub_no_unsubscribed && f.child_subscribed && !f.subscribed))
        .map(|(name, f)| entry(&namespaces, name, &f, &want))
        .collect())
}

/// `LIST ref ""`: the hierarchy separator and the root name of the reference's namespace
/// (its prefix), or as UW-IMAP answers, the reference up to its first separator.
fn hierarchy_root(namespaces: &[Namespace], reference: &str) -> ListEntry {
    let visible: Vec<Namespace> = namespaces
        .iter()
        .filter(|ns| !ns.config.hidden)
        .cloned()
        .collect();
    let ns = namespace::find(&visible, reference).map(|(i, _)| &visible[i]);
    let separator = ns
        .or_else(|| visible.first())
        .or_else(|| namespaces.first())
        .map_or('/', |ns| ns.separator);
    let name = match ns.map(Namespace::prefix) {
        Some(prefix) if !prefix.is_empty() => prefix.to_string(),
        _ => match reference.find(separator) {
            Some(at) => reference[..at + separator.len_utf8()].to_string(),
            None => String::new(),
        },
    };
    ListEntry {
        name,
        separator: Some(separator),
        attributes: vec!["\\Noselect".to_string()],
        child_info: Vec::new(),
        selectable: false,
    }
}

/// Each pattern with the reference in front (for `LAYOUT=fs`, a pattern starting with `/`
/// or `~` stands alone).
fn join_reference(namespaces: &[Namespace], reference: &str, patterns: &[String]) -> Vec<String> {
    if reference.is_empty() {
        return patterns.to_vec();
    }
    let fs_layout = namespace::find(namespaces, reference)
        .is_some_and(|(i, _)| namespaces[i].location.layout == Layout::Fs);
    patterns
        .iter()
        .map(|p| {
            if fs_layout && (p.starts_with('/') || p.starts_with('~')) {
                p.clone()
            } else {
                format!("{reference}{p}")
            }
        })
        .collect()
}

/// The namespace of a full name, and its separator.
fn separator_of(namespaces: &[Namespace], name: &str) -> char {
    namespace::find(namespaces, name)
        .map(|(i, _)| namespaces[i].separator)
        .or_else(|| namespaces.first().map(|ns| ns.separator))
        .unwrap_or('/')
}

/// Whether `name` matches one of the patterns (compiled with its namespace's separator).
fn matches(namespaces: &[Namespace], patterns: &[String], name: &str) -> bool {
    let sep = separator_of(namespaces, name);
    patterns.iter().any(|p| Glob::new(p, sep).matches(name))
}

/// The mailboxes (and name-only parents) matching the patterns: plain LIST, and LIST with
/// SPECIAL-USE selection.
fn mailboxes(
    user: &mut MailUser,
    namespaces: &[Namespace],
    patterns: &[String],
    want: &Want,
) -> StorageResult<BTreeMap<String, Found>> {
    let options = ListOptions {
        subscribed_only: false,
        return_subscribed: want.return_subscribed,
    };
    let entries = user.list(patterns, options)?;
    let with_special_use: Vec<String> = if want.select_special_use && want.recursive_match {
        user.list(&everything(patterns), ListOptions::default())?
            .into_iter()
            .filter(|e| !e.attributes.special_use.is_empty())
            .map(|e| e.vname)
            .collect()
    } else {
        Vec::new()
    };
    let mut out = BTreeMap::new();
    for e in entries {
        let sep = separator_of(namespaces, &e.vname);
        let below = format!("{}{sep}", e.vname);
        let child_special_use = with_special_use.iter().any(|n| n.starts_with(&below));
        if want.select_special_use && e.attributes.special_use.is_empty() && !child_special_use {
            continue;
        }
        let found = Found {
            subscribed: e.attributes.subscribed,
            attributes: existence(namespaces, &e.vname, e.attributes),
            child_subscribed: false,
            child_special_use,
        };
        out.insert(e.vname, found);
    }
    Ok(out)
}

/// The patterns to find every mailbox a subscription or special-use child may name.
fn everything(patterns: &[String]) -> Vec<String> {
    let mut all = vec!["*".to_string()];
    all.extend(patterns.iter().cloned());
    all
}

/// A name-only parent in a Maildir++ namespace does not exist at all (RFC 5258
/// `\NonExistent`); in `LAYOUT=fs` it is a directory that is no mailbox (`\Noselect`).
fn existence(namespaces: &[Namespace], name: &str, mut a: ListAttributes) -> ListAttributes {
    if a.noselect && !a.nonexistent {
        let fs = namespace::find(namespaces, name).is_some_and(|(i, _)| {
            matches!(
                namespaces[i].location.layout,
                Layout::Fs | Layout::Index | Layout::None
            ) || namespaces[i].prefix().strip_suffix(namespaces[i].separator) == Some(name)
        });
        if !fs {
            a.noselect = false;
            a.nonexistent = true;
        }
    }
    a
}

/// LSUB and `LIST (SUBSCRIBED ...)`: the subscriptions matching the patterns and, with
/// RECURSIVEMATCH, the nearest matching parent of each subscription that does not match.
fn subscribed(
    user: &mut MailUser,
    namespaces: &[Namespace],
    patterns: &[String],
    want: &Want,
) -> StorageResult<BTreeMap<String, Found>> {
    #[derive(Default)]
    struct Node {
        subscribed: bool,
        child_subscribed: bool,
        shown: bool,
    }
    let mut tree: BTreeMap<String, Node> = BTreeMap::new();
    for name in user.subscriptions()? {
        let sep = separator_of(namespaces, &name);
        let mut name = name.strip_suffix(sep).unwrap_or(&name).to_string();
        let mut leaf = true;
        let mut show = true;
        loop {
            if matches(namespaces, patterns, &name) {
                let node = tree.entry(name.clone()).or_default();
                if leaf {
                    node.subscribed = true;
                } else {
                    node.child_subscribed = true;
                }
                // Parents are shown for a child only when the child itself is not.
                node.shown |= show;
                show = false;
            }
            if !want.recursive_match {
                break;
            }
            match name.rfind(sep) {
                Some(at) => name.truncate(at),
                None => break,
            }
            leaf = false;
        }
    }
    let known: BTreeMap<String, ListAttributes> = if want.no_flags {
        BTreeMap::new()
    } else {
        user.list(&everything(patterns), ListOptions::default())?
            .into_iter()
            .map(|e| (e.vname, e.attributes))
            .collect()
    };
    let special_use_wanted: HashSet<&String> = known
        .iter()
        .filter(|(_, a)| !a.special_use.is_empty())
        .map(|(n, _)| n)
        .collect();
    let mut out = BTreeMap::new();
    for (name, node) in tree.into_iter().filter(|(_, n)| n.shown) {
        if want.select_special_use && !special_use_wanted.contains(&name) {
            continue;
        }
        let attributes = if want.no_flags {
            ListAttributes::default()
        } else {
            match known.get(&name) {
                Some(a) => existence(namespaces, &name, a.clone()),
                None => ListAttributes {
                    nonexistent: true,
                    children: Some(node.child_subscribed),
                    ..ListAttributes::default()
                },
            }
        };
        out.insert(
            name,
            Found {
                attributes,
                subscribed: node.subscribed,
                child_subscribed: node.child_subscribed,
                child_special_use: false,
            },
        );
    }
    Ok(out)
}

/// The LIST/LSUB line's content, flags as Dovecot's `mailbox_flags2str` writes them.
fn entry(namespaces: &[Namespace], name: String, f: &Found, want: &Want) -> ListEntry {
    let a = &f.attributes;
    let mut noselect = a.noselect;
    let mut nonexistent = a.nonexistent;
    if nonexistent && !want.listext {
        noselect = true;
        nonexistent = false;
    }
    let mut subscribed = f.subscribed && want.return_subscribed;
    if f.child_subscribed && !f.subscribed && !want.listext {
        // LSUB's way of saying "only a child is subscribed".
        noselect = true;
        subscribed = false;
    }
    let mut attributes = Vec::new();
    if subscribed {
        attributes.push("\\Subscribed");
    }
    if noselect {
        attributes.push("\\Noselect");
    }
    if nonexistent {
        attributes.push("\\NonExistent");
    }
    let children = if want.return_children {
        a.children
    } else {
        None
    };
    if children == Some(true) {
        attributes.push("\\HasChildren");
    } else if a.noinferiors {
        attributes.push("\\NoInferiors");
    } else if children == Some(false) {
        attributes.push("\\HasNoChildren");
    }
    let mut attributes: Vec<String> = attributes.into_iter().map(str::to_string).collect();
    if want.return_special_use {
        attributes.extend(a.special_use.iter().cloned());
    }
    let mut child_info = Vec::new();
    if want.listext && want.recursive_match {
        if f.child_subscribed {
            child_info.push("SUBSCRIBED".to_string());
        }
        if f.child_special_use {
            child_info.push("SPECIAL-USE".to_string());
        }
    }
    ListEntry {
        separator: Some(separator_of(namespaces, &name)),
        selectable: !a.noselect && !a.nonexistent,
        name,
        attributes,
        child_info,
    }
}
