//! Filters: `protocol`, `local`, `remote` and `local_name` blocks, which settings a
//! connection sees, and in which order filter trees merge (Dovecot's config-filter.c).

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP network: address as written and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    pub ip: IpAddr,
    pub bits: u32,
}

impl Net {
    fn max_bits(ip: &IpAddr) -> u32 {
        if ip.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// `local 10.0.0.0/8 {` as doveconf prints it.
    pub(crate) fn display(&self) -> String {
        if self.bits == Self::max_bits(&self.ip) {
            self.ip.to_string()
        } else {
            format!("{}/{}", self.ip, self.bits)
        }
    }

    /// Whether `ip` lies inside this network (Dovecot's `net_is_in_network`).
    pub(crate) fn contains(&self, ip: &IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(*ip),
            v4 => *v4,
        };
        let (a, b): (Vec<u8>, Vec<u8>) = match (ip, self.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            _ => return false,
        };
        let bits = self.bits as usize;
        (0..bits.min(a.len() * 8)).all(|bit| {
            let mask = 0x80u8 >> (bit % 8);
            a[bit / 8] & mask == b[bit / 8] & mask
        })
    }
}

/// Parses `IP`, `IP/bits`, or a host name (resolved now, first address) with optional
/// `/bits` (Dovecot's `config_parse_net`).
pub(crate) fn parse_net(value: &str) -> Result<Net, String> {
    let (host, bits) = match value.split_once('/') {
        Some((host, bits)) => (host, Some(bits)),
        None => (value, None),
    };
    if let Some(ip) = parse_ip(host) {
        let max = Net::max_bits(&ip);
        match bits {
            None => return Ok(Net { ip, bits: max }),
            Some(bits) => {
                if let Ok(bits) = super::values::parse_uint(bits) {
                    if bits <= max {
                        return Ok(Net { ip, bits });
                    }
                }
            }
        }
    }
    let ip = resolve(host).map_err(|error| format!("gethostbyname({host}) failed: {error}"))?;
    let max = Net::max_bits(&ip);
    let bits = match bits {
        None => max,
        Some(text) => match super::values::parse_uint(text) {
            Ok(bits) if bits <= max => bits,
            _ => return Err(format!("Invalid network mask: {text}")),
        },
    };
    Ok(Net { ip, bits })
}

/// An IP address in Dovecot's accepted forms: IPv4 as `inet_aton` reads it (`127.1`,
/// `0x7f.0.0.1`), IPv6 optionally in brackets.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    inet4_decimal(text)
        .or_else(|| inet_aton(text))
        .map(IpAddr::V4)
}

/// Dovecot tries plain decimal first: one number (`2130706433`) or four decimal parts (so
/// `0177.0.0.1` is 177.0.0.1, not octal as `inet_aton` would read it).
fn inet4_decimal(text: &str) -> Option<Ipv4Addr> {
    let decimal = |part: &str| -> Option<u32> {
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse::<u32>().ok()
    };
    if let Some(n) = decimal(text) {
        return Some(Ipv4Addr::from(n));
    }
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (octet, part) in octets.iter_mut().zip(&parts) {
        *octet = u8::try_from(decimal(part)?).ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        if part.is_empty() || (radix != 16 && digits.is_empty() && radix == 10) {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        numbers.push(n);
    }
    let (last, leading) = numbers.split_last()?;
    let mut addr: u32 = 0;
    for (i, n) in leading.iter().enumerate() {
        if *n > 0xff {
            return None;
        }
        addr |= n << (24 - 8 * i);
    }
    let rest_bits = 32 - 8 * leading.len() as u32;
    if rest_bits < 32 && *last >= 1u32 << rest_bits {
        return None;
    }
    Some(Ipv4Addr::from(addr | last))
}

/// The first address getaddrinfo(3) gives for `host`, or its error text.
fn resolve(host: &str) -> Result<IpAddr, String> {
    let c_host = CString::new(host).map_err(|_| "Name or service not known".to_string())?;
    // SAFETY: hints is zeroed as getaddrinfo expects; the result list is freed below and
    // only read while it lives.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut result: *mut libc::addrinfo = std::ptr::null_mut();
        let rc = libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut result);
        if rc != 0 {
            let text = CStr::from_ptr(libc::gai_strerror(rc))
                .to_string_lossy()
                .into_owned();
            return Err(text);
        }
        let mut found = None;
        let mut ai = result;
        while !ai.is_null() && found.is_none() {
            let addr = (*ai).ai_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        found = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        found = Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            ai = (*ai).ai_next;
        }
        libc::freeaddrinfo(result);
        found.ok_or_else(|| "No address associated with hostname".to_string())
    }
}

