//! Several directors sharing one view of the users (`director_servers`): cote's directors
//! connect to each other (each to those listed after it, by address and port) over the
//! director's inet listener, send their whole state when a connection starts, and then every
//! change as it is made ([`message`]). Where two directors placed a user differently, the
//! later placement wins on both, so they agree again as soon as they have talked.
//!
//! Users with sessions on one director are refreshed toward the others every quarter of
//! `director_user_expire`, so no director lets them expire while they are in use. A
//! director that starts waits a few seconds for the others' state before it places anyone.
//! Dovecot's directors speak another protocol: a ring mixes cote's directors only.

pub mod message;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use message::{RingMessage, HANDSHAKE};

use super::service::{now, with_director};
use super::settings::RingSettings;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RECONNECT_DELAY: Duration = Duration::from_secs(2);
/// How long a login waits after the director started for the other directors' state.
const SYNC_WAIT: Duration = Duration::from_secs(5);
const MAX_LINE: u64 = 65536;

struct Ring {
    me: SocketAddr,
    started: Instant,
    peers: Vec<Peer>,
}

struct Peer {
    addr: SocketAddr,
    state: Mutex<PeerState>,
}

#[derive(Default)]
struct PeerState {
    /// The connection's queue of lines, while connected.
    sender: Option<Sender<String>>,
    /// Which connection is current (a newer one replaces an older one).
    generation: u64,
    /// Its whole state has arrived on the current connection.
    synced: bool,
    incoming: bool,
    last_failed: i64,
}

static RING: OnceLock<Ring> = OnceLock::new();

impl Peer {
    fn state(&self) -> MutexGuard<'_, PeerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts talking to the other directors (in the director process, once).
pub fn start(settings: &RingSettings, user_expire: i64) {
    let ring = Ring {
        me: settings.me,
        started: Instant::now(),
        peers: settings
            .peers
            .iter()
            .map(|addr| Peer {
                addr: *addr,
                state: Mutex::new(PeerState::default()),
            })
            .collect(),
    };
    if RING.set(ring).is_err() {
        return;
    }
    let Some(ring) = RING.get() else { return };
    for (index, peer) in ring.peers.iter().enumerate() {
        if peer.addr > ring.me {
            std::thread::spawn(move || connect_loop(index));
        }
    }
    let every = Duration::from_secs(u64::try_from(user_expire / 4).unwrap_or(0).max(1));
    std::thread::spawn(move || loop {
        std::thread::sleep(every);
        with_director(|d| d.refresh_sessions(now()));
    });
}

/// Whether this director is one of several.
pub fn enabled() -> bool {
    RING.get().is_some()
}

/// Waits (a few seconds at most after startup) until every other director has sent its
/// state, so that no user is placed here without knowing where the others put it.
pub fn wait_synced() {
    let Some(ring) = RING.get() else { return };
    while ring.started.elapsed() < SYNC_WAIT && !ring.peers.iter().all(|p| p.state().synced) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `messages` to every connected director (called with the director state locked, so
/// the order is the order of the changes).
pub fn broadcast(messages: &[RingMessage]) {
    let Some(ring) = RING.get() else { return };
    if messages.is_empty() {
        return;
    }
    for peer in &ring.peers {
        if let Some(sender) = &peer.state().sender {
            for m in messages {
                // A closed queue: the connection is ending, and the next one resends all.
                let _ = sender.send(m.encode());
            }
        }
    }
}

fn connect_loop(index: usize) {
    let Some(ring) = RING.get() else { return };
    let addr = ring.peers[index].addr;
    let mut failing = false;
    loop {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                failing = false;
                if let Err(e) = run(stream, Some(index)) {
                    log::error!("director({addr}): {e}");
                }
            }
            Err(e) => {
                ring.peers[index].state().last_failed = now();
                if !failing {
                    log::error!(
                        "director({addr}): connect() failed: {}",
                        crate::errtext::os_error_text(&e)
                    );
                }
                failing = true;
            }
        }
        std::thread::sleep(RECONNECT_DELAY);
    }
}

/// A connection from another director on the ring listener.
pub fn serve_incoming(stream: TcpStream) {
    let from = stream.peer_addr().ok().map(|a| a.ip());
    let listed = RING
        .get()
        .is_some_and(|r| r.peers.iter().any(|p| Some(p.addr.ip()) == from));
    if !listed {
        let from = from.map_or_else(|| "?".to_string(), |ip| ip.to_string());
        log::warn!("Connection from {from}: Server not listed in director_servers, dropping");
        return;
    }
    if let Err(e) = run(stream, None) {
        log::error!("director connection: {e}");
    }
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Result<Option<String>, String> {
    let mut line = String::new();
    match reader.take(MAX_LINE).read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(line.trim_end_matches('\n').to_string())),
        Err(e) => Err(format!("read() failed: {e}")),
    }
}

