//! Whole-configuration checks done after parsing (Dovecot's `config_all_parsers_check`):
//! unclosed sections, conflicting filters, and the cross-setting checks of each settings
//! module (`mail_nfs_index=yes requires mmap_disable=yes`, ...), on the view of every filter.

use super::error::ConfigError;
use super::filter::Query;
use super::parser::Parsed;
use super::tree::Node;
use super::values::Value;

/// The settings `query` sees: the matching filter trees merged, most specific first.
/// With `strict`, a value set by two filters neither of which contains the other is an
/// error, as Dovecot reports it.
pub(crate) fn merged(parsed: &Parsed, query: &Query, strict: bool) -> Result<Node, String> {
    let mut matches: Vec<_> = parsed
        .filters
        .iter()
        .filter(|f| f.filter.matches(query))
        .collect();
    // Stable, as glibc's qsort (a merge sort) is for Dovecot.
    matches.sort_by(|a, b| a.filter.specificity_cmp(&b.filter));
    let Some(first) = matches.first() else {
        return Ok(parsed.filters[0].tree.root.clone());
    };
    let mut dest = first.tree.root.clone();
    for pair in matches.windows(2) {
        let (narrower, wider) = (pair[0], pair[1]);
        let strict = strict && !wider.filter.is_superset_of(&narrower.filter);
        dest.apply(&wider.tree.root, strict).map_err(|key| {
            format!(
                "Conflict in setting {key} found from filter at {}",
                wider.origin
            )
        })?;
    }
    Ok(dest)
}

/// Runs every whole-configuration check; returns the warnings they produce.
pub(crate) fn check_all(parsed: &Parsed) -> Result<Vec<String>, ConfigError> {
    let fail = |message: String| ConfigError::in_file(&parsed.path, message);
    if let Some((file, line)) = &parsed.unclosed {
        return Err(fail(format!(
            "Missing '}}' (section started at {}:{})",
            file.display(),
            line
        )));
    }
    let mut warnings = Vec::new();
    let explicit_ssl = |node: &Node| {
        node.scalar("ssl")
            .filter(|s| s.changed)
            .map(|s| s.text.clone())
    };
    let global_ssl = explicit_ssl(&parsed.filters[0].tree.root).unwrap_or_default();
    let mut ssl_warned = false;
    for filter in &parsed.filters {
        let view = merged(parsed, &filter.filter.as_query(), true).map_err(fail)?;
        let ssl = explicit_ssl(&filter.tree.root).unwrap_or_else(|| global_ssl.clone());
        if ssl != "no" && global_ssl == "no" && !ssl_warned {
            warnings.push(format!(
                "SSL is disabled because global ssl=no, ignoring ssl={ssl} for subsection"
            ));
            ssl_warned = true;
        }
        check_view(&view).map_err(fail)?;
    }
    Ok(warnings)
}

/// Read access to a merged view for the checks.
struct View<'a>(&'a Node);

impl<'a> View<'a> {
    fn value(&self, key: &str) -> Option<&'a Value> {
        self.0.scalar(key).map(|s| &s.value)
    }

    fn str(&self, key: &str) -> &'a str {
        self.0.scalar(key).map_or("", |s| s.text.as_str())
    }

    fn bool(&self, key: &str) -> bool {
        matches!(self.value(key), Some(Value::Bool(true)))
    }

    fn number(&self, key: &str) -> u64 {
        match self.value(key) {
            Some(Value::Uint(n) | Value::Octal(n) | Value::Time(n) | Value::TimeMsecs(n)) => {
                u64::from(*n)
            }
            Some(Value::Size(n)) => *n,
            Some(Value::Port(n)) => u64::from(*n),
            _ => 0,
        }
    }

    fn sections(&self, kind: &str) -> impl Iterator<Item = View<'a>> {
        let children: &'a [Node] = match self.0.list(kind) {
            Some(list) => &list.children,
            None => &[],
        };
        children.iter().map(View)
    }

    fn has(&self, key: &str) -> bool {
        self.0.index(key).is_some()
    }
}

/// The cross-setting checks on one merged view, in Dovecot's order of settings modules.
pub(crate) fn check_view(node: &Node) -> Result<(), String> {
    let view = View(node);
    check_mail_storage(&view)?;
    check_namespaces(&view)?;
    Ok(())
}

