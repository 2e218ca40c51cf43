//! ACL entries in Dovecot 2.3's vfile format (`acl-api.c`): identifiers, right names (IMAP
//! letters `lrwsitekxa`, long names like `lookup`, extensions after `:`), negative rights,
//! the order entries apply in, what they give one user, and how an update changes them.

use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Right names, sorted and without duplicates (Dovecot keeps them sorted with `strcmp`).
pub type Names = BTreeSet<String>;

/// The standard rights: (IMAP letter, Dovecot's name), in Dovecot's `all_mailbox_rights`
/// order.
pub const STANDARD: &[(char, &str)] = &[
    ('l', "lookup"),
    ('r', "read"),
    ('w', "write"),
    ('s', "write-seen"),
    ('t', "write-deleted"),
    ('i', "insert"),
    ('p', "post"),
    ('e', "expunge"),
    ('k', "create"),
    ('x', "delete"),
    ('a', "admin"),
];

/// One standard right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Lookup,
    Read,
    Write,
    WriteSeen,
    WriteDeleted,
    Insert,
    Post,
    Expunge,
    Create,
    Delete,
    Admin,
}

impl Right {
    /// Dovecot's name of the right.
    pub fn name(self) -> &'static str {
        STANDARD[self as usize].1
    }
}

/// Every standard right (an owner's default).
pub fn all_rights() -> Names {
    STANDARD.iter().map(|(_, n)| n.to_string()).collect()
}

/// The standard name of an IMAP letter.
pub fn letter_name(letter: char) -> Option<&'static str> {
    STANDARD.iter().find(|(l, _)| *l == letter).map(|(_, n)| *n)
}

/// The IMAP letter of a standard name.
pub fn name_letter(name: &str) -> Option<char> {
    STANDARD.iter().find(|(_, n)| *n == name).map(|(l, _)| *l)
}

/// Whose rights an entry gives, in Dovecot's override order (`enum acl_id_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdType {
    Anyone,
    Authenticated,
    Group,
    Owner,
    User,
    GroupOverride,
}

/// An identifier: its type and, for users and groups, the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: IdType,
    /// Empty for `anyone`, `authenticated` and `owner`.
    pub name: String,
}

impl Identifier {
    pub fn new(kind: IdType, name: &str) -> Identifier {
        Identifier {
            kind,
            name: name.to_string(),
        }
    }

    /// Dovecot's `acl_identifier_parse`: `user=`, `group=`, `group-override=`, `owner`,
    /// `authenticated`, `anyone` (or `anonymous`).
    pub fn parse(id: &str) -> Option<Identifier> {
        let (kind, name) = if let Some(n) = id.strip_prefix("user=") {
            (IdType::User, n)
        } else if id == "owner" {
            (IdType::Owner, "")
        } else if let Some(n) = id.strip_prefix("group=") {
            (IdType::Group, n)
        } else if let Some(n) = id.strip_prefix("group-override=") {
            (IdType::GroupOverride, n)
        } else if id == "authenticated" {
            (IdType::Authenticated, "")
        } else if id == "anyone" || id == "anonymous" {
            (IdType::Anyone, "")
        } else {
            return None;
        };
        Some(Identifier::new(kind, name))
    }

    /// The identifier as the vfile format writes it.
    pub fn to_vfile(&self) -> String {
        match self.kind {
            IdType::Anyone => "anyone".to_string(),
            IdType::Authenticated => "authenticated".to_string(),
            IdType::Owner => "owner".to_string(),
            IdType::User => format!("user={}", self.name),
            IdType::Group => format!("group={}", self.name),
            IdType::GroupOverride => format!("group-override={}", self.name),
        }
    }
}

/// One identifier's entry: its rights and negative rights (`None`: the entry has none of
/// that kind; `Some` of an empty set: no rights).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    pub id: Identifier,
    pub rights: Option<Names>,
    pub neg_rights: Option<Names>,
    /// From the global ACL file or directory (applies after the local ones).
    pub global: bool,
}

impl AclEntry {
    /// Dovecot's `acl_rights_cmp`: locals before globals, then identifier type, then name.
    pub fn cmp_key(&self, other: &AclEntry) -> Ordering {
        self.global
            .cmp(&other.global)
            .then(self.id.kind.cmp(&other.id.kind))
            .then_with(|| self.id.name.cmp(&other.id.name))
    }

    fn same_key(&self, other: &AclEntry) -> bool {
        self.cmp_key(other) == Ordering::Equal
    }
}

