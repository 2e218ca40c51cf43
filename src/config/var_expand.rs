//! Dovecot's `%` variables (`%u`, `%{user}`, `%2.256Nu`, `%{userdb:quota:0}`, `%{if;...}`), as
//! `var_expand_with_funcs()` in Dovecot 2.3's `src/lib/var-expand.c` expands them.
//!
//! A template is expanded against a [`VarTable`]: the caller's one-letter and long variables
//! plus functions such as `userdb`. What no table knows falls back to Dovecot's built-ins
//! (`%{pid}`, `%{uid}`, `%{gid}`, `%{hostname}`, `%{env:NAME}`, `%%`). An unknown variable is
//! an error ([`VarError`]) that still carries the text Dovecot would have produced
//! (`UNSUPPORTED_VARIABLE_x` in its place): settings fail on it, the login greeting uses the text.

use std::fmt;

use md5::{Digest, Md5};

/// Where variable values come from.
pub trait VarTable {
    /// The value of a one-letter variable (`%u`): `Some("")` for a known variable without a
    /// value, `None` when the table has no such letter.
    fn short(&self, key: u8) -> Option<&str>;
    /// The value of a long variable (`%{user}`), as [`VarTable::short`].
    fn long(&self, name: &str) -> Option<&str>;
    /// A function variable `%{name:data}` (Dovecot's func table, e.g. `userdb`): `None` when
    /// the table has no such function.
    fn func(&self, name: &str, data: &str) -> Option<String> {
        let _ = (name, data);
        None
    }
}

/// A variable table built from values: what most callers need.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    entries: Vec<VarEntry>,
    /// `userdb` fields (`key=value`) for `%{userdb:key[:default]}`; `None` when there was no
    /// userdb lookup (every lookup gives its default then, as in Dovecot).
    userdb_fields: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone)]
struct VarEntry {
    short: Option<u8>,
    long: Option<&'static str>,
    value: String,
}

impl Vars {
    pub fn new() -> Vars {
        Vars::default()
    }

    /// Adds a variable known by a letter, a long name or both; an unset value is `""`.
    pub fn set(&mut self, short: Option<u8>, long: Option<&'static str>, value: Option<&str>) {
        self.entries.push(VarEntry {
            short,
            long,
            value: value.unwrap_or("").to_string(),
        });
    }

    /// The `%{userdb:...}` fields.
    pub fn set_userdb_fields(&mut self, fields: Vec<(String, String)>) {
        self.userdb_fields = Some(fields);
    }

    /// The table Dovecot's mail processes expand settings with (`mail_user_var_expand_table`):
    /// `%u %n %d %s %h %l %r %p %i`, `%{gid}`, `%{session}`, `%{auth_user}`... and the
    /// `%{userdb:...}` function.
    pub fn mail_user(user: &MailUserVars) -> Vars {
        let (username, domain) = split_user(&user.user);
        let auth_user = user.auth_user.as_deref().unwrap_or(&user.user);
        let (auth_username, auth_domain) = split_user(auth_user);
        let pid = std::process::id().to_string();
        let uid = user.uid.map(|u| u.to_string());
        let gid = user.gid.map(|g| g.to_string());
        let mut vars = Vars::new();
        vars.set(Some(b'u'), Some("user"), Some(&user.user));
        vars.set(Some(b'n'), Some("username"), Some(username));
        vars.set(Some(b'd'), Some("domain"), domain);
        vars.set(Some(b's'), Some("service"), Some(&user.service));
        vars.set(Some(b'h'), Some("home"), user.home.as_deref());
        vars.set(Some(b'l'), Some("lip"), user.local_ip.as_deref());
        vars.set(Some(b'r'), Some("rip"), user.remote_ip.as_deref());
        vars.set(Some(b'p'), Some("pid"), Some(&pid));
        vars.set(Some(b'i'), Some("uid"), uid.as_deref());
        vars.set(None, Some("gid"), gid.as_deref());
        vars.set(None, Some("session"), user.session.as_deref());
        vars.set(None, Some("auth_user"), Some(auth_user));
        vars.set(None, Some("auth_username"), Some(auth_username));
        vars.set(None, Some("auth_domain"), auth_domain);
        vars.set(None, Some("hostname"), user.hostname.as_deref());
        vars.set(None, Some("local_ip"), user.local_ip.as_deref());
        vars.set(None, Some("remote_ip"), user.remote_ip.as_deref());
        if let Some(fields) = &user.userdb_fields {
            vars.set_userdb_fields(fields.clone());
        }
        vars
    }
}

