//! TAXII 2.1, read-only: the federation's live summaries as one collection of STIX objects that
//! OpenCTI's and MISP's TAXII clients poll (the HTTP side is `api/taxii.rs`). Pure: pages,
//! filters and timestamps.
//!
//! `date_added` is not a time. TAXII needs one per object, and clients poll with the last one they
//! saw (`added_after`). A real arrival time would tell when a member published, so each object's
//! `date_added` is its place in this node's arrival order written as microseconds after
//! 2000-01-01T00:00:00Z: strictly increasing as records arrive, and saying nothing of when.

use serde_json::{Value, json};
use uuid::Uuid;

use super::stix::Placed;
use lantern_protocol::FederationId;

pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// The one API root's path segment, and the collection's title.
pub const API_ROOT: &str = "lantern";
const COLLECTION_TITLE: &str = "Live case summaries";

/// Objects per page when the client asks for none, and the most it may ask for.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Seconds from 1970 to 2000-01-01T00:00:00Z, where the arrival clock starts.
const ARRIVAL_EPOCH: i64 = 946_684_800;

/// The node's collections: the live summaries (member only) and the pattern reports (member and
/// analysts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Summaries,
    Patterns,
}

impl Collection {
    /// Its id: the same on every node of a federation.
    pub fn id(self, federation: &FederationId) -> Uuid {
        let name: &[u8] = match self {
            Collection::Summaries => b"taxii collection: live summaries",
            Collection::Patterns => b"taxii collection: pattern reports",
        };
        Uuid::new_v5(&super::federation_uuid(federation), name)
    }

    pub fn of(id: &str, federation: &FederationId) -> Option<Self> {
        [Collection::Summaries, Collection::Patterns].into_iter().find(|c| c.id(federation).to_string() == id)
    }

    pub fn describe(self, federation: &FederationId) -> Value {
        let (title, description) = match self {
            Collection::Summaries => (
                COLLECTION_TITLE,
                "The federation's live case summaries (latest versions; retracted and purged cases are gone) as STIX 2.1 incidents with the Lantern case extension, published by the federation.",
            ),
            Collection::Patterns => (
                "Pattern reports",
                "The registry × incident category matrix of the last 12 months as a STIX report of observed data: only groups of at least k operators, with noise; a new report whenever records arrive.",
            ),
        };
        json!({
            "id": self.id(federation).to_string(),
            "title": title,
            "description": description,
            "can_read": true,
            "can_write": false,
            "media_types": [STIX_MEDIA_TYPE],
        })
    }
}

/// The summaries collection's id (kept for callers that know only it).
pub fn collection_id(federation: &FederationId) -> Uuid {
    Collection::Summaries.id(federation)
}

