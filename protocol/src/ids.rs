//! Fixed-size identifiers. All print and parse as lowercase hex and serialize as hex strings.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A hex string that is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} must be {len} hex characters")]
pub struct BadId {
    pub what: &'static str,
    pub len: usize,
}

macro_rules! byte_id {
    ($(#[$meta:meta])* $name:ident, $len:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first 8 hex characters, for logs and tables.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }

            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out)
                    .map_err(|_| BadId { what: $what, len: $len * 2 })?;
                Ok(Self(out))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

byte_id!(
    /// A member's ed25519 public key: the author identity of records.
    MemberKey, 32, "member key"
);
byte_id!(
    /// BLAKE3 hash of a record's exact signed bytes.
    RecordId, 32, "record id"
);
byte_id!(
    /// BLAKE3 hash of the encoded federation manifest.
    FederationId, 32, "federation id"
);
byte_id!(
    /// A random reference for one published case, shared by its amendments and its retraction.
    /// Unrelated to the member's private case id, which never leaves the node.
    CaseRef, 16, "case ref"
);

impl RecordId {
    pub fn of(signed_bytes: &[u8]) -> Self {
        Self(*blake3::hash(signed_bytes).as_bytes())
    }
}
