//! `quota_rule` and `quota_grace` as Dovecot 2.3's quota plugin reads them
//! (`quota-util.c`): `<mailbox mask>:<limits>` where the limits are `storage=`, `bytes=` and
//! `messages=` joined by `:`, with K/M/G/T/B units or `%` of the default rule, `+`/`-` for
//! per-mailbox rules relative to the default one, `ignore` for mailboxes left out of the
//! quota, and `backend=` for a backend's own rule syntax (Maildir++'s `1000S,10C`).
//!
//! The default rule is `*` (forced: the configuration's limits win over the ones a
//! `maildirsize` file holds) or `?` (the file's limits win when it has them).

use super::maildirsize;

/// `quota_grace` when not set.
pub const DEFAULT_GRACE: &str = "10%";

/// A limit pair of one rule: bytes and messages, each absolute or a percentage of the
/// default rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub bytes: i64,
    pub count: i64,
    /// Non-zero: `bytes` is this percentage of the default rule's bytes.
    pub bytes_percent: i64,
    /// Non-zero: `count` is this percentage of the default rule's messages.
    pub count_percent: i64,
}

impl Limits {
    /// The limits with percentages taken of `default_bytes` / `default_count`.
    pub fn resolved(&self, default_bytes: i64, default_count: i64) -> (i64, i64) {
        let of = |value: i64, percent: i64, base: i64| {
            if percent == 0 {
                value
            } else {
                base.saturating_mul(percent) / 100
            }
        };
        (
            of(self.bytes, self.bytes_percent, default_bytes),
            of(self.count, self.count_percent, default_count),
        )
    }
}

/// A per-mailbox rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRule {
    /// `*` and `?` wildcards; `INBOX` in any case is INBOX.
    pub mask: String,
    /// Added to the default rule's limits.
    pub limits: Limits,
    /// The mailbox is not counted nor limited.
    pub ignore: bool,
}

/// The rules of one quota root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootRules {
    /// The default rule's limits (0: unlimited).
    pub default: Limits,
    /// The default rule was given as `*`: its limits override a `maildirsize` file's.
    pub force_default: bool,
    /// The default rule says `ignore` (nothing is counted).
    pub default_ignore: bool,
    pub mailboxes: Vec<MailboxRule>,
    /// `quota_grace`: bytes a delivery may go over the limit by.
    pub grace: Limits,
}

/// A rule that could not be read; the text is Dovecot's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which field of a rule a limit sets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Bytes,
    Count,
}

impl RootRules {
    /// Adds one `quota_rule` value. Warnings (Dovecot's, for relative rules written without
    /// `+`) go to `warn`.
    pub fn add_rule(&mut self, def: &str, warn: &mut dyn FnMut(String)) -> Result<(), RuleError> {
        let Some((mask, limits)) = def.split_once(':') else {
            return Err(RuleError("Invalid rule".into()));
        };
        let default = mask == "*" || mask == "?";
        let existing = self.mailboxes.iter().position(|r| r.mask == mask);
        if mask == "*" && existing.is_none() {
            self.force_default = true;
        }
        if limits == "ignore" {
            match existing {
                Some(i) => self.mailboxes[i].ignore = true,
                None if default => self.default_ignore = true,
                None => self.mailboxes.push(MailboxRule {
                    mask: normalized_mask(mask),
                    limits: Limits::default(),
                    ignore: true,
                }),
            }
            return Ok(());
        }
        let is_default = existing.is_none() && default;
        let mut target = match existing {
            Some(i) => self.mailboxes[i].limits,
            None if default => self.default,
            None => Limits::default(),
        };
        if let Some(backend) = limits.strip_prefix("backend=") {
            let (bytes, count) = if backend == "NOQUOTA" {
                (0, 0)
            } else {
                match maildirsize::parse_limits(backend) {
                    Some(l) => l,
                    None => {
                        return Err(RuleError(format!(
                            "quota-maildir: Invalid Maildir++ quota rule \"{backend}\""
                        )))
                    }
                }
            };
            target.bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            target.count = i64::try_from(count).unwrap_or(i64::MAX);
        } else {
            parse_limits(&mut target, limits, !is_default, is_default, def, warn)?;
        }
        match existing {
            Some(i) => self.mailboxes[i].limits = target,
            None if is_default => self.default = target,
            None => self.mailboxes.push(MailboxRule {
                mask: normalized_mask(mask),
                limits: target,
                ignore: false,
            }),
        }
        Ok(())
    }

    /// Sets `quota_grace` (`None`: the default, 10%).
    pub fn set_grace(&mut self, value: Option<&str>) -> Result<(), RuleError> {
        let value = value.unwrap_or(DEFAULT_GRACE);
        let (number, unit) = split_number(value).ok_or_else(|| RuleError(String::new()))?;
        let mut grace = Limits::default();
        apply_unit(&mut grace, Field::Bytes, number, unit, 1, false)?;
        self.grace = grace;
        Ok(())
    }

