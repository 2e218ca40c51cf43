//! ACL (RFC 4314) as Dovecot 2.3's `imap_acl` plugin answers it: MYRIGHTS, GETACL,
//! LISTRIGHTS, SETACL and DELETEACL, with its identifiers (`anyone`, `authenticated`,
//! `owner`, `$group`, `!$group` for group-override, `#` for global entries, `-` for negative
//! rights), its letters (`c` and `d` as RFC 4314's virtual rights) and its texts. Without
//! the plugin the commands do not exist (the session's command lookup); the rights live in
//! storage (`crate::storage::acl`).

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{AclListing, AdminCheck, MailSession};
use crate::imap::response::Code;
use crate::mail::quote::append_astring;
use crate::storage::acl::rights::{letter_name, name_letter, STANDARD};
use crate::storage::acl::{AclEntry, AclUpdate, IdType, Identifier, ModifyMode, Names, Right};
use crate::storage::namespace::NamespaceType;

/// The capabilities `imap_acl` adds, in its order.
pub const CAPABILITIES: &[&str] = &["ACL", "RIGHTS=texk"];

const NOT_ADMIN: &str = "You lack administrator privileges on this mailbox.";

/// The rights as IMAP letters (Dovecot's `imap_acl_write_rights_list`): the standard ones,
/// then `c` for `k`/`x` and `d` for `t`/`e`; `""` for none. The letters come in the order
/// Dovecot has the rights: a user's computed rights (`in_right_order`) in `lrwstipekxa`
/// order, an entry's as its sorted names.
pub fn rights_letters(names: &Names, in_right_order: bool) -> String {
    let letters: Vec<char> = if in_right_order {
        STANDARD
            .iter()
            .filter(|(_, n)| names.contains(*n))
            .map(|(l, _)| *l)
            .collect()
    } else {
        names.iter().filter_map(|n| name_letter(n)).collect()
    };
    let mut out = String::new();
    let (mut c, mut d) = (false, false);
    for letter in letters {
        out.push(letter);
        c |= matches!(letter, 'k' | 'x');
        d |= matches!(letter, 't' | 'e');
    }
    if c {
        out.push('c');
    }
    if d {
        out.push('d');
    }
    if out.is_empty() {
        out.push_str("\"\"");
    }
    out
}

/// An entry's identifier as IMAP shows it.
fn imap_identifier(id: &Identifier, global: bool, negative: bool) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if global {
        out.push('#');
    }
    match id.kind {
        IdType::Anyone => out.push_str("anyone"),
        IdType::Authenticated => out.push_str("authenticated"),
        IdType::Owner => out.push_str("owner"),
        IdType::User => out.push_str(&id.name),
        IdType::Group => {
            out.push('$');
            out.push_str(&id.name);
        }
        IdType::GroupOverride => {
            out.push_str("!$");
            out.push_str(&id.name);
        }
    }
    out
}

fn write_entry(
    line: &mut Vec<u8>,
    id: &Identifier,
    (global, negative): (bool, bool),
    names: &Names,
    in_right_order: bool,
) {
    line.push(b' ');
    append_astring(line, imap_identifier(id, global, negative).as_bytes());
    line.push(b' ');
    line.extend_from_slice(rights_letters(names, in_right_order).as_bytes());
}

/// Whether an entry is the user's own (Dovecot's `acl_rights_is_owner`).
fn is_owner_entry(entry: &AclEntry, username: &str) -> bool {
    match entry.id.kind {
        IdType::Owner => true,
        IdType::User => entry.id.name == username,
        _ => false,
    }
}

