//! IMAP URLs (RFC 5092, with RFC 5550's `;PARTIAL=` and RFC 4467's URLAUTH parts): parsed
//! the way Dovecot 2.3 parses them — the same forms accepted, relative references resolved
//! against a base URL by its rules, the same error texts (they reach clients in `[BADURL]`
//! answers) — and written back.
//!
//! A relative reference is resolved Dovecot's way, which differs from RFC 3986's merge: the
//! base mailbox name counts as if it ended in `/` (`Sub` relative to `INBOX` is `INBOX/Sub`),
//! and the base's UIDVALIDITY is kept unless a `..` climbs over a `/` of its mailbox name.

mod uri;

use uri::Cursor;

/// A parsed IMAP URL. Text values are %-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImapUrl {
    /// The server (`None` in a base made of a mailbox alone).
    pub host: Option<String>,
    pub port: Option<u16>,
    pub userid: Option<String>,
    /// `;AUTH=` (`*` for any).
    pub auth_type: Option<String>,
    /// The mailbox as IMAP names it (UTF-8, the namespace's separator).
    pub mailbox: Option<String>,
    /// 0: not given.
    pub uidvalidity: u32,
    /// 0: a message list, not a message.
    pub uid: u32,
    pub section: Option<String>,
    /// `;PARTIAL=offset[.length]`.
    pub partial: Option<Partial>,
    /// A message list's search program (`?...`).
    pub search_program: Option<String>,
    pub urlauth: Option<UrlAuth>,
}

/// RFC 5550's `;PARTIAL=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub offset: u64,
    /// `None`: to the end.
    pub length: Option<u64>,
}

/// The URLAUTH parts (RFC 4467) after a message part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlAuth {
    /// The URL up to and including `;URLAUTH=access` (what the token authorizes).
    pub rump: String,
    /// `;EXPIRE=`: UTC seconds.
    pub expire: Option<i64>,
    /// `submit`, `user`, `authuser`, `anonymous` or another application.
    pub application: String,
    /// The user after `+`.
    pub access_user: Option<String>,
    /// The verifier: mechanism and token; `None` for a rump URL.
    pub verifier: Option<(String, Vec<u8>)>,
}

/// Which URLs a caller takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Only relative references (no scheme, no authority): CATENATE's URLs.
    pub require_relative: bool,
    /// `;EXPIRE=` and `;URLAUTH=` may follow a message part.
    pub allow_urlauth: bool,
}

/// Parses `url`, resolving a relative reference against `base` (without a base, relative
/// references are refused). The error is Dovecot's text.
pub fn parse(url: &[u8], base: Option<&ImapUrl>, options: ParseOptions) -> Result<ImapUrl, String> {
    let mut cursor = Cursor::new(url);
    let mut parsed = ImapUrl::default();
    let has_scheme = match cursor.scheme() {
        Some(scheme) if !scheme.eq_ignore_ascii_case(b"imap") => {
            return Err("Not an IMAP URL".into())
        }
        Some(_) => true,
        None => false,
    };
    let authority = cursor.authority()?;
    let relative = match &authority {
        Some(auth) => {
            if auth.host.is_empty() {
                return Err("IMAP URL does not allow empty host identifier".into());
            }
            if let Some(userinfo) = auth.userinfo {
                parse_userinfo(userinfo, &mut parsed)?;
            }
            parsed.host = Some(auth.host.clone());
            parsed.port = auth.port;
            if options.require_relative {
                return Err("Relative URL required".into());
            }
            false
        }
        None if has_scheme => {
            return Err("Absolute IMAP URL requires `//' after `imap:'".into());
        }
        None => {
            let Some(base) = base else {
                return Err("Relative URL not allowed".into());
            };
            parsed.host = base.host.clone();
            parsed.port = base.port;
            parsed.userid = base.userid.clone().filter(|u| !u.is_empty());
            parsed.auth_type = base.auth_type.clone().filter(|a| !a.is_empty());
            true
        }
    };
    let path = cursor.path()?;
    let mut is_message_list = false;
    if path.is_some() || relative {
        let (segments, climb) = match &path {
            Some(path) => (Some(path.segments.as_slice()), path.relative),
            None => (None, 1),
        };
        let path_parser = PathParser {
            base: if relative { base } else { None },
            options,
            relative,
        };
        let rump_end = url.len() - remaining_after_path(&cursor);
        is_message_list = path_parser.parse(segments, climb, &mut parsed, &url[..rump_end])? == 0;
    }
    if let Some(query) = cursor.query()? {
        if !is_message_list {
            return Err("Search query part only valid for messagelist-type IMAP URL".into());
        }
        if query.is_empty() {
            return Err("Empty IMAP URL search query not allowed".into());
        }
        parsed.search_program = Some(text(uri::decode(query)?)?);
    }
    if cursor.fragment()?.is_some() {
        return Err("Fragment component not allowed in IMAP URL".into());
    }
    Ok(parsed)
}

