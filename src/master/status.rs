//! Worker → master status messages: "process PID can take N more clients". Each is 8 bytes
//! written with one write(2) to a pipe the whole configuration generation shares, so
//! messages from many workers never tear (they are far below PIPE_BUF).

pub const SIZE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub pid: u32,
    pub available: u32,
}

impl Status {
    pub fn encode(self) -> [u8; SIZE] {
        let mut buf = [0u8; SIZE];
        buf[..4].copy_from_slice(&self.pid.to_le_bytes());
        buf[4..].copy_from_slice(&self.available.to_le_bytes());
        buf
    }

    pub fn decode(buf: &[u8; SIZE]) -> Status {
        Status {
            pid: u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]),
            available: u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]),
        }
    }
}

/// Splits what was read from the status pipe into messages, keeping a torn tail (which a
/// pipe never produces for 8-byte writes, but costs nothing to handle) for the next read.
#[derive(Debug, Default)]
pub struct StatusReader {
    pending: Vec<u8>,
}

impl StatusReader {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Status> {
        self.pending.extend_from_slice(bytes);
        let whole = self.pending.len() / SIZE * SIZE;
        let out = self.pending[..whole]
            .chunks_exact(SIZE)
            .filter_map(|c| <&[u8; SIZE]>::try_from(c).ok())
            .map(Status::decode)
            .collect();
        self.pending.drain(..whole);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_reads() {
        let a = Status {
            pid: 1234,
            available: 0,
        };
        let b = Status {
            pid: 99,
            available: 1000,
        };
        let mut bytes = a.encode().to_vec();
        bytes.extend_from_slice(&b.encode());
        let mut r = StatusReader::default();
        assert_eq!(r.push(&bytes[..5]), []);
        assert_eq!(r.push(&bytes[5..12]), [a]);
        assert_eq!(r.push(&bytes[12..]), [b]);
    }
}
