//! Loopback ports for the servers the tests start, safe against every other test running at
//! the same time.
//!
//! A port from `bind(127.0.0.1:0)` lies in the kernel's ephemeral range: between the test's
//! check and the server's own bind, any outgoing connection on the machine may be given that
//! port (CI once failed so: "listen(127.0.0.1, 36907) failed: Address already in use"). So the
//! ports come from below that range, where the kernel never picks, and each one handed out is
//! claimed with an flock on `/tmp/cote-test-ports/<port>` that this process holds until it
//! exits: two test processes (Rust or the Python drivers, which use the same directory) never
//! pick the same port. The claim files are not inherited by the servers (close-on-exec).

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::io::AsRawFd;
use std::sync::Mutex;

const FIRST: u16 = 20000;
const LAST: u16 = 32000;
const CLAIMS: &str = "/tmp/cote-test-ports";

/// Claim files this process holds (the flock lasts as long as the file stays open).
static HELD: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// A loopback TCP port nothing listens on and no other test process was given.
pub fn free_port() -> u16 {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(CLAIMS).expect("create the port claim directory");
    // Everyone may claim, whoever created the directory (tests run as root and as users).
    let _ = std::fs::set_permissions(CLAIMS, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
    let span = u32::from(LAST - FIRST);
    let start = start_offset() % span;
    for step in 0..span {
        let port = FIRST + ((start + step) % span) as u16;
        let Some(claim) = claim(port) else { continue };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            held.push(claim);
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{LAST}");
}

/// The claim file of `port`, locked by us, or None when another process holds it.
fn claim(port: u16) -> Option<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{CLAIMS}/{port}"))
        .ok()?;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    locked.then_some(file)
}

/// Where this process starts looking: spread by pid and time, so concurrent test processes
/// rarely probe the same ports.
fn start_offset() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::process::id()
        .wrapping_mul(7919)
        .wrapping_add(nanos / 1000)
}
