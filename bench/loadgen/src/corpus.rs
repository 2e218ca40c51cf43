//! The deterministic message corpus: message `i` of seed `s` is always the same bytes.
//! Sizes run from 1 KB to 1 MB (most small, a few large attachments), plain ASCII, UTF-8
//! (8bit and encoded-word subjects), multipart/alternative and multipart/mixed with base64
//! attachments. `write_maildir` lays messages out as Dovecot would after delivery: files in
//! `cur/` named `<base>,S=<size>,W=<vsize>:2,` and a version-3 `dovecot-uidlist`.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// A word that occurs in about one message in 100 (SEARCH TEXT finds a few, not all).
pub const RARE_WORD: &str = "zanzibarite";

const WORDS: &[&str] = &[
    "the", "mail", "server", "index", "report", "meeting", "budget", "quarter", "release",
    "shared", "storage", "cluster", "review", "draft", "invoice", "schedule", "please", "thanks",
    "update", "about", "tomorrow", "project", "network", "latency", "question", "answer",
];
const UTF8_WORDS: &[&str] = &[
    "größe",
    "café",
    "naïve",
    "Ελλάδα",
    "пример",
    "日本語",
    "メール",
    "résumé",
    "Straße",
    "økonomi",
];
const NAMES: &[&str] = &[
    "Alice Martin",
    "Bob Keller",
    "Carol Nguyen",
    "Dmitri Ivanov",
    "Eva Lund",
];

/// splitmix64: small, fast, and the same everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// One of `weighted`'s items, each with the chance of its weight (out of their sum);
    /// the list must not be empty.
    pub fn pick_weighted<T: Copy>(&mut self, weighted: &[(T, u64)]) -> T {
        let total: u64 = weighted.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total);
        for &(item, weight) in weighted {
            if roll < weight {
                return item;
            }
            roll -= weight;
        }
        weighted[weighted.len() - 1].0
    }
}

/// Which sizes a corpus draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeProfile {
    /// 1 KB – 1 MB: 70% up to 8 KB, 20% up to 64 KB, 8% up to 256 KB, 2% up to 1 MB.
    Mixed,
    /// 1 – 4 KB only (large mailboxes, where the file count is the point).
    Small,
}

impl SizeProfile {
    pub fn parse(name: &str) -> Option<SizeProfile> {
        match name {
            "mixed" => Some(SizeProfile::Mixed),
            "small" => Some(SizeProfile::Small),
            _ => None,
        }
    }

    fn target_size(self, rng: &mut Rng) -> usize {
        const KB: u64 = 1024;
        let (low, high) = match self {
            SizeProfile::Small => (KB, 4 * KB),
            SizeProfile::Mixed => match rng.below(100) {
                0..=69 => (KB, 8 * KB),
                70..=89 => (8 * KB, 64 * KB),
                90..=97 => (64 * KB, 256 * KB),
                _ => (256 * KB, 1024 * KB),
            },
        };
        (low + rng.below(high - low)) as usize
    }
}

/// Message `index` of the corpus `seed`: LF line ends (as in a Maildir file).
pub fn message(seed: u64, index: u64, profile: SizeProfile) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let target = profile.target_size(&mut rng);
    let kind = rng.below(4);
    let rare = rng.below(100) == 0;
    let utf8 = kind == 1 || rng.below(5) == 0;
    let from = rng.pick(NAMES);
    let to = rng.pick(NAMES);
    let mut subject = format!("{} {} #{index}", rng.pick(WORDS), rng.pick(WORDS));
    if rare {
        subject.push(' ');
        subject.push_str(RARE_WORD);
    }
    let mut head = String::new();
    let _ = write!(
        head,
        "Return-Path: <{user}@example.org>\n\
         Message-ID: <{seed}.{index}@corpus.example.org>\n\
         Date: {date}\n\
         From: {from} <{user}@example.org>\n\
         To: {to} <{touser}@example.org>\n",
        user = local_part(from),
        touser = local_part(to),
        date = date_of(index),
    );
    if utf8 {
        let word = rng.pick(UTF8_WORDS);
        let _ = writeln!(
            head,
            "Subject: =?UTF-8?B?{}?=",
            base64(format!("{subject} {word}").as_bytes())
        );
    } else {
        let _ = writeln!(head, "Subject: {subject}");
    }
    head.push_str("MIME-Version: 1.0\n");
    let budget = target.saturating_sub(head.len() + 200);
    let body = match kind {
        0 | 1 => {
            let charset = if utf8 { "utf-8" } else { "us-ascii" };
            let _ = write!(
                head,
                "Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {}\n",
                if utf8 { "8bit" } else { "7bit" }
            );
            text(&mut rng, budget, utf8, rare)
        }
        2 => {
            let boundary = format!("=_alt_{index}");
            let _ = writeln!(
                head,
                "Content-Type: multipart/alternative; boundary=\"{boundary}\""
            );
            let plain = text(&mut rng, budget / 2, utf8, rare);
            let html = format!(
                "<html><body><p>{}</p></body></html>\n",
                text(&mut rng, budget / 2, utf8, false)
            );
            format!(
                "This is a multi-part message in MIME format.\n\n--{boundary}\n\
                 Content-Type: text/plain; charset=utf-8\n\n{plain}\n--{boundary}\n\
                 Content-Type: text/html; charset=utf-8\n\n{html}\n--{boundary}--\n"
            )
        }
        _ => {
            let boundary = format!("=_mixed_{index}");
            let _ = writeln!(
                head,
                "Content-Type: multipart/mixed; boundary=\"{boundary}\""
            );
            let note = text(&mut rng, 300.min(budget), utf8, rare);
            let mut attachment = vec![0u8; budget.saturating_sub(400) * 3 / 4];
            for chunk in attachment.chunks_mut(8) {
                let random = rng.next_u64().to_le_bytes();
                chunk.copy_from_slice(&random[..chunk.len()]);
            }
            let name = if utf8 {
                "=?UTF-8?Q?r=C3=A9sum=C3=A9?=.pdf"
            } else {
                "report.pdf"
            };
            format!(
                "--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{note}\n--{boundary}\n\
                 Content-Type: application/pdf; name=\"{name}\"\n\
                 Content-Disposition: attachment; filename=\"{name}\"\n\
                 Content-Transfer-Encoding: base64\n\n{}--{boundary}--\n",
                wrapped_base64(&attachment)
            )
        }
    };
    head.push('\n');
    head.push_str(&body);
    head.into_bytes()
}

