//! Settings to `key=value` entries, deciding which values a dump shows (Dovecot's
//! config-request.c `settings_export`).

use std::collections::HashSet;

use super::schema::{SettingDef, Support};
use super::tree::{Node, Scalar, Slot};
use super::values::{section_escape, Value};

/// Which settings a dump shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `-a -s`: everything.
    AllWithHidden,
    /// `-a`: everything but hidden settings that were not set.
    AllWithoutHidden,
    /// `-N`: what the configuration set, even to the default.
    Set,
    /// `-n`: what differs from the default.
    Changed,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A value.
    Normal,
    /// A list of sections (`service=imap imap-login`) or a free-form block (`plugin=`):
    /// tells the dump which paths are sections.
    List,
    /// The name of a section that merges by name: it opens the section in the dump.
    UniqueKey,
}

/// One exported setting: `service/imap/process_limit` = `1024`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub kind: EntryKind,
    pub key: String,
    pub value: String,
}

/// Exports a tree's settings.
pub(crate) fn export(root: &Node, scope: Scope) -> Vec<Entry> {
    let mut exporter = Exporter {
        scope,
        entries: Vec::new(),
        keys: HashSet::new(),
    };
    exporter.node(root, "", false);
    exporter.entries
}

struct Exporter {
    scope: Scope,
    entries: Vec<Entry>,
    /// Keys already exported (the first wins).
    keys: HashSet<String>,
}

/// The name a section has in paths: its escaped name if the list merges by name and it has
/// one, else its position.
pub(crate) fn section_path_name(unique: bool, child: &Node, index: usize) -> String {
    if unique && !child.name().is_empty() {
        section_escape(child.name())
    } else {
        index.to_string()
    }
}

impl Exporter {
    fn push(&mut self, kind: EntryKind, key: String, value: String) {
        if self.keys.insert(key.clone()) {
            self.entries.push(Entry { kind, key, value });
        }
    }

    fn node(&mut self, node: &Node, prefix: &str, parent_unique: bool) {
        for (def, slot) in node.info.settings.iter().zip(&node.slots) {
            let is_name_key = node.info.name_key == Some(def.key);
            match slot {
                Slot::Scalar(scalar) => {
                    if let Some(text) = self.scalar_text(def, scalar, parent_unique, is_name_key) {
                        let kind = if is_name_key && parent_unique {
                            EntryKind::UniqueKey
                        } else {
                            EntryKind::Normal
                        };
                        self.push(kind, format!("{prefix}{}", def.key), text);
                    }
                }
                Slot::List(list) => {
                    if list.children.is_empty() {
                        continue;
                    }
                    let names: Vec<String> = list
                        .children
                        .iter()
                        .enumerate()
                        .map(|(i, child)| section_path_name(list.unique, child, i))
                        .collect();
                    self.push(
                        EntryKind::List,
                        format!("{prefix}{}", def.key),
                        names.join(" "),
                    );
                    for (child, name) in list.children.iter().zip(&names) {
                        let child_prefix = format!("{prefix}{}/{name}/", def.key);
                        self.node(child, &child_prefix, list.unique);
                    }
                }
                Slot::StrList(list) => {
                    if !list.created {
                        continue;
                    }
                    let key = format!("{prefix}{}", def.key);
                    if !self.keys.insert(key.clone()) {
                        continue;
                    }
                    self.entries.push(Entry {
                        kind: EntryKind::List,
                        key: key.clone(),
                        value: String::new(),
                    });
                    for entry in &list.entries {
                        self.entries.push(Entry {
                            kind: EntryKind::Normal,
                            key: format!("{key}/{}", entry.key),
                            value: entry.value.clone(),
                        });
                    }
                }
                Slot::Alias => {}
            }
        }
    }

    /// The text to show for a scalar, or `None` (Dovecot's `config_export_type` with the
    /// section-default rules of `settings_export`).
    fn scalar_text(
        &self,
        def: &SettingDef,
        scalar: &Scalar,
        parent_unique: bool,
        is_name_key: bool,
    ) -> Option<String> {
        if def.support == Support::CoteOwn && !scalar.changed {
            // Dovecot's dumps don't have it: an unset one keeps cote's dumps equal to theirs.
            return None;
        }
        let mut dump_default = match self.scope {
            Scope::AllWithHidden => true,
            Scope::AllWithoutHidden => !def.hidden || scalar.changed,
            Scope::Set => scalar.changed,
            Scope::Changed => false,
        };
        // In a section that merges by name (a service), an unchanged value is the default
        // whatever the generic default says: built-in services have their own.
        let compare_to_itself = parent_unique && !scalar.changed && !is_name_key;
        if parent_unique && !compare_to_itself {
            dump_default = true;
        }
        let default = || Value::default_for(&def.ty, def.default, def.null_default);
        match &scalar.value {
            Value::Str(text) => {
                let text = text.as_ref()?;
                let differs = !compare_to_itself && default() != scalar.value;
                (dump_default || differs).then(|| text.clone())
            }
            Value::StrVars(text) => {
                let text = text.as_ref()?;
                // Dovecot compares the stored value (with its "unexpanded" marker) against
                // the plain text here, so such values always show in these sections.
                let differs = compare_to_itself || default() != scalar.value;
                (dump_default || differs).then(|| text.clone())
            }
            value => {
                let differs = !compare_to_itself && default() != *value;
                if dump_default || differs {
                    value.export()
                } else {
                    None
                }
            }
        }
    }
}
