//! The tables checked against themselves and against `doveconf` output from Debian's Dovecot
//! 2.3.19.1 (snapshots under t/config/, rewritten by `contrib/gen-settings-tables.py snapshot`).

use super::super::{SectionDefaults, SectionInfo, SettingDef, SettingType, Support};
use super::{builtin_sections, renamed, root, section, support};
use std::collections::BTreeSet;

/// Every section kind reachable from the root, the root first.
fn all_sections() -> Vec<&'static SectionInfo> {
    fn walk(info: &'static SectionInfo, out: &mut Vec<&'static SectionInfo>) {
        if out.iter().any(|s| std::ptr::eq(*s, info)) {
            return;
        }
        out.push(info);
        for s in info.settings {
            if let SettingType::Sections { section, .. } = s.ty {
                walk(section, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root(), &mut out);
    out
}

fn setting(info: &SectionInfo, key: &str) -> &'static SettingDef {
    info.setting(key)
        .unwrap_or_else(|| panic!("{}: no setting {key}", kind_name(info)))
}

fn kind_name(info: &SectionInfo) -> &'static str {
    if info.kind.is_empty() {
        "root"
    } else {
        info.kind
    }
}

/// Whether doveconf prints this setting as `key = value` (sections, string lists and aliases
/// are not values; a NULL default is not printed).
fn printed(info: &SectionInfo, s: &SettingDef, unique: bool) -> bool {
    let name_in_header = unique && info.name_key == Some(s.key);
    !name_in_header
        && s.support != Support::CoteOwn
        && !s.null_default
        && !matches!(
            s.ty,
            SettingType::Sections { .. } | SettingType::StrList | SettingType::Alias(_)
        )
}

fn is_unique(kind: &str) -> bool {
    all_sections().iter().any(|info| {
        info.settings.iter().any(|s| {
            matches!(s.ty, SettingType::Sections { section, unique } if section.kind == kind && unique)
        })
    })
}

// ---- the canonical forms doveconf prints, per type ----------------------------------------

fn format_time(secs: u64) -> String {
    if secs == 0 {
        return "0".to_string();
    }
    let mut n = secs;
    let mut unit = "secs";
    for (div, next) in [(60, "mins"), (60, "hours"), (24, "days"), (7, "weeks")] {
        if n % div != 0 {
            break;
        }
        n /= div;
        unit = next;
    }
    format!("{n} {unit}")
}

fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    let mut n = bytes;
    let mut unit = 'B';
    for next in ['k', 'M', 'G', 'T'] {
        if n % 1024 != 0 {
            break;
        }
        n /= 1024;
        unit = next;
    }
    format!("{n} {unit}")
}

fn unit_value(text: &str, units: &[(&str, u64)]) -> Option<u64> {
    if text == "0" {
        return Some(0);
    }
    let (num, unit) = text.split_once(' ')?;
    let mult = units.iter().find(|(u, _)| *u == unit)?.1;
    num.parse::<u64>().ok()?.checked_mul(mult)
}

const TIME_UNITS: &[(&str, u64)] = &[
    ("secs", 1),
    ("mins", 60),
    ("hours", 3600),
    ("days", 86400),
    ("weeks", 604800),
];

/// Checks that `value` is what doveconf prints for a value of type `ty`: the same text comes
/// back out of parsing and re-formatting it.
fn check_canonical(ty: &SettingType, value: &str) -> Result<(), String> {
    let canonical = match ty {
        SettingType::Bool => matches!(value, "yes" | "no").then(|| value.to_string()),
        SettingType::Uint => value.parse::<u32>().ok().map(|n| n.to_string()),
        SettingType::UintOct => value
            .strip_prefix('0')
            .and_then(|o| u32::from_str_radix(if o.is_empty() { "0" } else { o }, 8).ok())
            .map(|n| format!("0{n:o}")),
        SettingType::Time => unit_value(value, TIME_UNITS)
            .filter(|&s| s <= u64::from(u32::MAX))
            .map(format_time),
        SettingType::TimeMsecs => {
            let msecs = match value.strip_suffix(" ms") {
                Some(n) => n.parse::<u64>().ok(),
                None => unit_value(value, TIME_UNITS).map(|s| s * 1000),
            };
            msecs
                .filter(|&ms| ms <= u64::from(u32::MAX))
                .map(|ms| match ms % 1000 {
                    0 => format_time(ms / 1000),
                    _ => format!("{ms} ms"),
                })
        }
        SettingType::Size => {
            let units = [
                ("B", 1),
                ("k", 1 << 10),
                ("M", 1 << 20),
                ("G", 1 << 30),
                ("T", 1 << 40),
            ];
            unit_value(value, &units).map(format_size)
        }
        SettingType::InPort => value.parse::<u16>().ok().map(|n| n.to_string()),
        SettingType::Str | SettingType::StrVars => {
            (!value.contains('\n')).then(|| value.to_string())
        }
        SettingType::Enum(words) => words.contains(&value).then(|| value.to_string()),
        SettingType::Sections { .. } | SettingType::StrList | SettingType::Alias(_) => {
            value.is_empty().then(String::new)
        }
    };
    match canonical {
        Some(c) if c == value => Ok(()),
        Some(c) => Err(format!("{value:?} is printed as {c:?}")),
        None => Err(format!("{value:?} is not a valid {ty:?}")),
    }
}

