//! Shared namespaces with the owner in the prefix (`prefix = shared/%%u/`), as Dovecot 2.3's
//! `shared` storage (`lib-storage/index/shared/`) builds them.
//!
//! The configured namespace is a root (its prefix cut before the first variable:
//! `shared/`) that holds no mailboxes itself. A name under it (`shared/bob/Team`) is split
//! at the prefix's variables ([`SharedPattern::split`]); the other user is looked up in the
//! userdb through [`UserLookup`] (which the binaries implement: storage never talks to
//! auth), and a namespace of its own is added for them: prefix `shared/bob/`, the
//! location's `%u` `%n` `%d` `%h` expanded with bob's values, bob its owner. Its INBOX is
//! the namespace root (`shared/bob`), as Dovecot's `NAMESPACE_FLAG_INBOX_ANY`.
//!
//! - [`dict`]: `acl_shared_dict`, which says whose shared mailboxes a user may list.
//! - [`list`]: the root's (empty) mailbox list.
//! - [`private`]: mailboxes whose `\Seen` is each viewer's own (`INDEXPVT=`).

pub mod dict;
pub mod list;
pub mod private;

use crate::config::var_expand::{self, Vars};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::user::MailUserInfo;

/// Looks another user up in the userdb (for shared namespaces).
pub trait UserLookup {
    /// The user's userdb answer; `Ok(None)`: no such user; `Err`: the lookup failed.
    fn lookup(&mut self, user: &str) -> Result<Option<MailUserInfo>, String>;
}

/// The variable part of a shared namespace's prefix (`%u/`, `%d/%n/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPattern {
    /// The configured prefix's part from its first `%` on.
    pattern: String,
}

/// A name under a shared namespace's root, split at the prefix's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedName {
    /// `user@domain` (or `user`): whom the userdb is asked for.
    pub user: String,
    /// The other user's namespace prefix (`shared/bob/`).
    pub prefix: String,
}

/// `user@domain` split as Dovecot's `%n` and `%d` do.
fn split_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (user, None),
    }
}

/// The variables of a shared prefix or location for `user` (Dovecot's table: `%u`, `%n`,
/// `%d`, `%h`).
fn owner_vars(user: &str, home: Option<&str>) -> Vars {
    let (username, domain) = split_user(user);
    let mut vars = Vars::new();
    vars.set(Some(b'u'), Some("user"), Some(user));
    vars.set(Some(b'n'), Some("username"), Some(username));
    vars.set(Some(b'd'), Some("domain"), domain);
    vars.set(Some(b'h'), Some("home"), home);
    vars
}

impl SharedPattern {
    /// Checks a shared namespace's prefix as Dovecot's `shared_storage_create` does and
    /// splits it: the root prefix (before the first `%`) and the pattern. `listed`: the
    /// namespace is listed (`list = yes` or `children`).
    pub fn parse(prefix: &str, sep: char, listed: bool) -> StorageResult<(String, SharedPattern)> {
        let err =
            |why: &str| StorageError::new(ErrorKind::Temp, format!("Namespace '{prefix}': {why}"));
        let Some(start) = prefix.find('%') else {
            return Err(err("Shared namespace prefix doesn't contain %"));
        };
        let pattern = &prefix[start..];
        let mut have_username = false;
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                continue;
            }
            match chars.next() {
                Some('u' | 'n') => have_username = true,
                Some('d' | '%') => {}
                _ => return Err(err("Shared namespace prefix contains unknown variables")),
            }
        }
        if !have_username {
            return Err(err("Shared namespace prefix doesn't contain %u or %n"));
        }
        if listed && !pattern.ends_with(sep) {
            return Err(err(
                "Shared namespace prefix doesn't end with hierarchy separator",
            ));
        }
        Ok((
            prefix[..start].to_string(),
            SharedPattern {
                pattern: pattern.to_string(),
            },
        ))
    }

    /// The pattern (`%u/`).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Splits `name` (a full name without the root prefix: `bob/Team`) at the pattern's
    /// variables (Dovecot's `shared_storage_get_namespace`). `viewer` gives the domain when
    /// the pattern has `%n` without `%d`. `Ok(None)`: the name is not a user's
    /// (`shared/example.com` with `%d/%n/`: no such mailbox).
    pub fn split(
        &self,
        root: &str,
        name: &str,
        sep: char,
        viewer: &str,
    ) -> StorageResult<Option<SharedName>> {
        let full = || format!("{root}{name}");
        let mut user_domain: Option<&str> = None;
        let mut username: Option<&str> = None;
        let mut domain: Option<&str> = None;
        let p: Vec<char> = self.pattern.chars().collect();
        let mut pi = 0;
        let mut rest = name;
        while pi < p.len() {
            let literal = if p[pi] != '%' {
                Some(p[pi])
            } else if p.get(pi + 1) == Some(&'%') {
                pi += 1;
                Some('%')
            } else {
                None
            };
            if let Some(literal) = literal {
                match rest.strip_prefix(literal) {
                    Some(after) => {
                        pi += 1;
                        rest = after;
                        continue;
                    }
                    None => break,
                }
            }
            let key = p.get(pi + 1).copied();
            pi += 2;
            let end = p.get(pi).copied().unwrap_or(sep);
            let (value, after) = match rest.find(end) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            match key {
                Some('u') => user_domain = Some(value),
                Some('n') => username = Some(value),
                Some('d') => domain = Some(value),
                // `parse` lets no other variable through.
                _ => {}
            }
            rest = after;
            if after.is_empty() {
                break;
            }
        }
        if pi < p.len() && !(rest.is_empty() || rest == sep.to_string()) {
            return Err(StorageError::critical(
                Some(&full()),
                format!("Invalid namespace prefix {} vs {}", self.pattern, full()),
            ));
        }
        let user = match (user_domain, username) {
            (Some(ud), _) => ud.to_string(),
            (None, None) => return Ok(None),
            (None, Some(n)) => {
                let domain = domain.or_else(|| split_user(viewer).1);
                match domain {
                    Some(d) => format!("{n}@{d}"),
                    None => n.to_string(),
                }
            }
        };
        if user.is_empty() {
            return Err(StorageError::params("Empty username doesn't exist"));
        }
        let prefix = self.prefix_for(root, &user)?;
        Ok(Some(SharedName { user, prefix }))
    }

    /// The namespace prefix of `user`'s shared mailboxes (`shared/bob/`).
    pub fn prefix_for(&self, root: &str, user: &str) -> StorageResult<String> {
        var_expand::expand(&self.pattern, &owner_vars(user, None))
            .map(|tail| format!("{root}{tail}"))
            .map_err(|e| {
                StorageError::critical(
                    None,
                    format!("Failed to expand namespace prefix '{}': {e}", self.pattern),
                )
            })
    }
}

