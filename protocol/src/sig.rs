//! The one signature rule, for a single record and for a batch alike: ZIP 215 (the rule Zcash
//! adopted so that every node accepts exactly the same signatures), as implemented by
//! `ed25519-consensus`, plus two checks of our own on the author key. This small interface is
//! the only place the crate is used, so the rule can be reviewed, and the crate swapped, here.
//!
//! - The author key must be the canonical encoding of a point that is not of small order
//!   (checked here with `curve25519-dalek`, once per key): one member, one key encoding.
//! - `S` must be canonical (`S < ℓ`); `R` may be any point encoding; the check is the cofactored
//!   equation `[8][S]B = [8]R + [8][k]A`, so torsion in `R` never matters and a batch accepts
//!   exactly when every one of its signatures would be accepted alone. (ed25519-dalek's
//!   `verify_strict` and its batch check disagree on such signatures; that is why it is not used.)
//!
//! `ed25519-consensus` is maintained by the Zcash Foundation and used in Zebra; it has not had an
//! audit of its own that we know of, which is one more reason it stays behind this module.

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_consensus::{Signature, VerificationKey, VerificationKeyBytes, batch};

use crate::error::RecordError;

/// An author key that passed [`author_key`].
#[derive(Clone, Copy, Debug)]
pub struct AuthorKey(VerificationKey);

/// Checks a member key: a canonical point encoding, not of small order.
pub fn author_key(bytes: &[u8; 32]) -> Result<AuthorKey, RecordError> {
    let point = CompressedEdwardsY(*bytes).decompress().ok_or(RecordError::InvalidKey)?;
    if point.compress().to_bytes() != *bytes {
        return Err(RecordError::InvalidKey);
    }
    if point.is_small_order() {
        return Err(RecordError::WeakKey);
    }
    VerificationKey::try_from(*bytes).map(AuthorKey).map_err(|_| RecordError::InvalidKey)
}

/// Whether `signature` signs `message` under `key`.
pub fn verify_one(key: &AuthorKey, message: &[u8], signature: &[u8; 64]) -> bool {
    key.0.verify(&Signature::from(*signature), message).is_ok()
}

/// Whether every signature of a batch is valid: the same answer as [`verify_one`] on each
/// (up to a negligible chance of accepting a bad batch), at a fraction of the cost.
pub fn verify_all<'a>(items: impl IntoIterator<Item = (&'a AuthorKey, &'a [u8], &'a [u8; 64])>) -> bool {
    let mut verifier = batch::Verifier::new();
    for (key, message, signature) in items {
        verifier.queue((VerificationKeyBytes::from(key.0), Signature::from(*signature), message));
    }
    verifier.verify(rand_core::OsRng).is_ok()
}