/// lib-storage's `mail_storage_settings_check`.
fn check_mail_storage(set: &View) -> Result<(), String> {
    if !set.has("mail_fsync") {
        return Ok(());
    }
    if set.has("mailbox_idle_check_interval") && set.number("mailbox_idle_check_interval") == 0 {
        return Err("mailbox_idle_check_interval must not be 0".into());
    }
    if set.bool("mail_nfs_index") && !set.bool("mmap_disable") {
        return Err("mail_nfs_index=yes requires mmap_disable=yes".into());
    }
    if set.bool("mail_nfs_index") && set.str("mail_fsync") != "always" {
        return Err("mail_nfs_index=yes requires mail_fsync=always".into());
    }
    if set.number("mail_cache_max_size") > 1024 * 1024 * 1024 {
        return Err("mail_cache_max_size can't be over 1 GB".into());
    }
    if set.number("mail_cache_purge_delete_percentage") > 100 {
        return Err("mail_cache_purge_delete_percentage can't be over 100".into());
    }
    if set.has("pop3_uidl_format") {
        check_pop3_uidl_format(set.str("pop3_uidl_format"))?;
    }
    let hash = set.str("mail_attachment_hash");
    if hash.contains('/') {
        return Err("mail_attachment_hash setting must not contain '/' characters".into());
    }
    if hash.contains('-') {
        return Err("mail_attachment_hash setting must not contain '-' characters".into());
    }
    for option in set
        .str("mail_attachment_detection_options")
        .split(' ')
        .filter(|o| !o.is_empty())
    {
        if !matches!(
            option,
            "add-flags" | "add-flags-on-save" | "no-flags-on-fetch" | "exclude-inlined"
        ) && !option.starts_with("content-type=")
        {
            return Err(format!(
                "mail_attachment_detection_options: Unknown option: {option}"
            ));
        }
    }
    Ok(())
}

/// `%` variables of `pop3_uidl_format`: at least one of `%v %u %m %f %g`.
fn check_pop3_uidl_format(format: &str) -> Result<(), String> {
    let bytes = format.as_bytes();
    let mut ok = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        i += 1;
        let key = variable_key(&bytes[i..]);
        match key {
            b'v' | b'u' | b'm' | b'f' | b'g' => ok = true,
            b'%' => {}
            other => {
                return Err(format!(
                    "Unknown pop3_uidl_format variable: %{}",
                    char::from(other)
                ))
            }
        }
        i += 1;
    }
    if !ok {
        return Err("pop3_uidl_format setting doesn't contain any % variables.".into());
    }
    Ok(())
}

/// The variable letter after a `%`, skipping modifiers (`%Lu`, `%2.3u`), as Dovecot's
/// `var_get_key`. `{name}` forms give `{`.
fn variable_key(rest: &[u8]) -> u8 {
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i];
        if c.is_ascii_digit()
            || c == b'-'
            || c == b'.'
            || matches!(
                c,
                b'L' | b'U' | b'E' | b'X' | b'R' | b'H' | b'N' | b'M' | b'D' | b'T'
            )
        {
            i += 1;
            continue;
        }
        return c;
    }
    0
}

/// lib-storage's namespace and mailbox checks.
fn check_namespaces(set: &View) -> Result<(), String> {
    if !set.has("namespace") {
        return Ok(());
    }
    let namespaces: Vec<View> = set.sections("namespace").collect();
    for ns in &namespaces {
        let prefix = ns.str("prefix");
        if ns.str("separator").chars().count() > 1 {
            return Err(format!(
                "Namespace '{prefix}': Hierarchy separator must be only one character long"
            ));
        }
        if let Some(Value::StrVars(Some(alias_for))) = ns.value("alias_for") {
            if !ns.bool("disabled") {
                let Some(target) = namespaces.iter().find(|n| n.str("prefix") == alias_for) else {
                    return Err(format!(
                        "Namespace '{prefix}': alias_for points to unknown namespace: {alias_for}"
                    ));
                };
                if let Some(Value::StrVars(Some(chained))) = target.value("alias_for") {
                    return Err(format!(
                        "Namespace '{prefix}': alias_for chaining isn't allowed: {alias_for} -> {chained}"
                    ));
                }
            }
        }
        for mailbox in ns.sections("mailbox") {
            check_special_use(&mailbox)?;
        }
    }
    Ok(())
}

/// `special_use` holds only RFC 6154 flags.
fn check_special_use(mailbox: &View) -> Result<(), String> {
    const FLAGS: &[&str] = &[
        "\\All",
        "\\Archive",
        "\\Drafts",
        "\\Flagged",
        "\\Important",
        "\\Junk",
        "\\Sent",
        "\\Trash",
    ];
    for flag in mailbox
        .str("special_use")
        .split(' ')
        .filter(|f| !f.is_empty())
    {
        if !FLAGS.iter().any(|known| known.eq_ignore_ascii_case(flag)) {
            return Err(format!(
                "mailbox {}: unknown special_use: {flag}",
                mailbox.0.name()
            ));
        }
    }
    Ok(())
}