/// Dovecot's `acl_right_names_parse`: IMAP letters, then optionally `:name name...`.
pub fn parse_names(text: &str) -> Result<Names, String> {
    let text = text.trim_start_matches([' ', '\t']);
    let mut names = Names::new();
    let end = text.find([' ', '\t', ':']).unwrap_or(text.len());
    let (letters, rest) = text.split_at(end);
    for c in letters.chars() {
        let name = letter_name(c).ok_or_else(|| format!("Unknown ACL '{c}'"))?;
        names.insert(name.to_string());
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    if !rest.is_empty() {
        let Some(ext) = rest.strip_prefix(':') else {
            return Err("Missing ':' prefix in ACL extensions".to_string());
        };
        for name in ext.split([',', ' ', '\t']).filter(|n| !n.is_empty()) {
            names.insert(name.to_string());
        }
    }
    Ok(names)
}

/// Dovecot's `str_unescape_next` after an opening quote: the text up to the closing quote
/// with backslash escapes removed, and what follows it.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// One line of a `dovecot-acl` file (`acl_rights_parse_line`): `[-]<id> [<letters>]
/// [:<names>]`, the identifier optionally quoted.
pub fn parse_line(line: &str) -> Result<AclEntry, String> {
    let (id, rest) = match line.strip_prefix('"') {
        Some(quoted) => {
            let (id, rest) = unquote(quoted).ok_or("Invalid quoted ID")?;
            if !(rest.is_empty() || rest.starts_with(' ')) {
                return Err("Invalid quoted ID".to_string());
            }
            (id, rest.strip_prefix(' ').unwrap_or(rest))
        }
        None => match line.split_once(' ') {
            Some((id, rest)) => (id.to_string(), rest),
            None => (line.to_string(), ""),
        },
    };
    let names = parse_names(rest);
    let (negative, id) = match id.strip_prefix('-') {
        Some(id) => (true, id),
        None => (false, id.as_str()),
    };
    let id = Identifier::parse(id).ok_or_else(|| format!("Unknown ID '{id}'"))?;
    let names = names?;
    let (rights, neg_rights) = if negative {
        (None, Some(names))
    } else {
        (Some(names), None)
    };
    Ok(AclEntry {
        id,
        rights,
        neg_rights,
        global: false,
    })
}

/// Dovecot's `acl_right_names_write`: the letters of the standard names (in the names'
/// order), then ` :` and the other names.
pub fn write_names(names: &Names) -> String {
    let mut letters = String::new();
    let mut others = Vec::new();
    for name in names {
        match name_letter(name) {
            Some(l) => letters.push(l),
            None => others.push(name.as_str()),
        }
    }
    if !others.is_empty() {
        letters.push_str(" :");
        letters.push_str(&others.join(" "));
    }
    letters
}

/// Dovecot's `str_escape`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn write_line(out: &mut String, entry: &AclEntry, names: &Names, negative: bool) {
    let mut id = String::new();
    if negative {
        id.push('-');
    }
    id.push_str(&entry.id.to_vfile());
    if id.contains(' ') {
        id = format!("\"{}\"", escape(&id));
    }
    out.push_str(&id);
    out.push(' ');
    out.push_str(&write_names(names));
    out.push('\n');
}

/// The content of a `dovecot-acl` file holding `entries` (sorted; globals are not written).
pub fn write_file(entries: &[AclEntry]) -> String {
    let mut out = String::new();
    for entry in entries.iter().take_while(|e| !e.global) {
        if let Some(rights) = &entry.rights {
            write_line(&mut out, entry, rights, false);
        }
        if let Some(neg) = &entry.neg_rights {
            write_line(&mut out, entry, neg, true);
        }
    }
    out
}

/// Dovecot's `acl_right_names_merge`: the union (an entry merged with another always has a
/// set, even an empty one).
fn merge(dest: &mut Option<Names>, src: &Option<Names>) {
    let mut all = dest.take().unwrap_or_default();
    if let Some(src) = src {
        all.extend(src.iter().cloned());
    }
    *dest = Some(all);
}