#[test]
fn canonical_forms_round_trip() {
    assert!(check_canonical(&SettingType::Time, "1 hours").is_ok());
    assert!(check_canonical(&SettingType::Time, "60 mins").is_err());
    assert!(check_canonical(&SettingType::Time, "4294967295 secs").is_ok());
    assert!(check_canonical(&SettingType::Time, "4294967296 secs").is_err());
    assert!(check_canonical(&SettingType::TimeMsecs, "250 ms").is_ok());
    assert!(check_canonical(&SettingType::TimeMsecs, "1000 ms").is_err());
    assert!(check_canonical(&SettingType::Size, "18446744073709551615 B").is_ok());
    assert!(check_canonical(&SettingType::Size, "1024 k").is_err());
    assert!(check_canonical(&SettingType::UintOct, "00").is_ok());
    assert!(check_canonical(&SettingType::UintOct, "0666").is_ok());
    assert!(check_canonical(&SettingType::UintOct, "666").is_err());
    assert!(check_canonical(&SettingType::Bool, "yes").is_ok());
    assert!(check_canonical(&SettingType::Bool, "true").is_err());
    assert!(check_canonical(&SettingType::InPort, "65536").is_err());
}

// ---- the tables against themselves -------------------------------------------------------

#[test]
fn every_section_kind_is_found_and_keys_are_sorted_and_unique() {
    let sections = all_sections();
    // root, service, 3 listeners, namespace, mailbox, passdb, userdb, metric, event_exporter
    assert_eq!(sections.len(), 11);
    for info in &sections[1..] {
        let found = section(info.kind).map(|s| std::ptr::eq(s, *info));
        assert_eq!(found, Some(true), "section({:?})", info.kind);
    }
    assert!(section("").is_none());
    assert!(section("protocol").is_none());
    for info in sections {
        for pair in info.settings.windows(2) {
            assert!(
                pair[0].key < pair[1].key,
                "{}: {} before {}",
                kind_name(info),
                pair[0].key,
                pair[1].key
            );
        }
        if let Some(name_key) = info.name_key {
            assert!(matches!(setting(info, name_key).ty, SettingType::Str));
        }
    }
}

#[test]
fn every_default_is_canonical_for_its_type() {
    for info in all_sections() {
        for s in info.settings {
            if let Err(e) = check_canonical(&s.ty, s.default) {
                panic!("{}: {}: {e}", kind_name(info), s.key);
            }
            if let SettingType::Enum(words) = s.ty {
                assert_eq!(
                    words.first(),
                    Some(&s.default),
                    "{}: {}",
                    kind_name(info),
                    s.key
                );
                let unique: BTreeSet<_> = words.iter().collect();
                assert_eq!(unique.len(), words.len(), "{}", s.key);
            }
            if let SettingType::Alias(target) = s.ty {
                let t = setting(info, target);
                assert!(
                    !matches!(t.ty, SettingType::Alias(_)),
                    "{} -> {target}",
                    s.key
                );
                assert_eq!(s.auth, t.auth, "{}", s.key);
            }
            assert!(!(s.null_default && s.hidden), "{}", s.key);
        }
    }
}

fn check_builtin(parent: &SectionInfo, d: &SectionDefaults) {
    let Some(SettingType::Sections { section: info, .. }) = parent.setting(d.kind).map(|s| s.ty)
    else {
        panic!(
            "{} sections are not allowed in {}",
            d.kind,
            kind_name(parent)
        );
    };
    assert!(!d.name.is_empty());
    for (key, value) in d.values {
        let s = setting(info, key);
        assert_ne!(
            s.default, *value,
            "{} {}: {key} repeats the default",
            d.kind, d.name
        );
        if let Err(e) = check_canonical(&s.ty, value) {
            panic!("{} {}: {key}: {e}", d.kind, d.name);
        }
    }
    for child in d.children {
        check_builtin(info, child);
    }
}

