//! A director's state (Dovecot's `director.c` and `director-request.c` for one director):
//! the backends, the users placed on them, and the proxied sessions that keep users where
//! they are. Every change an administrator makes goes through here.
//!
//! A user that already has a live assignment goes where it says, even to a backend marked
//! down since: a user moves only when its sessions are over and `director_user_expire` has
//! passed, or when an administrator moves it (its sessions are kicked first).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::hash::user_hash;
use super::hosts::{MailHost, MailHosts, MAX_VHOST_COUNT};
use super::ring::message::RingMessage;
use super::users::{User, UserDirectory};

/// Tells a proxied session to end now.
pub type Kick = Box<dyn FnMut() + Send>;

/// A session a login process is proxying for a user the director placed.
struct Session {
    user: String,
    hash: u32,
    kick: Kick,
}

/// Where a login goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub ip: IpAddr,
    /// The name the backend was configured by, if not an address.
    pub hostname: Option<String>,
}

/// Why an administrator's command was not done (the texts are the admin protocol's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRefusal {
    NotFound,
    /// Anything else, said as it is.
    Other(&'static str),
}

/// What `status <user>` shows: where the user is, where the ring would put it now, and
/// where the configured backends would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    /// The current backend and when the assignment expires (unix seconds).
    pub current: Option<(IpAddr, i64)>,
    pub hashed: Option<IpAddr>,
    pub initial: Option<IpAddr>,
}

pub struct Director {
    /// `director_user_expire`, seconds.
    pub user_expire: i64,
    /// `director_username_hash`.
    pub username_hash: String,
    hosts: MailHosts,
    /// The backends as configured, for `status <user>`.
    configured: MailHosts,
    users: BTreeMap<String, UserDirectory>,
    sessions: HashMap<u64, Session>,
    /// Open sessions per user hash.
    session_counts: HashMap<u32, u32>,
    next_session: u64,
    /// Other directors share the state: changes are collected for them in `outbox`.
    ring: bool,
    outbox: Vec<RingMessage>,
    /// When each backend was last changed by an administrator (none: as configured), and
    /// when removed ones were removed: a peer's older news does not undo a change.
    host_changed: HashMap<IpAddr, i64>,
    removed: HashMap<IpAddr, i64>,
}

impl Director {
    pub fn new(hosts: MailHosts, user_expire: i64, username_hash: &str) -> Director {
        Director {
            user_expire,
            username_hash: username_hash.to_string(),
            configured: hosts.clone(),
            hosts,
            users: BTreeMap::new(),
            sessions: HashMap::new(),
            session_counts: HashMap::new(),
            next_session: 1,
            ring: false,
            outbox: Vec::new(),
            host_changed: HashMap::new(),
            removed: HashMap::new(),
        }
    }

    /// From now on, changes are collected for the other directors.
    pub fn share_with_ring(&mut self) {
        self.ring = true;
    }

    /// The changes to send to the other directors since the last call.
    pub fn take_outbox(&mut self) -> Vec<RingMessage> {
        std::mem::take(&mut self.outbox)
    }

    fn emit(&mut self, message: RingMessage) {
        if self.ring {
            self.outbox.push(message);
        }
    }

    fn emit_user(&mut self, user: User) {
        self.emit(RingMessage::User {
            hash: user.hash,
            host: user.host,
            timestamp: user.timestamp,
            since: user.since,
        });
    }

    fn emit_host(&mut self, ip: IpAddr, now: i64) {
        self.host_changed.insert(ip, now);
        self.removed.remove(&ip);
        if let Some(message) = self.host_message(ip) {
            self.emit(message);
        }
    }

    fn host_message(&self, ip: IpAddr) -> Option<RingMessage> {
        let h = self.hosts.get(ip)?;
        Some(RingMessage::Host {
            ip,
            tag: h.tag.clone(),
            vhost_count: h.vhost_count,
            down: h.down,
            last_updown_change: h.last_updown_change,
            changed: self.host_changed.get(&ip).copied().unwrap_or(0),
        })
    }

