//! What analysts asked: one JSON line per pattern query made with an analyst token, in
//! `analyst-queries.log` in the data dir, so the node operator can see who asks what (`lantern
//! token log`, `GET /api/v1/analysts/log`, the Node page). It holds the analyst's name, the
//! query and the answer's status: nothing about any case.
//!
//! Bounded: past [`MAX_BYTES`] the file is moved to `analyst-queries.log.1` (replacing the one
//! before) and a new one started.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub const QUERY_LOG_FILE: &str = "analyst-queries.log";

/// Size at which the log moves aside.
pub const MAX_BYTES: u64 = 4 << 20;

/// Longest query kept in an entry; longer ones are cut (the server refuses most of them anyway).
const MAX_QUERY: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryEntry {
    /// Seconds since 1970, UTC.
    pub at: u64,
    pub analyst: String,
    /// Path and query string, as asked.
    pub query: String,
    /// The HTTP status of the answer (429 when the analyst's read budget was spent).
    pub status: u16,
}

pub struct QueryLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().append(true).create(true).mode(0o600).open(path)
}

impl QueryLog {
    pub fn new(root: &Path) -> Self {
        Self { path: root.join(QUERY_LOG_FILE), file: Mutex::new(None) }
    }

    /// Appends one entry. A log that cannot be written is reported and skipped: it must not
    /// stop queries (the node's disk may be full).
    pub fn record(&self, analyst: &str, query: &str, status: u16) {
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut query = query.to_string();
        if query.len() > MAX_QUERY {
            let cut = (0..=MAX_QUERY).rev().find(|&i| query.is_char_boundary(i)).unwrap_or(0);
            query.truncate(cut);
        }
        let entry = QueryEntry { at, analyst: analyst.to_string(), query, status };
        let mut line = serde_json::to_string(&entry).expect("an entry serialises");
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.append(&mut file, line.as_bytes()) {
            tracing::warn!(error = %e, path = %self.path.display(), "analyst query log not written");
            *file = None;
        }
    }

    /// The last `limit` entries (see [`read`]).
    pub fn entries(&self, analyst: Option<&str>, limit: usize) -> std::io::Result<Vec<QueryEntry>> {
        read(self.path.parent().unwrap_or(Path::new(".")), analyst, limit)
    }

    fn append(&self, file: &mut Option<File>, line: &[u8]) -> std::io::Result<()> {
        let full = match file {
            Some(f) => f.metadata()?.len() >= MAX_BYTES,
            None => std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= MAX_BYTES),
        };
        if full {
            *file = None;
            std::fs::rename(&self.path, self.path.with_extension("log.1"))?;
        }
        let f = match file {
            Some(f) => f,
            None => file.insert(open_append(&self.path)?),
        };
        f.write_all(line)
    }
}

/// The last `limit` entries (of `analyst` only, if given), oldest first, from the log and the
/// generation before it. Lines that do not parse (a torn last line) are skipped.
pub fn read(root: &Path, analyst: Option<&str>, limit: usize) -> std::io::Result<Vec<QueryEntry>> {
    let path = root.join(QUERY_LOG_FILE);
    let mut entries = Vec::new();
    for file in [path.with_extension("log.1"), path] {
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in BufReader::new(f).lines() {
            let Ok(entry) = serde_json::from_str::<QueryEntry>(&line?) else { continue };
            if analyst.is_none_or(|a| a == entry.analyst) {
                entries.push(entry);
            }
        }
    }
    let skip = entries.len().saturating_sub(limit);
    Ok(entries.split_off(skip))
}

/// Entries as a plain-text table: time (UTC), analyst, status, query.
pub fn table(entries: &[QueryEntry]) -> String {
    let mut t = crate::table::Table::new(&["time (UTC)", "analyst", "status", "query"]);
    for e in entries {
        let at = time::OffsetDateTime::from_unix_timestamp(e.at as i64)
            .map(|t| format!("{} {:02}:{:02}:{:02}", t.date(), t.hour(), t.minute(), t.second()))
            .unwrap_or_default();
        t.row(vec![at, e.analyst.clone(), e.status.to_string(), e.query.clone()]);
    }
    t.text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_back_filtered_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let log = QueryLog::new(dir.path());
        log.record("alice", "/api/v1/patterns/matrix?period=2026", 200);
        log.record("bob", "/api/v1/patterns/trends", 200);
        log.record("alice", "/api/v1/patterns/durations", 429);
        let all = read(dir.path(), None, 10).unwrap();
        assert_eq!(all.iter().map(|e| e.analyst.as_str()).collect::<Vec<_>>(), ["alice", "bob", "alice"]);
        let alice = read(dir.path(), Some("alice"), 1).unwrap();
        assert_eq!(alice.len(), 1);
        assert_eq!((alice[0].query.as_str(), alice[0].status), ("/api/v1/patterns/durations", 429));
    }

    #[test]
    fn the_log_moves_aside_when_full_and_both_generations_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(QUERY_LOG_FILE);
        // A full log from before: the next entry starts a new file.
        let old = QueryEntry { at: 1, analyst: "old".into(), query: "q".into(), status: 200 };
        let mut text = serde_json::to_string(&old).unwrap() + "\n";
        text.push_str(&" ".repeat(MAX_BYTES as usize));
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let log = QueryLog::new(dir.path());
        log.record("new", &"x".repeat(5_000), 200);
        assert!(std::fs::metadata(&path).unwrap().len() < 1_000, "a fresh file, the long query cut");
        let entries = read(dir.path(), None, 10).unwrap();
        assert_eq!(entries.iter().map(|e| e.analyst.as_str()).collect::<Vec<_>>(), ["old", "new"]);
        assert_eq!(entries[1].query.len(), MAX_QUERY);
    }
}