/// Two tables as one, `first` winning: a logout format's counters over the user's variables
/// (where `%u` is the user unless the format's own table has a `%u`).
pub struct Layered<'a> {
    pub first: &'a dyn VarTable,
    pub then: &'a dyn VarTable,
}

impl VarTable for Layered<'_> {
    fn short(&self, key: u8) -> Option<&str> {
        self.first.short(key).or_else(|| self.then.short(key))
    }
    fn long(&self, name: &str) -> Option<&str> {
        self.first.long(name).or_else(|| self.then.long(name))
    }
    fn func(&self, name: &str, data: &str) -> Option<String> {
        self.first
            .func(name, data)
            .or_else(|| self.then.func(name, data))
    }
}

/// What [`Vars::mail_user`] is built from.
#[derive(Debug, Default, Clone)]
pub struct MailUserVars {
    pub user: String,
    pub auth_user: Option<String>,
    pub service: String,
    pub home: Option<String>,
    pub local_ip: Option<String>,
    pub remote_ip: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub session: Option<String>,
    /// The `hostname` setting; `None` leaves `%{hostname}` to the system host name.
    pub hostname: Option<String>,
    pub userdb_fields: Option<Vec<(String, String)>>,
}

/// `user@domain` → (`user`, `Some(domain)`); without `@` the domain is unset.
pub fn split_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once('@') {
        Some((name, domain)) => (name, Some(domain)),
        None => (user, None),
    }
}

impl VarTable for Vars {
    fn short(&self, key: u8) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.short == Some(key))
            .map(|e| e.value.as_str())
    }

    fn long(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.long == Some(name))
            .map(|e| e.value.as_str())
    }

    fn func(&self, name: &str, data: &str) -> Option<String> {
        if name != "userdb" {
            return None;
        }
        // `%{userdb:field[:default]}`
        let (field, default) = match data.split_once(':') {
            Some((field, default)) => (field, default),
            None => (data, ""),
        };
        let found = self
            .userdb_fields
            .as_ref()
            .and_then(|fields| fields.iter().find(|(k, _)| k == field));
        Some(match found {
            Some((_, value)) => value.clone(),
            None => default.to_string(),
        })
    }
}

/// Why a template did not expand cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarError {
    /// Dovecot's message, e.g. `Unknown variable '%x'`.
    pub message: String,
    /// What Dovecot produces anyway (unknown variables as `UNSUPPORTED_VARIABLE_<name>`).
    pub expanded: String,
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VarError {}

/// Expands every `%` variable in `template`.
pub fn expand(template: &str, table: &dyn VarTable) -> Result<String, VarError> {
    let mut out = Vec::with_capacity(template.len());
    let mut error = None;
    expand_into(&mut out, template.as_bytes(), table, &mut error);
    let expanded = match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => {
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            error.get_or_insert_with(|| {
                "Expansion cut a multi-byte UTF-8 character (offset or width)".to_string()
            });
            lossy
        }
    };
    match error {
        None => Ok(expanded),
        Some(message) => Err(VarError { message, expanded }),
    }
}

