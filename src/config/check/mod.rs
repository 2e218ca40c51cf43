//! Whole-configuration checks done after parsing (Dovecot's `config_all_parsers_check`):
//! unclosed sections, conflicting filters, and the cross-setting checks of each settings
//! module (`mail_nfs_index=yes requires mmap_disable=yes`, ...) on the view of every filter.
//!
//! The module checks follow Dovecot's `check_func`s in the order doveconf runs them (its
//! settings roots: master service, SSL, then the modules by name). Left out: the event filter
//! syntax of `log_debug`/`log_core_filter`/`process_shutdown_filter` and of `metric { filter }`,
//! and `mail_plugin_dir` being readable when `mail_plugins` is set (cote has no plugin
//! directory).

use super::error::ConfigError;
use super::filter::Query;
use super::parser::Parsed;
use super::tree::Node;
use super::values::Value;

mod master;
mod modules;
mod storage;

use modules::{
    check_auth, check_director, check_doveadm, check_imap, check_lmtp, check_master_service,
    check_pop3, check_ssl, check_stats, check_submission,
};
use storage::{check_mail_storage, check_namespaces};

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

/// Runs every whole-configuration check. The checker keeps the warnings, and is reused for
/// the dump's own check of its view (as doveconf checks again when it prints).
pub(crate) fn check_all(parsed: &Parsed, checker: &mut Checker) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::in_file(&parsed.path, message);
    if let Some((file, line)) = &parsed.unclosed {
        return Err(fail(format!(
            "Missing '}}' (section started at {}:{})",
            file.display(),
            line
        )));
    }
    let explicit_ssl = |node: &Node| {
        node.scalar("ssl")
            .filter(|s| s.changed)
            .map(|s| s.text.clone())
    };
    check_global_only(parsed)?;
    let global_ssl = explicit_ssl(&parsed.filters[0].tree.root).unwrap_or_default();
    let mut ssl_warned = false;
    for filter in &parsed.filters {
        let view = merged(parsed, &filter.filter.as_query(), true).map_err(fail)?;
        let ssl = explicit_ssl(&filter.tree.root).unwrap_or_else(|| global_ssl.clone());
        if ssl != "no" && global_ssl == "no" && !ssl_warned {
            checker.warnings.push(format!(
                "SSL is disabled because global ssl=no, ignoring ssl={ssl} for subsection"
            ));
            ssl_warned = true;
        }
        checker.check(&view).map_err(fail)?;
    }
    Ok(())
}

/// Settings that must be the same for every protocol, listener and client address: cote's
/// own `maildir_info_separator`, since every process on a store must read and write its
/// Maildir file names alike.
const GLOBAL_ONLY: &[&str] = &["maildir_info_separator"];

/// Refuses a [`GLOBAL_ONLY`] setting inside a filter, naming the file and line.
fn check_global_only(parsed: &Parsed) -> Result<(), ConfigError> {
    for filter in &parsed.filters[1..] {
        for key in GLOBAL_ONLY {
            let Some(scalar) = filter.tree.root.scalar(key).filter(|s| s.changed) else {
                continue;
            };
            let message =
                format!("{key} can't be set inside a filter: it applies to the whole store");
            return Err(match &scalar.meta.origin {
                Some(o) => ConfigError::at_line(&o.file, o.line, message),
                None => ConfigError::in_file(&parsed.path, message),
            });
        }
    }
    Ok(())
}

/// Runs the module checks; some warn only once per process, as Dovecot's do.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub warnings: Vec<String>,
    pub(super) warned_auth: bool,
    pub(super) warned_anvil: bool,
}

/// Read access to a merged view for the checks.
#[derive(Clone, Copy)]
pub(super) struct View<'a>(pub(super) &'a Node);

impl<'a> View<'a> {
    pub(super) fn value(&self, key: &str) -> Option<&'a Value> {
        self.0.scalar(key).map(|s| &s.value)
    }

    pub(super) fn str(&self, key: &str) -> &'a str {
        match self.value(key) {
            Some(Value::Str(Some(s)) | Value::StrVars(Some(s)) | Value::Enum(s)) => s,
            _ => "",
        }
    }

    pub(super) fn is_null(&self, key: &str) -> bool {
        matches!(
            self.value(key),
            Some(Value::Str(None) | Value::StrVars(None))
        )
    }

    pub(super) fn bool(&self, key: &str) -> bool {
        matches!(self.value(key), Some(Value::Bool(true)))
    }

    pub(super) fn number(&self, key: &str) -> u64 {
        match self.value(key) {
            Some(Value::Uint(n) | Value::Octal(n) | Value::Time(n) | Value::TimeMsecs(n)) => {
                u64::from(*n)
            }
            Some(Value::Size(n)) => *n,
            Some(Value::Port(n)) => u64::from(*n),
            _ => 0,
        }
    }

    pub(super) fn sections(&self, kind: &str) -> &'a [Node] {
        match self.0.list(kind) {
            Some(list) => &list.children,
            None => &[],
        }
    }

    pub(super) fn name(&self) -> &'a str {
        self.0.name()
    }
}

/// Words split on any of `separators`, empty ones dropped (Dovecot's `t_strsplit_spaces`).
pub(super) fn words<'s>(
    text: &'s str,
    separators: &'s [char],
) -> impl Iterator<Item = &'s str> + 's {
    text.split(separators).filter(|w| !w.is_empty())
}

/// A `*_client_workarounds`-style list: every word must be known (case-insensitively).
pub(super) fn check_words(
    setting: &str,
    text: &str,
    known: &[&str],
    what: &str,
) -> Result<(), String> {
    for word in words(text, &[' ', ',']) {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            return Err(format!("{setting}: Unknown {what}: {word}"));
        }
    }
    Ok(())
}

impl Checker {
    /// The module checks on one merged view, in doveconf's order.
    pub(crate) fn check(&mut self, node: &Node) -> Result<(), String> {
        match self.check_each(node).into_iter().next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Each settings module's first error, in doveconf's order (its dumps report them all).
    pub(crate) fn check_each(&mut self, node: &Node) -> Vec<String> {
        let set = View(node);
        let results = [
            check_master_service(set),
            check_ssl(set),
            check_auth(set),
            check_director(set),
            check_doveadm(set),
            check_imap(set),
            check_lmtp(set),
            check_mail_storage(set),
            check_namespaces(set),
            self.check_master(set),
            check_pop3(set),
            check_stats(set),
            check_submission(set),
            check_submission(set),
        ];
        results.into_iter().filter_map(Result::err).collect()
    }
}
