//! What this member has signed, kept beside the store (in the data dir, outside `store/`), so a
//! store that was wiped, rolled back or restored from a backup cannot make the node sign a
//! sequence number it signed before: that would be an equivocation every node keeps for good.
//!
//! The file holds `signed N` (the highest sequence this node signed) and, after a restore,
//! `unconfirmed` until the node has finished a catch-up with a member.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnHead {
    pub signed: u64,
    /// False after a restore: the backup may be older than what the node signed since.
    pub confirmed: bool,
}

#[derive(Debug, Clone)]
pub struct HeadFile {
    path: PathBuf,
}

impl HeadFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read(&self) -> Result<Option<OwnHead>, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let bad = || StoreError::BadHeadFile(self.path.display().to_string());
        let mut head = OwnHead { signed: 0, confirmed: true };
        let mut seen = false;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once(' ') {
                Some(("signed", n)) => {
                    head.signed = n.parse().map_err(|_| bad())?;
                    seen = true;
                }
                None if line == "unconfirmed" => head.confirmed = false,
                _ => return Err(bad()),
            }
        }
        if !seen {
            return Err(bad());
        }
        Ok(Some(head))
    }

    /// Replaces the file whole (written aside, synced, renamed), so a crash leaves the old or
    /// the new head, never a torn one.
    pub fn write(&self, head: OwnHead) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        write!(file, "signed {}\n{}", head.signed, if head.confirmed { "" } else { "unconfirmed\n" })?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = HeadFile::new(dir.path().join("own-chain"));
        assert_eq!(file.read().unwrap(), None);
        for head in [OwnHead { signed: 14, confirmed: true }, OwnHead { signed: 3, confirmed: false }] {
            file.write(head).unwrap();
            assert_eq!(file.read().unwrap(), Some(head));
        }
        std::fs::write(file.path(), "signed fourteen\n").unwrap();
        let err = file.read().unwrap_err().to_string();
        assert!(err.contains("own-chain"), "{err}");
    }
}