/// Dovecot's `acl_rights_sort`: sorted by [`AclEntry::cmp_key`], entries of the same
/// identifier merged.
pub fn sort_entries(entries: &mut Vec<AclEntry>) {
    entries.sort_by(AclEntry::cmp_key);
    let mut out: Vec<AclEntry> = Vec::with_capacity(entries.len());
    for entry in entries.drain(..) {
        match out.last_mut() {
            Some(last) if last.same_key(&entry) => {
                merge(&mut last.rights, &entry.rights);
                merge(&mut last.neg_rights, &entry.neg_rights);
            }
            _ => out.push(entry),
        }
    }
    *entries = out;
}

/// Who is asking: the ACL user name (`None`: anonymous) and the groups they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub username: Option<String>,
    pub groups: Vec<String>,
}

impl Identity {
    /// Dovecot's `acl_backend_rights_match_me`.
    fn matches(&self, id: &Identifier, owner: bool) -> bool {
        match id.kind {
            IdType::Anyone => true,
            IdType::Authenticated => self.username.is_some(),
            IdType::Group | IdType::GroupOverride => self.groups.contains(&id.name),
            IdType::User => self.username.as_deref() == Some(id.name.as_str()),
            IdType::Owner => owner,
        }
    }
}

/// How an update changes a set of rights (`enum acl_modify_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModifyMode {
    Remove,
    Add,
    Replace,
    Clear,
}

/// One user's rights being computed (Dovecot's ACL cache entry of an object).
struct MyRights {
    defaults: Names,
    created: bool,
    rights: Option<Names>,
    neg: Option<Names>,
}

/// Dovecot's `acl_cache_update_rights_mask`.
fn apply_mask(mode: ModifyMode, change: Option<&Names>, mask: &mut Option<Names>) {
    match mode {
        ModifyMode::Add => match (mask.as_mut(), change) {
            (None, _) => *mask = change.cloned(),
            (Some(m), Some(c)) => m.extend(c.iter().cloned()),
            (Some(_), None) => {}
        },
        ModifyMode::Remove => {
            if let (Some(m), Some(c)) = (mask.as_mut(), change) {
                m.retain(|n| !c.contains(n));
            }
        }
        ModifyMode::Replace => *mask = change.cloned(),
        ModifyMode::Clear => {}
    }
}

impl MyRights {
    fn update(
        &mut self,
        mode: ModifyMode,
        rights: Option<&Names>,
        neg_mode: ModifyMode,
        neg: Option<&Names>,
    ) {
        if !self.created && mode != ModifyMode::Replace {
            self.rights = Some(self.defaults.clone());
        }
        self.created = true;
        apply_mask(mode, rights, &mut self.rights);
        apply_mask(neg_mode, neg, &mut self.neg);
    }
}

/// What `entries` (sorted) give `me` (Dovecot's `acl_object_rebuild_cache`): `None` when no
/// entry applies and `me` is not the owner (the default object's rights apply then).
pub fn my_rights(entries: &[AclEntry], me: &Identity, owner: bool) -> Option<Names> {
    let defaults = if owner { all_rights() } else { Names::new() };
    let mut state = MyRights {
        defaults: defaults.clone(),
        created: false,
        rights: None,
        neg: None,
    };
    let mut start = 0;
    if owner {
        // Entries below `owner` are skipped, unless global.
        start = entries
            .iter()
            .position(|e| e.id.kind >= IdType::Owner || e.global)
            .unwrap_or(entries.len());
        state.update(
            ModifyMode::Replace,
            Some(&defaults),
            ModifyMode::Replace,
            Some(&Names::new()),
        );
    }
    let mut prev: Option<(IdType, bool)> = None;
    let mut first_global = true;
    for entry in entries.iter().skip(start) {
        if !me.matches(&entry.id, owner) {
            continue;
        }
        let add_mode = if prev == Some((entry.id.kind, entry.global)) {
            ModifyMode::Add
        } else {
            ModifyMode::Replace
        };
        prev = Some((entry.id.kind, entry.global));
        let mode = if entry.rights.is_none() {
            ModifyMode::Remove
        } else {
            add_mode
        };
        let mut neg_mode = if entry.neg_rights.is_none() {
            ModifyMode::Remove
        } else {
            add_mode
        };
        if entry.global && first_global {
            // The first global entry resets negative rights, so that local entries cannot
            // take away what the globals give.
            first_global = false;
            neg_mode = ModifyMode::Replace;
        }
        state.update(
            mode,
            entry.rights.as_ref(),
            neg_mode,
            entry.neg_rights.as_ref(),
        );
    }
    if !state.created {
        return None;
    }
    let mut rights = state.rights.unwrap_or_default();
    if let Some(neg) = &state.neg {
        rights.retain(|n| !neg.contains(n));
    }
    Some(rights)
}