/// How many bytes follow the path (the query and fragment).
fn remaining_after_path(cursor: &Cursor<'_>) -> usize {
    cursor.data.len() - cursor.pos
}

/// `enc-user [";AUTH=" enc-auth-type]`.
fn parse_userinfo(userinfo: &[u8], url: &mut ImapUrl) -> Result<(), String> {
    let shown = || String::from_utf8_lossy(userinfo).into_owned();
    let user_end = userinfo
        .iter()
        .position(|&c| c == b';')
        .unwrap_or(userinfo.len());
    if userinfo[..user_end].contains(&b':') {
        return Err(format!("Stray ':' in userinfo `{}'", shown()));
    }
    let auth = &userinfo[user_end..];
    if !auth.is_empty() {
        if auth.len() < 6 || !auth[..6].eq_ignore_ascii_case(b";AUTH=") {
            return Err(format!("Stray ';' in userinfo `{}'", shown()));
        }
        if let Some(&c) = auth[6..].iter().find(|&&c| c == b';' || c == b':') {
            return Err(format!(
                "Stray '{}' in userinfo `{}'",
                char::from(c),
                shown()
            ));
        }
    }
    if user_end > 0 {
        url.userid = Some(text(uri::decode(&userinfo[..user_end])?)?);
    }
    if !auth.is_empty() {
        if auth.len() == 6 {
            return Err("Empty auth-type value after ';AUTH='".into());
        }
        url.auth_type = Some(text(uri::decode(&auth[6..])?)?);
    }
    Ok(())
}

/// Decoded bytes as text. Deliberate difference: Dovecot keeps names that are not UTF-8 and
/// fails later, when it looks for such a mailbox; cote refuses them here.
fn text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| "IMAP URL part is not valid UTF-8".to_string())
}

/// Dovecot's `str_sanitize(s, 80)` for path text quoted in errors.
fn shown(s: &[u8]) -> String {
    crate::log::str_sanitize(s, 80)
}

/// A number of the URL (`nz-number` and friends): digits only.
fn number<T: std::str::FromStr>(value: &[u8]) -> Result<T, String> {
    if !value.first().is_some_and(u8::is_ascii_digit) {
        return Err(format!(
            "Value '{}' is not a valid IMAP number",
            String::from_utf8_lossy(value)
        ));
    }
    std::str::from_utf8(value)
        .ok()
        .filter(|v| v.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "IMAP number is too high".to_string())
}

/// Case-insensitive `prefix` at the start of `s`: what follows it.
fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn find(s: &[u8], c: u8) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

/// Reads `icommand` from the path segments (Dovecot's `imap_url_parse_path`).
struct PathParser<'b> {
    base: Option<&'b ImapUrl>,
    options: ParseOptions,
    relative: bool,
}

/// The mailbox or section text built from path segments, with whether it ends in a `/` that
/// came from the base (then the next segment adds none).
struct Joined {
    text: Vec<u8>,
    ends_in_slash: bool,
}

impl Joined {
    fn new() -> Joined {
        Joined {
            text: Vec::new(),
            ends_in_slash: false,
        }
    }

