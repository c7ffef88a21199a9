//! What the federation shares, in the formats the tools CSIRTs run already consume. Only live
//! summaries (latest versions; retracted and purged ones are gone), and nothing that names a
//! member: the federation is the publishing organisation, as MISP's delegated publishing does.

pub mod misp;
pub mod stix;

use lantern_protocol::{FederationId, Month, RecordId};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write the feed: {0}")]
    Io(#[from] std::io::Error),
}

/// Namespace of Lantern's UUIDv5s: the same record always gets the same identifier, so
/// re-exports and polls are idempotent.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c61_6e74_6572_6e00_8000_0000_0000_0001);

/// The identifier of a record in feeds.
pub fn record_uuid(id: &RecordId) -> Uuid {
    Uuid::new_v5(&NAMESPACE, id.as_bytes())
}

/// The identifier of the federation as an organisation.
pub fn federation_uuid(id: &FederationId) -> Uuid {
    Uuid::new_v5(&NAMESPACE, &[b"federation:".as_slice(), &id.0].concat())
}

/// Seconds since 1970 at the start of `month` (UTC): feeds carry months, never days.
pub fn month_epoch(month: Month) -> i64 {
    time::Date::from_calendar_date(
        i32::from(month.year),
        time::Month::try_from(month.month).unwrap_or(time::Month::January),
        1,
    )
    .map_or(0, |d| d.midnight().assume_utc().unix_timestamp())
}