/// Whether `template` uses the variable `%<short>` or `%{<long>}` (Dovecot's `var_has_key`),
/// e.g. to require a home directory only when `%h` is used.
pub fn uses_var(template: &str, short: u8, long: &str) -> bool {
    let s = template.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 1 < s.len() {
            i += 1;
            let spec = parse_spec(s, i);
            let key_at = spec.next;
            if key_at < s.len() && s[key_at] == b'{' {
                if let Some(close) = s[key_at + 1..].iter().position(|&c| c == b'}') {
                    if &s[key_at + 1..key_at + 1 + close] == long.as_bytes() {
                        return true;
                    }
                    i = key_at + 1 + close;
                }
            } else if key_at < s.len() && s[key_at] == short {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The one-letter keys `template` uses, in order (`%u`, `%08Xv`; `%{...}` and `%%` are not
/// counted): Dovecot's loop over `var_get_key`, as pop3 builds its UIDL key mask with.
pub fn short_keys(template: &str) -> Vec<u8> {
    let s = template.as_bytes();
    let mut keys = Vec::new();
    let mut i = 0;
    while i + 1 < s.len() {
        if s[i] == b'%' {
            let key_at = parse_spec(s, i + 1).next;
            match s.get(key_at) {
                Some(b'{') | Some(b'%') | None => {}
                Some(&key) => keys.push(key),
            }
            i = key_at;
        }
        i += 1;
    }
    keys
}

/// Whether `template` has any variable at all, `%%` not counting (Dovecot's loop over
/// `var_get_key`, e.g. for a passwd-file path that names one file per user or domain).
pub fn has_vars(template: &str) -> bool {
    let s = template.as_bytes();
    let mut i = 0;
    while i + 1 < s.len() {
        if s[i] == b'%' {
            let key_at = parse_spec(s, i + 1).next;
            if s.get(key_at) != Some(&b'%') {
                return true;
            }
            i = key_at;
        }
        i += 1;
    }
    false
}

/// How a variable's value is transformed.
#[derive(Clone, Copy)]
enum Modifier {
    Lower,
    Upper,
    Escape,
    Hex,
    Reverse,
    Hash,
    NewHash,
    Md5,
    LdapDn,
    Trim,
}

impl Modifier {
    fn from_byte(c: u8) -> Option<Modifier> {
        Some(match c {
            b'L' => Modifier::Lower,
            b'U' => Modifier::Upper,
            b'E' => Modifier::Escape,
            b'X' => Modifier::Hex,
            b'R' => Modifier::Reverse,
            b'H' => Modifier::Hash,
            b'N' => Modifier::NewHash,
            b'M' => Modifier::Md5,
            b'D' => Modifier::LdapDn,
            b'T' => Modifier::Trim,
            _ => return None,
        })
    }
}

/// Dovecot applies at most this many modifiers to one variable.
const MAX_MODIFIERS: usize = 10;

/// `[-][0]<width>[.[0][-]<width>]<modifiers>` after a `%`.
struct Spec {
    offset: i64,
    width: i64,
    zero_padding: bool,
    modifiers: Vec<Modifier>,
    /// Index of the variable key (a letter or `{`).
    next: usize,
}

fn parse_spec(s: &[u8], mut i: usize) -> Spec {
    let mut sign = 1i64;
    let mut offset = 0i64;
    let mut width = 0i64;
    let mut zero_padding = false;
    if s.get(i) == Some(&b'-') {
        sign = -1;
        i += 1;
    }
    if s.get(i) == Some(&b'0') {
        zero_padding = true;
        i += 1;
    }
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        width = width.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        offset = sign * width;
        sign = 1;
        width = 0;
        i += 1;
        // A zero-prefixed offset means nothing; zero padding goes with the width.
        zero_padding = false;
        if s.get(i) == Some(&b'0') {
            zero_padding = true;
            i += 1;
        }
        if s.get(i) == Some(&b'-') {
            sign = -1;
            i += 1;
        }
        while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
            width = width.saturating_mul(10).saturating_add(i64::from(d - b'0'));
            i += 1;
        }
        width *= sign;
    }
    let mut modifiers = Vec::new();
    while modifiers.len() < MAX_MODIFIERS {
        match s.get(i).copied().and_then(Modifier::from_byte) {
            Some(m) => {
                modifiers.push(m);
                i += 1;
            }
            None => break,
        }
    }
    Spec {
        offset,
        width,
        zero_padding,
        modifiers,
        next: i,
    }
}

/// The outcome of looking a variable up, as Dovecot's `ret` values.
enum Lookup {
    Found(Vec<u8>),
    /// Unknown variable: its placeholder text goes out unmodified.
    Unknown(Vec<u8>, String),
    /// A failing function (`%{if;...}` with bad arguments): nothing goes out.
    Failed(String),
}

fn expand_into(out: &mut Vec<u8>, s: &[u8], table: &dyn VarTable, error: &mut Option<String>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'%' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let mut spec = parse_spec(s, i + 1);
        i = spec.next;
        let Some(&key) = s.get(i) else {
            // A lone `%` at the end (with its modifiers) produces nothing.
            break;
        };
        let lookup = if key == b'{' && s[i..].contains(&b'}') {
            let (inner, close) = long_key_span(s, i);
            i = close;
            lookup_long(&s[inner.0..inner.1], table)
        } else {
            lookup_short(key, table)
        };
        i += 1;
        let value = match lookup {
            Lookup::Found(v) => v,
            Lookup::Unknown(text, message) => {
                error.get_or_insert(message);
                out.extend_from_slice(&text);
                continue;
            }
            Lookup::Failed(message) => {
                error.get_or_insert(message);
                continue;
            }
        };
        let mut value = value;
        for m in spec.modifiers.clone() {
            value = apply_modifier(m, value, &mut spec);
        }
        let value: &[u8] = if spec.offset < 0 {
            let from_end = spec.offset.unsigned_abs() as usize;
            if value.len() > from_end {
                &value[value.len() - from_end..]
            } else {
                &value
            }
        } else {
            let skip = (spec.offset as usize).min(value.len());
            &value[skip..]
        };
        if spec.width == 0 {
            out.extend_from_slice(value);
        } else if !spec.zero_padding {
            // A negative width cuts that many bytes off the end; Dovecot's size_t arithmetic
            // makes a cut longer than the value keep all of it.
            let max = if spec.width < 0 {
                let cut = spec.width.unsigned_abs() as usize;
                value.len().checked_sub(cut).unwrap_or(value.len())
            } else {
                spec.width as usize
            };
            out.extend_from_slice(&value[..max.min(value.len())]);
        } else {
            // `%05d`-like padding, never truncating.
            let pad = (spec.width.max(0) as usize).saturating_sub(value.len());
            out.extend(std::iter::repeat_n(b'0', pad));
            out.extend_from_slice(value);
        }
    }
}

/// The key inside `%{...}` starting at `open` (the `{`): (key start, key end) and the index
/// of the closing `}` (or the end of the template when braces do not balance).
fn long_key_span(s: &[u8], open: usize) -> ((usize, usize), usize) {
    let mut depth = 1;
    let mut escape = false;
    let mut j = open + 1;
    while j < s.len() {
        let c = s[j];
        if escape {
            escape = false;
        } else if c == b'\\' {
            escape = true;
        } else if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                return ((open + 1, j), j);
            }
        }
        j += 1;
    }
    // Unbalanced: the key runs to the end of the template.
    ((open + 1, s.len()), s.len())
}

