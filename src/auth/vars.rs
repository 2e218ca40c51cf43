//! Dovecot's `%` variables as the auth process expands them (`%u`, `%Ln`, `%{rip}`,
//! `%1.2d`): in passwd-file paths, `auth_username_format`, `username_format=`, static
//! userdb templates, extra fields and `default_fields`/`override_fields`.
//!
//! This is the auth layer's own expander until the config layer offers a shared one
//! (`config::var_expand`, planned with the maildir work); the syntax follows Dovecot's
//! `var_expand`: `%[-][0]<offset|width>[.[-]<width>]<modifiers><key>` with modifiers L (lower),
//! U (upper), E (backslash-escape `\` and `"`), R (reverse), T (trim trailing space).

/// One variable: its one-letter key (if any), its long name, its value.
#[derive(Debug, Clone)]
pub struct Var {
    pub short: Option<char>,
    pub long: &'static str,
    pub value: Option<String>,
}

/// A set of variables to expand against.
pub trait VarTable {
    fn vars(&self) -> Vec<Var>;

    /// `%{prefix:name}` lookups (`%{passdb:key}`, `%{userdb:key}`): `Some(value)` when the
    /// table knows the prefix.
    fn func(&self, _name: &str) -> Option<String> {
        None
    }
}

impl VarTable for [Var] {
    fn vars(&self) -> Vec<Var> {
        self.to_vec()
    }
}

impl VarTable for Vec<Var> {
    fn vars(&self) -> Vec<Var> {
        self.clone()
    }
}

/// Whether `template` contains any `%` variable other than `%%`.
pub fn has_vars(template: &str) -> bool {
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') | None => {}
                Some(_) => return true,
            }
        }
    }
    false
}

/// Expands `template`. `escape` is applied to every variable's value (after modifiers),
/// e.g. to keep a user name from adding path components.
pub fn expand(
    template: &str,
    table: &dyn VarTable,
    escape: Option<&dyn Fn(&str) -> String>,
) -> Result<String, String> {
    let vars = table.vars();
    let mut out = String::with_capacity(template.len());
    let bytes: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut sign: i64 = 1;
        let mut width: i64 = 0;
        let mut offset: i64 = 0;
        let mut zero_padding = false;
        if bytes.get(i) == Some(&'-') {
            sign = -1;
            i += 1;
        }
        if bytes.get(i) == Some(&'0') {
            zero_padding = true;
            i += 1;
        }
        while let Some(d) = bytes.get(i).and_then(|c| c.to_digit(10)) {
            width = width.saturating_mul(10).saturating_add(i64::from(d));
            i += 1;
        }
        if bytes.get(i) == Some(&'.') {
            offset = sign * width;
            sign = 1;
            width = 0;
            i += 1;
            zero_padding = false;
            if bytes.get(i) == Some(&'0') {
                zero_padding = true;
                i += 1;
            }
            if bytes.get(i) == Some(&'-') {
                sign = -1;
                i += 1;
            }
            while let Some(d) = bytes.get(i).and_then(|c| c.to_digit(10)) {
                width = width.saturating_mul(10).saturating_add(i64::from(d));
                i += 1;
            }
            width *= sign;
        }
        let mut modifiers = Vec::new();
        while let Some(&m) = bytes.get(i) {
            match m {
                'L' | 'U' | 'E' | 'R' | 'T' => modifiers.push(m),
                'X' | 'H' | 'N' | 'M' | 'D' => {
                    return Err(format!("Modifier %{m} is not supported by cote"))
                }
                _ => break,
            }
            i += 1;
        }
        let Some(&key) = bytes.get(i) else {
            break;
        };
        i += 1;
        let value = if key == '%' {
            "%".to_string()
        } else if key == '{' {
            let rest: String = bytes[i..].iter().collect();
            let Some(end) = rest.find('}') else {
                return Err(format!("Unterminated variable %{{{rest}"));
            };
            let name = &rest[..end];
            i += name.chars().count() + 1;
            match table.func(name) {
                Some(v) => v,
                None => long_value(name, &vars)?,
            }
        } else {
            match vars.iter().find(|v| v.short == Some(key)) {
                Some(v) => v.value.clone().unwrap_or_default(),
                None => return Err(format!("Unknown variable '%{key}'")),
            }
        };
        let mut value = modifiers.iter().fold(value, |v, m| apply_modifier(*m, v));
        if key != '%' {
            if let Some(escape) = escape {
                value = escape(&value);
            }
        }
        out.push_str(&cut(&value, offset, width, zero_padding));
    }
    Ok(out)
}