    /// The rule for a mailbox (its full name), the first whose mask matches.
    pub fn find(&self, vname: &str) -> Option<&MailboxRule> {
        self.mailboxes
            .iter()
            .find(|r| wildcard_match(vname, &r.mask))
    }

    /// Whether the mailbox is left out of the quota (an `ignore` rule).
    pub fn is_ignored(&self, vname: &str) -> bool {
        self.default_ignore || self.find(vname).is_some_and(|r| r.ignore)
    }

    /// The grace in bytes for the root's current default byte limit.
    pub fn grace_bytes(&self, default_bytes: i64) -> u64 {
        u64::try_from(self.grace.resolved(default_bytes, 0).0).unwrap_or(0)
    }
}

/// `INBOX` in any case is stored as `INBOX`.
fn normalized_mask(mask: &str) -> String {
    if mask.eq_ignore_ascii_case("INBOX") {
        "INBOX".into()
    } else {
        mask.to_string()
    }
}

/// Parses `storage=..:bytes=..:messages=..` into `rule`.
fn parse_limits(
    rule: &mut Limits,
    limits: &str,
    relative: bool,
    is_default: bool,
    full_def: &str,
    warn: &mut dyn FnMut(String),
) -> Result<(), RuleError> {
    for arg in limits.split(':') {
        let (key, mut value) = arg.split_once('=').unwrap_or((arg, ""));
        if let Some(rest) = value.strip_prefix('+') {
            if !relative {
                return Err(RuleError("Rule limit cannot have '+'".into()));
            }
            value = rest;
        } else if !value.starts_with('-') && relative {
            warn(format!(
                "rule {full_def}: obsolete configuration for rule '{arg}' should be changed \
                 to '{key}=+{value}'"
            ));
        }
        let (field, multiply, what) = match key {
            "storage" => (Field::Bytes, 1024, "storage"),
            "bytes" => (Field::Bytes, 1, "bytes"),
            // Dovecot's text.
            "messages" => (Field::Count, 1, "bytes messages"),
            _ => return Err(RuleError(format!("Unknown rule limit name: {key}"))),
        };
        let (number, unit) = split_number(value)
            .ok_or_else(|| RuleError(format!("Invalid {what} limit: {value}")))?;
        apply_unit(rule, field, number, unit, multiply, is_default)
            .map_err(|e| RuleError(format!("Invalid rule limit value '{arg}': {}", e.0)))?;
    }
    if !relative {
        if rule.bytes < 0 {
            return Err(RuleError("Bytes limit can't be negative".into()));
        }
        if rule.count < 0 {
            return Err(RuleError("Count limit can't be negative".into()));
        }
    }
    Ok(())
}

