//! The backends a director sends users to (Dovecot's `mail-host.c`): `director_mail_servers`
//! parsed (addresses, names, ranges such as `10.0.0.1-10.0.0.5`, each with an optional
//! `@tag`), and per tag the consistent-hashing ring that picks a backend for a user's hash.
//!
//! Each backend that is up puts `vhost_count` points on its tag's ring, point `i` at the hash
//! of `"<ip>-<i>"`; a user goes to the first point at or after its own hash, wrapping around.
//! Adding or removing a backend so moves only the users nearest its points, and every director
//! computes the same ring from the same list.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use md5::{Digest, Md5};

/// A backend's weight unless told otherwise.
pub const DEFAULT_VHOST_COUNT: u32 = 100;
/// The most points a backend may have (`MAX_VALID_VHOST_COUNT`).
pub const MAX_VHOST_COUNT: u32 = 1000;

/// One backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailHost {
    pub ip: IpAddr,
    /// The name it was configured by, when it was not an address.
    pub hostname: Option<String>,
    /// Empty: the default group.
    pub tag: String,
    pub vhost_count: u32,
    /// Marked down: no new users (its current users stay until they expire).
    pub down: bool,
    /// When it last went up or down (unix seconds; 0: never).
    pub last_updown_change: i64,
}

/// The backends, sorted by address, and each tag's ring.
#[derive(Debug, Clone, Default)]
pub struct MailHosts {
    hosts: Vec<MailHost>,
    /// Per tag: the ring's points (hash, backend), sorted.
    rings: BTreeMap<String, Vec<(u32, IpAddr)>>,
}

impl MailHosts {
    /// The backends `director_mail_servers` lists; `Err` carries each problem, as Dovecot logs
    /// them before it refuses the setting.
    pub fn parse(value: &str) -> Result<MailHosts, Vec<String>> {
        let mut hosts = MailHosts::default();
        let mut errors = Vec::new();
        for word in value.split_whitespace() {
            let (spec, tag) = match word.split_once('@') {
                Some((spec, tag)) => (spec, tag),
                None => (word, ""),
            };
            if let Some((first, last)) = spec.split_once('-') {
                if let (Ok(first), Ok(last)) = (first.parse(), last.parse()) {
                    match range(first, last) {
                        Ok(ips) => ips.into_iter().for_each(|ip| hosts.add(ip, None, tag)),
                        Err(e) => errors.push(e),
                    }
                    continue;
                }
            }
            if let Ok(ip) = spec.parse::<IpAddr>() {
                hosts.add(ip, None, tag);
                continue;
            }
            match (spec, 0).to_socket_addrs() {
                Ok(addrs) => {
                    let mut any = false;
                    for addr in addrs {
                        hosts.add(addr.ip(), Some(spec), tag);
                        any = true;
                    }
                    if !any {
                        errors.push(format!("Unknown mail host: {spec}"));
                    }
                }
                Err(_) => errors.push(format!("Unknown mail host: {spec}")),
            }
        }
        if hosts.hosts.is_empty() {
            errors.push(if errors.is_empty() {
                "Empty server list".to_string()
            } else {
                "No valid servers specified".to_string()
            });
        }
        if errors.is_empty() {
            Ok(hosts)
        } else {
            Err(errors)
        }
    }

    /// Adds a backend with the default weight (a second entry for the same address is
    /// ignored: one address is one backend).
    pub fn add(&mut self, ip: IpAddr, hostname: Option<&str>, tag: &str) {
        if self.get(ip).is_some() {
            return;
        }
        self.hosts.push(MailHost {
            ip,
            hostname: hostname.map(str::to_string),
            tag: tag.to_string(),
            vhost_count: DEFAULT_VHOST_COUNT,
            down: false,
            last_updown_change: 0,
        });
        self.hosts.sort_by_key(|h| h.ip);
        self.rebuild();
    }

    pub fn remove(&mut self, ip: IpAddr) -> Option<MailHost> {
        let at = self.hosts.iter().position(|h| h.ip == ip)?;
        let host = self.hosts.remove(at);
        self.rebuild();
        Some(host)
    }

    pub fn get(&self, ip: IpAddr) -> Option<&MailHost> {
        self.hosts.iter().find(|h| h.ip == ip)
    }

