//! Which backend each user is on (Dovecot's `user-directory.c`), per tag: a user stays on
//! its backend while it has sessions and for `director_user_expire` after the last one
//! ended or the last login was directed, whatever happens to the ring meanwhile.

use std::collections::HashMap;
use std::net::IpAddr;

/// One user's assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub hash: u32,
    pub host: IpAddr,
    /// When it was last directed, or its last session ended (unix seconds).
    pub timestamp: i64,
    /// When it was placed on this backend: of two directors' different assignments, the
    /// later one wins (a move), so every director ends with the same.
    pub since: i64,
}

/// The assignments of one tag.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    users: HashMap<u32, User>,
}

impl UserDirectory {
    /// The user's assignment, if it is still alive at `now` (`sessions`: how many sessions
    /// the user has open); an expired one is dropped.
    pub fn lookup(&mut self, hash: u32, now: i64, expire: i64, sessions: u32) -> Option<User> {
        let user = *self.users.get(&hash)?;
        if sessions > 0 || user.timestamp + expire > now {
            return Some(user);
        }
        self.users.remove(&hash);
        None
    }

    /// Assigns (or reassigns) the user.
    pub fn set(&mut self, hash: u32, host: IpAddr, now: i64) -> User {
        // A placement that replaces one on another backend (move, flush) must win over it
        // on every director, also within the same second: later `since` wins in `merge`.
        let since = match self.users.get(&hash) {
            Some(old) if old.host != host => now.max(old.since + 1),
            _ => now,
        };
        let user = User {
            hash,
            host,
            timestamp: now,
            since,
        };
        self.users.insert(hash, user);
        user
    }

    /// Takes another director's view of a user: the same backend refreshes it; another
    /// backend replaces ours if it was assigned later (at the same time: the lower address).
    /// Returns whether the user's backend changed.
    pub fn merge(&mut self, theirs: User) -> bool {
        match self.users.get_mut(&theirs.hash) {
            Some(ours) if ours.host == theirs.host => {
                ours.timestamp = ours.timestamp.max(theirs.timestamp);
                ours.since = ours.since.min(theirs.since);
                false
            }
            Some(ours) if (theirs.since, ours.host) <= (ours.since, theirs.host) => false,
            _ => {
                self.users.insert(theirs.hash, theirs);
                true
            }
        }
    }

    /// Forgets the users of `host` placed there at or before `at`.
    pub fn remove_host_since(&mut self, host: IpAddr, at: i64) {
        self.users.retain(|_, u| u.host != host || u.since > at);
    }

    /// Restarts the user's expiry, if it is assigned.
    pub fn refresh(&mut self, hash: u32, now: i64) {
        if let Some(user) = self.users.get_mut(&hash) {
            user.timestamp = user.timestamp.max(now);
        }
    }

    pub fn get(&self, hash: u32) -> Option<User> {
        self.users.get(&hash).copied()
    }

    pub fn remove(&mut self, hash: u32) -> Option<User> {
        self.users.remove(&hash)
    }

    /// Forgets every user of `host`; returns them.
    pub fn remove_host(&mut self, host: IpAddr) -> Vec<User> {
        let gone: Vec<User> = self
            .users
            .values()
            .filter(|u| u.host == host)
            .copied()
            .collect();
        for user in &gone {
            self.users.remove(&user.hash);
        }
        gone
    }

    /// The live assignments at `now`, oldest first (expired ones are dropped).
    pub fn live(&mut self, now: i64, expire: i64, sessions: impl Fn(u32) -> u32) -> Vec<User> {
        self.users
            .retain(|hash, user| sessions(*hash) > 0 || user.timestamp + expire > now);
        let mut users: Vec<User> = self.users.values().copied().collect();
        users.sort_by_key(|u| (u.timestamp, u.hash));
        users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_in_the_same_second_wins_on_the_other_director() {
        let (low, high): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut here = UserDirectory::default();
        let mut there = UserDirectory::default();
        there.merge(here.set(7, low, 100));
        // Moved to the higher address within the same second: the lower would win a tie.
        let moved = here.set(7, high, 100);
        assert!(moved.since > 100);
        assert!(there.merge(moved));
        assert_eq!(there.get(7).map(|u| u.host), Some(high));
    }

    #[test]
    fn users_expire_only_without_sessions() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut dir = UserDirectory::default();
        dir.set(7, ip, 100);
        assert!(dir.lookup(7, 114, 15, 0).is_some());
        // A session keeps it past the expiry.
        assert!(dir.lookup(7, 500, 15, 1).is_some());
        dir.refresh(7, 500);
        assert!(dir.lookup(7, 514, 15, 0).is_some());
        assert!(dir.lookup(7, 515, 15, 0).is_none());
        assert!(dir.lookup(7, 100, 15, 1).is_none(), "dropped for good");
        dir.set(8, ip, 0);
        dir.set(9, ip, 10);
        assert_eq!(dir.live(12, 5, |h| u32::from(h == 8)).len(), 2);
        assert_eq!(dir.live(20, 5, |_| 0).len(), 0);
    }

    #[test]
    fn the_later_assignment_wins_everywhere() {
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let user = |host, timestamp, since| User {
            hash: 7,
            host,
            timestamp,
            since,
        };
        let mut one = UserDirectory::default();
        let mut two = UserDirectory::default();
        one.set(7, a, 10);
        two.set(7, b, 10);
        // The same second: both keep the lower address.
        assert!(!one.merge(user(b, 10, 10)));
        assert!(two.merge(user(a, 10, 10)));
        assert_eq!(two.lookup(7, 11, 100, 0).unwrap().host, a);
        // A later move wins; an older view does not undo it.
        assert!(one.merge(user(b, 20, 20)));
        assert!(!one.merge(user(a, 30, 10)));
        assert_eq!(one.lookup(7, 31, 100, 0).unwrap().host, b);
        // The same backend: the newest timestamp counts.
        assert!(!one.merge(user(b, 50, 20)));
        assert_eq!(one.lookup(7, 51, 100, 0).unwrap().timestamp, 50);
        one.remove_host_since(b, 19);
        assert!(one.lookup(7, 52, 100, 0).is_some());
        one.remove_host_since(b, 20);
        assert!(one.lookup(7, 52, 100, 0).is_none());
    }
}
