//! `lantern backup DIR` / `lantern restore DIR`: a consistent copy of a stopped node's keys,
//! settings and store, and a new data dir made from one.
//!
//! A backup is a directory: the data dir's small files as they are (keys stay 0600), and
//! `store.lantern-backup`, every sled tree entry framed as below, ending with the BLAKE3 hash
//! of everything before it, so a damaged copy is refused rather than restored.
//!
//! ```text
//! "LANTERN-STORE-BACKUP-1\n"
//! per tree:  u8 1, u32 type length, type, u32 name length, name, then per entry:
//!            u8 1, u32 field count, per field u32 length + bytes;   u8 0 ends the tree
//! u8 0 ends the trees; then the 32-byte BLAKE3 hash of all the bytes before it
//! ```
//! Lengths are little-endian.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use thiserror::Error;

use crate::datadir::{DataDir, DataDirError};

const MAGIC: &[u8] = b"LANTERN-STORE-BACKUP-1\n";
const STORE_FILE: &str = "store.lantern-backup";
/// The data dir's files copied as they are (those that exist).
const FILES: &[&str] = &["member.key", "node.key", "manifest.json", "node.toml", "api.token", "analyst-tokens"];
/// Longest field accepted when reading a backup (sled values here are far smaller).
const MAX_FIELD: usize = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0} exists already; choose a new directory")]
    Exists(String),
    #[error("{0} is not a Lantern backup (or is damaged): {1}")]
    Damaged(String, &'static str),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("store: {0}")]
    Db(#[from] sled::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.display().to_string(), source }
}

/// Writes and hashes at once.
struct Hashing<W: Write> {
    inner: W,
    hash: blake3::Hasher,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(bytes)
}

/// Copies the stopped node at `from` into the new directory `to`; `progress` gets entries written.
pub fn backup(from: &DataDir, to: &Path, mut progress: impl FnMut(u64)) -> Result<u64, BackupError> {
    // Opening the store takes its lock: a running node makes this fail, so the copy is consistent.
    let store = from.open_store()?;
    if to.exists() {
        return Err(BackupError::Exists(to.display().to_string()));
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(to).map_err(io(to))?;
    for name in FILES {
        let src = from.root().join(name);
        if src.exists() {
            let dst = to.join(name);
            std::fs::copy(&src, &dst).map_err(io(&dst))?;
        }
    }
    let path = to.join(STORE_FILE);
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(io(&path))?;
    let mut w = Hashing { inner: BufWriter::new(file), hash: blake3::Hasher::new() };
    let mut entries = 0u64;
    let result: std::io::Result<()> = (|| {
        w.write_all(MAGIC)?;
        for (kind, name, items) in store.db().export() {
            w.write_all(&[1])?;
            put(&mut w, &kind)?;
            put(&mut w, &name)?;
            for fields in items {
                w.write_all(&[1])?;
                w.write_all(&(fields.len() as u32).to_le_bytes())?;
                for f in &fields {
                    put(&mut w, f)?;
                }
                entries += 1;
                if entries.is_multiple_of(10_000) {
                    progress(entries);
                }
            }
            w.write_all(&[0])?;
        }
        w.write_all(&[0])?;
        let hash = *w.hash.finalize().as_bytes();
        w.inner.write_all(&hash)?;
        w.inner.flush()?;
        w.inner.get_ref().sync_all()
    })();
    result.map_err(io(&path))?;
    progress(entries);
    Ok(entries)
}

struct Reader<R: Read> {
    inner: R,
    hash: blake3::Hasher,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.inner.read_exact(&mut buf)?;
        self.hash.update(&buf);
        Ok(buf)
    }
    fn u8(&mut self) -> std::io::Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> std::io::Result<usize> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4 bytes")) as usize)
    }
    fn field(&mut self) -> std::io::Result<Vec<u8>> {
        let n = self.u32()?;
        if n > MAX_FIELD {
            return Err(std::io::Error::other("field too long"));
        }
        self.bytes(n)
    }
}

type Collection = (Vec<u8>, Vec<u8>, Vec<Vec<Vec<u8>>>);

fn read_store(path: &Path, progress: &mut impl FnMut(u64)) -> Result<Vec<Collection>, BackupError> {
    let damaged = |why| BackupError::Damaged(path.display().to_string(), why);
    let file = File::open(path).map_err(io(path))?;
    let mut r = Reader { inner: BufReader::new(file), hash: blake3::Hasher::new() };
    let mut collections = Vec::new();
    let mut entries = 0u64;
    let parsed: std::io::Result<bool> = (|| {
        if r.bytes(MAGIC.len())? != MAGIC {
            return Ok(false);
        }
        while r.u8()? == 1 {
            let (kind, name) = (r.field()?, r.field()?);
            let mut items = Vec::new();
            while r.u8()? == 1 {
                let count = r.u32()?;
                if count > 16 {
                    return Ok(false);
                }
                items.push((0..count).map(|_| r.field()).collect::<std::io::Result<Vec<_>>>()?);
                entries += 1;
                if entries.is_multiple_of(10_000) {
                    progress(entries);
                }
            }
            collections.push((kind, name, items));
        }
        Ok(true)
    })();
    if !parsed.map_err(|_| damaged("truncated"))? {
        return Err(damaged("unexpected content"));
    }
    let expected = *r.hash.finalize().as_bytes();
    let mut stored = [0u8; 32];
    r.inner.read_exact(&mut stored).map_err(|_| damaged("no checksum"))?;
    if stored != expected {
        return Err(damaged("checksum mismatch"));
    }
    progress(entries);
    Ok(collections)
}

/// Makes the new data dir `to` from the backup in `from`.
pub fn restore(from: &Path, to: &Path, mut progress: impl FnMut(u64)) -> Result<DataDir, BackupError> {
    if to.exists() {
        return Err(BackupError::Exists(to.display().to_string()));
    }
    // Check the whole backup before creating anything.
    let collections = read_store(&from.join(STORE_FILE), &mut progress)?;
    for name in ["member.key", "node.key", "manifest.json"] {
        if !from.join(name).exists() {
            return Err(BackupError::Damaged(from.display().to_string(), "a key or the manifest is missing"));
        }
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(to).map_err(io(to))?;
    for name in FILES {
        let src = from.join(name);
        if src.exists() {
            let dst = to.join(name);
            std::fs::copy(&src, &dst).map_err(io(&dst))?;
        }
    }
    let dir = DataDir::existing(to)?;
    let db = crate::store::open_db(&dir.store_path())?;
    db.import(collections.into_iter().map(|(k, n, items)| (k, n, items.into_iter())).collect());
    db.flush()?;
    drop(db);
    // Open it as a store once: checks it belongs to the manifest's federation.
    let store = dir.open_store()?;
    // The backup may be older than what this member signed since: sign again only after a
    // catch-up with a member (`store::own_head`).
    let held = store.chain(&lantern_protocol::signed::member_key(&dir.member_key()?))?.last().map_or(0, |(s, _)| *s);
    dir.own_head_file().write(crate::store::own_head::OwnHead { signed: held, confirmed: false })?;
    Ok(dir)
}