    /// Everything another director must know: backends, removals, live users.
    pub fn snapshot(&mut self, now: i64) -> Vec<RingMessage> {
        let ips: Vec<IpAddr> = self.hosts.iter().map(|h| h.ip).collect();
        let mut out: Vec<RingMessage> =
            ips.iter().filter_map(|ip| self.host_message(*ip)).collect();
        out.extend(
            self.removed
                .iter()
                .map(|(ip, at)| RingMessage::HostRemoved { ip: *ip, at: *at }),
        );
        for user in self.all_users(now) {
            out.push(RingMessage::User {
                hash: user.hash,
                host: user.host,
                timestamp: user.timestamp,
                since: user.since,
            });
        }
        out
    }

    /// Applies what another director sent (nothing is passed on).
    pub fn apply(&mut self, message: RingMessage) {
        match message {
            RingMessage::Me { .. } | RingMessage::Done => {}
            RingMessage::User {
                hash,
                host,
                timestamp,
                since,
            } => {
                let Some(tag) = self.hosts.get(host).map(|h| h.tag.clone()) else {
                    return;
                };
                let theirs = User {
                    hash,
                    host,
                    timestamp,
                    since,
                };
                self.users.entry(tag).or_default().merge(theirs);
            }
            RingMessage::Host {
                ip,
                tag,
                vhost_count,
                down,
                last_updown_change,
                changed,
            } => {
                let ours = self.host_changed.get(&ip).copied().unwrap_or(0);
                let removed = self.removed.get(&ip).copied();
                let known = self.hosts.get(ip).is_some();
                // Older news, or a backend only the other director's configuration lists.
                if (known && changed <= ours)
                    || removed.is_some_and(|at| changed <= at)
                    || (!known && changed == 0)
                {
                    return;
                }
                if self.hosts.get(ip).is_some_and(|h| h.tag != tag) {
                    self.hosts.remove(ip);
                }
                self.hosts.add(ip, None, &tag);
                self.hosts.update(ip, |h| {
                    h.vhost_count = vhost_count;
                    h.down = down;
                    h.last_updown_change = last_updown_change;
                });
                self.host_changed.insert(ip, changed);
                self.removed.remove(&ip);
            }
            RingMessage::HostRemoved { ip, at } => {
                if self.host_changed.get(&ip).copied().unwrap_or(0) > at {
                    return;
                }
                if let Some(host) = self.hosts.remove(ip) {
                    if let Some(users) = self.users.get_mut(&host.tag) {
                        users.remove_host(ip);
                    }
                }
                self.host_changed.remove(&ip);
                self.removed.insert(ip, at);
            }
            RingMessage::HostFlushed { ip, at } => {
                for users in self.users.values_mut() {
                    users.remove_host_since(ip, at);
                }
            }
            RingMessage::KickUser { user } => {
                self.kick_where(|s| s.user == user);
            }
            RingMessage::KickHash { hash } => {
                self.kick_where(|s| s.hash == hash);
            }
        }
    }

    /// Keeps the users with sessions here alive for the other directors too (they do not
    /// see the sessions): their timestamps are renewed and sent.
    pub fn refresh_sessions(&mut self, now: i64) {
        let hashes: Vec<u32> = self.session_counts.keys().copied().collect();
        for hash in hashes {
            self.refresh_everywhere(hash, now);
        }
    }

    /// Restarts the user's expiry in every tag it is in, and tells the ring.
    fn refresh_everywhere(&mut self, hash: u32, now: i64) {
        let mut refreshed = Vec::new();
        for users in self.users.values_mut() {
            users.refresh(hash, now);
            refreshed.extend(users.get(hash));
        }
        for user in refreshed {
            self.emit_user(user);
        }
    }

    pub fn hash(&self, username: &str) -> Result<u32, String> {
        user_hash(username, &self.username_hash)
    }