/// A shared namespace's location for its owner (`maildir:%h/Maildir` with bob's home):
/// `Ok(None)` when it needs a home the owner does not have (Dovecot treats the owner as
/// nonexistent then).
pub fn owner_location(template: &str, owner: &MailUserInfo) -> StorageResult<Option<String>> {
    if owner.home.is_none() && var_expand::uses_var(template, b'h', "home") {
        return Ok(None);
    }
    var_expand::expand(
        template,
        &owner_vars(&owner.username, owner.home.as_deref()),
    )
    .map(Some)
    .map_err(|e| {
        StorageError::critical(
            None,
            format!("Failed to expand namespace location '{template}': {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(prefix: &str) -> (String, SharedPattern) {
        SharedPattern::parse(prefix, '/', true).unwrap()
    }

    #[test]
    fn prefixes_are_checked_as_dovecot_does() {
        let (root, p) = pattern("shared/%u/");
        assert_eq!(root, "shared/");
        assert_eq!(p.as_str(), "%u/");
        let err = |prefix: &str, listed| {
            SharedPattern::parse(prefix, '/', listed)
                .unwrap_err()
                .client_text()
                .to_string()
        };
        assert_eq!(
            err("shared/", true),
            "Namespace 'shared/': Shared namespace prefix doesn't contain %"
        );
        assert_eq!(
            err("shared/%d/", true),
            "Namespace 'shared/%d/': Shared namespace prefix doesn't contain %u or %n"
        );
        assert_eq!(
            err("shared/%s/", true),
            "Namespace 'shared/%s/': Shared namespace prefix contains unknown variables"
        );
        assert_eq!(
            err("shared/%u", true),
            "Namespace 'shared/%u': Shared namespace prefix doesn't end with hierarchy separator"
        );
        assert!(SharedPattern::parse("shared/%u", '/', false).is_ok());
    }

    #[test]
    fn names_split_at_the_variables() {
        let (root, p) = pattern("shared/%u/");
        let split = |name: &str, viewer: &str| p.split(&root, name, '/', viewer).unwrap();
        let bob = split("bob/Team/Sub", "alice").unwrap();
        assert_eq!(bob.user, "bob");
        assert_eq!(bob.prefix, "shared/bob/");
        assert_eq!(split("bob", "alice").unwrap().prefix, "shared/bob/");
        assert_eq!(
            split("bob@example.com/INBOX", "alice").unwrap().user,
            "bob@example.com"
        );
        assert_eq!(
            p.split(&root, "/x", '/', "alice")
                .unwrap_err()
                .client_text(),
            "Empty username doesn't exist"
        );

        // %n takes the viewer's domain; %d/%n both parts.
        let (root, n) = pattern("shared/%n/");
        let bob = n
            .split(&root, "bob/x", '/', "alice@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(bob.user, "bob@example.com");
        assert_eq!(bob.prefix, "shared/bob/");
        let (root, dn) = pattern("shared/%d/%n/");
        let bob = dn
            .split(&root, "example.org/bob/x", '/', "alice@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(bob.user, "bob@example.org");
        assert_eq!(bob.prefix, "shared/example.org/bob/");
        // Only the domain: not a user's namespace.
        assert_eq!(dn.split(&root, "example.org", '/', "alice").unwrap(), None);
        // A fixed part that does not match.
        let (root, fixed) = pattern("shared/%u/x/");
        assert!(fixed.split(&root, "bob/y/z", '/', "alice").is_err());
        assert_eq!(
            fixed
                .split(&root, "bob/x/z", '/', "alice")
                .unwrap()
                .unwrap()
                .prefix,
            "shared/bob/x/"
        );
    }

    #[test]
    fn locations_take_the_owners_values() {
        let owner = MailUserInfo {
            username: "bob@example.com".into(),
            home: Some("/home/bob".into()),
            ..MailUserInfo::default()
        };
        assert_eq!(
            owner_location("maildir:%h/Maildir:INDEX=/idx/%d/%n", &owner)
                .unwrap()
                .as_deref(),
            Some("maildir:/home/bob/Maildir:INDEX=/idx/example.com/bob")
        );
        let homeless = MailUserInfo {
            home: None,
            ..owner
        };
        assert_eq!(
            owner_location("maildir:%h/Maildir", &homeless).unwrap(),
            None
        );
        assert_eq!(
            owner_location("maildir:/srv/%u", &homeless)
                .unwrap()
                .as_deref(),
            Some("maildir:/srv/bob@example.com")
        );
    }
}
