//! API bearer tokens. The member token (`api.token`, 0600) allows everything; analyst tokens
//! (`analyst-tokens`, names and BLAKE3 hashes only) allow pattern queries only. Presented
//! tokens are hashed and compared in constant time (`blake3::Hash` equality). A running node
//! re-reads the analyst tokens file when it changes, so `lantern token analyst` and `token
//! revoke` take effect at once.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use thiserror::Error;

pub const MEMBER_TOKEN_FILE: &str = "api.token";
pub const ANALYST_TOKENS_FILE: &str = "analyst-tokens";
const MAX_NAME: usize = 64;

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} line {line}: expected `NAME HASH`")]
    BadLine { path: String, line: usize },
    #[error("analyst name must be 1-{MAX_NAME} characters of a-z, 0-9, '-' and '_'")]
    BadName,
    #[error("an analyst token named `{0}` exists already")]
    Exists(String),
}

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The member operating the node: everything.
    Member,
    /// Pattern queries only.
    Analyst,
}

/// The holder of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Member,
    /// An analyst token, by the name it was issued under.
    Analyst(String),
}

impl Caller {
    pub fn role(&self) -> Role {
        match self {
            Caller::Member => Role::Member,
            Caller::Analyst(_) => Role::Analyst,
        }
    }
}

#[derive(Debug)]
pub struct Tokens {
    member: blake3::Hash,
    analysts: RwLock<Analysts>,
    /// The analyst tokens file, re-read when it changes; `None` for fixed tokens.
    source: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Analysts {
    /// The file as last read: modified time, length, inode (`None`: there was no file).
    read_at: Option<(SystemTime, u64, u64)>,
    hashes: Vec<(String, blake3::Hash)>,
}

/// What tells a changed file from the one last read.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TokenError + '_ {
    move |source| TokenError::Io { path: path.display().to_string(), source }
}

fn new_token() -> String {
    hex::encode(crate::keys::random_bytes::<32>())
}

/// The member token of the data dir at `root`, created (0600) if it is missing.
pub fn member_token(root: &Path) -> Result<String, TokenError> {
    let path = root.join(MEMBER_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    let token = new_token();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    file.write_all(format!("{token}\n").as_bytes()).and_then(|()| file.sync_all()).map_err(io(&path))?;
    Ok(token)
}

fn analysts_path(root: &Path) -> PathBuf {
    root.join(ANALYST_TOKENS_FILE)
}

fn read_analysts(root: &Path) -> Result<Vec<(String, blake3::Hash)>, TokenError> {
    read_analysts_file(&analysts_path(root))
}

fn read_analysts_file(path: &Path) -> Result<Vec<(String, blake3::Hash)>, TokenError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(path)(e)),
    };
    let bad = |line| TokenError::BadLine { path: path.display().to_string(), line };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            let (name, hash) = l.trim().split_once(' ').ok_or_else(|| bad(i + 1))?;
            let hash = blake3::Hash::from_hex(hash.trim()).map_err(|_| bad(i + 1))?;
            Ok((name.to_string(), hash))
        })
        .collect()
}

/// Issues a new analyst token under `name`; only its hash is kept.
pub fn issue_analyst(root: &Path, name: &str) -> Result<String, TokenError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid {
        return Err(TokenError::BadName);
    }
    if read_analysts(root)?.iter().any(|(n, _)| n == name) {
        return Err(TokenError::Exists(name.to_string()));
    }
    let token = new_token();
    let path = analysts_path(root);
    let mut file = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(&path).map_err(io(&path))?;
    let line = format!("{name} {}\n", blake3::hash(token.as_bytes()).to_hex());
    file.write_all(line.as_bytes()).and_then(|()| file.sync_all()).map_err(io(&path))?;
    Ok(token)
}

/// Removes analyst token `name`; true if it existed.
pub fn revoke_analyst(root: &Path, name: &str) -> Result<bool, TokenError> {
    let mut analysts = read_analysts(root)?;
    let before = analysts.len();
    analysts.retain(|(n, _)| n != name);
    if analysts.len() == before {
        return Ok(false);
    }
    // Written aside and renamed over: a running node never reads half a file.
    let path = analysts_path(root);
    let fresh = root.join(format!("{ANALYST_TOKENS_FILE}.new"));
    let text: String = analysts.iter().map(|(n, h)| format!("{n} {}\n", h.to_hex())).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&fresh)
        .map_err(io(&fresh))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io(&fresh))?;
    std::fs::rename(&fresh, &path).map_err(io(&path))?;
    Ok(true)
}

