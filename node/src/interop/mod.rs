//! What the federation shares, in the formats the tools CSIRTs run already consume. Only live
//! summaries (latest versions; retracted and purged ones are gone), and nothing that names a
//! member: the federation is the publishing organisation, as MISP's delegated publishing does.

pub mod misp;
pub mod stix;
pub mod stix_patterns;
pub mod taxii;

use lantern_protocol::anonymous::{AnonBody, Opened};
use lantern_protocol::record::Body;
use lantern_protocol::{CaseSummary, FederationId, Month, RecordId};
use uuid::Uuid;

use crate::federation::Federation;

/// A live summary as the feeds show it.
pub struct LiveSummary {
    pub id: RecordId,
    pub summary: CaseSummary,
    /// The month its record was made.
    pub created: Month,
    /// Where its record stands in this node's arrival log (what TAXII's `added_after` follows).
    pub arrival: u64,
}

/// The federation's live summaries (latest versions, not retracted or purged, by current
/// members), in record id order.
pub fn live_summaries(federation: &Federation) -> Result<Vec<LiveSummary>, FeedError> {
    let mut live = federation.with_patterns(|p| p.live_records())?;
    live.sort();
    let mut out = Vec::with_capacity(live.len());
    for id in live {
        let Some(bytes) = federation.store().record_bytes(&id)? else { continue };
        let Some(arrival) = federation.store().arrival_of(&id) else { continue };
        let Ok(opened) = lantern_protocol::anonymous::open_stored_any(&bytes) else { continue };
        let (summary, created) = match opened {
            Opened::Signed(env) => match env.body {
                Body::Summary(b) => (b.summary, env.created),
                _ => continue,
            },
            Opened::Anonymous(env, _) => match env.body {
                AnonBody::Summary(b) => (b.summary, env.created),
                _ => continue,
            },
            Opened::Ring(_) => continue,
        };
        out.push(LiveSummary { id, summary, created, arrival });
    }
    Ok(out)
}

/// A summary this node holds that no longer counts because something came after it: a later
/// version of its case, or the case's retraction. Feeds that offered it offer it revoked.
pub struct Replaced {
    pub summary: LiveSummary,
    /// The arrival of the newest record of its case: where the revocation stands in the order.
    pub replaced_at: u64,
}

/// Every held summary that an amendment or a retraction of its case replaced (purged ones are
/// gone, bytes and all), in arrival order of what replaced them.
pub fn replaced_summaries(federation: &Federation) -> Result<Vec<Replaced>, FeedError> {
    let live: std::collections::HashSet<RecordId> =
        federation.with_patterns(|p| p.live_records())?.into_iter().collect();
    let mut latest: std::collections::HashMap<lantern_protocol::CaseRef, u64> = std::collections::HashMap::new();
    let mut summaries = Vec::new();
    let mut after = None;
    loop {
        let page = federation.store().records_after(after, 4096)?;
        let Some(last) = page.last() else { break };
        after = Some(last.arrival);
        for r in page {
            let case = match &r.record {
                Opened::Signed(env) => match &env.body {
                    Body::Summary(b) => Some((b.case, Some((b.summary.clone(), env.created)))),
                    Body::Retraction(b) => Some((b.case, None)),
                    _ => None,
                },
                Opened::Anonymous(env, _) => match &env.body {
                    AnonBody::Summary(b) => Some((b.case, Some((b.summary.clone(), env.created)))),
                    AnonBody::Retraction(b) => Some((b.case, None)),
                    _ => None,
                },
                Opened::Ring(_) => None,
            };
            let Some((case, summary)) = case else { continue };
            latest.insert(case, r.arrival);
            if let Some((summary, created)) = summary
                && !live.contains(&r.id)
            {
                summaries.push((case, LiveSummary { id: r.id, summary, created, arrival: r.arrival }));
            }
        }
    }
    let mut out: Vec<Replaced> = summaries
        .into_iter()
        .filter_map(|(case, summary)| {
            let replaced_at = *latest.get(&case)?;
            (replaced_at > summary.arrival).then_some(Replaced { summary, replaced_at })
        })
        .collect();
    out.sort_by_key(|r| r.replaced_at);
    Ok(out)
}

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
