//! `$name` and `$ENV:NAME` in unquoted values (Dovecot's `config_write_keyvariable`).

use super::values::white;

/// What a variable lookup found.
pub(crate) enum Lookup {
    /// The setting's current value, as `doveconf` prints it.
    Value(String),
    /// No such setting.
    Unknown,
    /// A setting that has no single value (a section list or a free-form list).
    Invalid,
}

/// Expands the variables in `value`, the value of `key`.
///
/// The value is split into tokens at spaces; runs of white space between tokens become one
/// space. A token is a variable if it starts with `$`. Only self-references (`key = $key x`)
/// are expanded unless `expand_all` (Dovecot's `-x` and its config service expand all).
/// `lookup(name, self_reference)` gives a setting's value; for a self-reference it gives the
/// value the setting had before this line (in the enclosing filter if this one has none).
pub(crate) fn expand(
    key: &str,
    value: &str,
    expand_all: bool,
    mut lookup: impl FnMut(&str, bool) -> Lookup,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    loop {
        let (token, after) = match rest.find(' ') {
            Some(end) => (&rest[..end], Some(&rest[end..])),
            None => (rest, None),
        };
        let self_reference = key == token.strip_prefix('$').unwrap_or(token);
        match token.strip_prefix('$') {
            None => out.push_str(token),
            Some(_) if !expand_all && !self_reference => out.push_str(token),
            Some(name) => match name.strip_prefix("ENV:") {
                Some(env) => {
                    if let Some(val) = std::env::var_os(env) {
                        out.push_str(&val.to_string_lossy());
                    }
                }
                None => match lookup(name, self_reference) {
                    Lookup::Value(val) => out.push_str(&val),
                    Lookup::Unknown => return Err(format!("Unknown variable: ${name}")),
                    Lookup::Invalid => return Err(format!("Invalid variable: ${name}")),
                },
            },
        }
        let Some(after) = after else {
            break;
        };
        out.push(' ');
        rest = after.trim_start_matches(white);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str, _self_reference: bool) -> Lookup {
        match name {
            "mail_plugins" => Lookup::Value("acl".into()),
            "protocols" => Lookup::Value("".into()),
            "plugin" => Lookup::Invalid,
            _ => Lookup::Unknown,
        }
    }

    #[test]
    fn tokens() {
        let run = |key: &str, value: &str, all: bool| expand(key, value, all, lookup);
        assert_eq!(
            run("mail_plugins", "$mail_plugins quota", false),
            Ok("acl quota".into())
        );
        assert_eq!(
            run("protocols", "$protocols imap", false),
            Ok(" imap".into())
        );
        assert_eq!(
            run("x", "$mail_plugins  b", false),
            Ok("$mail_plugins b".into())
        );
        assert_eq!(run("x", "$mail_plugins  b", true), Ok("acl b".into()));
        assert_eq!(
            run("x", "a$mail_plugins", true),
            Ok("a$mail_plugins".into())
        );
        assert_eq!(run("x", "$nope", false), Ok("$nope".into()));
        assert_eq!(
            run("x", "$nope", true),
            Err("Unknown variable: $nope".into())
        );
        assert_eq!(
            run("nope", "$nope", false),
            Err("Unknown variable: $nope".into())
        );
        assert_eq!(
            run("x", "$plugin", true),
            Err("Invalid variable: $plugin".into())
        );
        assert_eq!(
            run("x", "$ENV:COTE_SURELY_UNSET_VAR y", true),
            Ok(" y".into())
        );
        assert_eq!(run("x", "$ENV:PATH", false), Ok("$ENV:PATH".into()));
    }
}
