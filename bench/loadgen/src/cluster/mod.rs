//! The two-node cluster test's load driver and invariant checker (issue 8): several
//! workers drive LMTP, IMAP and POP3 through two cote (or Dovecot) instances serving one
//! store at once, journal every outcome, and the checker then proves from the journals that
//! nothing acknowledged was lost, nothing expunged came back, UIDs and UIDVALIDITY held, the
//! last acknowledged STOREs won, and both nodes answer the same. `tests/cluster/run.py`
//! starts the nodes on a shared GlusterFS volume and runs these two steps.
//!
//!   cote-loadgen cluster-load --nodes NODES --users U --workers N --seconds T --journal DIR
//!   cote-loadgen cluster-check --nodes NODES --users U --journal DIR [--settle S]
//!
//! NODES: `imap,pop3,lmtp;imap,pop3,lmtp` (one address triple per node).

mod check;
mod journal;
mod load;
mod message;
mod model;
mod snapshot;

pub use check::run_check;
pub use load::run_load;

use std::time::Duration;

/// The mailboxes every worker of a user works on from both nodes (INBOX is LMTP's and
/// POP3's).
pub const SHARED_BOXES: &[&str] = &["Shared1", "Shared2", "Shared3"];

/// One node's listeners.
#[derive(Debug, Clone)]
pub struct Node {
    pub imap: String,
    pub pop3: String,
    pub lmtp: String,
}

/// What both steps need.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub users: Vec<String>,
    pub password: String,
    pub timeout: Duration,
}

/// Parses `imap,pop3,lmtp;imap,pop3,lmtp`.
pub fn parse_nodes(spec: &str) -> Result<Vec<Node>, String> {
    let nodes: Vec<Node> = spec
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|triple| {
            let parts: Vec<&str> = triple.split(',').collect();
            match parts[..] {
                [imap, pop3, lmtp] => Ok(Node {
                    imap: imap.to_string(),
                    pop3: pop3.to_string(),
                    lmtp: lmtp.to_string(),
                }),
                _ => Err(format!("--nodes: {triple:?} is not imap,pop3,lmtp")),
            }
        })
        .collect::<Result<_, _>>()?;
    if nodes.is_empty() {
        return Err("--nodes: no nodes".to_string());
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_specs() {
        let nodes = parse_nodes("a:1,a:2,a:3;b:1,b:2,b:3").unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].lmtp, "b:3");
        assert!(parse_nodes("a:1,a:2").is_err());
        assert!(parse_nodes("").is_err());
    }
}