/// An object's place as its `date_added` (see the module doc).
pub fn date_added(place: u64) -> String {
    let micros = i128::from(ARRIVAL_EPOCH) * 1_000_000 + i128::from(place);
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// The place a `date_added`-style timestamp stands for; objects after it are those with a larger
/// place. Any RFC 3339 UTC timestamp is accepted (one before the arrival clock means "from the start").
pub fn place_of(timestamp: &str) -> Result<u64, String> {
    let at = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .map_err(|_| "expected an RFC 3339 timestamp such as 2000-01-01T00:00:01.000000Z".to_string())?;
    let micros = at.unix_timestamp_nanos() / 1000 - i128::from(ARRIVAL_EPOCH) * 1_000_000;
    Ok(u64::try_from(micros.max(0)).unwrap_or(u64::MAX))
}

/// What a client asked for of the collection's objects.
#[derive(Debug, Default)]
pub struct Filter {
    /// Only objects placed after this (`added_after`).
    pub after: Option<u64>,
    /// Only objects after this (place, id): where the previous page ended (`next`).
    pub next: Option<(u64, String)>,
    /// Only these STIX ids / types (TAXII's `match[id]`, `match[type]`).
    pub ids: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub limit: usize,
}

/// One page of objects: what to send, and where the next page starts.
pub struct Page {
    pub objects: Vec<Placed>,
    pub more: bool,
    /// The `next` to send back for the following page.
    pub next: Option<String>,
}

/// The page of `all` (in place order) that `filter` selects.
pub fn page(all: Vec<Placed>, filter: &Filter) -> Page {
    let id = |p: &Placed| p.object["id"].as_str().unwrap_or_default().to_string();
    let wanted = |p: &Placed| {
        filter.after.is_none_or(|after| p.place > after)
            && filter.next.as_ref().is_none_or(|(place, last)| (p.place, id(p)) > (*place, last.clone()))
            && filter.ids.as_ref().is_none_or(|ids| ids.contains(&id(p)))
            && filter
                .types
                .as_ref()
                .is_none_or(|types| types.contains(&p.object["type"].as_str().unwrap_or_default().to_string()))
    };
    let mut selected: Vec<Placed> = all.into_iter().filter(wanted).collect();
    selected.sort_by_key(|p| (p.place, id(p)));
    let more = selected.len() > filter.limit;
    selected.truncate(filter.limit);
    // `next` names the last object sent: the following page starts after it.
    let next = more.then(|| selected.last().map(|p| format!("{}~{}", p.place, id(p)))).flatten();
    Page { objects: selected, more, next }
}

/// A `next` this server gave out, read back.
pub fn parse_next(next: &str) -> Option<(u64, String)> {
    let (place, id) = next.split_once('~')?;
    Some((place.parse().ok()?, id.to_string()))
}

/// The envelope of a page (`objects/`).
pub fn envelope(page: Page) -> Value {
    let mut out = json!({ "more": page.more });
    if let Some(next) = page.next {
        out["next"] = json!(next);
    }
    out["objects"] = Value::Array(page.objects.into_iter().map(|p| p.object).collect());
    out
}

/// The manifest of a page (`manifest/`): each object's id, date added, version and media type.
pub fn manifest(page: Page) -> Value {
    let mut out = json!({ "more": page.more });
    if let Some(next) = page.next {
        out["next"] = json!(next);
    }
    out["objects"] = Value::Array(
        page.objects
            .iter()
            .map(|p| {
                json!({
                    "id": p.object["id"],
                    "date_added": date_added(p.place),
                    "version": p.object["modified"],
                    "media_type": STIX_MEDIA_TYPE,
                })
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(places: &[u64]) -> Vec<Placed> {
        places
            .iter()
            .map(|&place| Placed {
                place,
                object: json!({ "id": format!("incident--{place}"), "type": "incident", "modified": "2026-01-01T00:00:00.000Z" }),
            })
            .collect()
    }

    #[test]
    fn date_added_follows_the_arrival_order_and_reads_back() {
        assert_eq!(date_added(0), "2000-01-01T00:00:00.000000Z");
        assert_eq!(date_added(65_537), "2000-01-01T00:00:00.065537Z");
        for place in [0, 1, 65_536, 3 << 16 | 7, 1 << 40] {
            assert_eq!(place_of(&date_added(place)), Ok(place));
        }
        assert!(date_added(1 << 16) < date_added((1 << 16) + 1));
        assert_eq!(place_of("1999-12-31T23:59:59Z"), Ok(0), "before the clock: from the start");
        assert!(place_of("yesterday").is_err());
    }

    #[test]
    fn pages_run_in_place_order_and_next_picks_up_after_the_last_sent() {
        let all = || placed(&[0, 1, 65_536, 65_537, 131_072]);
        let first = page(all(), &Filter { limit: 2, ..Filter::default() });
        assert!(first.more);
        assert_eq!(first.next.as_deref(), Some("1~incident--1"));
        let next = parse_next(&first.next.unwrap());
        let second = page(all(), &Filter { next, limit: 2, ..Filter::default() });
        assert_eq!(second.objects.iter().map(|p| p.place).collect::<Vec<_>>(), vec![65_536, 65_537]);
        let last = page(all(), &Filter { after: Some(65_537), limit: 2, ..Filter::default() });
        assert!(!last.more && last.next.is_none());
        assert_eq!(last.objects.len(), 1);
        // added_after from a date_added: strictly after that object.
        let polled = page(
            all(),
            &Filter { after: Some(place_of(&date_added(65_536)).unwrap()), limit: 10, ..Filter::default() },
        );
        assert_eq!(polled.objects.len(), 2);
    }

    #[test]
    fn objects_sharing_a_place_are_paged_by_id_none_twice_none_skipped() {
        let mut all = placed(&[5, 5, 5, 7]);
        all[1].object["id"] = json!("incident--5b");
        all[2].object["id"] = json!("incident--5c");
        let (mut seen, mut next) = (Vec::new(), None);
        loop {
            let p = page(placed_again(&all), &Filter { next: next.clone(), limit: 1, ..Filter::default() });
            seen.extend(p.objects.iter().map(|o| o.object["id"].as_str().unwrap().to_string()));
            match p.next {
                Some(n) => next = parse_next(&n),
                None => break,
            }
        }
        assert_eq!(seen, vec!["incident--5", "incident--5b", "incident--5c", "incident--7"]);
    }

    fn placed_again(all: &[Placed]) -> Vec<Placed> {
        all.iter().map(|p| Placed { place: p.place, object: p.object.clone() }).collect()
    }

    #[test]
    fn match_filters_select_by_id_and_type() {
        let by_id =
            page(placed(&[0, 5, 9]), &Filter { ids: Some(vec!["incident--5".into()]), limit: 10, ..Filter::default() });
        assert_eq!(by_id.objects.len(), 1);
        let by_type =
            page(placed(&[0, 5]), &Filter { types: Some(vec!["identity".into()]), limit: 10, ..Filter::default() });
        assert!(by_type.objects.is_empty());
    }
}
