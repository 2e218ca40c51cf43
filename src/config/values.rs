//! Typed setting values: parsing with Dovecot's rules and error texts (lib-settings), and the
//! canonical form `doveconf` prints (`64 k`, `1 mins`, `0600`).

use super::schema::SettingType;

/// One parsed scalar value. Numbers keep Dovecot's widths (`unsigned int` seconds, `uoff_t`
/// sizes) so overflow errors happen where Dovecot's do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Bool(bool),
    Uint(u32),
    Octal(u32),
    /// Seconds.
    Time(u32),
    /// Milliseconds.
    TimeMsecs(u32),
    Size(u64),
    Port(u16),
    /// `None` is Dovecot's NULL string (never set, no default).
    Str(Option<String>),
    /// A string with run-time `%variables`; same storage as `Str`.
    StrVars(Option<String>),
    Enum(String),
}

impl Value {
    /// Parses `text` as a value of type `ty`. Errors are Dovecot's texts
    /// (`Invalid boolean value: x (use yes or no)`). Only scalar types are accepted; the
    /// caller handles sections, lists and aliases.
    pub(crate) fn parse(ty: &SettingType, text: &str) -> Result<Value, String> {
        Ok(match ty {
            SettingType::Bool => Value::Bool(parse_bool(text)?),
            SettingType::Uint => Value::Uint(parse_uint(text)?),
            SettingType::UintOct => Value::Octal(parse_octal(text)?),
            SettingType::Time => Value::Time(parse_time(text, false)?),
            SettingType::TimeMsecs => Value::TimeMsecs(parse_time(text, true)?),
            SettingType::Size => Value::Size(parse_size(text)?),
            SettingType::InPort => Value::Port(parse_port(text)?),
            SettingType::Str => Value::Str(Some(text.to_string())),
            SettingType::StrVars => Value::StrVars(Some(text.to_string())),
            SettingType::Enum(allowed) => {
                if !allowed.contains(&text) {
                    return Err(format!("Invalid value: {text}"));
                }
                Value::Enum(text.to_string())
            }
            SettingType::Sections { .. } | SettingType::StrList | SettingType::Alias(_) => {
                return Err(format!("Invalid value: {text}"))
            }
        })
    }

    /// The built-in default of a scalar setting, from the schema's `doveconf -a` text.
    /// `null` gives the NULL string for string types.
    pub(crate) fn default_for(ty: &SettingType, text: &str, null: bool) -> Value {
        match ty {
            SettingType::Str if null => Value::Str(None),
            SettingType::StrVars if null => Value::StrVars(None),
            SettingType::Enum(allowed) => {
                Value::Enum(allowed.first().copied().unwrap_or(text).to_string())
            }
            _ => match Value::parse(ty, text) {
                Ok(value) => value,
                Err(error) => {
                    debug_assert!(false, "schema default {text:?} does not parse: {error}");
                    Value::zero(ty)
                }
            },
        }
    }

    /// The zero value of a type (what a typed getter returns for a programming error).
    pub(crate) fn zero(ty: &SettingType) -> Value {
        match ty {
            SettingType::Bool => Value::Bool(false),
            SettingType::Uint => Value::Uint(0),
            SettingType::UintOct => Value::Octal(0),
            SettingType::Time => Value::Time(0),
            SettingType::TimeMsecs => Value::TimeMsecs(0),
            SettingType::Size => Value::Size(0),
            SettingType::InPort => Value::Port(0),
            SettingType::StrVars => Value::StrVars(None),
            SettingType::Enum(_) => Value::Enum(String::new()),
            _ => Value::Str(None),
        }
    }

    /// The text `doveconf` prints for this value (`config_export_type`). `None` for a NULL
    /// string, which is never printed.
    pub(crate) fn export(&self) -> Option<String> {
        Some(match self {
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Value::Uint(n) => n.to_string(),
            Value::Octal(n) => format!("0{n:o}"),
            Value::Time(secs) => export_time(*secs),
            Value::TimeMsecs(ms) => {
                if ms % 1000 == 0 {
                    export_time(ms / 1000)
                } else {
                    format!("{ms} ms")
                }
            }
            Value::Size(bytes) => export_size(*bytes),
            Value::Port(port) => port.to_string(),
            Value::Str(s) | Value::StrVars(s) => return s.clone(),
            Value::Enum(s) => s.clone(),
        })
    }
}