    fn sessions_of(&self, hash: u32) -> u32 {
        self.session_counts.get(&hash).copied().unwrap_or(0)
    }

    /// Where `username` (of backend group `tag`) logs in at `now`: its live assignment,
    /// or a backend by the ring, which then becomes its assignment.
    pub fn request(&mut self, username: &str, tag: &str, now: i64) -> Result<Destination, String> {
        let hash = self.hash(username)?;
        let sessions = self.sessions_of(hash);
        let expire = self.user_expire;
        let users = self.users.entry(tag.to_string()).or_default();
        let user = match users.lookup(hash, now, expire, sessions) {
            Some(user) => {
                users.refresh(hash, now);
                users.get(hash).unwrap_or(user)
            }
            None => {
                let Some(host) = self.hosts.by_hash(hash, tag) else {
                    return Err(if tag.is_empty() {
                        "No backend hosts available".to_string()
                    } else {
                        format!("No backend hosts available with tag {tag}")
                    });
                };
                users.set(hash, host.ip, now)
            }
        };
        let ip = user.host;
        self.emit_user(user);
        let hostname = self.hosts.get(ip).and_then(|h| h.hostname.clone());
        Ok(Destination { ip, hostname })
    }

    /// A proxied session of `user` began; `kick` ends it. Returns its id.
    pub fn session_started(&mut self, user: &str, kick: Kick) -> Result<u64, String> {
        let hash = self.hash(user)?;
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            id,
            Session {
                user: user.to_string(),
                hash,
                kick,
            },
        );
        *self.session_counts.entry(hash).or_insert(0) += 1;
        Ok(id)
    }

    /// The session ended at `now`: its user's expiry starts again.
    pub fn session_ended(&mut self, id: u64, now: i64) {
        let Some(session) = self.sessions.remove(&id) else {
            return;
        };
        if let Some(n) = self.session_counts.get_mut(&session.hash) {
            *n -= 1;
            if *n == 0 {
                self.session_counts.remove(&session.hash);
            }
        }
        self.refresh_everywhere(session.hash, now);
    }

    /// Ends the sessions `which` selects; returns how many.
    fn kick_where(&mut self, which: impl Fn(&Session) -> bool) -> usize {
        let mut n = 0;
        for session in self.sessions.values_mut().filter(|s| which(s)) {
            (session.kick)();
            n += 1;
        }
        n
    }

    /// `USER-KICK`: ends every session of the user (by name, as the login gave it).
    pub fn kick_user(&mut self, user: &str) -> usize {
        self.emit(RingMessage::KickUser {
            user: user.to_string(),
        });
        self.kick_where(|s| s.user == user)
    }

    /// The backends with how many users each has now.
    pub fn host_list(&mut self, now: i64) -> Vec<(MailHost, usize)> {
        let users = self.all_users(now);
        self.hosts
            .iter()
            .map(|h| {
                let count = users.iter().filter(|u| u.host == h.ip).count();
                (h.clone(), count)
            })
            .collect()
    }

    /// Every live assignment at `now`.
    pub fn all_users(&mut self, now: i64) -> Vec<User> {
        let counts = &self.session_counts;
        let expire = self.user_expire;
        self.users
            .values_mut()
            .flat_map(|d| d.live(now, expire, |h| counts.get(&h).copied().unwrap_or(0)))
            .collect()
    }

    /// `HOST-SET`: adds a backend or changes its weight.
    pub fn host_set(
        &mut self,
        ip: IpAddr,
        tag: &str,
        vhost_count: Option<u32>,
        now: i64,
    ) -> Result<(), AdminRefusal> {
        if vhost_count.is_some_and(|n| n > MAX_VHOST_COUNT) {
            return Err(AdminRefusal::Other("vhost count too large"));
        }
        match self.hosts.get(ip) {
            None => self.hosts.add(ip, None, tag),
            Some(host) if !tag.is_empty() && host.tag != tag => {
                return Err(AdminRefusal::Other("host tag can't be changed"))
            }
            Some(_) => {}
        }
        if let Some(n) = vhost_count {
            self.hosts.update(ip, |h| {
                log::info!(
                    "doveadm: Host {ip} vhost count changed from {} to {n}",
                    h.vhost_count
                );
                h.vhost_count = n;
            });
        }
        self.emit_host(ip, now);
        Ok(())
    }

    /// `HOST-UPDATE`: changes an existing backend's weight.
    pub fn host_update(
        &mut self,
        ip: IpAddr,
        vhost_count: u32,
        now: i64,
    ) -> Result<(), AdminRefusal> {
        if self.hosts.get(ip).is_none() {
            return Err(AdminRefusal::NotFound);
        }
        self.host_set(ip, "", Some(vhost_count), now)
    }

    /// `HOST-UP` / `HOST-DOWN`.
    pub fn host_updown(&mut self, ip: IpAddr, down: bool, now: i64) -> Result<(), AdminRefusal> {
        let found = self.hosts.update(ip, |h| {
            if h.down != down {
                log::info!(
                    "doveadm: Host {ip} changed {} (vhost_count={} last_updown_change={})",
                    if down { "down" } else { "up" },
                    h.vhost_count,
                    h.last_updown_change
                );
                h.down = down;
                h.last_updown_change = now;
            }
        });
        if !found {
            return Err(AdminRefusal::NotFound);
        }
        self.emit_host(ip, now);
        Ok(())
    }

    /// `HOST-REMOVE`: the backend and its users' assignments go (their sessions are left
    /// alone, as Dovecot does).
    pub fn host_remove(&mut self, ip: IpAddr, now: i64) -> Result<(), AdminRefusal> {
        let host = self.hosts.remove(ip).ok_or(AdminRefusal::NotFound)?;
        if let Some(users) = self.users.get_mut(&host.tag) {
            users.remove_host(ip);
        }
        self.host_changed.remove(&ip);
        self.removed.insert(ip, now);
        self.emit(RingMessage::HostRemoved { ip, at: now });
        Ok(())
    }

    /// `HOST-FLUSH` (`flush -F`): forgets the backend's users at once, sessions or not.
    pub fn host_flush(&mut self, ip: IpAddr, now: i64) -> Result<usize, AdminRefusal> {
        let tag = self
            .hosts
            .get(ip)
            .ok_or(AdminRefusal::NotFound)?
            .tag
            .clone();
        self.emit(RingMessage::HostFlushed { ip, at: now });
        Ok(self
            .users
            .get_mut(&tag)
            .map_or(0, |users| users.remove_host(ip).len()))
    }

    /// `HOST-RESET-USERS` (`flush`): every user of the backend (or of every backend) whose
    /// place by the ring is now elsewhere is moved there, its sessions kicked; with no
    /// backend left for it, it is kicked and forgotten. Returns how many users moved.
    pub fn reset_users(&mut self, only: Option<IpAddr>, now: i64) -> Result<usize, AdminRefusal> {
        if let Some(ip) = only {
            if self.hosts.get(ip).is_none() {
                return Err(AdminRefusal::NotFound);
            }
        }
        let mut moved = 0;
        let tags: Vec<String> = self.users.keys().cloned().collect();
        for tag in tags {
            let counts = self.session_counts.clone();
            let expire = self.user_expire;
            let live = match self.users.get_mut(&tag) {
                Some(d) => d.live(now, expire, |h| counts.get(&h).copied().unwrap_or(0)),
                None => continue,
            };
            for user in live {
                if only.is_some_and(|ip| ip != user.host) {
                    continue;
                }
                let target = self.hosts.by_hash(user.hash, &tag).map(|h| h.ip);
                if target == Some(user.host) {
                    continue;
                }
                self.kick_where(|s| s.hash == user.hash);
                self.emit(RingMessage::KickHash { hash: user.hash });
                let Some(users) = self.users.get_mut(&tag) else {
                    continue;
                };
                match target {
                    Some(ip) => {
                        let placed = users.set(user.hash, ip, now);
                        self.emit_user(placed);
                    }
                    None => {
                        users.remove(user.hash);
                        self.emit(RingMessage::HostFlushed {
                            ip: user.host,
                            at: now,
                        });
                    }
                }
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// `USER-LOOKUP`.
    pub fn user_status(&mut self, hash: u32, tag: &str, now: i64) -> UserStatus {
        let sessions = self.sessions_of(hash);
        let expire = self.user_expire;
        let current = self
            .users
            .get_mut(tag)
            .and_then(|d| d.lookup(hash, now, expire, sessions))
            .map(|u| (u.host, u.timestamp + expire));
        UserStatus {
            current,
            hashed: self.hosts.by_hash(hash, tag).map(|h| h.ip),
            initial: self.configured.by_hash(hash, tag).map(|h| h.ip),
        }
    }

    /// `USER-MOVE`: the user's sessions are kicked and it is placed on `ip`.
    pub fn user_move(&mut self, hash: u32, ip: IpAddr, now: i64) -> Result<(), AdminRefusal> {
        let tag = self
            .hosts
            .get(ip)
            .ok_or(AdminRefusal::NotFound)?
            .tag
            .clone();
        let sessions = self.sessions_of(hash);
        let expire = self.user_expire;
        let users = self.users.entry(tag).or_default();
        let current = users.lookup(hash, now, expire, sessions);
        let placed = users.set(hash, ip, now);
        self.emit_user(placed);
        if current.is_some_and(|u| u.host != ip) {
            self.kick_where(|s| s.hash == hash);
            self.emit(RingMessage::KickHash { hash });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn director() -> Director {
        Director::new(MailHosts::parse("10.0.0.1 10.0.0.2").unwrap(), 900, "%Lu")
    }

    /// A user the ring puts on `host`.
    fn user_on(d: &Director, host: &str) -> String {
        (0..1000)
            .map(|i| format!("user{i}"))
            .find(|u| {
                let hash = d.hash(u).unwrap();
                d.hosts.by_hash(hash, "").unwrap().ip == ip(host)
            })
            .unwrap()
    }

    fn counter() -> (Arc<AtomicUsize>, Kick) {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        (
            n,
            Box::new(move || {
                m.fetch_add(1, Ordering::SeqCst);
            }),
        )
    }

    #[test]
    fn users_stick_while_sessions_last_and_until_they_expire() {
        let mut d = director();
        let alice = user_on(&d, "10.0.0.1");
        assert_eq!(d.request(&alice, "", 1000).unwrap().ip, ip("10.0.0.1"));
        assert_eq!(
            d.request(&alice.to_uppercase(), "", 1001).unwrap().ip,
            ip("10.0.0.1")
        );
        let (_, kick) = counter();
        let session = d.session_started(&alice, kick).unwrap();
        // Down: no new users, but alice stays while her session lasts and after.
        d.host_updown(ip("10.0.0.1"), true, 1002).unwrap();
        assert_eq!(d.request(&alice, "", 5000).unwrap().ip, ip("10.0.0.1"));
        let carol = (0..1000)
            .map(|i| format!("c{i}"))
            .find(|u| d.configured.by_hash(d.hash(u).unwrap(), "").unwrap().ip == ip("10.0.0.1"))
            .unwrap();
        assert_eq!(d.request(&carol, "", 5000).unwrap().ip, ip("10.0.0.2"));
        d.session_ended(session, 6000);
        assert_eq!(d.request(&alice, "", 6899).unwrap().ip, ip("10.0.0.1"));
        // 900 seconds after her last login with no session, she goes by the ring.
        assert_eq!(d.request(&alice, "", 7799).unwrap().ip, ip("10.0.0.2"));
        let status = d.user_status(d.hash(&alice).unwrap(), "", 7800);
        assert_eq!(status.current, Some((ip("10.0.0.2"), 7799 + 900)));
        assert_eq!(
            (status.hashed, status.initial),
            (Some(ip("10.0.0.2")), Some(ip("10.0.0.1")))
        );
    }

    #[test]
    fn flush_moves_users_whose_place_changed_and_kicks_them() {
        let mut d = director();
        let alice = user_on(&d, "10.0.0.1");
        let bob = user_on(&d, "10.0.0.2");
        d.request(&alice, "", 10).unwrap();
        d.request(&bob, "", 10).unwrap();
        let (kicked, kick) = counter();
        d.session_started(&alice, kick).unwrap();
        // Nothing changed on the ring: nobody moves.
        assert_eq!(d.reset_users(None, 11), Ok(0));
        d.host_set(ip("10.0.0.1"), "", Some(0), 11).unwrap();
        assert_eq!(d.reset_users(Some(ip("10.0.0.2")), 12), Ok(0));
        assert_eq!(d.reset_users(Some(ip("10.0.0.1")), 12), Ok(1));
        assert_eq!(kicked.load(Ordering::SeqCst), 1);
        assert_eq!(d.request(&alice, "", 13).unwrap().ip, ip("10.0.0.2"));
        let list = d.host_list(13);
        assert_eq!(list[0].1, 0);
        assert_eq!(list[1].1, 2);
        assert_eq!(
            d.reset_users(Some(ip("10.9.9.9")), 13),
            Err(AdminRefusal::NotFound)
        );
    }

    #[test]
    fn remove_and_force_flush_forget_users() {
        let mut d = director();
        let alice = user_on(&d, "10.0.0.1");
        d.request(&alice, "", 10).unwrap();
        assert_eq!(d.host_flush(ip("10.0.0.1"), 10), Ok(1));
        assert_eq!(d.all_users(10).len(), 0);
        d.request(&alice, "", 10).unwrap();
        d.host_remove(ip("10.0.0.1"), 11).unwrap();
        assert_eq!(d.request(&alice, "", 11).unwrap().ip, ip("10.0.0.2"));
        assert_eq!(
            d.host_remove(ip("10.0.0.1"), 11),
            Err(AdminRefusal::NotFound)
        );
        d.host_remove(ip("10.0.0.2"), 12).unwrap();
        assert!(d.request(&alice, "", 12).is_err());
    }

    #[test]
    fn admin_changes_are_checked() {
        let mut d = director();
        assert_eq!(
            d.host_set(ip("10.0.0.1"), "", Some(1001), 1),
            Err(AdminRefusal::Other("vhost count too large"))
        );
        assert_eq!(
            d.host_set(ip("10.0.0.1"), "x", None, 1),
            Err(AdminRefusal::Other("host tag can't be changed"))
        );
        d.host_set(ip("10.0.0.3"), "x", Some(5), 1).unwrap();
        assert_eq!(d.hosts.get(ip("10.0.0.3")).unwrap().vhost_count, 5);
        assert_eq!(
            d.host_update(ip("10.0.0.4"), 5, 1),
            Err(AdminRefusal::NotFound)
        );
        assert_eq!(
            d.host_updown(ip("10.0.0.4"), true, 1),
            Err(AdminRefusal::NotFound)
        );
        let alice = user_on(&d, "10.0.0.1");
        let hash = d.hash(&alice).unwrap();
        d.request(&alice, "", 1).unwrap();
        let (kicked, kick) = counter();
        d.session_started(&alice, kick).unwrap();
        d.user_move(hash, ip("10.0.0.2"), 2).unwrap();
        assert_eq!(kicked.load(Ordering::SeqCst), 1);
        assert_eq!(d.request(&alice, "", 3).unwrap().ip, ip("10.0.0.2"));
        assert_eq!(d.kick_user(&alice), 1);
        assert_eq!(d.kick_user("nobody"), 0);
    }
}
