//! The record envelope: who wrote what, where it sits in the author's chain, and the body.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::anon::{self, AnonymityKey, AnonymitySecret, Ring, RingProof, Scope};
use crate::error::{RecordError, Rule, ValidationError};
use crate::ids::{CaseRef, FederationId, MemberKey, RecordId};
use crate::month::Month;
use crate::summary::CaseSummary;
use crate::vocab::{PurgeReason, RetractionReason};

/// What an author signs. Its canonical encoding followed by the 64-byte signature is the record.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Envelope {
    /// [`crate::WIRE_FORMAT`].
    pub format: u8,
    pub federation: FederationId,
    pub author: MemberKey,
    /// 1 for an author's first record, then +1 for each record.
    pub sequence: u64,
    /// The id of the author's record `sequence - 1`; absent exactly when `sequence` is 1.
    pub previous: Option<RecordId>,
    /// Coarse creation time; never a day.
    pub created: Month,
    pub body: Body,
}

/// The record kinds. Wire order is fixed: add new kinds at the end only.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// A new case, or (with `supersedes`) an amendment of one this author published before.
    Summary(SummaryBody),
    /// Withdraws a case (all its versions) from every figure.
    Retraction(RetractionBody),
    /// The author vouches for `member` joining the federation.
    Vouch(VouchBody),
    /// The author withdraws an earlier vouch for `member`.
    VouchWithdrawal(VouchBody),
    /// The author revokes its own key, optionally naming the key that succeeds it.
    KeyRevocation(KeyRevocationBody),
    /// The author declares that the node with transport key `node_key` serves it.
    NodeBinding(NodeBindingBody),
    /// The author asks every node to delete the bytes of some of its own summaries (they leaked
    /// something) and to withdraw their cases from every figure; nodes keep only the ids.
    Purge(PurgeBody),
    /// The author registers its anonymity key ([`crate::anon`]), proving it holds its secret.
    AnonymityKey(AnonymityKeyBody),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SummaryBody {
    pub case: CaseRef,
    /// The record this one amends (the latest version of the same case), if any.
    pub supersedes: Option<RecordId>,
    pub summary: CaseSummary,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RetractionBody {
    pub case: CaseRef,
    pub reason: RetractionReason,
}

/// Most records one purge names.
pub const MAX_PURGE_TARGETS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PurgeBody {
    /// Ids of the author's own summary records (any version of any case), ascending, distinct.
    /// Targets that are not the author's summaries are ignored by every node.
    pub targets: Vec<RecordId>,
    pub reason: PurgeReason,
}

/// A member's anonymity key, with a proof of possession: a ring proof over the key alone in the
/// member's own registration scope, signing the key. Nobody can register a key it cannot sign
/// with (so nobody can take over, or shadow, another member's place in the rings).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AnonymityKeyBody {
    pub key: AnonymityKey,
    pub possession: RingProof,
}

impl AnonymityKeyBody {
    /// The registration of `secret`'s public key by `member`.
    pub fn new(secret: &AnonymitySecret, federation: FederationId, member: MemberKey) -> Self {
        let key = secret.public();
        let ring = Ring::new(vec![key]).expect("a ring of one valid key");
        let params = ring.params(&Scope::Registration { federation, member });
        let possession = anon::prove(secret, &ring, &params, &key.0).expect("the key is the ring");
        Self { key, possession }
    }

    /// Whether the possession proof holds for `member` in `federation`.
    pub fn check_possession(&self, federation: FederationId, member: MemberKey) -> Result<(), RecordError> {
        let ring = Ring::new(vec![self.key])?;
        let params = ring.params(&Scope::Registration { federation, member });
        anon::verify(&anon::prepare(&ring, &params, &self.possession)?, &self.key.0)?;
        Ok(())
    }
}

impl PurgeBody {
    /// 1 to [`MAX_PURGE_TARGETS`] targets, ascending and distinct.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let p = self;
        if p.targets.is_empty() {
            return Err(ValidationError::new("body.targets", Rule::Empty));
        }
        if p.targets.len() > MAX_PURGE_TARGETS {
            let got = p.targets.len();
            return Err(ValidationError::new("body.targets", Rule::TooMany { max: MAX_PURGE_TARGETS, got }));
        }
        if !p.targets.windows(2).all(|w| w[0] < w[1]) {
            return Err(ValidationError::new("body.targets", Rule::NotSortedUnique));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct VouchBody {
    pub member: MemberKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct KeyRevocationBody {
    pub key: MemberKey,
    pub successor: Option<MemberKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NodeBindingBody {
    /// The node's ed25519 transport public key (its libp2p identity).
    pub node_key: [u8; 32],
}

impl Body {
    /// A short stable name of the kind, for APIs, logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Summary(b) if b.supersedes.is_some() => "amendment",
            Body::Summary(_) => "summary",
            Body::Retraction(_) => "retraction",
            Body::Vouch(_) => "vouch",
            Body::VouchWithdrawal(_) => "vouch_withdrawal",
            Body::KeyRevocation(_) => "key_revocation",
            Body::NodeBinding(_) => "node_binding",
            Body::Purge(_) => "purge",
            Body::AnonymityKey(_) => "anonymity_key",
        }
    }
}

impl Envelope {
    /// Structural rules that need nothing but the envelope itself.
    pub fn validate(&self, max_narrative_bytes: usize) -> Result<(), ValidationError> {
        if self.format != crate::WIRE_FORMAT {
            let v = i64::from(crate::WIRE_FORMAT);
            return Err(ValidationError::new("format", Rule::OutOfRange { min: v, max: v, got: self.format.into() }));
        }
        if self.sequence == 0 {
            return Err(ValidationError::new("sequence", Rule::OutOfRange { min: 1, max: i64::MAX, got: 0 }));
        }
        match (self.sequence, &self.previous) {
            (1, Some(_)) => {
                return Err(ValidationError::new("previous", Rule::Violated("must be absent for sequence 1")));
            }
            (2.., None) => {
                return Err(ValidationError::new("previous", Rule::Violated("must be present after sequence 1")));
            }
            _ => {}
        }
        self.created.validate("created")?;
        match &self.body {
            Body::Summary(b) => b.summary.validate(max_narrative_bytes).map_err(|e| e.within("body.summary"))?,
            Body::Retraction(_) | Body::NodeBinding(_) | Body::AnonymityKey(_) => {}
            Body::Vouch(v) | Body::VouchWithdrawal(v) => {
                if v.member == self.author {
                    return Err(ValidationError::new("body.member", Rule::Violated("must not be the author")));
                }
            }
            Body::Purge(p) => p.validate()?,
            Body::KeyRevocation(r) => {
                if r.key != self.author {
                    return Err(ValidationError::new("body.key", Rule::Violated("must be the author's own key")));
                }
                if r.successor == Some(self.author) {
                    return Err(ValidationError::new(
                        "body.successor",
                        Rule::Violated("must differ from the revoked key"),
                    ));
                }
            }
        }
        Ok(())
    }
}
