//! What a login process knows about one client connection, the same for IMAP and POP3:
//! addresses, whether it is TLS, "secured" and "trusted" as Dovecot defines them, the
//! session id and the address part of Dovecot's login log lines.

use std::fmt;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::str::FromStr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The `ssl` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    No,
    Yes,
    Required,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "no" => Ok(SslMode::No),
            "yes" => Ok(SslMode::Yes),
            "required" => Ok(SslMode::Required),
            other => Err(format!(
                "ssl: unknown value '{other}' (expected no, yes or required)"
            )),
        }
    }
}

/// One accepted client connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// TLS from the first byte (a listener with `ssl = yes`, e.g. imaps).
    pub tls: bool,
    pub accepted_at: Instant,
    /// Dovecot's `%{session}`: base64 of the accept time and the remote address.
    pub session_id: String,
    /// The name of the listener that accepted it (`imap`, `imaps`), for `%{listener}`.
    pub listener: String,
    /// Proxy hops a login may still take (Dovecot's `proxy_ttl`): 5, or what a trusted
    /// proxy in front of us passed on (ID `x-proxy-ttl`, XCLIENT `TTL`).
    pub proxy_ttl: u32,
}

impl ConnInfo {
    pub fn new(local: SocketAddr, remote: SocketAddr, tls: bool) -> Self {
        ConnInfo {
            local,
            remote,
            tls,
            accepted_at: Instant::now(),
            session_id: login_session_id(SystemTime::now(), remote),
            listener: String::new(),
            proxy_ttl: 5,
        }
    }

    pub fn from_stream(stream: &TcpStream, tls: bool) -> std::io::Result<Self> {
        Ok(ConnInfo::new(
            stream.local_addr()?,
            stream.peer_addr()?,
            tls,
        ))
    }

    /// Dovecot's "secured": TLS, or the client connects from the server's own address, or
    /// from `login_trusted_networks` (`trusted`).
    pub fn is_secured(&self, trusted: bool) -> bool {
        self.tls || self.remote.ip().to_canonical() == self.local.ip().to_canonical() || trusted
    }
}

/// Dovecot's login session id: the low 48 bits of the time in microseconds, the remote port
/// (both little-endian) and the remote IP's bytes, base64-encoded.
pub fn login_session_id(now: SystemTime, remote: SocketAddr) -> String {
    let micros = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let mut raw = Vec::with_capacity(24);
    raw.extend_from_slice(&micros.to_le_bytes()[..6]);
    raw.extend_from_slice(&remote.port().to_le_bytes());
    match remote.ip() {
        IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
    }
    base64_encode(&raw)
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An IP network as `login_trusted_networks` writes it: `10.0.0.0/8`, `::1`, `192.168.1.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    bits: u8,
}

/// A network that does not parse; the message names it the way Dovecot does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNetwork(pub String);

impl fmt::Display for InvalidNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid network '{}'", self.0)
    }
}

impl std::error::Error for InvalidNetwork {}

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidNetwork(s.to_string());
        let (addr, bits) = match s.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits)),
            None => (s, None),
        };
        let addr = parse_ip(addr).ok_or_else(invalid)?;
        let max_bits = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max_bits,
            Some(bits) if !bits.is_empty() && bits.bytes().all(|b| b.is_ascii_digit()) => bits
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max_bits)
                .ok_or_else(invalid)?,
            Some(_) => return Err(invalid()),
        };
        Ok(IpNetwork { addr, bits })
    }
}

impl IpNetwork {
    /// Whether `ip` is inside this network. An IPv4 address in IPv6 clothing (`::ffff:a.b.c.d`)
    /// is compared as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (ip.to_canonical(), self.addr) {
            (IpAddr::V4(ip), IpAddr::V4(net)) => prefix_eq(&ip.octets(), &net.octets(), self.bits),
            (IpAddr::V6(ip), IpAddr::V6(net)) => prefix_eq(&ip.octets(), &net.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

/// Parses a space- and/or comma-separated network list (`login_trusted_networks`).
pub fn parse_networks(list: &str) -> Result<Vec<IpNetwork>, InvalidNetwork> {
    list.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// A port as Dovecot's `net_str2port` reads it: 1 to 65535.
pub fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p != 0)
}

/// An IP address as Dovecot's `net_addr2ip` reads it: plain, or IPv6 in brackets.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn session_id_matches_dovecot_layout() {
        // 2026-11-28 17:44:05.123456 UTC, from 127.0.0.1:41468 (0xa1fc).
        let t = UNIX_EPOCH + Duration::from_micros(1_795_887_845_123_456);
        let id = login_session_id(t, addr("127.0.0.1:41468"));
        assert_eq!(id.len(), 16);
        // The last 8 characters encode the port and the address: "/KF/AAAB" = fc a1 7f 00 00 01.
        assert!(id.ends_with("/KF/AAAB"), "{id}");
        let v6 = login_session_id(t, addr("[::1]:143"));
        assert_eq!(v6.len(), 32);
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn networks() {
        let nets = parse_networks("10.0.0.0/8, 192.168.1.5 ::1,fe80::/10").unwrap();
        assert_eq!(nets.len(), 4);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(nets[0].contains(ip("10.200.3.4")));
        assert!(!nets[0].contains(ip("11.0.0.1")));
        assert!(nets[1].contains(ip("192.168.1.5")));
        assert!(!nets[1].contains(ip("192.168.1.6")));
        assert!(nets[2].contains(ip("::1")));
        assert!(nets[3].contains(ip("fe80::1234")));
        assert!(!nets[3].contains(ip("fec0::1")));
        // IPv4-mapped IPv6 is compared as IPv4; families never mix otherwise.
        assert!(nets[0].contains(ip("::ffff:10.1.1.1")));
        assert!(!nets[2].contains(ip("127.0.0.1")));
        let odd: IpNetwork = "127.0.0.0/9".parse().unwrap();
        assert!(odd.contains(ip("127.127.255.255")));
        assert!(!odd.contains(ip("127.128.0.0")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("[::1]/128".parse::<IpNetwork>().is_ok());
    }

    #[test]
    fn bad_networks() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "host.example",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "1.2.3",
        ] {
            assert_eq!(
                bad.parse::<IpNetwork>().unwrap_err().to_string(),
                format!("Invalid network '{bad}'")
            );
        }
        assert!(parse_networks("10.0.0.0/8 nonsense").is_err());
        assert_eq!(parse_networks("").unwrap(), vec![]);
    }

    #[test]
    fn secured() {
        let mut c = ConnInfo::new(addr("127.0.0.1:143"), addr("127.0.0.1:50000"), false);
        assert!(c.is_secured(false));
        c.remote = addr("127.0.0.2:50000");
        assert!(!c.is_secured(false));
        assert!(c.is_secured(true));
        c.tls = true;
        assert!(c.is_secured(false));
    }

    #[test]
    fn ssl_mode() {
        assert_eq!("required".parse::<SslMode>(), Ok(SslMode::Required));
        assert!("maybe".parse::<SslMode>().is_err());
    }
}
