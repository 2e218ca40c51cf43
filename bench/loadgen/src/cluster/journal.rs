//! The journal of a cluster run: one line per operation the load driver finished, with its
//! outcome, written by each worker to its own file. The checker rebuilds from these lines
//! what the store must hold.
//!
//! A line is `<event> key=value ...` (values have no spaces: tokens, box names and numbers are
//! chosen that way). An event name ends in `?` when the outcome is unknown (the connection
//! broke before the answer) and in `!` when the server refused (NO, BAD, 4xx, 5xx): a refused
//! operation must have changed nothing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server acknowledged it (OK, 250, +OK).
    Done,
    /// No answer (connection lost, timeout): it may or may not have happened.
    Unknown,
    /// The server refused it: it must not have happened.
    Refused,
}

impl Outcome {
    fn suffix(self) -> &'static str {
        match self {
            Outcome::Done => "",
            Outcome::Unknown => "?",
            Outcome::Refused => "!",
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub event: String,
    pub outcome: Outcome,
    pub worker: usize,
    fields: HashMap<String, String>,
}

impl Entry {
    pub fn new(event: &str, outcome: Outcome, worker: usize) -> Entry {
        Entry {
            event: event.to_string(),
            outcome,
            worker,
            fields: HashMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Entry {
        self.fields.insert(key.to_string(), value.to_string());
        self
    }

    pub fn get(&self, key: &str) -> Result<&str, String> {
        self.fields
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("{} by worker {}: no {key}=", self.event, self.worker))
    }

    pub fn num(&self, key: &str) -> Result<u32, String> {
        let text = self.get(key)?;
        text.parse()
            .map_err(|_| format!("{}: {key}={text:?} is not a number", self.event))
    }

    /// A comma-separated list (empty: none).
    pub fn list(&self, key: &str) -> Result<Vec<String>, String> {
        Ok(self
            .get(key)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }

    fn line(&self) -> String {
        let mut line = format!("{}{} w={}", self.event, self.outcome.suffix(), self.worker);
        let mut keys: Vec<&String> = self.fields.keys().collect();
        keys.sort();
        for key in keys {
            let _ = write!(line, " {key}={}", self.fields[key]);
        }
        line
    }

    fn parse(line: &str) -> Result<Entry, String> {
        let mut words = line.split(' ');
        let head = words.next().unwrap_or("");
        let (event, outcome) = if let Some(e) = head.strip_suffix('?') {
            (e, Outcome::Unknown)
        } else if let Some(e) = head.strip_suffix('!') {
            (e, Outcome::Refused)
        } else {
            (head, Outcome::Done)
        };
        if event.is_empty() {
            return Err(format!("journal line {line:?}: no event"));
        }
        let mut entry = Entry::new(event, outcome, 0);
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("journal line {line:?}: {word:?} is not key=value"))?;
            if key == "w" {
                entry.worker = value
                    .parse()
                    .map_err(|_| format!("journal line {line:?}: bad worker"))?;
            } else {
                entry.fields.insert(key.to_string(), value.to_string());
            }
        }
        Ok(entry)
    }
}

/// A worker's journal file, written line by line (each line one write, flushed at once, so a
/// killed driver loses at most the line it was writing).
pub struct Journal(File);

impl Journal {
    pub fn create(path: &Path) -> io::Result<Journal> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Journal)
    }

    pub fn record(&mut self, entry: &Entry) -> io::Result<()> {
        self.0.write_all(format!("{}\n", entry.line()).as_bytes())
    }
}

/// Every entry of every `journal-*.txt` in `dir`, each file in its order, files by name.
pub fn read_dir(dir: &Path) -> Result<Vec<Vec<Entry>>, String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal-") && n.ends_with(".txt"))
        })
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut entries = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            if line.is_empty() {
                continue;
            }
            entries.push(Entry::parse(&line).map_err(|e| format!("{}: {e}", path.display()))?);
        }
        out.push(entries);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let entry = Entry::new("append", Outcome::Unknown, 3)
            .with("box", "Shared1")
            .with("uid", 7);
        let line = entry.line();
        assert_eq!(line, "append? w=3 box=Shared1 uid=7");
        let back = Entry::parse(&line).unwrap();
        assert_eq!(back, entry);
        assert_eq!(back.num("uid").unwrap(), 7);
        assert!(back.num("box").is_err());
        assert!(back.get("token").is_err());
        assert_eq!(
            Entry::parse("pop3-del! w=1 tokens=a,b").unwrap().outcome,
            Outcome::Refused
        );
        assert_eq!(
            Entry::parse("pop3-del w=1 tokens=a,b")
                .unwrap()
                .list("tokens")
                .unwrap(),
            ["a", "b"]
        );
        assert!(Entry::parse("x w=1 junk").is_err());
        assert!(Entry::parse("?").is_err());
    }
}