/// One connection to another director: handshake, states both ways, then changes until
/// it breaks. `outgoing`: the peer this director dialled.
fn run(stream: TcpStream, outgoing: Option<usize>) -> Result<(), String> {
    let Some(ring) = RING.get() else {
        return Ok(());
    };
    let _ = stream.set_nodelay(true);
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("dup() failed: {e}"))?;
    let hello = format!(
        "{HANDSHAKE}\n{}\n",
        RingMessage::Me {
            ip: ring.me.ip(),
            port: ring.me.port()
        }
        .encode()
    );
    writer
        .write_all(hello.as_bytes())
        .map_err(|e| format!("write() failed: {e}"))?;
    let mut reader = BufReader::new(stream);
    match read_line(&mut reader)? {
        Some(line) if line.starts_with("VERSION\tcote-director-ring\t1\t") => {}
        Some(line) => return Err(format!("invalid handshake: {line}")),
        None => return Ok(()),
    }
    let peer_addr = match read_line(&mut reader)?.as_deref().map(RingMessage::decode) {
        Some(Some(RingMessage::Me { ip, port })) => SocketAddr::new(ip, port),
        Some(_) => return Err("invalid ME line".into()),
        None => return Ok(()),
    };
    let Some(index) = ring.peers.iter().position(|p| p.addr == peer_addr) else {
        return Err(format!("{peer_addr} is not listed in director_servers"));
    };
    if outgoing.is_some_and(|o| o != index) {
        return Err(format!(
            "connected to {peer_addr}, not the director dialled"
        ));
    }
    let peer = &ring.peers[index];
    let (sender, lines) = channel::<String>();
    // Registered and given our state in one step: no change falls between the two.
    let generation = with_director(|d| {
        let mut state = peer.state();
        state.generation += 1;
        state.synced = false;
        state.incoming = outgoing.is_none();
        for m in d.snapshot(now()) {
            let _ = sender.send(m.encode());
        }
        let _ = sender.send(RingMessage::Done.encode());
        state.sender = Some(sender);
        state.generation
    })
    .unwrap_or(0);
    log::info!("Connected to director {peer_addr}");
    let writing = std::thread::spawn(move || {
        for line in lines {
            if writer.write_all(format!("{line}\n").as_bytes()).is_err() {
                break;
            }
        }
        let _ = writer.shutdown(Shutdown::Both);
    });
    let result = loop {
        let line = match read_line(&mut reader) {
            Ok(Some(line)) => line,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        match RingMessage::decode(&line) {
            Some(RingMessage::Done) => {
                peer.state().synced = true;
                log::info!("Director {peer_addr} synced");
            }
            Some(message) => {
                with_director(|d| d.apply(message));
            }
            None => break Err(format!("invalid line from {peer_addr}: {line}")),
        }
    };
    {
        let mut state = peer.state();
        if state.generation == generation {
            state.sender = None;
            state.synced = false;
            state.last_failed = now();
        }
    }
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    let _ = writing.join();
    log::warn!("Disconnected from director {peer_addr}");
    result
}

/// `DIRECTOR-LIST` rows: this director, then each other one.
pub fn status_lines() -> String {
    let Some(ring) = RING.get() else {
        // Alone: no address of its own in director_servers.
        return "\t0\tself\t0\tring synced\t0\n\n".to_string();
    };
    let synced = ring.peers.iter().all(|p| p.state().synced);
    let mut out = format!(
        "{}\t{}\tself\t0\t{}\t0\n",
        ring.me.ip(),
        ring.me.port(),
        if synced {
            "ring synced"
        } else {
            "ring syncing"
        }
    );
    for peer in &ring.peers {
        let state = peer.state();
        let (kind, status) = match (&state.sender, state.synced) {
            (None, _) => ("", "disconnected"),
            (Some(_), synced) => (
                if state.incoming { "in" } else { "out" },
                if synced { "synced" } else { "handshaking" },
            ),
        };
        out.push_str(&format!(
            "{}\t{}\t{kind}\t{}\t{status}\t0\t0\t0\t0\t0\t0\t0\n",
            peer.addr.ip(),
            peer.addr.port(),
            state.last_failed
        ));
    }
    out.push('\n');
    out
}