/// Dovecot's `acl_right_names_modify`: changes `names`; returns whether they changed.
fn modify_names(names: &mut Option<Names>, change: Option<&Names>, mode: ModifyMode) -> bool {
    if change.is_none() && mode != ModifyMode::Clear {
        return false;
    }
    let change_set = change.cloned().unwrap_or_default();
    let new = match mode {
        ModifyMode::Remove => match names {
            None => return false,
            Some(old) if old.is_empty() => return false,
            Some(old) => old.difference(&change_set).cloned().collect(),
        },
        ModifyMode::Add => {
            let mut all = names.clone().unwrap_or_default();
            all.extend(change_set);
            all
        }
        ModifyMode::Replace => change_set,
        ModifyMode::Clear => {
            return names.take().is_some();
        }
    };
    let changed = match names {
        None => !new.is_empty(),
        Some(old) => *old != new,
    };
    *names = Some(new);
    changed
}

/// A change to one identifier's entry (SETACL, DELETEACL; Dovecot's `acl_rights_update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclUpdate {
    pub id: Identifier,
    pub rights: Option<Names>,
    pub neg_rights: Option<Names>,
    pub mode: ModifyMode,
    pub neg_mode: ModifyMode,
}

/// Applies `update` to the local `entries` (sorted, as read); returns whether they changed
/// (Dovecot's `acl_backend_vfile_object_update` without the file part).
pub fn apply_update(entries: &mut Vec<AclEntry>, update: &AclUpdate) -> bool {
    let key = AclEntry {
        id: update.id.clone(),
        rights: None,
        neg_rights: None,
        global: false,
    };
    match entries.binary_search_by(|e| e.cmp_key(&key)) {
        Ok(i) => {
            let entry = &mut entries[i];
            let c1 = modify_names(&mut entry.rights, update.rights.as_ref(), update.mode);
            let c2 = modify_names(
                &mut entry.neg_rights,
                update.neg_rights.as_ref(),
                update.neg_mode,
            );
            if entry.rights.is_none() && entry.neg_rights.is_none() {
                entries.remove(i);
                return true;
            }
            c1 || c2
        }
        Err(i) => {
            if update.mode == ModifyMode::Remove && update.neg_mode == ModifyMode::Remove {
                return false;
            }
            let mut entry = key;
            let c1 = modify_names(&mut entry.rights, update.rights.as_ref(), update.mode);
            let c2 = modify_names(
                &mut entry.neg_rights,
                update.neg_rights.as_ref(),
                update.neg_mode,
            );
            if c1 || c2 {
                entries.insert(i, entry);
            }
            c1 || c2
        }
    }
}

