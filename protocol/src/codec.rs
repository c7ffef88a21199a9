//! Canonical encoding: bincode 2 "standard" configuration (little endian, variable-length
//! integers), see docs/protocol.md. Decoding is strict: the whole input must be consumed, and
//! re-encoding what was decoded must give back exactly the input.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::{Decode, Encode};

use crate::error::RecordError;

/// The one configuration used on the wire. The limit stops length prefixes from claiming more
/// memory than any record can hold.
pub const CONFIG: Configuration<LittleEndian, Varint, Limit<{ crate::MAX_RECORD_BYTES }>> =
    bincode::config::standard().with_limit::<{ crate::MAX_RECORD_BYTES }>();

/// Encodes a value. Values handled here are bounded by validation, so this cannot fail
/// except for a value larger than [`crate::MAX_RECORD_BYTES`], which validation rejects first.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    bincode::encode_to_vec(value, bincode::config::standard()).expect("encoding into a Vec does not fail")
}

/// Decodes exactly one canonical `T` from `bytes`.
pub fn decode_canonical<T: Encode + Decode<()>>(bytes: &[u8], max_len: usize) -> Result<T, RecordError> {
    if bytes.len() > max_len {
        return Err(RecordError::TooLarge { len: bytes.len(), max: max_len });
    }
    let (value, read): (T, usize) =
        bincode::decode_from_slice(bytes, CONFIG).map_err(|e| RecordError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(RecordError::TrailingBytes { extra: bytes.len() - read });
    }
    if encode(&value) != bytes {
        return Err(RecordError::NonCanonical);
    }
    Ok(value)
}