fn long_value(name: &str, vars: &[Var]) -> Result<String, String> {
    if let Some(env) = name.strip_prefix("env:") {
        return Ok(std::env::var(env).unwrap_or_default());
    }
    match name {
        "hostname" => Ok(nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default()),
        "pid" => Ok(std::process::id().to_string()),
        _ => match vars.iter().find(|v| v.long == name) {
            Some(v) => Ok(v.value.clone().unwrap_or_default()),
            None => Err(format!("Unknown variable '{name}'")),
        },
    }
}

fn apply_modifier(modifier: char, value: String) -> String {
    match modifier {
        'L' => value.to_lowercase(),
        'U' => value.to_uppercase(),
        'E' => value.replace('\\', "\\\\").replace('"', "\\\""),
        'R' => value.chars().rev().collect(),
        'T' => value.trim_end().to_string(),
        _ => value,
    }
}

/// Applies `%<offset>.<width>`: a negative offset counts from the end, a negative width
/// drops characters from the end, zero padding pads a short value on the left.
fn cut(value: &str, offset: i64, width: i64, zero_padding: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let len = chars.len() as i64;
    let start = if offset < 0 {
        (len + offset).max(0)
    } else {
        offset.min(len)
    };
    let rest = &chars[start as usize..];
    if width == 0 {
        return rest.iter().collect();
    }
    if zero_padding {
        let pad = (width - rest.len() as i64).max(0) as usize;
        return "0".repeat(pad) + &rest.iter().collect::<String>();
    }
    let keep = if width < 0 {
        (rest.len() as i64 + width).max(0)
    } else {
        width.min(rest.len() as i64)
    };
    rest[..keep as usize].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Var> {
        vec![
            Var {
                short: Some('u'),
                long: "user",
                value: Some("Alice@Example.COM".into()),
            },
            Var {
                short: Some('n'),
                long: "username",
                value: Some("Alice".into()),
            },
            Var {
                short: Some('d'),
                long: "domain",
                value: Some("Example.COM".into()),
            },
        ]
    }

    #[test]
    fn expands_like_dovecot() {
        let t = table();
        assert_eq!(expand("%Lu", &t, None).unwrap(), "alice@example.com");
        assert_eq!(expand("/etc/%d/%n", &t, None).unwrap(), "/etc/Example.COM/Alice");
        assert_eq!(expand("%{user}%%", &t, None).unwrap(), "Alice@Example.COM%");
        assert_eq!(expand("%1n/%2.1Ln", &t, None).unwrap(), "A/i");
        assert_eq!(expand("%-3.2d", &t, None).unwrap(), "CO");
        assert_eq!(expand("%.-1n", &t, None).unwrap(), "Alic");
        assert_eq!(expand("%07n", &t, None).unwrap(), "00Alice");
        assert_eq!(expand("%05.3n", &t, None).unwrap(), "");
        assert!(expand("%q", &t, None).unwrap_err().contains("Unknown variable"));
        assert!(has_vars("/a/%u") && !has_vars("/a/%%b"));
    }

    #[test]
    fn escape_applies_to_values_only() {
        let t = table();
        let slash = |s: &str| s.replace('/', "_");
        assert_eq!(expand("/x/%n", &t, Some(&slash)).unwrap(), "/x/Alice");
    }
}
