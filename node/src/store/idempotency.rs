//! Idempotency keys for writes that must not happen twice (publish, amend, retract, purge, adding
//! a case): a client that retries because the first answer was lost gets that answer again
//! instead of a second record or case. `idempotency` tree: key → the request's fingerprint, the
//! first answer and when. Kept 24 hours and at most 10 000 keys.

use lantern_protocol::RecordId;

use crate::publish::Made;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

const KEEP_SECONDS: u64 = 24 * 3600;
const MAX_KEYS: usize = 10_000;

/// A client's key: 1-128 characters of `A-Z a-z 0-9 . _ : -` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for IdempotencyKey {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=128).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok { Ok(Self(s.to_string())) } else { Err("1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'") }
    }
}

/// What the first request with a key made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstAnswer {
    pub record: RecordId,
    pub kind: String,
    /// Absent for anonymous records, which have no sequence.
    #[serde(default)]
    pub sequence: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: [u8; 32],
    answer: serde_json::Value,
    at: u64,
}

/// A signing write, first time or again (used once per request: its size does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Once {
    Signed(Made),
    Again(FirstAnswer),
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Store {
    /// Runs `write` unless `key` was used before: then answers what the first request got, if
    /// `request` (what the client asked, as bytes) is the same, else refuses. The flag says
    /// whether `write` ran. Two requests with one key never both run.
    pub fn once<T: Serialize + DeserializeOwned, E: From<StoreError>>(
        &self,
        key: &IdempotencyKey,
        request: &[u8],
        write: impl FnOnce() -> Result<T, E>,
    ) -> Result<(T, bool), E> {
        let _one_at_a_time = self.idempotency_lock.lock().unwrap_or_else(|p| p.into_inner());
        let fingerprint = *blake3::hash(request).as_bytes();
        let damaged = || StoreError::Corrupt { tree: "idempotency", detail: "entry".into() };
        if let Some(bytes) = self.idempotency.get(key.0.as_bytes()).map_err(StoreError::from)? {
            let entry: Entry = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
            if now().saturating_sub(entry.at) < KEEP_SECONDS {
                if entry.fingerprint != fingerprint {
                    return Err(StoreError::IdempotencyKeyReused.into());
                }
                return Ok((serde_json::from_value(entry.answer).map_err(|_| damaged())?, false));
            }
        }
        let answer = write()?;
        let entry = Entry { fingerprint, answer: serde_json::to_value(&answer).map_err(|_| damaged())?, at: now() };
        self.forget_old_keys()?;
        let bytes = serde_json::to_vec(&entry).map_err(|_| damaged())?;
        self.idempotency.insert(key.0.as_bytes(), bytes).map_err(StoreError::from)?;
        self.idempotency.flush().map_err(StoreError::from)?;
        Ok((answer, true))
    }

    /// [`Store::once`] for a write that signs a record: the first time, the record itself.
    pub fn sign_once<E: From<StoreError>>(
        &self,
        key: &IdempotencyKey,
        request: &[u8],
        sign: impl FnOnce() -> Result<Made, E>,
    ) -> Result<Once, E> {
        let mut signed = None;
        let (first, fresh) = self.once(key, request, || -> Result<FirstAnswer, E> {
            let record = sign()?;
            let first = FirstAnswer { record: record.id(), kind: record.kind().into(), sequence: record.sequence() };
            signed = Some(record);
            Ok(first)
        })?;
        Ok(match signed {
            Some(record) if fresh => Once::Signed(record),
            _ => Once::Again(first),
        })
    }

    fn forget_old_keys(&self) -> Result<(), StoreError> {
        if self.idempotency.len() < MAX_KEYS {
            return Ok(());
        }
        let mut entries: Vec<(sled::IVec, u64)> = Vec::new();
        for item in self.idempotency.iter() {
            let (k, v) = item?;
            let at = serde_json::from_slice::<Entry>(&v).map_or(0, |e| e.at);
            entries.push((k, at));
        }
        entries.sort_by_key(|(_, at)| *at);
        let cutoff = now().saturating_sub(KEEP_SECONDS);
        let excess = entries.len() + 1 - MAX_KEYS;
        for (i, (k, at)) in entries.into_iter().enumerate() {
            if i < excess || at < cutoff {
                self.idempotency.remove(k)?;
            }
        }
        Ok(())
    }
}
