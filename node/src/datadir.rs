//! A node's data directory: key files, the federation manifest, the node's settings and the
//! store, each at a fixed place.
//!
//! ```text
//! DIR/member.key     member (authorship) key, 0600
//! DIR/node.key       node (transport) key, 0600
//! DIR/manifest.json  the federation manifest
//! DIR/node.toml      the member's coarse profile (and later issues' settings)
//! DIR/store/         the sled store
//! DIR/store.made     written once a store was opened here: a store gone missing is refused, not remade
//! ```

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use lantern_protocol::summary::MemberProfile;
use lantern_protocol::{Manifest, MemberKey, signed};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::keys::{self, KeyError};
use crate::store::{Store, StoreError};

#[derive(Debug, Error)]
pub enum DataDirError {
    #[error("data dir {0} does not exist; create it with `lantern init --data-dir {0}`")]
    Missing(String),
    #[error(
        "data dir {0} has no member.key: restore it from a backup (`lantern restore`); without it this node cannot \
         sign as its member (`lantern init` in another dir makes a new member, who must be vouched in)"
    )]
    NoMemberKey(String),
    #[error(
        "{0} is missing: `lantern node-key new` makes a fresh one (the node gets a new peer id and binds it to \
         your member at its next start)"
    )]
    NoNodeKey(String),
    #[error("cannot create data dir {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error(
        "no federation manifest at {0}; create one with `lantern federation create` or install one with `lantern federation join FILE`"
    )]
    NoManifest(String),
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
    #[error("{path} already holds a different federation ({existing}); refusing to replace it")]
    OtherFederation { path: String, existing: String },
    #[error("the store in {0} is in use by a running node; stop it first (or act through its API)")]
    InUse(String),
    #[error(
        "{store} is missing, but this node had a store (its private cases and the federation's records): restore \
         it from a backup (`lantern restore`); to start with an empty store instead (records come back by \
         catch-up, private cases do not), remove {marker}"
    )]
    StoreMissing { store: String, marker: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The node's settings file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The member's coarse profile, copied into every summary it publishes.
    #[serde(default)]
    pub profile: MemberProfile,
    /// The member's own identifiers, always redacted from anything it publishes.
    #[serde(default)]
    pub identifiers: crate::redact::Profile,
}