/// The message with CRLF line ends (APPEND, LMTP DATA).
pub fn crlf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 40);
    for &byte in message {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

fn local_part(name: &str) -> String {
    name.split(' ')
        .next()
        .unwrap_or("user")
        .to_ascii_lowercase()
}

fn date_of(index: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let day = index % 28 + 1;
    format!(
        "{}, {day} Feb 2026 {:02}:{:02}:{:02} +0000",
        DAYS[((day - 1) % 7) as usize],
        index % 24,
        index % 60,
        (index / 60) % 60
    )
}

fn text(rng: &mut Rng, budget: usize, utf8: bool, rare: bool) -> String {
    let mut out = String::with_capacity(budget + 80);
    let mut column = 0;
    if rare {
        out.push_str(RARE_WORD);
        out.push(' ');
    }
    while out.len() < budget {
        let word = if utf8 && rng.below(6) == 0 {
            rng.pick(UTF8_WORDS)
        } else {
            rng.pick(WORDS)
        };
        out.push_str(word);
        column += word.len() + 1;
        if column > 70 {
            out.push('\n');
            column = 0;
        } else {
            out.push(' ');
        }
    }
    out.push('\n');
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn wrapped_base64(data: &[u8]) -> String {
    let encoded = base64(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Writes messages `first..first+count` of the corpus into the Maildir `dir` (created if
/// missing) as Dovecot would have delivered them, with a fresh `dovecot-uidlist` (UIDs 1..).
/// Any existing content of `dir` is left alone except the uidlist, which is replaced.
pub fn write_maildir(dir: &Path, seed: u64, count: u64, profile: SizeProfile) -> io::Result<u64> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let mut uidlist = format!(
        "3 V{} N{} G{:016x}{:016x}\n",
        1_700_000_000 + seed % 1000,
        count + 1,
        seed,
        count
    );
    let mut bytes = 0;
    for index in 0..count {
        let body = message(seed, index, profile);
        let vsize = body.len() + body.iter().filter(|&&b| b == b'\n').count();
        let base = format!(
            "{}.M{index}P1.corpus,S={},W={vsize}",
            1_770_000_000 + index,
            body.len()
        );
        fs::write(dir.join("cur").join(format!("{base}:2,")), &body)?;
        let _ = writeln!(uidlist, "{} :{base}", index + 1);
        bytes += body.len() as u64;
    }
    let tmp = dir.join("dovecot-uidlist.tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(uidlist.as_bytes())?;
    file.sync_all()?;
    fs::rename(tmp, dir.join("dovecot-uidlist"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        assert_eq!(
            message(7, 3, SizeProfile::Mixed),
            message(7, 3, SizeProfile::Mixed)
        );
        assert_ne!(
            message(7, 3, SizeProfile::Mixed),
            message(7, 4, SizeProfile::Mixed)
        );
        let sizes: Vec<usize> = (0..300)
            .map(|i| message(1, i, SizeProfile::Mixed).len())
            .collect();
        assert!(
            sizes.iter().all(|&s| (900..=1_100_000).contains(&s)),
            "{sizes:?}"
        );
        assert!(sizes.iter().any(|&s| s > 64 * 1024));
        let small = message(1, 5, SizeProfile::Small).len();
        assert!((900..=5000).contains(&small), "{small}");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn maildir_has_files_and_uidlist() {
        let dir = std::env::temp_dir().join(format!("cote-loadgen-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_maildir(&dir, 9, 5, SizeProfile::Small).unwrap();
        let uidlist = fs::read_to_string(dir.join("dovecot-uidlist")).unwrap();
        let lines: Vec<&str> = uidlist.lines().collect();
        assert!(lines[0].starts_with("3 V") && lines[0].contains(" N6 G"));
        assert_eq!(lines.len(), 6);
        assert_eq!(fs::read_dir(dir.join("cur")).unwrap().count(), 5);
        assert_eq!(crlf(b"a\nb\n"), b"a\r\nb\r\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
