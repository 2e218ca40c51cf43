//! `quota get` and `quota recalc`.

use std::io::Write;

use crate::log::{print_stderr, Level};
use crate::storage::user::MailUser;

use super::{fail, table, terminal_columns, MailVerb, EX_NOTFOUND, EX_TEMPFAIL};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaVerb {
    Get,
    Recalc,
}

const QUOTA_USAGE: &str =
    "usage: coteadm quota <command> [<args>]\n  get          \n  recalc       \n";

/// `quota get|recalc ...`: the verb and the words after it; `None` when not a quota command.
pub(super) fn parse(words: &[String]) -> Option<Result<(MailVerb, &[String]), String>> {
    let (first, rest) = words.split_first()?;
    if first != "quota" {
        return None;
    }
    let Some((verb, options)) = rest.split_first() else {
        return Some(Err(QUOTA_USAGE.into()));
    };
    let verb = match verb.as_str() {
        "get" => QuotaVerb::Get,
        "recalc" => QuotaVerb::Recalc,
        _ => return Some(Err(QUOTA_USAGE.into())),
    };
    Some(Ok((MailVerb::Quota(verb), options)))
}

pub(super) fn run(verb: QuotaVerb, user: &MailUser, prefix: &str, out: &mut dyn Write) -> u8 {
    let Some(quota) = user.quota().cloned() else {
        return fail(prefix, EX_NOTFOUND, "Quota not enabled");
    };
    let mut quota = quota.borrow_mut();
    match verb {
        QuotaVerb::Recalc => {
            if let Err(e) = quota.recalculate() {
                print_stderr(
                    prefix,
                    Level::Error,
                    &format!(
                        "Recalculating quota failed: {}",
                        e.internal().unwrap_or(e.client_text())
                    ),
                );
            }
            0
        }
        QuotaVerb::Get => {
            let mut rows = Vec::new();
            let mut failed = false;
            for root in quota.report() {
                match root.resources {
                    Ok(resources) => {
                        for r in resources {
                            let (limit, percent) = if r.limit > 0 {
                                (r.limit.to_string(), (r.value * 100 / r.limit).to_string())
                            } else {
                                ("-".to_string(), "0".to_string())
                            };
                            rows.push(vec![
                                root.name.clone(),
                                r.name.to_string(),
                                r.value.to_string(),
                                limit,
                                percent,
                            ]);
                        }
                    }
                    Err(e) => {
                        failed = true;
                        print_stderr(
                            prefix,
                            Level::Error,
                            &format!(
                                "Failed to get quota resource: {}",
                                e.internal().unwrap_or(e.client_text())
                            ),
                        );
                        for name in [
                            crate::storage::quota::RESOURCE_STORAGE,
                            crate::storage::quota::RESOURCE_MESSAGES,
                        ] {
                            rows.push(vec![
                                root.name.clone(),
                                name.to_string(),
                                "error".into(),
                                "error".into(),
                                "error".into(),
                            ]);
                        }
                    }
                }
            }
            drop(quota);
            let headers = [
                ("Quota name", false),
                ("Type", false),
                ("Value", true),
                ("Limit", true),
                ("%", true),
            ];
            let table = table(&headers, &rows, terminal_columns());
            let _ = out.write_all(table.as_bytes());
            if failed {
                EX_TEMPFAIL
            } else {
                0
            }
        }
    }
}
