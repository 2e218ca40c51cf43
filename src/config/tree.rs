//! One settings tree: every setting of the schema with its value and whether the config set
//! it, sections as lists of child trees, and the path index (`service/imap/inet_listener/imap`)
//! through which the parser sets values. This is the model of Dovecot's settings parser
//! (lib-settings): one tree per filter, merged per connection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schema::{self, SectionDefaults, SectionInfo, SettingDef, SettingType};
use super::values::{section_escape, Value};

/// Where a value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub file: Arc<Path>,
    pub line: u32,
}

/// What accompanies a value being set.
#[derive(Debug, Clone, Default)]
pub(crate) struct SetMeta {
    pub origin: Option<Origin>,
    /// The value came from `key = <path`, not yet read: this is the resolved path.
    pub file: Option<PathBuf>,
}

/// A scalar setting's state.
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub value: Value,
    /// The value as written (after `$variable` expansion), or the default's text.
    pub text: String,
    /// Set by the configuration (even to the default value).
    pub changed: bool,
    pub meta: SetMeta,
}

/// One `key = value` of a free-form list (`plugin { }`).
#[derive(Debug, Clone)]
pub(crate) struct StrEntry {
    pub key: String,
    pub value: String,
    pub meta: SetMeta,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StrList {
    /// The section was opened at least once (even if empty).
    pub created: bool,
    pub entries: Vec<StrEntry>,
}

/// A list of sections of one kind.
#[derive(Debug, Clone)]
pub(crate) struct List {
    pub section: &'static SectionInfo,
    /// Sections with the same name merge (services, namespaces); otherwise each section is
    /// its own entry (passdb, userdb).
    pub unique: bool,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Scalar(Scalar),
    List(List),
    StrList(StrList),
    Alias,
}

/// The settings of one section instance (or of the top level).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub info: &'static SectionInfo,
    pub slots: Vec<Slot>,
}

/// Index of a child: (slot of the list, position in the list).
type Step = (usize, usize);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Node(Vec<Step>),
    StrList { owner: Vec<Step>, slot: usize },
}

#[derive(Debug, Clone)]
struct Link {
    /// The node holding the list this link points into.
    parent: Vec<Step>,
    target: Target,
}

/// What [`Tree::set`] found at a path.
enum Found {
    Setting { node: Vec<Step>, index: usize },
    StrList { owner: Vec<Step>, slot: usize },
}

