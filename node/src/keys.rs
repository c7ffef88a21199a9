//! Key files: a member key (authorship) and a node key (transport identity), kept apart so a
//! node's identity can be replaced without touching the member's records. Each file holds the
//! 32-byte ed25519 seed as hex, mode 0600.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ed25519_dalek::SigningKey;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists { path: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot read key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("key file {path} is malformed: expected 64 hex characters")]
    Malformed { path: String },
    #[error("key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
}

/// Cryptographically secure random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system provides randomness");
    out
}

pub fn generate() -> SigningKey {
    SigningKey::from_bytes(&random_bytes::<32>())
}

/// Writes a new key file with mode 0600; never replaces an existing file.
pub fn write_new(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let name = path.display().to_string();
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists { path: name.clone() }
        } else {
            KeyError::Write { path: name.clone(), source: e }
        }
    })?;
    writeln!(file, "{}", hex::encode(key.to_bytes()))
        .and_then(|_| file.sync_all())
        .map_err(|e| KeyError::Write { path: name, source: e })
}

pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| KeyError::Read { path: name.clone(), source: e })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { path: name, mode });
    }
    let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read { path: name.clone(), source: e })?;
    let seed = crate::case::parse_hex::<32>(&text).ok_or(KeyError::Malformed { path: name })?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        let key = generate();
        write_new(&path, &key).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(write_new(&path, &generate()), Err(KeyError::Exists { .. })));
        assert_eq!(read(&path).unwrap().to_bytes(), key.to_bytes());
    }

    #[test]
    fn refuses_a_key_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.key");
        write_new(&path, &generate()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read(&path), Err(KeyError::TooOpen { .. })));
    }
}