impl NodeConfig {
    /// The settings of a `node.toml` text; the error is one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().replace('\n', " "))
    }
}

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A data dir that must already exist.
    pub fn existing(root: &Path) -> Result<Self, DataDirError> {
        if !root.exists() {
            return Err(DataDirError::Missing(root.display().to_string()));
        }
        if !root.join("member.key").exists() {
            return Err(DataDirError::NoMemberKey(root.display().to_string()));
        }
        Ok(Self { root: root.to_path_buf() })
    }

    /// Creates the data dir (mode 0700) with fresh member and node keys and a settings file.
    /// Refuses to touch existing keys.
    pub fn init(root: &Path, profile: MemberProfile) -> Result<(Self, MemberKey), DataDirError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| DataDirError::Create { path: root.display().to_string(), source: e })?;
        let dir = Self { root: root.to_path_buf() };
        for path in [dir.member_key_path(), dir.node_key_path()] {
            if path.exists() {
                return Err(KeyError::Exists { path: path.display().to_string() }.into());
            }
        }
        let member = keys::generate();
        keys::write_new(&dir.member_key_path(), &member)?;
        keys::write_new(&dir.node_key_path(), &keys::generate())?;
        if !dir.config_path().exists() {
            let text = toml::to_string(&NodeConfig { profile, ..NodeConfig::default() }).expect("config serializes");
            std::fs::write(dir.config_path(), format!("# Lantern node settings\n{text}"))
                .map_err(|e| DataDirError::Create { path: dir.config_path().display().to_string(), source: e })?;
        }
        Ok((dir, signed::member_key(&member)))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn member_key_path(&self) -> PathBuf {
        self.root.join("member.key")
    }

    pub fn node_key_path(&self) -> PathBuf {
        self.root.join("node.key")
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("node.toml")
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("store")
    }

    pub fn member_key(&self) -> Result<SigningKey, DataDirError> {
        Ok(keys::read(&self.member_key_path())?)
    }

    pub fn node_key(&self) -> Result<SigningKey, DataDirError> {
        let path = self.node_key_path();
        if !path.exists() {
            return Err(DataDirError::NoNodeKey(path.display().to_string()));
        }
        Ok(keys::read(&path)?)
    }

    /// A fresh transport key, for one that was lost (or, with `replace`, one to retire).
    pub fn new_node_key(&self, replace: bool) -> Result<(), DataDirError> {
        let path = self.node_key_path();
        if replace && path.exists() {
            std::fs::remove_file(&path).map_err(|e| KeyError::Write { path: path.display().to_string(), source: e })?;
        }
        Ok(keys::write_new(&path, &keys::generate())?)
    }

    pub fn config(&self) -> Result<NodeConfig, DataDirError> {
        let path = self.config_path();
        if !path.exists() {
            return Ok(NodeConfig::default());
        }
        let bad = |message: String| DataDirError::BadFile { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        NodeConfig::parse(&text).map_err(bad)
    }

    pub fn manifest(&self) -> Result<Manifest, DataDirError> {
        let path = self.manifest_path();
        if !path.exists() {
            return Err(DataDirError::NoManifest(path.display().to_string()));
        }
        read_manifest(&path)
    }

    /// Installs a manifest; installing the same one again is a no-op, a different one an error.
    pub fn install_manifest(&self, manifest: &Manifest) -> Result<(), DataDirError> {
        let path = self.manifest_path();
        if path.exists() {
            let existing = read_manifest(&path)?;
            if existing.id() != manifest.id() {
                return Err(DataDirError::OtherFederation {
                    path: path.display().to_string(),
                    existing: existing.id().to_hex(),
                });
            }
            return Ok(());
        }
        write_manifest(&path, manifest)
    }

    pub fn open_store(&self) -> Result<Store, DataDirError> {
        let manifest = self.manifest()?;
        // A store that was made here and is gone now is lost data, not a fresh start.
        let marker = self.root.join(STORE_MARKER);
        if marker.exists() && !self.store_path().exists() {
            return Err(DataDirError::StoreMissing {
                store: self.store_path().display().to_string(),
                marker: marker.display().to_string(),
            });
        }
        let store = match Store::open(&self.store_path(), &manifest) {
            Err(StoreError::Db(e)) if crate::store::is_lock_error(&e) => {
                return Err(DataDirError::InUse(self.root.display().to_string()));
            }
            // A torn write (a full disk): rebuild from the block log, then open the result.
            Err(StoreError::IndexDisagrees { indexed, logged }) => {
                let rebuilt = crate::store::repair::rebuild(&self.store_path(), &manifest)?;
                tracing::warn!(
                    indexed,
                    logged,
                    kept = rebuilt.records,
                    dropped = rebuilt.dropped,
                    damaged_copy = %rebuilt.damaged_copy.display(),
                    "the store's record index disagreed with its block log (a torn write?): rebuilt it from the log"
                );
                Store::open(&self.store_path(), &manifest)?
            }
            other => other?,
        };
        store.keep_own_head_in(self.own_head_file());
        if !marker.exists() {
            std::fs::write(&marker, "this node has a store in store/; see `lantern restore` if it goes missing\n")
                .map_err(|e| DataDirError::Create { path: marker.display().to_string(), source: e })?;
        }
        Ok(store)
    }

    /// The highest sequence this member signed here: outside `store/`, so it outlives a wiped or
    /// rolled-back store (see `store::own_head`).
    pub fn own_head_file(&self) -> crate::store::own_head::HeadFile {
        crate::store::own_head::HeadFile::new(self.root.join("own-chain"))
    }

    /// The store, manifest and member key together: this node's view of its federation.
    pub fn federation(&self) -> Result<crate::federation::Federation, DataDirError> {
        Ok(crate::federation::Federation::new(self.open_store()?, self.manifest()?, self.member_key()?)?)
    }
}

/// Written beside `store/` once a store was opened here: its absence later is a loss.
const STORE_MARKER: &str = "store.made";

pub fn read_manifest(path: &Path) -> Result<Manifest, DataDirError> {
    let bad = |message: String| DataDirError::BadFile { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    manifest.validate().map_err(|e| bad(e.to_string()))?;
    Ok(manifest)
}

pub fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), DataDirError> {
    let text = serde_json::to_string_pretty(manifest).expect("manifest serializes") + "\n";
    std::fs::write(path, text).map_err(|e| DataDirError::Create { path: path.display().to_string(), source: e })
}