/// Which connections a settings tree applies to. The empty filter is the global one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// `protocol NAME` (`!NAME` negates).
    pub service: Option<String>,
    /// `local_name` (space-separated names, `*` wildcards).
    pub local_name: Option<String>,
    pub local: Option<Net>,
    pub remote: Option<Net>,
}

/// Who is asking: a connection (or `doveconf -f`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pub service: Option<String>,
    pub local_name: Option<String>,
    pub local: Option<Net>,
    pub remote: Option<Net>,
}

fn bits(net: &Option<Net>) -> u32 {
    net.map_or(0, |n| n.bits)
}

impl Filter {
    pub(crate) fn local_bits(&self) -> u32 {
        bits(&self.local)
    }

    pub(crate) fn remote_bits(&self) -> u32 {
        bits(&self.remote)
    }

    /// Inside a `local`, `remote` or `local_name` block (where auth settings are refused).
    pub(crate) fn is_local_or_remote(&self) -> bool {
        self.local_name.is_some() || self.local_bits() > 0 || self.remote_bits() > 0
    }

    fn matches_service(&self, query: &Query) -> bool {
        let Some(mask) = &self.service else {
            return true;
        };
        let Some(service) = &query.service else {
            return false;
        };
        match mask.strip_prefix('!') {
            Some(not) => service != not,
            None => service == mask,
        }
    }

    fn matches_rest(&self, query: &Query) -> bool {
        if let Some(names) = &self.local_name {
            let Some(name) = &query.local_name else {
                return false;
            };
            if !names
                .split(' ')
                .any(|pattern| wildcard_match(name, pattern))
            {
                return false;
            }
        }
        if let Some(mask) = self.remote.filter(|n| n.bits > 0) {
            match query.remote.filter(|n| n.bits > 0) {
                Some(remote) if mask.contains(&remote.ip) => {}
                _ => return false,
            }
        }
        if let Some(mask) = self.local.filter(|n| n.bits > 0) {
            match query.local.filter(|n| n.bits > 0) {
                Some(local) if mask.contains(&local.ip) => {}
                _ => return false,
            }
        }
        true
    }

    pub(crate) fn matches(&self, query: &Query) -> bool {
        self.matches_service(query) && self.matches_rest(query)
    }

    /// This filter as a query (Dovecot checks each filter's view at load).
    pub(crate) fn as_query(&self) -> Query {
        Query {
            service: self.service.clone(),
            local_name: self.local_name.clone(),
            local: self.local,
            remote: self.remote,
        }
    }