fn lookup_short(key: u8, table: &dyn VarTable) -> Lookup {
    if let Some(v) = table.short(key) {
        return Lookup::Found(v.as_bytes().to_vec());
    }
    if key == b'%' {
        return Lookup::Found(b"%".to_vec());
    }
    let shown = String::from_utf8_lossy(&[key]).into_owned();
    Lookup::Unknown(
        format!("UNSUPPORTED_VARIABLE_{shown}").into_bytes(),
        format!("Unknown variable '%{shown}'"),
    )
}

/// Dovecot's hash methods, reachable as `%{md5:field}` etc. (case-insensitively).
const HASH_METHODS: &[&str] = &[
    "md4", "md5", "sha1", "sha256", "sha384", "sha512", "sha3-256", "sha3-512", "size", "pkcs5",
];

fn lookup_long(key: &[u8], table: &dyn VarTable) -> Lookup {
    let key_str = String::from_utf8_lossy(key);
    if let Some(v) = table.long(&key_str) {
        return Lookup::Found(v.as_bytes().to_vec());
    }
    match &*key_str {
        "pid" => return Lookup::Found(std::process::id().to_string().into_bytes()),
        "uid" => return Lookup::Found(nix::unistd::geteuid().to_string().into_bytes()),
        "gid" => return Lookup::Found(nix::unistd::getegid().to_string().into_bytes()),
        "hostname" => {
            let name = crate::hostname::hostname().unwrap_or_default();
            return Lookup::Found(name.as_bytes().to_vec());
        }
        _ => {}
    }
    let (name, data) = match key_str.split_once(':') {
        Some((name, data)) => (name, data),
        None => (&*key_str, ""),
    };
    // Extensions match up to a `;` (their arguments), case-insensitively.
    let ext = name.split(';').next().unwrap_or(name);
    if ext.eq_ignore_ascii_case("if") {
        return expand_if(&key_str, table);
    }
    if HASH_METHODS.iter().any(|m| m.eq_ignore_ascii_case(ext)) {
        return Lookup::Failed(format!("%{{{ext}:...}} hashing is not supported by cote"));
    }
    if name == "env" {
        return Lookup::Found(
            std::env::var_os(data)
                .map(|v| v.into_encoded_bytes())
                .unwrap_or_default(),
        );
    }
    if let Some(v) = table.func(name, data) {
        return Lookup::Found(v.into_bytes());
    }
    Lookup::Unknown(
        format!("UNSUPPORTED_VARIABLE_{name}").into_bytes(),
        format!("Unknown variable '%{name}'"),
    )
}