/// What a successful [`Tree::set`] touched, for naming a section opened by the same line
/// (Dovecot's `prev_info`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Applied {
    /// A scalar setting of a node of this kind.
    Scalar(&'static SectionInfo),
    /// A list of sections of this kind.
    Sections(&'static SectionInfo),
    /// A free-form list was opened.
    StrList,
    /// An entry of a free-form list was set.
    StrListEntry,
}

impl Node {
    /// A node with the schema's defaults for `info`, including built-in sub-sections.
    pub(crate) fn new(info: &'static SectionInfo) -> Node {
        let slots = info.settings.iter().map(default_slot).collect();
        let mut node = Node { info, slots };
        node.add_builtin_children(builtins_for(info.kind));
        node
    }

    /// A node for a built-in section instance: the kind's defaults, then its own overrides.
    fn builtin(info: &'static SectionInfo, defaults: &SectionDefaults) -> Node {
        let mut node = Node {
            info,
            slots: info.settings.iter().map(default_slot).collect(),
        };
        if let Some(name_key) = info.name_key {
            node.set_default(name_key, defaults.name);
        }
        for (key, value) in defaults.values {
            node.set_default(key, value);
        }
        node.add_builtin_children(defaults.children);
        node
    }

    fn set_default(&mut self, key: &str, text: &str) {
        let Some(index) = self.index(key) else {
            debug_assert!(false, "built-in default for unknown setting {key}");
            return;
        };
        let def = &self.info.settings[index];
        if let Slot::Scalar(scalar) = &mut self.slots[index] {
            scalar.value = Value::default_for(&def.ty, text, false);
            scalar.text = text.to_string();
        }
    }

    fn add_builtin_children(&mut self, children: &[SectionDefaults]) {
        for child in children {
            let Some(index) = self.list_index(child.kind) else {
                debug_assert!(false, "built-in section of unknown kind {}", child.kind);
                continue;
            };
            if let Slot::List(list) = &mut self.slots[index] {
                let node = Node::builtin(list.section, child);
                list.children.push(node);
            }
        }
    }

    /// Index of the setting `key` (exact, case-sensitive as in Dovecot).
    pub(crate) fn index(&self, key: &str) -> Option<usize> {
        self.info.settings.iter().position(|s| s.key == key)
    }

    /// Index of the list slot holding sections of `kind`.
    pub(crate) fn list_index(&self, kind: &str) -> Option<usize> {
        self.info.settings.iter().position(|s| {
            matches!(s.ty, SettingType::Sections { section, .. } if s.key == kind || section.kind == kind)
        })
    }

    /// The name of this section instance (its name setting), `""` if none.
    pub(crate) fn name(&self) -> &str {
        self.info
            .name_key
            .and_then(|key| self.scalar(key))
            .and_then(|s| match &s.value {
                Value::Str(Some(name)) | Value::StrVars(Some(name)) => Some(name.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    pub(crate) fn scalar(&self, key: &str) -> Option<&Scalar> {
        let index = self.resolve_alias(self.index(key)?);
        match &self.slots[index] {
            Slot::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub(crate) fn list(&self, kind: &str) -> Option<&List> {
        match &self.slots[self.list_index(kind)?] {
            Slot::List(list) => Some(list),
            _ => None,
        }
    }

    pub(crate) fn strlist(&self, key: &str) -> Option<&StrList> {
        match &self.slots[self.index(key)?] {
            Slot::StrList(list) => Some(list),
            _ => None,
        }
    }

    /// An alias slot stands for the setting it names.
    pub(crate) fn resolve_alias(&self, index: usize) -> usize {
        match self.info.settings[index].ty {
            SettingType::Alias(target) => self.index(target).unwrap_or(index),
            _ => index,
        }
    }

    fn at(&self, path: &[Step]) -> Option<&Node> {
        let mut node = self;
        for &(slot, child) in path {
            node = match &node.slots[slot] {
                Slot::List(list) => list.children.get(child)?,
                _ => return None,
            };
        }
        Some(node)
    }

    fn at_mut(&mut self, path: &[Step]) -> Option<&mut Node> {
        let mut node = self;
        for &(slot, child) in path {
            node = match &mut node.slots[slot] {
                Slot::List(list) => list.children.get_mut(child)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A copy with every "set by the configuration" mark cleared (Dovecot copies sections
    /// from a less specific filter this way).
    fn unchanged_copy(&self) -> Node {
        let mut node = self.clone();
        node.clear_changes();
        node
    }

    fn clear_changes(&mut self) {
        for slot in &mut self.slots {
            match slot {
                Slot::Scalar(scalar) => scalar.changed = false,
                Slot::List(list) => list.children.iter_mut().for_each(Node::clear_changes),
                Slot::StrList(_) | Slot::Alias => {}
            }
        }
    }

    /// Applies the settings a less specific filter set onto this (more specific) one, as
    /// Dovecot's `settings_apply`: values set here win; lists of sections are appended (or
    /// merged by name when unique); free-form lists gain the keys not set here. With
    /// `strict`, a value set on both sides is a conflict: its key is returned.
    pub(crate) fn apply(&mut self, src: &Node, strict: bool) -> Result<(), &'static str> {
        for (index, def) in self.info.settings.iter().enumerate() {
            match (&mut self.slots[index], &src.slots[index]) {
                (Slot::Scalar(dest), Slot::Scalar(from)) => {
                    if !from.changed {
                        continue;
                    }
                    if dest.changed {
                        if strict {
                            return Err(def.key);
                        }
                        continue;
                    }
                    *dest = from.clone();
                }
                (Slot::List(dest), Slot::List(from)) => {
                    for child in &from.children {
                        let name = child.name();
                        let same = if dest.unique && !name.is_empty() {
                            dest.children.iter().position(|c| c.name() == name)
                        } else {
                            None
                        };
                        match same {
                            Some(pos) => dest.children[pos].apply(child, strict)?,
                            None => dest.children.push(child.unchanged_copy()),
                        }
                    }
                }
                (Slot::StrList(dest), Slot::StrList(from)) => {
                    if from.created {
                        dest.created = true;
                    }
                    for entry in &from.entries {
                        if !dest.entries.iter().any(|e| e.key == entry.key) {
                            dest.entries.push(entry.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn default_slot(def: &SettingDef) -> Slot {
    match def.ty {
        SettingType::Sections { section, unique } => Slot::List(List {
            section,
            unique,
            children: Vec::new(),
        }),
        SettingType::StrList => Slot::StrList(StrList::default()),
        SettingType::Alias(_) => Slot::Alias,
        ref ty => Slot::Scalar(Scalar {
            value: Value::default_for(ty, def.default, def.null_default),
            text: if def.null_default {
                String::new()
            } else {
                def.default.to_string()
            },
            changed: false,
            meta: SetMeta::default(),
        }),
    }
}

/// The built-in sections under a section kind (`""`: the top level).
fn builtins_for(kind: &str) -> &'static [SectionDefaults] {
    if kind.is_empty() {
        schema::builtin_sections()
    } else {
        &[]
    }
}

/// One tree with its path index.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub root: Node,
    /// Full paths (lower-cased: Dovecot looks them up case-insensitively) to what they name.
    links: HashMap<String, Link>,
}

impl Tree {
    /// A tree holding only defaults (and the built-in sections).
    pub(crate) fn new() -> Tree {
        let mut tree = Tree {
            root: Node::new(schema::root()),
            links: HashMap::new(),
        };
        tree.index_builtins(&[], "");
        tree
    }

    /// Registers paths for the built-in sections so that `service imap-login { }` finds the
    /// existing section.
    fn index_builtins(&mut self, path: &[Step], prefix: &str) {
        let Some(node) = self.root.at(path) else {
            return;
        };
        let mut found = Vec::new();
        for (slot_index, slot) in node.slots.iter().enumerate() {
            if let Slot::List(list) = slot {
                if !list.unique {
                    continue;
                }
                let key = node.info.settings[slot_index].key;
                for (child_index, child) in list.children.iter().enumerate() {
                    let full = format!("{prefix}{key}/{}", section_escape(child.name()));
                    found.push((full, slot_index, child_index));
                }
            }
        }
        for (full, slot_index, child_index) in found {
            let mut child_path = path.to_vec();
            child_path.push((slot_index, child_index));
            self.links.insert(
                full.to_ascii_lowercase(),
                Link {
                    parent: path.to_vec(),
                    target: Target::Node(child_path.clone()),
                },
            );
            self.index_builtins(&child_path, &format!("{full}/"));
        }
    }

    /// Sets `key` (a `/`-separated path) to `value`, as Dovecot's `settings_parse_keyvalue`.
    /// `Ok(None)`: no such setting. `Err`: the value is invalid (Dovecot's text).
    pub(crate) fn set(
        &mut self,
        key: &str,
        value: &str,
        meta: &SetMeta,
    ) -> Result<Option<Applied>, String> {
        let Some(found) = self.find(key) else {
            return Ok(None);
        };
        match found {
            Found::StrList { owner, slot } => {
                let entry_key = key.rsplit('/').next().unwrap_or(key);
                let Some(Slot::StrList(list)) =
                    self.root.at_mut(&owner).map(|n| &mut n.slots[slot])
                else {
                    return Ok(None);
                };
                match list.entries.iter_mut().find(|e| e.key == entry_key) {
                    Some(entry) => {
                        entry.value = value.to_string();
                        entry.meta = meta.clone();
                    }
                    None => list.entries.push(StrEntry {
                        key: entry_key.to_string(),
                        value: value.to_string(),
                        meta: meta.clone(),
                    }),
                }
                Ok(Some(Applied::StrListEntry))
            }
            Found::Setting { node, index } => self.parse(node, index, key, value, meta).map(Some),
        }
    }

    fn parse(
        &mut self,
        path: Vec<Step>,
        index: usize,
        key: &str,
        value: &str,
        meta: &SetMeta,
    ) -> Result<Applied, String> {
        let Some(node) = self.root.at_mut(&path) else {
            return Err(format!("Unknown setting: {key}"));
        };
        let index = node.resolve_alias(index);
        let info = node.info;
        let def = &info.settings[index];
        match def.ty {
            SettingType::Sections { section, unique } => {
                self.add_sections(&path, index, key, value, unique)?;
                Ok(Applied::Sections(section))
            }
            SettingType::StrList => {
                if let Slot::StrList(list) = &mut node.slots[index] {
                    list.created = true;
                }
                self.add_link(
                    key,
                    &path,
                    Target::StrList {
                        owner: path.clone(),
                        slot: index,
                    },
                    true,
                )?;
                for item in list_items(value) {
                    let full = format!("{key}/{item}");
                    self.add_link(
                        &full,
                        &path,
                        Target::StrList {
                            owner: path.clone(),
                            slot: index,
                        },
                        true,
                    )?;
                }
                Ok(Applied::StrList)
            }
            SettingType::Alias(_) => Err(format!("Unknown setting: {key}")),
            ref ty => {
                let parsed = Value::parse(ty, value)?;
                if let Some(check) = def.check {
                    check(value)?;
                }
                node.slots[index] = Slot::Scalar(Scalar {
                    value: parsed,
                    text: value.to_string(),
                    changed: true,
                    meta: meta.clone(),
                });
                Ok(Applied::Scalar(info))
            }
        }
    }

    /// `key = name1 name2` for a list of sections: each name is a section (created unless it
    /// exists and the list merges by name).
    fn add_sections(
        &mut self,
        path: &[Step],
        slot: usize,
        key: &str,
        value: &str,
        unique: bool,
    ) -> Result<(), String> {
        for item in list_items(value) {
            let full = format!("{key}/{item}");
            if let Some(link) = self.links.get(&full.to_ascii_lowercase()) {
                let same_kind = matches!(link.target, Target::Node(_));
                if link.parent == path && same_kind && unique {
                    continue;
                }
                return Err(format!("{full} already exists"));
            }
            let Some(node) = self.root.at_mut(path) else {
                continue;
            };
            let Slot::List(list) = &mut node.slots[slot] else {
                continue;
            };
            list.children.push(Node::new(list.section));
            let mut child = path.to_vec();
            child.push((slot, list.children.len() - 1));
            self.links.insert(
                full.to_ascii_lowercase(),
                Link {
                    parent: path.to_vec(),
                    target: Target::Node(child),
                },
            );
        }
        Ok(())
    }

    fn add_link(
        &mut self,
        full: &str,
        parent: &[Step],
        target: Target,
        reusable: bool,
    ) -> Result<(), String> {
        let lower = full.to_ascii_lowercase();
        if let Some(link) = self.links.get(&lower) {
            if link.parent == parent && link.target == target && reusable {
                return Ok(());
            }
            return Err(format!("{full} already exists"));
        }
        self.links.insert(
            lower,
            Link {
                parent: parent.to_vec(),
                target,
            },
        );
        Ok(())
    }

    /// Resolves a path to a setting (Dovecot's `settings_find_key_nth`). A path through a
    /// free-form list that was never opened opens it (`plugin/x = y` works at the top level).
    fn find(&mut self, key: &str) -> Option<Found> {
        self.find_at_depth(key, 0)
    }

    /// Dovecot recurses once per path component when a parent path is not known. Only the
    /// first two levels can lead to a setting (a free-form list directly below a known
    /// section); deeper ones can only fail, so the depth is bounded (a line of a million
    /// slashes must not exhaust the stack).
    fn find_at_depth(&mut self, key: &str, depth: usize) -> Option<Found> {
        const MAX_DEPTH: usize = 4;
        if let Some(index) = self.root.index(key) {
            return Some(Found::Setting {
                node: Vec::new(),
                index,
            });
        }
        let (parent_key, last) = key.rsplit_once('/')?;
        if !self.links.contains_key(&parent_key.to_ascii_lowercase()) {
            if depth >= MAX_DEPTH {
                return None;
            }
            match self.find_at_depth(parent_key, depth + 1)? {
                Found::Setting { node, index } => {
                    let owner = self.root.at(&node)?;
                    let index = owner.resolve_alias(index);
                    if !matches!(owner.info.settings[index].ty, SettingType::StrList) {
                        return None;
                    }
                }
                Found::StrList { .. } => return None,
            }
            self.set(parent_key, "0", &SetMeta::default()).ok()??;
        }
        let link = self.links.get(&parent_key.to_ascii_lowercase())?;
        match &link.target {
            Target::StrList { owner, slot } => Some(Found::StrList {
                owner: owner.clone(),
                slot: *slot,
            }),
            Target::Node(path) => {
                let node = self.root.at(path)?;
                let index = node.index(last)?;
                Some(Found::Setting {
                    node: path.clone(),
                    index,
                })
            }
        }
    }

    /// Like `find`, without opening anything: for reading values.
    fn lookup(&self, key: &str) -> Option<(&Node, usize)> {
        if let Some(index) = self.root.index(key) {
            return Some((&self.root, self.root.resolve_alias(index)));
        }
        let (parent_key, last) = key.rsplit_once('/')?;
        let link = self.links.get(&parent_key.to_ascii_lowercase())?;
        match &link.target {
            Target::Node(path) => {
                let node = self.root.at(path)?;
                let index = node.index(last)?;
                Some((node, node.resolve_alias(index)))
            }
            Target::StrList { .. } => None,
        }
    }

    /// The definition and state of the setting at `key`, if it is a known setting.
    pub(crate) fn get(&self, key: &str) -> Option<(&'static SettingDef, &Slot)> {
        let (node, index) = self.lookup(key)?;
        Some((&node.info.settings[index], &node.slots[index]))
    }
}

/// Items of a section-list value: split on `,`, tab and space, empty items skipped.
fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value
        .split([',', '\t', ' '])
        .filter(|item| !item.is_empty())
}
