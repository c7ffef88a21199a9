//! Rebuilding a store whose record index disagrees with its block log: what a write torn by a
//! full disk leaves (sled 0.34 does not keep a transaction whole when its flush fails). The block
//! log is the truth: every record still in it is verified and stored again through the normal
//! write path into a fresh store beside the old one, the private trees (cases, their refs and
//! published versions, remembered peers, idempotency keys, the case counter) are copied over,
//! and the fresh store takes the old one's place. The damaged copy is kept beside it.

use std::path::{Path, PathBuf};

use lantern_protocol::Manifest;

use super::{Store, StoreError, blocks, open_db};

/// Trees that hold what exists only on this node, copied as they are.
const PRIVATE_TREES: &[&str] = &["cases", "case_refs", "published", "relayed", "peers", "idempotency"];

/// What a rebuild did.
#[derive(Debug)]
pub struct Rebuilt {
    /// Records found in the block log and stored again.
    pub records: usize,
    /// Entries of the log that were not records any more (torn blocks, purged slots).
    pub dropped: usize,
    /// Where the damaged store was moved.
    pub damaged_copy: PathBuf,
}

/// Rebuilds the store at `dir` from its block log; see the module doc.
pub fn rebuild(dir: &Path, manifest: &Manifest) -> Result<Rebuilt, StoreError> {
    let (records, dropped, private, next_case) = {
        let old = open_db(dir)?;
        let (mut records, mut dropped) = (Vec::new(), 0);
        for entry in old.open_tree("blocks")?.iter() {
            let (_, block) = entry?;
            match blocks::records(&block) {
                Some(parts) => {
                    for r in parts {
                        if r.is_empty() { dropped += 1 } else { records.push(r.to_vec()) }
                    }
                }
                None => dropped += 1,
            }
        }
        let mut private = Vec::new();
        for name in PRIVATE_TREES {
            let tree = old.open_tree(name)?;
            let entries = tree.iter().collect::<Result<Vec<_>, _>>()?;
            private.push((*name, entries));
        }
        let next_case = old.open_tree("meta")?.get("next_case")?;
        (records, dropped, private, next_case)
    };
    let fresh_dir = dir.with_extension("rebuilding");
    if fresh_dir.exists() {
        std::fs::remove_dir_all(&fresh_dir)?;
    }
    let mut stored = 0;
    {
        let fresh = Store::open(&fresh_dir, manifest)?;
        for chunk in records.chunks(4096) {
            stored += fresh.ingest_any(chunk)?.iter().filter(|r| r.is_ok()).count();
        }
        for (name, entries) in private {
            let tree = fresh.db.open_tree(name)?;
            for (k, v) in entries {
                tree.insert(k, v)?;
            }
        }
        if let Some(next) = next_case {
            fresh.meta.insert("next_case", next)?;
        }
        fresh.db.flush()?;
    }
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let damaged_copy = dir.with_extension(format!("damaged-{unix}"));
    std::fs::rename(dir, &damaged_copy)?;
    std::fs::rename(&fresh_dir, dir)?;
    Ok(Rebuilt { records: stored, dropped: dropped + records.len() - stored, damaged_copy })
}
