//! `quota get` and `quota recalc`.

use std::io::Write;

use crate::log::{print_stderr, Level};
use crate::storage::user::MailUser;

use super::print::{render, Formatter, Header};
use super::{
    fail, mail_options, terminal_columns, MailVerb, Parsed, UsageError, EX_NOTFOUND, EX_TEMPFAIL,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaVerb {
    Get,
    Recalc,
}

const QUOTA_USAGE: &str = "quota <command> [<args>]\n  get          \n  recalc       ";

/// `quota get|recalc [-u user]`; `None` when not a quota command.
pub(super) fn parse(words: &[String]) -> Option<Result<Parsed, UsageError>> {
    let (first, rest) = words.split_first()?;
    if first != "quota" {
        return None;
    }
    let usage = || UsageError::Help(QUOTA_USAGE.into());
    let Some((verb, options)) = rest.split_first() else {
        return Some(Err(usage()));
    };
    let (verb, name) = match verb.as_str() {
        "get" => (QuotaVerb::Get, "quota get"),
        "recalc" => (QuotaVerb::Recalc, "quota recalc"),
        _ => return Some(Err(usage())),
    };
    Some(mail_options(options, "", name).and_then(|o| {
        o.at_most(0)?;
        Ok((MailVerb::Quota(verb), o.user))
    }))
}

pub(super) fn run(
    verb: QuotaVerb,
    user: &MailUser,
    prefix: &str,
    formatter: Option<Formatter>,
    out: &mut dyn Write,
) -> u8 {
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
            let column = |title, right| Header {
                title,
                hide_title: false,
                right,
            };
            let headers = [
                column("Quota name", false),
                column("Type", false),
                column("Value", true),
                column("Limit", true),
                column("%", true),
            ];
            let text = render(
                formatter.unwrap_or(Formatter::Table),
                &headers,
                &rows,
                terminal_columns(),
            );
            let _ = out.write_all(text.as_bytes());
            if failed {
                EX_TEMPFAIL
            } else {
                0
            }
        }
    }
}