    /// Most specific first: `local_name`, then longer `local` prefix, longer `remote` prefix,
    /// then `protocol` (Dovecot's `config_filter_parser_cmp`).
    pub(crate) fn specificity_cmp(&self, other: &Filter) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self.local_name.is_some(), other.local_name.is_some()) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        other
            .local_bits()
            .cmp(&self.local_bits())
            .then(other.remote_bits().cmp(&self.remote_bits()))
            .then(other.service.is_some().cmp(&self.service.is_some()))
    }

    /// Whether `self` is a superset of `narrower` (both matched the same query): then a value
    /// set in both is no conflict (Dovecot's `config_filter_is_superset`).
    pub(crate) fn is_superset_of(&self, narrower: &Filter) -> bool {
        !(self.local_bits() > narrower.local_bits()
            || self.remote_bits() > narrower.remote_bits()
            || (self.local_name.is_some() && narrower.local_name.is_none())
            || (self.service.is_some() && narrower.service.is_none()))
    }

    /// Whether the filter is shown under `query` by `doveconf -n -f` (Dovecot's
    /// `config_filter_find_subset`): the parts the query does not name are ignored.
    pub(crate) fn in_subset(&self, query: &Query) -> bool {
        if query.service.is_some() && !self.matches_service(query) {
            return false;
        }
        let mut mask = self.clone();
        if query.local_name.is_none() {
            mask.local_name = None;
        }
        if bits(&query.local) == 0 {
            mask.local = None;
        }
        if bits(&query.remote) == 0 {
            mask.remote = None;
        }
        mask.matches_rest(query)
    }
}

/// DNS wildcard match, case-insensitive: `?` is any one character, `*` one whole label and
/// must be followed by `.` unless it ends the pattern (Dovecot's `dns_match_wildcard`).
pub(crate) fn wildcard_match(name: &str, pattern: &str) -> bool {
    let (name, mask) = (name.as_bytes(), pattern.as_bytes());
    let (mut n, mut m) = (0, 0);
    while n < name.len() && m < mask.len() {
        match mask[m] {
            b'*' => {
                let Some(dot) = name[n..].iter().position(|&c| c == b'.') else {
                    return false;
                };
                if mask.get(m + 1) != Some(&b'.') {
                    return false;
                }
                n += dot;
                m += 1;
            }
            b'?' => {}
            c => {
                if !name[n].eq_ignore_ascii_case(&c) {
                    return false;
                }
            }
        }
        n += 1;
        m += 1;
    }
    if mask.get(m) == Some(&b'*') {
        m += 1;
    }
    n == name.len() && m == mask.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let net = parse_net("10.1.0.0/16").unwrap();

        assert!(net.contains(&"10.1.2.3".parse().unwrap()));
        assert!(!net.contains(&"10.2.0.1".parse().unwrap()));
        assert!(net.contains(&"::ffff:10.1.0.9".parse().unwrap()));

        assert_eq!(
            parse_net("127.1").unwrap().ip,
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(parse_net("::1/64").unwrap().bits, 64);
        assert_eq!(parse_net("[::1]").unwrap().bits, 128);
        assert_eq!(parse_net("localhost/8").unwrap().bits, 8);
        assert_eq!(
            parse_net("127.0.0.1/33").unwrap_err(),
            "Invalid network mask: 33".to_string()
        );
        assert!(parse_net("nonexistent.invalid")
            .unwrap_err()
            .starts_with("gethostbyname(nonexistent.invalid) failed: "));
        let net = parse_net("10.0.0.0/12").unwrap();
        assert!(net.contains(&"10.15.255.255".parse().unwrap()));
        assert!(!net.contains(&"10.16.0.0".parse().unwrap()));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("mail.example.com", "*.example.com"));
        assert!(wildcard_match("Mail.Example.com", "mail.example.com"));
        assert!(!wildcard_match("example.com", "*.example.com"));
        assert!(!wildcard_match("a.b.example.com", "*.example.com"));
        assert!(wildcard_match("a", "?"));
        assert!(wildcard_match("", "*"));
    }

    #[test]
    fn matching() {
        let imap = Query {
            service: Some("imap".into()),
            ..Query::default()
        };
        let not_imap = Filter {
            service: Some("!imap".into()),
            ..Filter::default()
        };
        assert!(!not_imap.matches(&imap));
        assert!(not_imap.matches(&Query {
            service: Some("pop3".into()),
            ..Query::default()
        }));
        assert!(!not_imap.matches(&Query::default()));
        assert!(Filter::default().matches(&imap));
    }
}
