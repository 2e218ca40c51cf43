//! What directors tell each other, one TAB-separated line each (cote's own ring protocol;
//! Dovecot's directors speak another). Every change a director makes is sent to its peers,
//! which apply it without passing it on; a new connection starts with each side's whole
//! state, so a director that restarts learns where the users are before it places any.

use std::net::IpAddr;

use crate::auth::fields::{split_tabescaped, tab_escape};

/// The first line on a ring connection.
pub const HANDSHAKE: &str = "VERSION\tcote-director-ring\t1\t0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingMessage {
    /// The sender's address and port as `director_servers` lists it.
    Me {
        ip: IpAddr,
        port: u16,
    },
    /// The sender's state has all been sent.
    Done,
    /// A user's assignment.
    User {
        hash: u32,
        host: IpAddr,
        timestamp: i64,
        since: i64,
    },
    /// A backend as it is after a change made at `changed` (0: as configured).
    Host {
        ip: IpAddr,
        tag: String,
        vhost_count: u32,
        down: bool,
        last_updown_change: i64,
        changed: i64,
    },
    HostRemoved {
        ip: IpAddr,
        at: i64,
    },
    /// The backend's users placed at or before `at` are forgotten.
    HostFlushed {
        ip: IpAddr,
        at: i64,
    },
    /// End the sessions of a user, by name or by hash.
    KickUser {
        user: String,
    },
    KickHash {
        hash: u32,
    },
}

impl RingMessage {
    pub fn encode(&self) -> String {
        match self {
            RingMessage::Me { ip, port } => format!("ME\t{ip}\t{port}"),
            RingMessage::Done => "DONE".into(),
            RingMessage::User {
                hash,
                host,
                timestamp,
                since,
            } => format!("USER\t{hash}\t{host}\t{timestamp}\t{since}"),
            RingMessage::Host {
                ip,
                tag,
                vhost_count,
                down,
                last_updown_change,
                changed,
            } => format!(
                "HOST\t{ip}\t{}\t{vhost_count}\t{}\t{last_updown_change}\t{changed}",
                tab_escape(tag),
                u8::from(*down)
            ),
            RingMessage::HostRemoved { ip, at } => format!("HOST-REMOVE\t{ip}\t{at}"),
            RingMessage::HostFlushed { ip, at } => format!("HOST-FLUSH\t{ip}\t{at}"),
            RingMessage::KickUser { user } => format!("USER-KICK\t{}", tab_escape(user)),
            RingMessage::KickHash { hash } => format!("USER-KICK-HASH\t{hash}"),
        }
    }

    /// The message a line holds; `None` for anything malformed.
    pub fn decode(line: &str) -> Option<RingMessage> {
        let args = split_tabescaped(line);
        let arg = |i: usize| args.get(i).map(String::as_str);
        let ip = |i: usize| arg(i)?.parse::<IpAddr>().ok();
        let int = |i: usize| arg(i)?.parse::<i64>().ok();
        Some(match (arg(0)?, args.len()) {
            ("ME", 3) => RingMessage::Me {
                ip: ip(1)?,
                port: arg(2)?.parse().ok()?,
            },
            ("DONE", 1) => RingMessage::Done,
            ("USER", 5) => RingMessage::User {
                hash: arg(1)?.parse().ok()?,
                host: ip(2)?,
                timestamp: int(3)?,
                since: int(4)?,
            },
            ("HOST", 7) => RingMessage::Host {
                ip: ip(1)?,
                tag: arg(2)?.to_string(),
                vhost_count: arg(3)?.parse().ok()?,
                down: match arg(4)? {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                },
                last_updown_change: int(5)?,
                changed: int(6)?,
            },
            ("HOST-REMOVE", 3) => RingMessage::HostRemoved {
                ip: ip(1)?,
                at: int(2)?,
            },
            ("HOST-FLUSH", 3) => RingMessage::HostFlushed {
                ip: ip(1)?,
                at: int(2)?,
            },
            ("USER-KICK", 2) => RingMessage::KickUser {
                user: arg(1)?.to_string(),
            },
            ("USER-KICK-HASH", 2) => RingMessage::KickHash {
                hash: arg(1)?.parse().ok()?,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_wire() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let all = [
            RingMessage::Me { ip, port: 9090 },
            RingMessage::Done,
            RingMessage::User {
                hash: 7,
                host: ip,
                timestamp: 100,
                since: 90,
            },
            RingMessage::Host {
                ip,
                tag: "a\tb".into(),
                vhost_count: 5,
                down: true,
                last_updown_change: 3,
                changed: 4,
            },
            RingMessage::HostRemoved { ip, at: 5 },
            RingMessage::HostFlushed { ip, at: 6 },
            RingMessage::KickUser {
                user: "al\tice".into(),
            },
            RingMessage::KickHash { hash: 9 },
        ];
        for m in all {
            assert_eq!(RingMessage::decode(&m.encode()), Some(m.clone()), "{m:?}");
        }
        for bad in [
            "",
            "USER\t1",
            "HOST\tx\t\t1\t0\t0\t0",
            "HOST\t10.0.0.1\t\t1\t2\t0\t0",
            "NOPE",
        ] {
            assert_eq!(RingMessage::decode(bad), None, "{bad}");
        }
    }
}
