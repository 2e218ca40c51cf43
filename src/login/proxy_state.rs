//! What a login process knows about each backend it proxies to (Dovecot's
//! `login-proxy-state`): how many of its clients are being relayed there and how many lost
//! their backend lately. When a backend goes away, `login_proxy_max_disconnect_delay`
//! spreads the disconnection of its clients over up to that long, so they do not all come
//! back at the same moment (Dovecot's `login_proxy_delay_disconnect`, per process as there).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Disconnections are spread in steps of this (`PROXY_DISCONNECT_INTERVAL_MSECS`).
const INTERVAL_MS: u64 = 100;

#[derive(Debug)]
struct Record {
    proxying: u32,
    disconnects_since_ts: u32,
    disconnect_ts: Instant,
    delayed: u32,
}

impl Record {
    fn new() -> Self {
        Record {
            proxying: 0,
            disconnects_since_ts: 0,
            disconnect_ts: Instant::now(),
            delayed: 0,
        }
    }
}

/// The records of this process, by backend address.
#[derive(Debug, Default)]
pub struct ProxyState {
    records: Mutex<HashMap<SocketAddr, Record>>,
}

/// The process's state.
pub fn state() -> &'static ProxyState {
    static STATE: std::sync::OnceLock<ProxyState> = std::sync::OnceLock::new();
    STATE.get_or_init(ProxyState::default)
}

impl ProxyState {
    fn with<T>(&self, backend: SocketAddr, f: impl FnOnce(&mut Record) -> T) -> T {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        f(records.entry(backend).or_insert_with(Record::new))
    }

    /// A client is now relayed to `backend`.
    pub fn relaying(&self, backend: SocketAddr) {
        self.with(backend, |r| {
            r.proxying += 1;
            r.disconnects_since_ts = 0;
        });
    }

    /// The client went away first: nothing to spread.
    pub fn client_closed(&self, backend: SocketAddr) {
        self.with(backend, |r| r.proxying = r.proxying.saturating_sub(1));
    }

    /// `backend` closed a relayed client's session: how long to keep the client before
    /// disconnecting it (zero: now). A nonzero delay must be ended with [`Self::delay_over`].
    pub fn server_closed(&self, backend: SocketAddr, max_delay: Duration) -> Duration {
        let jitter = crate::auth::random::bytes::<1>().map_or(0, |b| u64::from(b[0]));
        self.with(backend, |r| {
            r.proxying = r.proxying.saturating_sub(1);
            spread(r, max_delay, Instant::now(), jitter * INTERVAL_MS / 256)
        })
    }

    /// A delayed disconnection is done.
    pub fn delay_over(&self, backend: SocketAddr) {
        self.with(backend, |r| {
            r.delayed = r.delayed.saturating_sub(1);
            if r.delayed == 0 {
                r.disconnects_since_ts = 0;
            }
        });
    }
}

/// Dovecot's rule: up to one second's share of the clients goes at once; past that each
/// further disconnection waits its turn, spread evenly over `max_delay` from the first one
/// (which starts `jitter_ms` late so that processes do not act in step).
fn spread(r: &mut Record, max_delay: Duration, now: Instant, jitter_ms: u64) -> Duration {
    if r.disconnects_since_ts == 0 {
        r.disconnect_ts = now + Duration::from_millis(jitter_ms);
    }
    r.disconnects_since_ts += 1;
    let max_delay_secs = max_delay.as_secs();
    if max_delay_secs == 0 {
        return Duration::ZERO;
    }
    let max_conns = u64::from(r.proxying) + u64::from(r.disconnects_since_ts);
    let per_sec = max_conns.div_ceil(max_delay_secs);
    if u64::from(r.disconnects_since_ts) <= per_sec && r.delayed == 0 {
        return Duration::ZERO;
    }
    let steps = max_delay_secs * u64::from(r.disconnects_since_ts) * (1000 / INTERVAL_MS)
        / max_conns.max(1);
    let at = r.disconnect_ts + Duration::from_millis(INTERVAL_MS * steps);
    let delay = at.saturating_duration_since(now);
    if !delay.is_zero() {
        r.delayed += 1;
    }
    delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnections_are_spread_over_the_delay() {
        let now = Instant::now();
        let mut r = Record::new();
        r.proxying = 100;
        // 10 s for 100 clients: 10 a second go at once, the rest wait their turn.
        let delays: Vec<Duration> = (0..100)
            .map(|_| {
                r.proxying -= 1;
                spread(&mut r, Duration::from_secs(10), now, 0)
            })
            .collect();
        assert!(delays[..10].iter().all(|d| d.is_zero()), "{delays:?}");
        assert!(!delays[10].is_zero());
        assert!(delays.windows(2).skip(10).all(|w| w[0] <= w[1]));
        assert!(delays[99] <= Duration::from_secs(10) && delays[99] >= Duration::from_secs(9));
        // Without the setting nobody waits.
        let mut r = Record::new();
        r.proxying = 100;
        assert!((0..100).all(|_| spread(&mut r, Duration::ZERO, now, 0).is_zero()));
    }
}