/// Dovecot's `wildcard_match`: `*` any run of characters, `?` any one.
pub fn wildcard_match(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Names {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn parse_all(text: &str) -> Vec<AclEntry> {
        let mut v: Vec<AclEntry> = text.lines().map(|l| parse_line(l).unwrap()).collect();
        sort_entries(&mut v);
        v
    }

    #[test]
    fn lines_parse_and_write_back() {
        let e = parse_line("user=bob lrw :foo bar").unwrap();
        assert_eq!(e.id, Identifier::new(IdType::User, "bob"));
        assert_eq!(
            e.rights,
            Some(names(&["lookup", "read", "write", "foo", "bar"]))
        );
        assert_eq!(write_file(&[e]), "user=bob lrw :bar foo\n");
        let e = parse_line("-group=staff ie").unwrap();
        assert_eq!(e.neg_rights, Some(names(&["insert", "expunge"])));
        assert_eq!(write_file(&[e]), "-group=staff ei\n");
        let e = parse_line("\"user=a b\" lr").unwrap();
        assert_eq!(e.id.name, "a b");
        assert_eq!(write_file(&[e]), "\"user=a b\" lr\n");
        assert_eq!(parse_line("anonymous").unwrap().rights, Some(Names::new()));
        assert_eq!(
            parse_line("owner lrwstipekxa").map(|e| write_file(&[e])),
            Ok("owner akxeilprwts\n".into())
        );
        assert_eq!(parse_line("bob lr"), Err("Unknown ID 'bob'".into()));
        assert_eq!(parse_line("user=a lq"), Err("Unknown ACL 'q'".into()));
        assert_eq!(
            parse_line("user=a l foo"),
            Err("Missing ':' prefix in ACL extensions".into())
        );
        assert_eq!(parse_line("\"user=a"), Err("Invalid quoted ID".into()));
    }

    #[test]
    fn same_identifier_merges() {
        let v = parse_all("user=a lr\n-user=a w\nanyone l\nuser=a i");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id.kind, IdType::Anyone);
        assert_eq!(v[1].rights, Some(names(&["lookup", "read", "insert"])));
        assert_eq!(v[1].neg_rights, Some(names(&["write"])));
    }

    #[test]
    fn rights_of_a_user() {
        let bob = Identity {
            username: Some("bob".into()),
            groups: vec!["staff".into()],
        };
        let v = parse_all("anyone l\nauthenticated lr\nuser=bob lrw\n-user=bob r");
        assert_eq!(
            my_rights(&v, &bob, false),
            Some(names(&["lookup", "write"]))
        );
        // No entry applies: the default object decides.
        let v = parse_all("user=alice lr");
        assert_eq!(my_rights(&v, &bob, false), None);
        // The owner starts with everything; entries below `owner` are skipped.
        let v = parse_all("anyone l\nowner lr");
        assert_eq!(my_rights(&v, &bob, true), Some(names(&["lookup", "read"])));
        let v = parse_all("anyone l");
        assert_eq!(my_rights(&v, &bob, true), Some(all_rights()));
        // Groups merge, group-override beats the user's entry.
        let v = parse_all("group=staff l\ngroup=x r\ngroup=other r\nuser=bob lri");
        let bob2 = Identity {
            groups: vec!["staff".into(), "x".into()],
            ..bob.clone()
        };
        assert_eq!(
            my_rights(&v, &bob2, false),
            Some(names(&["lookup", "read", "insert"]))
        );
        let v = parse_all("group=staff l\ngroup=x r\ngroup-override=staff e\nuser=bob lri");
        assert_eq!(my_rights(&v, &bob2, false), Some(names(&["expunge"])));
        // Only negative rights: removed from the defaults.
        let v = parse_all("-owner x");
        let mut expected = all_rights();
        expected.remove("delete");
        assert_eq!(my_rights(&v, &bob, true), Some(expected));
        // A global entry wins, and local negative rights don't touch it.
        let mut v = parse_all("user=bob lrw\n-user=bob r");
        let mut g = parse_line("anyone lr").unwrap();
        g.global = true;
        v.push(g);
        sort_entries(&mut v);
        assert_eq!(my_rights(&v, &bob, false), Some(names(&["lookup", "read"])));
    }

    #[test]
    fn updates() {
        let mut v = parse_all("user=bob lr");
        let up = |id: &str, rights: &[&str], mode| AclUpdate {
            id: Identifier::parse(id).unwrap(),
            rights: Some(names(rights)),
            neg_rights: None,
            mode,
            neg_mode: ModifyMode::Remove,
        };
        assert!(apply_update(
            &mut v,
            &up("user=bob", &["write"], ModifyMode::Add)
        ));
        assert!(!apply_update(
            &mut v,
            &up("user=bob", &["write"], ModifyMode::Add)
        ));
        assert!(apply_update(
            &mut v,
            &up("anyone", &["lookup"], ModifyMode::Replace)
        ));
        assert_eq!(write_file(&v), "anyone l\nuser=bob lrw\n");
        assert!(apply_update(
            &mut v,
            &up("user=bob", &["read", "write"], ModifyMode::Remove)
        ));
        assert_eq!(write_file(&v), "anyone l\nuser=bob l\n");
        let clear = AclUpdate {
            id: Identifier::parse("user=bob").unwrap(),
            rights: None,
            neg_rights: None,
            mode: ModifyMode::Clear,
            neg_mode: ModifyMode::Remove,
        };
        assert!(apply_update(&mut v, &clear));
        assert!(!apply_update(&mut v, &clear));
        assert_eq!(write_file(&v), "anyone l\n");
        assert!(!apply_update(
            &mut v,
            &up("user=c", &[], ModifyMode::Replace)
        ));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("INBOX", "*"));
        assert!(wildcard_match("Shared/a", "Shared/*"));
        assert!(!wildcard_match("Sharedx", "Shared/*"));
        assert!(wildcard_match("abc", "a?c"));
        assert!(wildcard_match("", "*"));
        assert!(!wildcard_match("", "?"));
        assert!(wildcard_match("aXbXc", "*b*c"));
    }
}