#[test]
fn builtin_services_are_valid() {
    let names: BTreeSet<_> = builtin_sections().iter().map(|d| d.name).collect();
    assert_eq!(names.len(), builtin_sections().len(), "duplicate service");
    for d in builtin_sections() {
        assert_eq!(d.kind, "service");
        check_builtin(root(), d);
    }
    // doveconf orders sections by their path, `service/NAME/`: `auth-worker` before `auth`.
    let order: Vec<String> = builtin_sections()
        .iter()
        .map(|d| format!("{}/", d.name))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(builtin_sections()[2].name, "auth-worker");
}

#[test]
fn renamed_settings_point_to_real_ones() {
    assert_eq!(
        renamed("mail_cache_compress_min_size"),
        Some("mail_cache_purge_min_size")
    );
    assert_eq!(renamed("mail_cache_purge_min_size"), None);
    for old in [
        "dbox_rotate_size",
        "mail_cache_compress_continued_percentage",
        "mail_cache_compress_delete_percentage",
        "mail_cache_compress_header_continue_count",
        "mail_cache_compress_min_size",
    ] {
        let new = renamed(old).unwrap_or_else(|| panic!("{old} not renamed"));
        assert!(root().setting(old).is_none(), "{old} still exists");
        assert!(root().setting(new).is_some(), "{new} does not exist");
    }
}

#[test]
fn support_list_names_real_settings() {
    let implemented = support::implemented();
    for (kind, key) in implemented {
        let info = if kind.is_empty() {
            Some(root())
        } else {
            section(kind)
        };
        let s = info.and_then(|i| i.setting(key));
        assert!(s.is_some(), "support.rs: no setting {key} in {kind:?}");
    }
    let count = all_sections()
        .iter()
        .flat_map(|info| info.settings)
        .filter(|s| s.support == Support::Implemented)
        .count();
    assert_eq!(count, implemented.len());
    assert_eq!(setting(root(), "base_dir").support, Support::Implemented);
    assert_eq!(
        setting(root(), "mail_attachment_dir").support,
        Support::NotImplemented
    );
    // Same key, other section: implemented for one only.
    assert_eq!(
        setting(section("inet_listener").unwrap(), "ssl").support,
        Support::Implemented
    );
    assert_eq!(setting(root(), "ssl").support, Support::Implemented);
    assert_eq!(
        setting(section("service").unwrap(), "vsz_limit").support,
        Support::NotImplemented
    );
}

#[test]
fn cote_own_settings_are_in_the_tables_and_not_dovecots() {
    let dovecot: BTreeSet<String> = snapshot("doveconf-a-s.txt")
        .values
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut count = 0;
    for (kind, key) in support::cote_own() {
        assert_eq!(
            kind, "",
            "only top-level cote settings are known to the generator"
        );
        let s = setting(root(), key);
        assert_eq!(s.support, Support::CoteOwn, "{key}");
        assert!(s.check.is_some(), "{key}");
        assert!(!dovecot.contains(key), "{key} is a Dovecot setting");
        check_canonical(&s.ty, s.default).unwrap();
        assert_eq!((s.check.unwrap())(s.default), Ok(()), "{key}: default");
        count += 1;
    }
    let in_tables = all_sections()
        .iter()
        .flat_map(|info| info.settings)
        .filter(|s| s.support == Support::CoteOwn || s.check.is_some())
        .count();
    assert_eq!(count, in_tables);
    assert_eq!(setting(root(), "maildir_info_separator").default, ":");
}

// ---- the tables against doveconf ----------------------------------------------------------

/// One `kind name {` block of doveconf output (the root has kind `""`).
#[derive(Debug)]
struct Dump {
    kind: String,
    name: Option<String>,
    values: Vec<(String, String)>,
    children: Vec<Dump>,
}

/// Reads doveconf's output: `key = value` lines, `kind [name] {` and `}`. A value in double
/// quotes loses them and the backslashes doveconf escaped `\`, `"` and `'` with.
fn parse_dump(text: &str) -> Dump {
    let mut stack = vec![Dump {
        kind: String::new(),
        name: None,
        values: Vec::new(),
        children: Vec::new(),
    }];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let line = line.trim_start();
        if line == "}" {
            let done = stack.pop().expect("unbalanced }");
            stack.last_mut().expect("unbalanced }").children.push(done);
        } else if let Some(head) = line.strip_suffix(" {") {
            let (kind, name) = match head.split_once(' ') {
                Some((k, n)) => (k, Some(n.to_string())),
                None => (head, None),
            };
            stack.push(Dump {
                kind: kind.to_string(),
                name,
                values: Vec::new(),
                children: Vec::new(),
            });
        } else {
            let (key, value) = line.split_once(" =").expect("key = value");
            let value = value.strip_prefix(' ').unwrap_or(value);
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(quoted) => {
                    let mut out = String::new();
                    let mut chars = quoted.chars();
                    while let Some(c) = chars.next() {
                        out.push(if c == '\\' {
                            chars.next().unwrap_or(c)
                        } else {
                            c
                        });
                    }
                    out
                }
                None => value.to_string(),
            };
            stack
                .last_mut()
                .unwrap()
                .values
                .push((key.to_string(), value));
        }
    }
    assert_eq!(stack.len(), 1, "unclosed section");
    stack.pop().unwrap()
}