/// GETACL's entries (Dovecot's `imap_acl_write_aclobj`): `owner` shown as the user's own
/// name (unless both appear), and the owner's default rights when no entry gives the
/// owner any (`add_default`: private namespaces).
fn write_acl(
    line: &mut Vec<u8>,
    listing: &AclListing,
    username: &str,
    convert_owner: bool,
    add_default: bool,
) {
    let start = line.len();
    let mut seen_owner = false;
    let mut seen_positive_owner = false;
    for entry in &listing.entries {
        let mut id = entry.id.clone();
        if is_owner_entry(entry, username) {
            if id.kind == IdType::Owner && convert_owner {
                id = Identifier::new(IdType::User, username);
            }
            if seen_owner && convert_owner {
                line.truncate(start);
                return write_acl(line, listing, username, false, add_default);
            }
            seen_owner = true;
            seen_positive_owner |= entry.rights.is_some();
        }
        if let Some(rights) = &entry.rights {
            write_entry(line, &id, (entry.global, false), rights, false);
        }
        if let Some(neg) = &entry.neg_rights {
            write_entry(line, &id, (entry.global, true), neg, false);
        }
    }
    if !seen_positive_owner && add_default {
        let id = if convert_owner {
            Identifier::new(IdType::User, username)
        } else {
            Identifier::new(IdType::Owner, "")
        };
        write_entry(line, &id, (false, false), &owner_defaults(listing), true);
    }
}

/// The backend's default rights: everything for the owner, nothing otherwise.
fn owner_defaults(listing: &AclListing) -> Names {
    if listing.owner {
        crate::storage::acl::rights::all_rights()
    } else {
        Names::new()
    }
}

/// SETACL's rights (Dovecot's `imap_acl_letters_parse`): letters, `c` and `d` standing for
/// `kx` and `et`.
fn parse_letters(letters: &str) -> Result<Names, String> {
    let mut names = Names::new();
    for c in letters.chars() {
        match (letter_name(c), c) {
            (Some(name), _) => {
                names.insert(name.to_string());
            }
            (None, 'c') => {
                names.insert(Right::Create.name().to_string());
                names.insert(Right::Delete.name().to_string());
            }
            (None, 'd') => {
                names.insert(Right::Expunge.name().to_string());
                names.insert(Right::WriteDeleted.name().to_string());
            }
            (None, c) => return Err(format!("Invalid ACL right: {c}")),
        }
    }
    Ok(names)
}

/// An IMAP identifier (Dovecot's `imap_acl_identifier_parse`).
fn parse_identifier(
    id: &str,
    check_anyone: bool,
    anyone_allow: bool,
) -> Result<Identifier, String> {
    if id.starts_with('#') {
        return Err(format!("Global ACLs can't be modified: {id}"));
    }
    Ok(match id {
        "anyone" | "authenticated" => {
            if check_anyone && !anyone_allow {
                return Err(format!("'{id}' identifier is disallowed"));
            }
            let kind = if id == "anyone" {
                IdType::Anyone
            } else {
                IdType::Authenticated
            };
            Identifier::new(kind, "")
        }
        "owner" => Identifier::new(IdType::Owner, ""),
        _ => {
            if let Some(group) = id.strip_prefix('$') {
                Identifier::new(IdType::Group, group)
            } else if let Some(group) = id.strip_prefix("!$") {
                Identifier::new(IdType::GroupOverride, group)
            } else {
                Identifier::new(IdType::User, id)
            }
        }
    })
}