fn apply_modifier(m: Modifier, v: Vec<u8>, spec: &mut Spec) -> Vec<u8> {
    match m {
        Modifier::Lower => v.to_ascii_lowercase(),
        Modifier::Upper => v.to_ascii_uppercase(),
        Modifier::Escape => str_escape(&v),
        Modifier::Hex => {
            let n = std::str::from_utf8(&v)
                .ok()
                .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            format!("{n:x}").into_bytes()
        }
        Modifier::Reverse => v.into_iter().rev().collect(),
        Modifier::Hash => {
            let mut value = str_hash(&v);
            if spec.width != 0 {
                // Dovecot divides by the width converted to unsigned int.
                let modulus = spec.width as u32;
                value = value.checked_rem(modulus).unwrap_or(value);
                spec.width = 0;
            }
            hash_hex(u64::from(value), spec)
        }
        Modifier::NewHash => {
            let digest = Md5::digest(&v);
            let mut value = digest[..8]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            if spec.width != 0 {
                let modulus = spec.width as u64;
                value = value.checked_rem(modulus).unwrap_or(value);
                spec.width = 0;
            }
            // Printed as an unsigned int: the low 32 bits.
            hash_hex(value & 0xffff_ffff, spec)
        }
        Modifier::Md5 => hex(&Md5::digest(&v)).into_bytes(),
        Modifier::LdapDn => {
            let mut out = Vec::with_capacity(v.len());
            for c in v {
                if c == b'.' {
                    out.extend_from_slice(b",dc=");
                } else {
                    out.push(c);
                }
            }
            out
        }
        Modifier::Trim => {
            let mut v = v;
            while v.last().is_some_and(|&c| is_c_space(c)) {
                v.pop();
            }
            v
        }
    }
}