pub(crate) fn parse_bool(text: &str) -> Result<bool, String> {
    if text.eq_ignore_ascii_case("yes") || text.eq_ignore_ascii_case("y") || text == "1" {
        Ok(true)
    } else if text.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(format!("Invalid boolean value: {text} (use yes or no)"))
    }
}

/// Leading decimal digits of `text` as u64 (Dovecot's `str_parse_uintmax`): `None` when
/// there is no digit or the number overflows. Returns the number and the rest.
fn parse_leading_u64(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut n: u64 = 0;
    for c in text[..digits].bytes() {
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some((n, &text[digits..]))
}

fn num_error(text: &str) -> &'static str {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match text.strip_prefix('-') {
        Some(rest) if numeric(rest) => "Number too small",
        Some(_) => "Not a valid number",
        None if numeric(text) => "Number too large",
        None => "Not a valid number",
    }
}

/// A `*_client_workarounds` list as Dovecot reads it: names separated by spaces or commas,
/// any case. Sets the flag of each name in `known`; an unknown name is an error naming
/// `setting`.
pub fn parse_workarounds(
    setting: &str,
    list: &str,
    known: &mut [(&str, &mut bool)],
) -> Result<(), String> {
    for name in list.split([' ', ',']).filter(|n| !n.is_empty()) {
        let lower = name.to_ascii_lowercase();
        match known.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, flag)) => **flag = true,
            None => return Err(format!("{setting}: Unknown workaround: {name}")),
        }
    }
    Ok(())
}

pub(crate) fn parse_uint(text: &str) -> Result<u32, String> {
    match parse_leading_u64(text) {
        Some((n, "")) => {
            u32::try_from(n).map_err(|_| format!("Invalid number {text}: {}", num_error(text)))
        }
        _ => Err(format!("Invalid number {text}: {}", num_error(text))),
    }
}

pub(crate) fn parse_octal(text: &str) -> Result<u32, String> {
    if !text.starts_with('0') {
        return parse_uint(text);
    }
    let mut n: u64 = 0;
    for c in text.bytes() {
        if !(b'0'..=b'7').contains(&c) {
            return Err(format!("Invalid number: {text}"));
        }
        n = n
            .checked_mul(8)
            .map(|n| n + u64::from(c - b'0'))
            .ok_or_else(|| format!("Invalid number: {text}"))?;
    }
    // Dovecot stores it in an unsigned int: higher bits are dropped.
    Ok(n as u32)
}

pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    match parse_leading_u64(text) {
        Some((n, "")) => u16::try_from(n).map_err(|_| format!("Invalid port number {text}")),
        _ => Err(format!("Invalid port number {text}")),
    }
}

/// `unit` is a non-empty prefix of one of `words`, case-insensitively.
fn unit_is(unit: &str, words: &[&str]) -> bool {
    words.iter().any(|word| {
        word.len() >= unit.len()
            && word.as_bytes()[..unit.len()].eq_ignore_ascii_case(unit.as_bytes())
    })
}

/// A time interval: seconds, or milliseconds when `msecs`.
pub(crate) fn parse_time(text: &str, msecs: bool) -> Result<u32, String> {
    let invalid = || format!("Invalid time interval: {text}");
    let (mut num, rest) = parse_leading_u64(text).ok_or_else(invalid)?;
    let unit = rest.trim_start_matches(' ');
    if unit.is_empty() && num != 0 {
        return Err(format!(
            "Time interval '{text}' is missing units (add e.g. 's' for seconds)"
        ));
    }
    let mut multiply: u64 = if msecs { 1000 } else { 1 };
    let mut known = unit.is_empty();
    match unit.bytes().next().map(|c| c.to_ascii_uppercase()) {
        Some(b'S') => known = unit_is(unit, &["secs", "seconds"]),
        Some(b'M') => {
            multiply *= 60;
            if unit_is(unit, &["mins", "minutes"]) {
                known = true;
            } else if unit_is(unit, &["msecs", "mseconds", "millisecs", "milliseconds"]) {
                if !msecs && num % 1000 != 0 {
                    return Err(format!(
                        "Milliseconds not supported for this setting: {text}"
                    ));
                }
                if !msecs {
                    num /= 1000;
                }
                multiply = 1;
                known = true;
            }
        }
        Some(b'H') => {
            multiply *= 60 * 60;
            known = unit_is(unit, &["hours"]);
        }
        Some(b'D') => {
            multiply *= 60 * 60 * 24;
            known = unit_is(unit, &["days"]);
        }
        Some(b'W') => {
            multiply *= 60 * 60 * 24 * 7;
            known = unit_is(unit, &["weeks"]);
        }
        _ => {}
    }
    if !known {
        return Err(invalid());
    }
    if num > u64::from(u32::MAX) / multiply {
        return Err(format!("Time interval is too large: {text}"));
    }
    Ok((num * multiply) as u32)
}

pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || format!("Invalid size: {text}");
    let (num, rest) = parse_leading_u64(text).ok_or_else(invalid)?;
    let mut unit = rest.trim_start_matches(' ').as_bytes();
    let multiply: u64 = match unit.first().map(|c| c.to_ascii_uppercase()) {
        Some(b'B') => 1,
        Some(b'K') => 1 << 10,
        Some(b'M') => 1 << 20,
        Some(b'G') => 1 << 30,
        Some(b'T') => 1 << 40,
        _ => 0,
    };
    if multiply != 0 {
        unit = &unit[1..];
    }
    if multiply > 1 {
        // Also accept `ki` and `kiB`.
        if unit.first().map(|c| c.to_ascii_uppercase()) == Some(b'I') {
            unit = &unit[1..];
        }
        if unit.first().map(|c| c.to_ascii_uppercase()) == Some(b'B') {
            unit = &unit[1..];
        }
    }
    if !unit.is_empty() {
        return Err(invalid());
    }
    let multiply = multiply.max(1);
    num.checked_mul(multiply)
        .ok_or_else(|| format!("Size is too large: {text}"))
}

fn export_time(mut n: u32) -> String {
    if n == 0 {
        return "0".to_string();
    }
    let mut suffix = "secs";
    if n % 60 == 0 {
        n /= 60;
        suffix = "mins";
        if n % 60 == 0 {
            n /= 60;
            suffix = "hours";
            if n % 24 == 0 {
                n /= 24;
                suffix = "days";
                if n % 7 == 0 {
                    n /= 7;
                    suffix = "weeks";
                }
            }
        }
    }
    format!("{n} {suffix}")
}

fn export_size(mut n: u64) -> String {
    if n == 0 {
        return "0".to_string();
    }
    let mut suffix = 'B';
    for next in ['k', 'M', 'G', 'T'] {
        if n % 1024 != 0 {
            break;
        }
        n /= 1024;
        suffix = next;
    }
    format!("{n} {suffix}")
}

/// Removes backslash escapes: each `\` makes the next character literal; a trailing `\` is
/// dropped (Dovecot's `str_unescape`).
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Dovecot's `settings_section_escape`: a section name as one path component.
pub(crate) fn section_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '=' => out.push_str("\\e"),
            '/' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            ' ' => out.push_str("\\_"),
            ',' => out.push_str("\\+"),
            _ => out.push(c),
        }
    }
    out
}