fn snapshot(name: &str) -> Dump {
    let path = format!("{}/t/config/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_dump(&text)
}

/// What doveconf prints for a section instance of `info` with the given values changed:
/// sorted `key = value` pairs.
fn expected_values(info: &SectionInfo, changed: &[(&str, &str)]) -> Vec<(String, String)> {
    let unique = info.kind.is_empty() || is_unique(info.kind);
    info.settings
        .iter()
        .filter(|s| printed(info, s, unique))
        .map(|s| {
            let value = changed
                .iter()
                .find(|(k, _)| *k == s.key)
                .map_or(s.default, |(_, v)| v);
            (s.key.to_string(), value.to_string())
        })
        .collect()
}

fn assert_same_values(what: &str, expected: &[(String, String)], dumped: &[(String, String)]) {
    for (e, d) in expected.iter().zip(dumped) {
        assert_eq!(e, d, "{what}: tables (left) differ from doveconf (right)");
    }
    assert_eq!(
        expected.len(),
        dumped.len(),
        "{what}: tables have {} values, doveconf {}: {:?}",
        expected.len(),
        dumped.len(),
        if expected.len() > dumped.len() {
            &expected[dumped.len()..]
        } else {
            &dumped[expected.len()..]
        }
    );
}

fn assert_instance(info: &SectionInfo, d: &SectionDefaults, dumped: &Dump) {
    let what = format!("{} {}", d.kind, d.name);
    assert_eq!(
        (d.kind, Some(d.name)),
        (dumped.kind.as_str(), dumped.name.as_deref())
    );
    assert_same_values(&what, &expected_values(info, d.values), &dumped.values);
    assert_eq!(
        d.children.len(),
        dumped.children.len(),
        "{what}: sub-sections"
    );
    for (child, dumped_child) in d.children.iter().zip(&dumped.children) {
        let child_info = section(child.kind).expect("child kind");
        assert_instance(child_info, child, dumped_child);
    }
}

#[test]
fn root_and_builtin_services_match_doveconf_a_s() {
    let dump = snapshot("doveconf-a-s.txt");
    assert_same_values("root", &expected_values(root(), &[]), &dump.values);
    // Only services exist without configuration.
    assert!(dump.children.iter().all(|c| c.kind == "service"));
    assert_eq!(builtin_sections().len(), dump.children.len(), "services");
    let service = section("service").unwrap();
    for (d, dumped) in builtin_sections().iter().zip(&dump.children) {
        assert_instance(service, d, dumped);
    }
}

#[test]
fn hidden_settings_match_doveconf_a() {
    let shown: BTreeSet<String> = snapshot("doveconf-a.txt")
        .values
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for s in root().settings.iter().filter(|s| printed(root(), s, true)) {
        assert_eq!(shown.contains(s.key), !s.hidden, "{}", s.key);
    }
}

#[test]
fn section_defaults_match_doveconf_a_s() {
    // doveconf-sections.conf has one section of each kind with nothing set; passdb and userdb,
    // whose name doveconf prints as a setting, are named "probe".
    let dump = snapshot("doveconf-sections-a-s.txt");
    let mut seen = BTreeSet::new();
    fn check(dump: &Dump, seen: &mut BTreeSet<String>) {
        for child in &dump.children {
            if child.kind == "service" && child.name.as_deref() != Some("probe") {
                continue;
            }
            let info = section(&child.kind).unwrap_or_else(|| panic!("kind {}", child.kind));
            let name_key = info.name_key.expect("every section kind has a name key");
            let expected = if is_unique(info.kind) {
                assert!(child.name.is_some());
                expected_values(info, &[])
            } else {
                assert_eq!(child.name, None);
                expected_values(info, &[(name_key, "probe")])
            };
            assert_same_values(&child.kind, &expected, &child.values);
            seen.insert(child.kind.clone());
            check(child, seen);
        }
    }
    check(&dump, &mut seen);
    // plugin { } and dict { } are string lists: empty ones print as empty blocks.
    for list in ["dict", "plugin"] {
        assert!(matches!(setting(root(), list).ty, SettingType::StrList));
        seen.insert(list.to_string());
    }
    let kinds: BTreeSet<String> = all_sections()[1..]
        .iter()
        .map(|i| i.kind.to_string())
        .collect();
    assert!(
        kinds.is_subset(&seen),
        "not probed: {:?}",
        kinds.difference(&seen)
    );
}