    /// Changes a backend (weight, up/down) and recomputes the rings.
    pub fn update(&mut self, ip: IpAddr, change: impl FnOnce(&mut MailHost)) -> bool {
        let Some(host) = self.hosts.iter_mut().find(|h| h.ip == ip) else {
            return false;
        };
        change(host);
        self.rebuild();
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &MailHost> {
        self.hosts.iter()
    }

    /// The backend a user of `tag` with hash `hash` goes to when it has none yet; `None`
    /// when no backend of the tag is up with a weight.
    pub fn by_hash(&self, hash: u32, tag: &str) -> Option<&MailHost> {
        let ring = self.rings.get(tag)?;
        let at = ring.partition_point(|(point, _)| *point < hash);
        let (_, ip) = ring.get(at).or_else(|| ring.first())?;
        self.get(*ip)
    }

    fn rebuild(&mut self) {
        self.rings.clear();
        for host in &self.hosts {
            let ring = self.rings.entry(host.tag.clone()).or_default();
            if host.down {
                continue;
            }
            let ip = host.ip.to_string();
            for i in 0..host.vhost_count {
                let digest = Md5::digest(format!("{ip}-{i}").as_bytes());
                let mut bytes = [0u8; 4];
                bytes.copy_from_slice(&digest[..4]);
                ring.push((u32::from_be_bytes(bytes), host.ip));
            }
        }
        // Equal points are ordered by address, so every director walks the same ring.
        self.rings.values_mut().for_each(|ring| ring.sort());
    }
}

/// The addresses of `first-last`: only the last 8 bits (IPv4) or 16 bits (IPv6) may differ.
fn range(first: IpAddr, last: IpAddr) -> Result<Vec<IpAddr>, String> {
    let too_large = || format!("IP address range too large: {first}-{last}");
    if first > last && first.is_ipv4() == last.is_ipv4() {
        return Err(format!("IP addresses reversed: {first}-{last}"));
    }
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if a >> 8 != b >> 8 {
                return Err(too_large());
            }
            Ok((a..=b).map(|n| IpAddr::V4(Ipv4Addr::from(n))).collect())
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if a >> 16 != b >> 16 {
                return Err(too_large());
            }
            Ok((a..=b).map(|n| IpAddr::V6(Ipv6Addr::from(n))).collect())
        }
        _ => Err(format!("IP address family mismatch: {first} vs {last}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn servers_ranges_and_tags_parse() {
        let hosts = MailHosts::parse("10.0.0.3 10.0.0.1-10.0.0.2 10.1.0.1@big ::1").unwrap();
        let listed: Vec<(String, &str)> = hosts
            .iter()
            .map(|h| (h.ip.to_string(), h.tag.as_str()))
            .collect();
        assert_eq!(
            listed,
            [
                ("10.0.0.1".into(), ""),
                ("10.0.0.2".into(), ""),
                ("10.0.0.3".into(), ""),
                ("10.1.0.1".into(), "big"),
                ("::1".into(), ""),
            ]
        );
        let localhost = MailHosts::parse("localhost").unwrap();
        assert!(localhost
            .iter()
            .all(|h| h.hostname.as_deref() == Some("localhost")));
    }

    #[test]
    fn bad_lists_give_dovecots_errors() {
        let errors = |v: &str| MailHosts::parse(v).unwrap_err();
        assert_eq!(errors(""), ["Empty server list"]);
        assert_eq!(
            errors("10.0.0.5-10.0.0.1"),
            [
                "IP addresses reversed: 10.0.0.5-10.0.0.1",
                "No valid servers specified"
            ]
        );
        assert_eq!(
            errors("10.0.0.1-10.0.1.1 10.0.0.9"),
            ["IP address range too large: 10.0.0.1-10.0.1.1"]
        );
        assert_eq!(
            errors("10.0.0.1-::1")[0],
            "IP address family mismatch: 10.0.0.1 vs ::1"
        );
        assert_eq!(
            errors("no-such-host.invalid")[0],
            "Unknown mail host: no-such-host.invalid"
        );
    }

    #[test]
    fn the_ring_is_consistent_and_weighted() {
        let mut hosts = MailHosts::parse("10.0.0.1 10.0.0.2 10.0.0.3").unwrap();
        let pick = |hosts: &MailHosts, h: u32| hosts.by_hash(h, "").unwrap().ip;
        let users: Vec<u32> = (0..3000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let before: Vec<IpAddr> = users.iter().map(|h| pick(&hosts, *h)).collect();
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            let n = before.iter().filter(|b| **b == self::ip(ip)).count();
            assert!((600..1400).contains(&n), "{ip}: {n} of 3000");
        }
        // Taking one backend down moves only its users.
        hosts.update(ip("10.0.0.2"), |h| h.down = true);
        for (h, was) in users.iter().zip(&before) {
            let now = pick(&hosts, *h);
            assert_ne!(now, ip("10.0.0.2"));
            if *was != ip("10.0.0.2") {
                assert_eq!(now, *was);
            }
        }
        // Weight 0 is no point on the ring; a tag without backends up has none.
        hosts.update(ip("10.0.0.1"), |h| h.vhost_count = 0);
        hosts.update(ip("10.0.0.3"), |h| h.vhost_count = 0);
        assert!(hosts.by_hash(5, "").is_none());
        assert!(hosts.by_hash(5, "other").is_none());
    }

    #[test]
    fn users_go_where_dovecots_director_puts_them() {
        // `doveadm director status USER` of a Dovecot 2.3.19.1 director with these backends.
        let hosts = MailHosts::parse("127.0.0.2 127.0.0.3 10.0.0.1-10.0.0.4").unwrap();
        for (user, hashed) in [
            ("user0", "10.0.0.1"),
            ("user1", "10.0.0.3"),
            ("user2", "10.0.0.3"),
            ("user3", "127.0.0.3"),
            ("alice", "10.0.0.4"),
            ("Bob", "10.0.0.2"),
            ("x@y.z", "127.0.0.3"),
        ] {
            let hash = crate::director::hash::user_hash(user, "%Lu").unwrap();
            assert_eq!(hosts.by_hash(hash, "").unwrap().ip, ip(hashed), "{user}");
        }
    }

    #[test]
    fn points_are_md5_of_ip_and_index() {
        let hosts = MailHosts::parse("10.0.0.1").unwrap();
        let ring = &hosts.rings[""];
        assert_eq!(ring.len(), 100);
        let digest = Md5::digest(b"10.0.0.1-0");
        let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        assert!(ring.iter().any(|(p, _)| *p == first));
        // A hash past the last point wraps to the first.
        let (lowest, _) = ring[0];
        let (highest, _) = ring[ring.len() - 1];
        assert_eq!(hosts.by_hash(highest, "").unwrap().ip, ip("10.0.0.1"));
        assert!(lowest <= highest);
    }
}