    /// The base's text up to `end`.
    fn from_base(base: &str, end: usize) -> Joined {
        Joined {
            text: base.as_bytes()[..end].to_vec(),
            ends_in_slash: end > 0 && base.as_bytes()[end - 1] == b'/',
        }
    }

    fn separator_needed(&self) -> bool {
        !self.ends_in_slash && !self.text.is_empty()
    }

    fn push_decoded(&mut self, raw: &[u8]) -> Result<(), String> {
        self.text.extend(uri::decode(raw)?);
        self.ends_in_slash = false;
        Ok(())
    }
}

/// Where the part of `s` kept by climbing `climb` levels ends, counting `/`s from the end
/// (Dovecot's scan: it starts at the position after the last byte). Each `/` passed
/// decrements `climb`; stops at the one that brings it to zero. Returns the end and the
/// levels still to climb; `on_slash` is called at every `/` passed.
fn climb_back(s: &[u8], mut climb: isize, mut on_slash: impl FnMut()) -> (usize, isize) {
    let mut p = s.len();
    while p > 0 && climb > 0 {
        if s.get(p) == Some(&b'/') {
            on_slash();
            climb -= 1;
            if climb <= 0 {
                break;
            }
        }
        p -= 1;
    }
    (p, climb)
}

impl PathParser<'_> {
    /// Fills `url` from the path; returns its UID (0: a message list). `rump_source` is the
    /// URL up to the end of the path (for URLAUTH's rump).
    fn parse(
        &self,
        segments: Option<&[&[u8]]>,
        climb: usize,
        url: &mut ImapUrl,
        rump_source: &[u8],
    ) -> Result<u32, String> {
        let mut mailbox = Joined::new();
        let mut section: Option<Joined> = None;
        let mut uid = 0u32;
        let mut uidvalidity = 0u32;
        let mut partial: Option<Partial> = None;
        let mut extension: Option<&[u8]> = None;

        if let (Some(base), true) = (self.base, climb > 0) {
            let mut rel = climb as isize;
            if let Some(base_partial) = base.partial {
                rel -= 1;
                if rel <= 0 {
                    partial = Some(base_partial);
                }
            }
            if let Some(base_section) = &base.section {
                let (end, left) = climb_back(base_section.as_bytes(), rel, || {});
                rel = left - 1;
                if rel <= 0 && end > 0 {
                    section = Some(Joined::from_base(base_section, end));
                }
            }
            if base.uid > 0 {
                rel -= 1;
                if rel <= 0 {
                    uid = base.uid;
                }
            }
            if let Some(base_mailbox) = &base.mailbox {
                uidvalidity = base.uidvalidity;
                // The mailbox name counts as ending in '/'.
                if !base_mailbox.ends_with('/') && base.uid == 0 && rel > 0 {
                    rel -= 1;
                }
                let (end, left) = climb_back(base_mailbox.as_bytes(), rel, || uidvalidity = 0);
                rel = left - 1;
                if rel <= 0 && end > 0 {
                    mailbox = Joined::from_base(base_mailbox, end);
                }
            }
        }

        if let Some(segments) = segments {
            let mut i = 0;
            if climb == 0 || (partial.is_none() && section.is_none()) {
                // The mailbox: segments up to the one holding a ';'.
                let mut semicolon = None;
                while let Some(&segment) = segments.get(i) {
                    if let Some(at) = find(segment, b';') {
                        semicolon = Some(at);
                        break;
                    }
                    if !segment.is_empty() {
                        if i > 0 || mailbox.separator_needed() {
                            mailbox.text.push(b'/');
                        }
                        mailbox.push_decoded(segment)?;
                    }
                    i += 1;
                }
                if let Some(at) = semicolon {
                    let segment = segments[i];
                    if let Some(value) = strip_prefix_ci(&segment[at..], b";UIDVALIDITY=") {
                        if at > 0 {
                            if i > 0 || mailbox.separator_needed() {
                                mailbox.text.push(b'/');
                            }
                            mailbox.push_decoded(&segment[..at])?;
                        }
                        if value.contains(&b';') {
                            return Err("Encountered stray ';' after UIDVALIDITY".into());
                        }
                        if value.is_empty() {
                            return Err("Empty UIDVALIDITY value".into());
                        }
                        uidvalidity = number(value)?;
                        if uidvalidity == 0 {
                            return Err("UIDVALIDITY cannot be zero".into());
                        }
                        i += 1;
                    } else if at > 0 {
                        return Err("Encountered stray ';' in mailbox reference".into());
                    }
                }
                // `iuid`
                if let Some(mut value) = segments.get(i).and_then(|s| strip_prefix_ci(s, b";UID="))
                {
                    if let Some(at) = find(value, b';') {
                        if i + 1 < segments.len() {
                            return Err("Encountered stray ';' in UID path segment".into());
                        }
                        extension = Some(&value[at..]);
                        value = &value[..at];
                    }
                    if value.is_empty() {
                        return Err("Empty UID value".into());
                    }
                    uid = number(value)?;
                    if uid == 0 {
                        return Err("UID cannot be zero".into());
                    }
                    i += 1;
                }
            }

            if i < segments.len() && uid > 0 {
                // `isection`: it may hold '/'s, so segments are joined up to one with a ';'.
                let starts_section = strip_prefix_ci(segments[i], b";SECTION=");
                if section.is_some() || starts_section.is_some() {
                    let mut value = match starts_section {
                        Some(rest) if section.is_none() => rest,
                        _ => segments[i],
                    };
                    let joined = section.get_or_insert_with(Joined::new);
                    let semicolon = loop {
                        if let Some(at) = find(value, b';') {
                            break Some(at);
                        }
                        if joined.separator_needed() {
                            joined.text.push(b'/');
                        }
                        if !value.is_empty() {
                            joined.push_decoded(value)?;
                        }
                        i += 1;
                        match segments.get(i) {
                            Some(&next) => value = next,
                            None => break None,
                        }
                    };
                    if let Some(at) = semicolon.filter(|&at| at > 0) {
                        if i + 1 < segments.len() {
                            return Err("Encountered stray ';' in SECTION path segment".into());
                        }
                        extension = Some(&value[at..]);
                        if joined.separator_needed() {
                            joined.text.push(b'/');
                        }
                        joined.push_decoded(&value[..at])?;
                        i += 1;
                    }
                    if joined.text.is_empty() {
                        return Err("Empty SECTION value".into());
                    }
                }
                // `ipartial`
                if let Some(mut value) = segments
                    .get(i)
                    .and_then(|s| strip_prefix_ci(s, b";PARTIAL="))
                {
                    if let Some(at) = find(value, b';') {
                        extension = Some(&value[at..]);
                        value = &value[..at];
                    }
                    partial = Some(parse_partial(value)?);
                    i += 1;
                }
            }

            if let Some(&segment) = segments.get(i) {
                if extension.is_some() || !segment.is_empty() || i + 1 < segments.len() {
                    return Err(format!(
                        "Unexpected IMAP URL path segment: `{}'",
                        shown(segment)
                    ));
                }
            }
        }

        if let Some(extension) = extension {
            match self.urlauth(extension, rump_source)? {
                Some(urlauth) => url.urlauth = Some(urlauth),
                None => {
                    return Err(format!(
                        "Unrecognized IMAP URL extension: {}",
                        shown(extension)
                    ))
                }
            }
        }

        if !mailbox.text.is_empty() {
            url.mailbox = Some(text(mailbox.text)?);
        }
        url.uidvalidity = uidvalidity;
        url.uid = uid;
        if let Some(section) = section {
            url.section = Some(text(section.text)?);
        }
        url.partial = partial;
        Ok(uid)
    }

    /// `[";EXPIRE=" date-time] ";URLAUTH=" access [":" mechanism ":" token]`; `None` when
    /// `extension` is something else.
    fn urlauth(&self, extension: &[u8], rump_source: &[u8]) -> Result<Option<UrlAuth>, String> {
        let mut rest = extension;
        let mut expire = None;
        if let Some(after) = strip_prefix_ci(rest, b";EXPIRE=") {
            if !self.options.allow_urlauth {
                return Err("`;EXPIRE=' is not allowed in this context".into());
            }
            if let Some(end) = find(after, b';') {
                expire =
                    Some(parse_iso8601(&after[..end]).ok_or("invalid date-time for `;EXPIRE='")?);
                rest = &after[end..];
            }
        }
        let Some(access) = strip_prefix_ci(rest, b";URLAUTH=") else {
            if expire.is_some() {
                return Err("`;EXPIRE=' without `;URLAUTH='".into());
            }
            return Ok(None);
        };
        if !self.options.allow_urlauth {
            return Err("`;URLAUTH=' is not allowed in this context".into());
        }
        if self.relative {
            return Err("IMAP URLAUTH requires absolute URL".into());
        }
        let access_end = match find(access, b':') {
            None if access.is_empty() => return Err("Missing URLAUTH access specifier".into()),
            None => access.len(),
            Some(0) => return Err("Empty URLAUTH access specifier".into()),
            Some(at) => at,
        };
        let spec = &access[..access_end];
        let (application, access_user) = match find(spec, b'+') {
            None => (spec, None),
            Some(0) => return Err("Empty URLAUTH access application".into()),
            Some(plus) if plus + 1 == spec.len() => {
                return Err(format!(
                    "Empty URLAUTH access user for `{}' application",
                    String::from_utf8_lossy(&spec[..plus])
                ))
            }
            Some(plus) => (&spec[..plus], Some(text(uri::decode(&spec[plus + 1..])?)?)),
        };
        let verifier_part = &access[access_end..];
        let rump_len = rump_source.len() - verifier_part.len();
        let mut urlauth = UrlAuth {
            rump: String::from_utf8_lossy(&rump_source[..rump_len]).into_owned(),
            expire,
            application: String::from_utf8_lossy(application).into_owned(),
            access_user,
            verifier: None,
        };
        let Some(verifier) = verifier_part.strip_prefix(b":") else {
            return Ok(Some(urlauth));
        };
        if verifier.is_empty() {
            return Err("Missing URLAUTH verifier".into());
        }
        let mechanism_end = match find(verifier, b':') {
            Some(at) if at + 1 < verifier.len() => at,
            _ => return Err("Missing URLAUTH token".into()),
        };
        if mechanism_end == 0 {
            return Err("Missing URLAUTH mechanism".into());
        }
        let token = &verifier[mechanism_end + 1..];
        if token.len() < 32 {
            return Err("Too short URLAUTH token".into());
        }
        let token = decode_hex(token).ok_or("Invalid URLAUTH token")?;
        urlauth.verifier = Some((
            String::from_utf8_lossy(&verifier[..mechanism_end]).into_owned(),
            token,
        ));
        Ok(Some(urlauth))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn format_iso8601_utc(ts: i64) -> String {
    let (year, month0, day, hour, minute, second) = crate::mail::date::civil_from_timestamp(ts);
    format!(
        "{year:04}-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z",
        month0 + 1
    )
}

/// `offset ["." length]`.
fn parse_partial(value: &[u8]) -> Result<Partial, String> {
    if value.is_empty() {
        return Err("Empty PARTIAL value".into());
    }
    let (offset, length) = match find(value, b'.') {
        Some(dot) => {
            if dot + 1 == value.len() {
                return Err("Empty PARTIAL size".into());
            }
            let length: u64 = number(&value[dot + 1..])?;
            if length == 0 {
                return Err("PARTIAL size cannot be zero".into());
            }
            if dot == 0 {
                return Err("Empty PARTIAL offset".into());
            }
            (&value[..dot], Some(length))
        }
        None => (value, None),
    };
    Ok(Partial {
        offset: number(offset)?,
        length,
    })
}

fn decode_hex(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

/// RFC 3339 `date-time` (`2011-02-12T12:45:14+01:00`, `...Z`, fractions allowed): UTC
/// seconds.
fn parse_iso8601(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    let digits = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, time) = s.split_once(['T', 't'])?;
    let mut date_parts = date.splitn(3, '-');
    let year = digits(date_parts.next().filter(|y| y.len() == 4)?)?;
    let month = digits(date_parts.next().filter(|m| m.len() == 2)?)?;
    let day = digits(date_parts.next().filter(|d| d.len() == 2)?)?;
    let zone_at = time.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let clock = clock.split('.').next()?;
    let mut clock_parts = clock.splitn(3, ':');
    let hour = digits(clock_parts.next().filter(|h| h.len() == 2)?)?;
    let minute = digits(clock_parts.next().filter(|m| m.len() == 2)?)?;
    let second = digits(clock_parts.next().filter(|s| s.len() == 2)?)?;
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (digits(h)? * 3600 + digits(m)? * 60)
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let utc = crate::mail::date::utc_timestamp(
        year,
        month as u32 - 1,
        day as u32,
        hour as u32,
        minute as u32,
        second as u32,
    );
    Some(utc - offset)
}

impl ImapUrl {
    /// The URL as text: `imap://[user[;AUTH=type]@]host[:port]/[mailbox...]`. Mailbox and
    /// section text is %-encoded where the URL syntax needs it.
    pub fn to_url_string(&self) -> String {
        let mut out = String::from("imap://");
        if self.userid.is_some() || self.auth_type.is_some() {
            if let Some(user) = &self.userid {
                uri::encode(&mut out, user.as_bytes(), is_achar);
            }
            if let Some(auth) = &self.auth_type {
                out.push_str(";AUTH=");
                uri::encode(&mut out, auth.as_bytes(), |c| is_achar(c) || c == b'*');
            }
            out.push('@');
        }
        out.push_str(self.host.as_deref().unwrap_or(""));
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        out.push('/');
        let Some(mailbox) = &self.mailbox else {
            return out;
        };
        encode_mailbox(&mut out, mailbox);
        if self.uidvalidity != 0 {
            out.push_str(&format!(";UIDVALIDITY={}", self.uidvalidity));
        }
        if self.uid == 0 {
            if let Some(search) = &self.search_program {
                out.push('?');
                uri::encode(&mut out, search.as_bytes(), |c| is_bchar(c) || c == b'?');
            }
            return out;
        }
        out.push_str(&format!("/;UID={}", self.uid));
        if let Some(section) = &self.section {
            out.push_str("/;SECTION=");
            uri::encode(&mut out, section.as_bytes(), |c| is_bchar(c) && c != b'/');
        }
        if let Some(partial) = self.partial {
            out.push_str(&format!("/;PARTIAL={}", partial.offset));
            if let Some(length) = partial.length {
                out.push_str(&format!(".{length}"));
            }
        }
        if let Some(urlauth) = &self.urlauth {
            if let Some(expire) = urlauth.expire {
                out.push_str(";EXPIRE=");
                out.push_str(&format_iso8601_utc(expire));
            }
            out.push_str(";URLAUTH=");
            out.push_str(&urlauth.application);
            if let Some(user) = &urlauth.access_user {
                out.push('+');
                uri::encode(&mut out, user.as_bytes(), is_achar);
            }
        }
        out
    }
}

/// `achar`: `uchar / "&" / "="` — unreserved, sub-delims but `;`.
fn is_achar(c: u8) -> bool {
    uri::is_unreserved(c) || (uri::is_sub_delim(c) && c != b';')
}

/// `bchar`: `achar / ":" / "@" / "/"`.
fn is_bchar(c: u8) -> bool {
    is_achar(c) || matches!(c, b':' | b'@' | b'/')
}

/// A mailbox name in a URL path: its `/`s stay as they are when every level between them is
/// a plain name; else `/` and `.` are %-encoded too (an empty, `.` or `..` level would be
/// lost to path resolution).
fn encode_mailbox(out: &mut String, mailbox: &str) {
    let plain_levels = mailbox
        .split('/')
        .all(|level| !level.is_empty() && level != "." && level != "..");
    uri::encode(out, mailbox.as_bytes(), |c| {
        is_bchar(c) && (plain_levels || (c != b'/' && c != b'.'))
    });
}

#[cfg(test)]
mod tests;