impl Tokens {
    /// The tokens of the data dir at `root`, creating the member token if needed.
    pub fn load(root: &Path) -> Result<Self, TokenError> {
        let member = blake3::hash(member_token(root)?.as_bytes());
        let source = analysts_path(root);
        let analysts = Analysts { read_at: file_stamp(&source), hashes: read_analysts_file(&source)? };
        Ok(Self { member, analysts: RwLock::new(analysts), source: Some(source) })
    }

    /// Tokens from their plain values (tests, demos).
    pub fn from_plain(member: &str, analysts: &[(&str, &str)]) -> Self {
        let hashes = analysts.iter().map(|(n, t)| (n.to_string(), blake3::hash(t.as_bytes()))).collect();
        Self {
            member: blake3::hash(member.as_bytes()),
            analysts: RwLock::new(Analysts { read_at: None, hashes }),
            source: None,
        }
    }

    /// Re-reads the analyst tokens if their file changed. A file that cannot be read or parsed
    /// grants no analyst access until it is fixed (fail closed).
    fn refresh(&self) {
        let Some(path) = &self.source else { return };
        let stamp = file_stamp(path);
        if self.analysts.read().unwrap_or_else(|p| p.into_inner()).read_at == stamp {
            return;
        }
        let hashes = read_analysts_file(path).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "analyst tokens unreadable: no analyst access until fixed");
            Vec::new()
        });
        *self.analysts.write().unwrap_or_else(|p| p.into_inner()) = Analysts { read_at: stamp, hashes };
    }

    /// The role a presented token grants, if any.
    pub fn role(&self, presented: &str) -> Option<Role> {
        self.caller(presented).map(|c| c.role())
    }

    /// Who presented the token, if anyone we know.
    pub fn caller(&self, presented: &str) -> Option<Caller> {
        let h = blake3::hash(presented.trim().as_bytes());
        self.refresh();
        // Every comparison runs, whichever matches.
        let member = h == self.member;
        let analysts = self.analysts.read().unwrap_or_else(|p| p.into_inner());
        let analyst = analysts.hashes.iter().fold(None, |found, (name, a)| if h == *a { Some(name) } else { found });
        if member { Some(Caller::Member) } else { analyst.map(|name| Caller::Analyst(name.clone())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_token_is_created_once_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = member_token(dir.path()).unwrap();
        assert_eq!(member_token(dir.path()).unwrap(), first);
        let mode = std::fs::metadata(dir.path().join(MEMBER_TOKEN_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Tokens::load(dir.path()).unwrap().role(&first), Some(Role::Member));
    }

    #[test]
    fn analyst_tokens_grant_the_analyst_role_until_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let token = issue_analyst(dir.path(), "alice").unwrap();
        assert!(matches!(issue_analyst(dir.path(), "alice"), Err(TokenError::Exists(_))));
        assert!(matches!(issue_analyst(dir.path(), "Bad Name"), Err(TokenError::BadName)));
        let stored = std::fs::read_to_string(dir.path().join(ANALYST_TOKENS_FILE)).unwrap();
        assert!(!stored.contains(&token), "only the hash is stored");
        let tokens = Tokens::load(dir.path()).unwrap();
        assert_eq!(tokens.role(&token), Some(Role::Analyst));
        assert_eq!(tokens.role("wrong"), None);
        // A running node (the same `Tokens`) follows issues and revocations at once.
        let bob = issue_analyst(dir.path(), "bob").unwrap();
        assert_eq!(tokens.role(&bob), Some(Role::Analyst));
        assert!(revoke_analyst(dir.path(), "alice").unwrap());
        assert_eq!(tokens.role(&token), None);
        assert_eq!(tokens.role(&bob), Some(Role::Analyst));
        assert_eq!(Tokens::load(dir.path()).unwrap().role(&token), None);
        // A damaged file grants no analyst access (the member token still works).
        std::fs::write(dir.path().join(ANALYST_TOKENS_FILE), "bob not-a-hash\n").unwrap();
        assert_eq!(tokens.role(&bob), None);
    }
}