/// Keeps the user from taking `a` away from their own mailboxes (Dovecot's
/// `imap_acl_update_ensure_keep_admins`).
fn keep_admins(update: &mut AclUpdate, listing: &AclListing, username: &str) {
    let admin = Right::Admin.name();
    let Some(rights) = update.rights.as_mut() else {
        return;
    };
    match update.mode {
        ModifyMode::Add => {
            let positive_owner = listing
                .entries
                .iter()
                .any(|e| is_owner_entry(e, username) && e.rights.is_some());
            if !positive_owner {
                // Initial rights for the owner: the defaults come along.
                rights.extend(owner_defaults(listing));
            }
        }
        ModifyMode::Remove => {
            rights.remove(admin);
        }
        ModifyMode::Replace => {
            rights.insert(admin.to_string());
        }
        ModifyMode::Clear => {}
    }
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn command_error(&self, text: &str) -> Reply {
        Reply::bad(format!(
            "Error in IMAP command {}: {text}",
            self.current.display_name
        ))
    }

    fn mailbox_not_found(mailbox: &str) -> Reply {
        Reply::no(
            Some(Code::Nonexistent),
            format!("Mailbox doesn't exist: {mailbox}"),
        )
    }

    /// Dovecot's `acl_mailbox_open_as_admin`: `Err` is the reply when the user may not.
    fn acl_open_as_admin(&mut self, mailbox: &str) -> Result<(), Reply> {
        if self.mail.acl_user().is_none() {
            return Err(self.command_error("ACLs disabled."));
        }
        match self.mail.acl_admin(mailbox) {
            Ok(AdminCheck::Admin) => Ok(()),
            Ok(AdminCheck::NotAdmin) => Err(Reply::no(Some(Code::NoPerm), NOT_ADMIN)),
            Ok(AdminCheck::NotFound) => Err(Self::mailbox_not_found(mailbox)),
            Err(e) => Err(Reply::mail_error(&e, false)),
        }
    }

    pub(super) fn myrights(&mut self, mailbox: &str) -> Step<Reply> {
        if self.mail.acl_user().is_none() {
            return Ok(self.command_error("ACLs disabled."));
        }
        let rights = match self.mail.acl_rights(mailbox) {
            Ok(r) => r,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        // `p` alone does not reveal whether the mailbox exists.
        let post_only = rights.len() == 1 && rights.contains(Right::Post.name());
        if rights.is_empty() || post_only {
            return Ok(Self::mailbox_not_found(mailbox));
        }
        let mut line = b"* MYRIGHTS ".to_vec();
        self.names().append(&mut line, mailbox);
        line.push(b' ');
        line.extend_from_slice(rights_letters(&rights, true).as_bytes());
        self.line(&line)?;
        Ok(Reply::ok("Myrights completed."))
    }

    pub(super) fn listrights(&mut self, mailbox: &str, identifier: &str) -> Step<Reply> {
        let mut line = b"* LISTRIGHTS ".to_vec();
        self.names().append(&mut line, mailbox);
        line.push(b' ');
        append_astring(&mut line, identifier.as_bytes());
        // Dovecot's fixed list (with `p` before `i`).
        line.extend_from_slice(b" \"\" l r w s t p i e k x a c d");
        self.line(&line)?;
        Ok(Reply::ok("Listrights completed."))
    }

    pub(super) fn getacl(&mut self, mailbox: &str) -> Step<Reply> {
        if let Err(reply) = self.acl_open_as_admin(mailbox) {
            return Ok(reply);
        }
        let username = self.mail.acl_user().map(|u| u.username).unwrap_or_default();
        let listing = match self.mail.acl_listing(mailbox) {
            Ok(l) => l,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        let mut line = b"* ACL ".to_vec();
        self.names().append(&mut line, mailbox);
        let private = listing.kind == NamespaceType::Private;
        write_acl(&mut line, &listing, &username, true, private);
        self.line(&line)?;
        Ok(Reply::ok("Getacl completed."))
    }

    pub(super) fn setacl(&mut self, mailbox: &str, identifier: &str, rights: &str) -> Step<Reply> {
        if identifier.is_empty() {
            return Ok(self.command_error("Invalid arguments."));
        }
        let anyone_allow = self.mail.acl_user().is_some_and(|u| u.anyone_allow);
        let (negative, identifier) = match identifier.strip_prefix('-') {
            Some(id) => (true, id),
            None => (false, identifier),
        };
        let (mode, letters) = match rights.as_bytes().first() {
            Some(b'-') => (ModifyMode::Remove, &rights[1..]),
            Some(b'+') => (ModifyMode::Add, &rights[1..]),
            _ => (ModifyMode::Replace, rights),
        };
        let id = match parse_identifier(identifier, true, anyone_allow) {
            Ok(id) => id,
            Err(e) => return Ok(self.command_error(&e)),
        };
        let names = match parse_letters(letters) {
            Ok(n) => n,
            Err(e) => return Ok(self.command_error(&e)),
        };
        if let Err(reply) = self.acl_open_as_admin(mailbox) {
            return Ok(reply);
        }
        let listing = match self.mail.acl_listing(mailbox) {
            Ok(l) => l,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if listing.kind == NamespaceType::Public && id.kind == IdType::Owner {
            return Ok(Reply::no(None, "Public namespaces have no owner"));
        }
        let username = self.mail.acl_user().map(|u| u.username).unwrap_or_default();
        let mut update = AclUpdate {
            id,
            rights: Some(names),
            neg_rights: None,
            mode,
            neg_mode: ModifyMode::Remove,
        };
        if negative {
            update.neg_mode = update.mode;
            update.mode = ModifyMode::Remove;
            update.neg_rights = update.rights.take();
        } else if listing.kind == NamespaceType::Private
            && ((update.id.kind == IdType::User && update.id.name == username)
                || (update.id.kind == IdType::Owner && listing.owner))
        {
            keep_admins(&mut update, &listing, &username);
        }
        Ok(self.acl_apply(mailbox, &update, "Setacl complete."))
    }

    pub(super) fn deleteacl(&mut self, mailbox: &str, identifier: &str) -> Step<Reply> {
        if identifier.is_empty() {
            return Ok(self.command_error("Invalid arguments."));
        }
        let (negative, identifier) = match identifier.strip_prefix('-') {
            Some(id) => (true, id),
            None => (false, identifier),
        };
        let id = match parse_identifier(identifier, false, false) {
            Ok(id) => id,
            Err(e) => return Ok(self.command_error(&e)),
        };
        if let Err(reply) = self.acl_open_as_admin(mailbox) {
            return Ok(reply);
        }
        let (mode, neg_mode) = if negative {
            (ModifyMode::Remove, ModifyMode::Clear)
        } else {
            (ModifyMode::Clear, ModifyMode::Remove)
        };
        let update = AclUpdate {
            id,
            rights: None,
            neg_rights: None,
            mode,
            neg_mode,
        };
        Ok(self.acl_apply(mailbox, &update, "Deleteacl complete."))
    }

    /// Dovecot's `cmd_acl_mailbox_update`: a failure is its plain internal-error text.
    fn acl_apply(&mut self, mailbox: &str, update: &AclUpdate, done: &str) -> Reply {
        match self.mail.acl_update(mailbox, update) {
            Ok(()) => Reply::ok(done),
            Err(e) if e.kind == crate::imap::mail_session::MailErrorKind::NotPossible => {
                Reply::mail_error(&e, false)
            }
            Err(_) => Reply::no(None, crate::storage::error::CRITICAL_TEXT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::acl::rights::parse_line;

    fn names(letters: &str) -> Names {
        parse_letters(letters).unwrap()
    }

    #[test]
    fn letters_as_dovecot_writes_them() {
        assert_eq!(
            rights_letters(&names("lrwstipekxa"), false),
            "akxeilprwtscd"
        );
        assert_eq!(rights_letters(&names("lrwstipekxa"), true), "lrwstipekxacd");
        assert_eq!(rights_letters(&names("alr"), false), "alr");
        assert_eq!(rights_letters(&Names::new(), true), "\"\"");
        assert_eq!(names("c"), names("kx"));
        assert_eq!(names("d"), names("et"));
        assert_eq!(parse_letters("lz"), Err("Invalid ACL right: z".into()));
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            parse_identifier("$staff", true, false),
            Ok(Identifier::new(IdType::Group, "staff"))
        );
        assert_eq!(
            parse_identifier("!$staff", true, false),
            Ok(Identifier::new(IdType::GroupOverride, "staff"))
        );
        assert_eq!(
            parse_identifier("anyone", true, false),
            Err("'anyone' identifier is disallowed".into())
        );
        assert!(parse_identifier("anyone", true, true).is_ok());
        assert!(parse_identifier("anyone", false, false).is_ok());
        assert_eq!(
            parse_identifier("#x", false, false),
            Err("Global ACLs can't be modified: #x".into())
        );
    }

    #[test]
    fn getacl_entries() {
        let mut global = parse_line("anyone l").unwrap();
        global.global = true;
        let listing = AclListing {
            entries: vec![
                parse_line("group=staff lr").unwrap(),
                parse_line("owner lrwk").unwrap(),
                global,
            ],
            kind: NamespaceType::Private,
            owner: true,
        };
        let mut line = Vec::new();
        write_acl(&mut line, &listing, "alice", true, true);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            " $staff lr alice klrwc #anyone l"
        );
        let listing = AclListing {
            entries: vec![parse_line("-user=bob w").unwrap()],
            kind: NamespaceType::Private,
            owner: true,
        };
        let mut line = Vec::new();
        write_acl(&mut line, &listing, "alice", true, true);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            " -bob w alice lrwstipekxacd"
        );
    }
}