/// Whether `c` is a space or a tab (Dovecot's `IS_WHITE`).
pub(crate) fn white(c: char) -> bool {
    c == ' ' || c == '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workaround_lists() {
        let (mut a, mut b) = (false, false);
        let mut known = [("one-a", &mut a), ("two-b", &mut b)];
        assert_eq!(parse_workarounds("x", " ONE-A,,", &mut known), Ok(()));
        assert_eq!(
            parse_workarounds("x_workarounds", "one-a nope", &mut known),
            Err("x_workarounds: Unknown workaround: nope".to_string())
        );
        assert!(a && !b);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("YES"), Ok(true));
        assert_eq!(parse_bool("y"), Ok(true));
        assert_eq!(parse_bool("1"), Ok(true));
        assert_eq!(parse_bool("No"), Ok(false));
        assert_eq!(
            parse_bool("0"),
            Err("Invalid boolean value: 0 (use yes or no)".to_string())
        );
        assert!(parse_bool("true").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_uint("4294967295"), Ok(u32::MAX));
        assert_eq!(
            parse_uint("4294967296"),
            Err("Invalid number 4294967296: Number too large".to_string())
        );
        assert_eq!(
            parse_uint("-1"),
            Err("Invalid number -1: Number too small".to_string())
        );
        assert_eq!(
            parse_uint("1x"),
            Err("Invalid number 1x: Not a valid number".to_string())
        );
        assert_eq!(
            parse_uint(""),
            Err("Invalid number : Not a valid number".to_string())
        );
        assert_eq!(parse_octal("0600"), Ok(0o600));
        assert_eq!(parse_octal("600"), Ok(600));
        assert_eq!(parse_octal("0800"), Err("Invalid number: 0800".to_string()));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(
            parse_port("65536"),
            Err("Invalid port number 65536".to_string())
        );
        assert_eq!(parse_port(" 1"), Err("Invalid port number  1".to_string()));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0", false), Ok(0));
        assert_eq!(parse_time("30 s", false), Ok(30));
        assert_eq!(parse_time("30secs", false), Ok(30));
        assert_eq!(parse_time("2 m", false), Ok(120));
        assert_eq!(parse_time("2 MIN", false), Ok(120));
        assert_eq!(parse_time("1 h", false), Ok(3600));
        assert_eq!(parse_time("1 d", false), Ok(86400));
        assert_eq!(parse_time("1 weeks", false), Ok(604800));
        assert_eq!(parse_time("2000 ms", false), Ok(2));
        assert_eq!(parse_time("1500 ms", true), Ok(1500));
        assert_eq!(parse_time("2 s", true), Ok(2000));
        assert_eq!(
            parse_time("1500 ms", false),
            Err("Milliseconds not supported for this setting: 1500 ms".to_string())
        );
        assert_eq!(
            parse_time("30", false),
            Err("Time interval '30' is missing units (add e.g. 's' for seconds)".to_string())
        );
        assert_eq!(
            parse_time("3 x", false),
            Err("Invalid time interval: 3 x".to_string())
        );
        assert_eq!(
            parse_time("3 secsx", false),
            Err("Invalid time interval: 3 secsx".to_string())
        );
        assert_eq!(
            parse_time("x", false),
            Err("Invalid time interval: x".to_string())
        );
        assert_eq!(
            parse_time("5000000000 s", false),
            Err("Time interval is too large: 5000000000 s".to_string())
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("10 k"), Ok(10240));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1 tib"), Ok(1 << 40));
        assert_eq!(parse_size("1 Bi"), Err("Invalid size: 1 Bi".to_string()));
        assert_eq!(parse_size("1 kx"), Err("Invalid size: 1 kx".to_string()));
        assert_eq!(
            parse_size("18446744073709551615 k"),
            Err("Size is too large: 18446744073709551615 k".to_string())
        );
    }

    #[test]
    fn exports() {
        assert_eq!(Value::Size(64 * 1024).export().as_deref(), Some("64 k"));
        assert_eq!(Value::Size(1000).export().as_deref(), Some("1000 B"));
        assert_eq!(Value::Size(0).export().as_deref(), Some("0"));
        assert_eq!(Value::Size(256 << 20).export().as_deref(), Some("256 M"));
        assert_eq!(Value::Time(60).export().as_deref(), Some("1 mins"));
        assert_eq!(Value::Time(90).export().as_deref(), Some("90 secs"));
        assert_eq!(Value::Time(7 * 86400).export().as_deref(), Some("1 weeks"));
        assert_eq!(Value::TimeMsecs(1500).export().as_deref(), Some("1500 ms"));
        assert_eq!(Value::TimeMsecs(2000).export().as_deref(), Some("2 secs"));
        assert_eq!(Value::Octal(0o600).export().as_deref(), Some("0600"));
        assert_eq!(Value::Octal(0).export().as_deref(), Some("00"));
        assert_eq!(Value::Str(None).export(), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\\c\n"#), "a\"b\\cn");
        assert_eq!(unescape("a\\"), "a");
        assert_eq!(section_escape("Sent Messages"), "Sent\\_Messages");
        assert_eq!(section_escape("login/x=y,z\\"), "login\\sx\\ey\\+z\\\\");
    }
}