/// Dovecot's `str_escape()` (the `%E` modifier): a backslash before `"`, `'` and `\`.
pub fn str_escape(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &c in value {
        if matches!(c, b'"' | b'\\' | b'\'') {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

/// `%H`/`%N` print the hash in hex, zero-padded to the offset's length, and use up the offset.
fn hash_hex(value: u64, spec: &mut Spec) -> Vec<u8> {
    let mut s = format!("{value:x}");
    let pad = usize::try_from(spec.offset).unwrap_or(0);
    while s.len() < pad {
        s.insert(0, '0');
    }
    spec.offset = 0;
    s.into_bytes()
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Dovecot's `str_hash()` (the ELF-style hash from glib).
fn str_hash(s: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in s {
        if c == 0 {
            break;
        }
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
            h ^= g;
        }
    }
    h
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `%{if;lhs;op;rhs;then[;else]}`: parameters are split at top-level `;` (a `\` escapes the
/// next byte, `%{...}` nests), then each is expanded, then compared.
fn expand_if(key: &str, table: &dyn VarTable) -> Lookup {
    let Some(semi) = key.find(';') else {
        return Lookup::Failed("if: missing parameter(s)".to_string());
    };
    let mut params: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let (mut depth, mut escape, mut maybe_var) = (0u32, false, false);
    for &c in &key.as_bytes()[semi + 1..] {
        if c == b'\\' {
            escape = true;
            continue;
        }
        if escape {
            cur.push(c);
            escape = false;
            continue;
        }
        if c == b'%' {
            maybe_var = true;
        } else if maybe_var && c == b'{' {
            depth += 1;
            maybe_var = false;
        } else if depth > 0 && c == b'}' {
            depth -= 1;
        } else if depth == 0 && c == b';' {
            params.push(std::mem::take(&mut cur));
            continue;
        } else if depth == 0 && c == b':' {
            break;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        params.push(cur);
    }
    match params.len() {
        5 => {}
        4 => params.push(Vec::new()),
        n => return Lookup::Failed(format!("if: requires four or five parameters, got {n}")),
    }
    let mut expanded = Vec::with_capacity(5);
    for p in &params {
        let mut out = Vec::new();
        let mut err = None;
        expand_into(&mut out, p, table, &mut err);
        if let Some(message) = err {
            return Lookup::Failed(message);
        }
        expanded.push(out);
    }
    let op = String::from_utf8_lossy(&expanded[1]).into_owned();
    match compare(&expanded[0], &op, &expanded[2]) {
        Ok(true) => Lookup::Found(expanded.swap_remove(3)),
        Ok(false) => Lookup::Found(expanded.swap_remove(4)),
        Err(message) => Lookup::Failed(message),
    }
}

fn compare(lhs: &[u8], op: &str, rhs: &[u8]) -> Result<bool, String> {
    let number = |v: &[u8], side: &str| {
        parse_intmax(v).ok_or_else(|| {
            format!(
                "if: {} ({side}) is not a number",
                String::from_utf8_lossy(v)
            )
        })
    };
    Ok(match op {
        "==" | "<" | "<=" | ">" | ">=" | "!=" => {
            let (a, b) = (number(lhs, "lhs")?, number(rhs, "rhs")?);
            match op {
                "==" => a == b,
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                ">=" => a >= b,
                _ => a != b,
            }
        }
        "eq" => lhs == rhs,
        "lt" => lhs < rhs,
        "le" => lhs <= rhs,
        "gt" => lhs > rhs,
        "ge" => lhs >= rhs,
        "ne" => lhs != rhs,
        "*" => wildcard_match(lhs, rhs),
        "!*" => !wildcard_match(lhs, rhs),
        "~" | "!~" => {
            return Err(format!(
                "if: regular expression comparator '{op}' is not supported by cote"
            ))
        }
        _ => return Err(format!("if: Unsupported comparator '{op}'")),
    })
}

/// Dovecot's `str_to_intmax`: an optional `-`, then digits only.
fn parse_intmax(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `*` matches any run, `?` any one byte.
fn wildcard_match(data: &[u8], mask: &[u8]) -> bool {
    let (mut d, mut m) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while d < data.len() {
        if m < mask.len() && (mask[m] == b'?' || mask[m] == data[d]) {
            d += 1;
            m += 1;
        } else if m < mask.len() && mask[m] == b'*' {
            star = Some((m, d));
            m += 1;
        } else if let Some((sm, sd)) = star {
            m = sm + 1;
            d = sd + 1;
            star = Some((sm, sd + 1));
        } else {
            return false;
        }
    }
    mask[m..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests;