/// A signed decimal number at the start of `value` and what follows it (Dovecot's
/// `str_parse_int64`: at least one digit, no overflow).
fn split_number(value: &str) -> Option<(i64, &str)> {
    let digits_from = usize::from(value.starts_with('-'));
    let digits = value[digits_from..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 {
        return None;
    }
    let end = digits_from + digits;
    let number = value[..end].parse::<i64>().ok()?;
    Some((number, &value[end..]))
}

/// The unit after a limit's number (only its first character counts, as in Dovecot).
fn apply_unit(
    rule: &mut Limits,
    field: Field,
    number: i64,
    unit: &str,
    default_multiply: i64,
    is_default: bool,
) -> Result<(), RuleError> {
    let multiply: i64 = match unit.bytes().next().map(|b| b.to_ascii_uppercase()) {
        None => default_multiply,
        Some(b'B') => 1,
        Some(b'K') => 1 << 10,
        Some(b'M') => 1 << 20,
        Some(b'G') => 1 << 30,
        Some(b'T') => 1 << 40,
        Some(b'%') => {
            if number <= -100 || number >= i64::from(u32::MAX) {
                return Err(RuleError("Invalid percentage".into()));
            }
            if is_default {
                return Err(RuleError("Default rule can't be a percentage".into()));
            }
            match field {
                Field::Bytes => rule.bytes_percent = number,
                Field::Count => rule.count_percent = number,
            }
            0
        }
        Some(_) => return Err(RuleError(format!("Unknown unit: {unit}"))),
    };
    let value = number.saturating_mul(multiply);
    match field {
        Field::Bytes => rule.bytes = value,
        Field::Count => rule.count = value,
    }
    Ok(())
}

/// Dovecot's `wildcard_match`: `*` any run, `?` any one character, case-sensitive.
pub fn wildcard_match(text: &str, mask: &str) -> bool {
    let (t, m): (Vec<char>, Vec<char>) = (text.chars().collect(), mask.chars().collect());
    let (mut ti, mut mi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if mi < m.len() && (m[mi] == '?' || m[mi] == t[ti]) {
            ti += 1;
            mi += 1;
        } else if mi < m.len() && m[mi] == '*' {
            star = Some((mi, ti));
            mi += 1;
        } else if let Some((smi, sti)) = star {
            mi = smi + 1;
            ti = sti + 1;
            star = Some((smi, sti + 1));
        } else {
            return false;
        }
    }
    m[mi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(defs: &[&str]) -> Result<(RootRules, Vec<String>), RuleError> {
        let mut r = RootRules::default();
        let mut warnings = Vec::new();
        for d in defs {
            r.add_rule(d, &mut |w| warnings.push(w))?;
        }
        r.set_grace(None)?;
        Ok((r, warnings))
    }

    #[test]
    fn default_and_mailbox_rules() {
        let (r, w) = rules(&[
            "*:storage=1G",
            "Trash:storage=+100M",
            "*:messages=1000",
            "Spam:ignore",
            "inbox:bytes=-5",
        ])
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert!(r.force_default);
        assert_eq!(r.default.bytes, 1 << 30);
        assert_eq!(r.default.count, 1000);
        assert_eq!(r.find("Trash").unwrap().limits.bytes, 100 << 20);
        assert!(r.is_ignored("Spam") && !r.is_ignored("Trash"));
        assert_eq!(r.find("INBOX").unwrap().limits.bytes, -5);
        assert_eq!(r.grace_bytes(1000), 100);
    }

    #[test]
    fn units_and_percentages() {
        let (r, _) = rules(&["?:storage=100", "Big:storage=+50%", "X:messages=+1k"]).unwrap();
        assert!(!r.force_default);
        assert_eq!(r.default.bytes, 100 * 1024);
        assert_eq!(
            r.find("Big").unwrap().limits.resolved(r.default.bytes, 0).0,
            50 * 1024
        );
        assert_eq!(r.find("X").unwrap().limits.count, 1024);
        let (r, _) = rules(&["*:bytes=10T"]).unwrap();
        assert_eq!(r.default.bytes, 10 << 40);
        let mut g = RootRules::default();
        g.set_grace(Some("5M")).unwrap();
        assert_eq!(g.grace_bytes(0), 5 << 20);
        g.set_grace(Some("20")).unwrap();
        assert_eq!(g.grace_bytes(0), 20);
    }

    #[test]
    fn errors_as_dovecot() {
        let err = |d: &str| rules(&[d]).unwrap_err().0;
        assert_eq!(err("nocolon"), "Invalid rule");
        assert_eq!(err("*:foo=1"), "Unknown rule limit name: foo");
        assert_eq!(err("*:storage=x"), "Invalid storage limit: x");
        assert_eq!(err("*:storage=+1"), "Rule limit cannot have '+'");
        assert_eq!(err("*:storage=-1"), "Bytes limit can't be negative");
        assert_eq!(
            err("*:storage=1Q"),
            "Invalid rule limit value 'storage=1Q': Unknown unit: Q"
        );
        assert_eq!(
            err("*:storage=10%"),
            "Invalid rule limit value 'storage=10%': Default rule can't be a percentage"
        );
        assert_eq!(
            err("*:backend=1X"),
            "quota-maildir: Invalid Maildir++ quota rule \"1X\""
        );
    }

    #[test]
    fn relative_without_plus_warns() {
        let (r, w) = rules(&["*:storage=1M", "Trash:storage=10M"]).unwrap();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("should be changed to 'storage=+10M'"),
            "{w:?}"
        );
        assert_eq!(r.find("Trash").unwrap().limits.bytes, 10 << 20);
    }

    #[test]
    fn backend_rules() {
        let (r, _) = rules(&["*:backend=1000S,10C"]).unwrap();
        assert_eq!((r.default.bytes, r.default.count), (1000, 10));
        let (r, _) = rules(&["*:backend=NOQUOTA"]).unwrap();
        assert_eq!((r.default.bytes, r.default.count), (0, 0));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("Trash", "Trash"));
        assert!(wildcard_match("Lists/rust", "Lists/*"));
        assert!(wildcard_match("abc", "a?c"));
        assert!(!wildcard_match("trash", "Trash"));
        assert!(wildcard_match("anything", "*"));
        assert!(!wildcard_match("ab", "a?c"));
    }

    proptest::proptest! {
        #[test]
        fn rule_parsing_never_panics(def in ".{0,40}") {
            let mut r = RootRules::default();
            let _ = r.add_rule(&def, &mut |_| {});
            let _ = r.set_grace(Some(&def));
            let _ = r.find(&def);
        }
    }
}
