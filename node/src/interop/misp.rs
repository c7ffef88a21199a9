//! A static MISP feed (`manifest.json`, one `<uuid>.json` event per live summary, `hashes.csv`),
//! as MISP's "feeds" fetch them. Tags come from the `lantern` machine taxonomy
//! ([`taxonomy`], shipped as `docs/misp/lantern/machinetag.json`) and TLP 2.0; distribution is
//! "this community only". Dates are the case's start month; timestamps the month a record was
//! made; the member's profile is left out.

use std::collections::BTreeMap;
use std::path::Path;

use lantern_protocol::vocab::{Category, Outcome, Registry};
use lantern_protocol::{CaseSummary, Month, RecordId};
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::FeedError;
use crate::federation::Federation;

/// MISP's distribution levels: 1 is "this community only".
const COMMUNITY_ONLY: &str = "1";
/// Attributes inherit the event's distribution.
const INHERIT: &str = "5";
/// Threat level 4: undefined (a registry case is no threat indicator); analysis 2: completed.
const THREAT_LEVEL: &str = "4";
const ANALYSIS: &str = "2";
/// What the federation shares is for its members and their security teams.
const TLP: &str = "tlp:amber";

/// A machine tag of the `lantern` taxonomy: `lantern:registry="ripe-ncc"`.
fn tag(predicate: &str, label: &str) -> Value {
    json!({ "name": format!("lantern:{predicate}=\"{}\"", slug(label)) })
}

/// A vocabulary label as a taxonomy value: lower case, words joined by `-`.
fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The `lantern` MISP taxonomy (machinetag format): one predicate per summary field that tags
/// carry, its values the protocol's vocabulary.
pub fn taxonomy() -> Value {
    let values = |predicate: &str, labels: Vec<&'static str>| {
        json!({
            "predicate": predicate,
            "entry": labels.iter().map(|l| json!({ "value": slug(l), "expanded": l })).collect::<Vec<_>>(),
        })
    };
    json!({
        "namespace": "lantern",
        "description": "Registry cases shared in a Lantern federation: which registry, what went wrong, how it ended, how long it took.",
        "version": 1,
        "expanded": "Lantern",
        "predicates": [
            { "value": "registry", "expanded": "Registry" },
            { "value": "category", "expanded": "Incident category" },
            { "value": "outcome", "expanded": "Outcome" },
            { "value": "duration", "expanded": "Duration" },
        ],
        "values": [
            values("registry", Registry::ALL.iter().map(|r| r.label()).collect()),
            values("category", Category::ALL.iter().map(|c| c.label()).collect()),
            values("outcome", Outcome::ALL.iter().map(|o| o.label()).collect()),
            values("duration", lantern_protocol::vocab::DurationBucket::ALL.iter().map(|d| d.label()).collect()),
        ],
    })
}

/// One summary as a MISP event.
fn event(federation: &Federation, id: &RecordId, summary: &CaseSummary, created: Month) -> Value {
    let manifest = federation.manifest();
    let uuid = super::record_uuid(id).to_string();
    let timestamp = super::month_epoch(created).to_string();
    let mut tags = vec![json!({ "name": TLP }), tag("registry", summary.registry.label())];
    tags.extend(summary.categories.iter().map(|c| tag("category", c.label())));
    tags.push(tag("outcome", summary.outcome.label()));
    tags.push(tag("duration", summary.duration.label()));
    let attribute = |n: u8, category: &str, kind: &str, value: String, comment: &str| {
        json!({
            "uuid": uuid::Uuid::new_v5(&super::record_uuid(id), &[n]).to_string(),
            "type": kind,
            "category": category,
            "value": value,
            "comment": comment,
            "to_ids": false,
            "distribution": INHERIT,
            "timestamp": timestamp,
            "disable_correlation": true,
        })
    };
    let categories: Vec<&str> = summary.categories.iter().map(|c| c.label()).collect();
    let timeline: Vec<String> =
        summary.timeline.iter().map(|t| format!("{} after {} month(s)", t.stage.label(), t.month)).collect();
    let resources: Vec<String> = summary.resources.iter().map(|r| r.label()).collect();
    let mut attributes = vec![
        attribute(1, "Other", "text", summary.registry.label().to_string(), "registry"),
        attribute(2, "Other", "text", categories.join(", "), "categories"),
        attribute(3, "Other", "text", summary.outcome.label().to_string(), "outcome"),
    ];
    if !timeline.is_empty() {
        attributes.push(attribute(4, "Other", "text", timeline.join("; "), "timeline, from the case's start"));
    }
    if !resources.is_empty() {
        attributes.push(attribute(5, "Other", "text", resources.join(", "), "resources, as size buckets"));
    }
    if !summary.narrative.is_empty() {
        attributes.push(attribute(
            6,
            "Other",
            "text",
            summary.narrative.clone(),
            "narrative (redacted before signing)",
        ));
    }
    json!({ "Event": {
        "uuid": uuid,
        "info": format!("{}: {} (case started {})", summary.registry.label(), categories.join(", "), summary.start),
        "date": format!("{}-01", summary.start),
        "timestamp": timestamp,
        "publish_timestamp": timestamp,
        "published": true,
        "analysis": ANALYSIS,
        "threat_level_id": THREAT_LEVEL,
        "distribution": COMMUNITY_ONLY,
        "Orgc": { "name": manifest.name, "uuid": super::federation_uuid(&manifest.id()).to_string() },
        "Tag": tags,
        "Attribute": attributes,
    }})
}

/// The feed: the manifest's entries and the events, by event uuid, and `hashes.csv`.
#[derive(Debug, Default)]
pub struct Feed {
    pub manifest: BTreeMap<String, Value>,
    pub events: BTreeMap<String, Value>,
    pub hashes: String,
}

/// The feed of the federation's live summaries.
pub fn feed(federation: &Federation) -> Result<Feed, FeedError> {
    let mut feed = Feed::default();
    for live in super::live_summaries(federation)? {
        let event = event(federation, &live.id, &live.summary, live.created);
        let e = &event["Event"];
        let uuid = e["uuid"].as_str().unwrap_or_default().to_string();
        for a in e["Attribute"].as_array().into_iter().flatten() {
            let value = a["value"].as_str().unwrap_or_default();
            feed.hashes.push_str(&format!("{:x},{uuid}\n", Md5::digest(value.as_bytes())));
        }
        let entry = json!({
            "info": e["info"], "date": e["date"], "timestamp": e["timestamp"], "analysis": e["analysis"],
            "threat_level_id": e["threat_level_id"], "Orgc": e["Orgc"], "Tag": e["Tag"],
        });
        feed.manifest.insert(uuid.clone(), entry);
        feed.events.insert(uuid, event);
    }
    Ok(feed)
}

/// JSON as the feed's files hold it (and the API serves it).
pub fn pretty<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(std::io::Error::from)
}

/// Writes the feed into `dir` (created if missing; events of summaries no longer live are
/// removed, so a re-export into the same directory is the feed). How many events it holds.
pub fn write_feed(federation: &Federation, dir: &Path) -> Result<usize, FeedError> {
    let feed = feed(federation)?;
    std::fs::create_dir_all(dir)?;
    for (uuid, event) in &feed.events {
        std::fs::write(dir.join(format!("{uuid}.json")), pretty(event)?)?;
    }
    // Events of summaries retracted, amended or purged since the last export go.
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let stale = path.extension().is_some_and(|e| e == "json")
            && path.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.len() == 36 && !feed.events.contains_key(s));
        if stale {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::write(dir.join("manifest.json"), pretty(&feed.manifest)?)?;
    std::fs::write(dir.join("hashes.csv"), &feed.hashes)?;
    Ok(feed.events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LANTERN_BLESS=1 cargo test -p lantern-node --lib misp` writes the file anew.
    #[test]
    fn the_shipped_taxonomy_is_the_vocabulary() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/misp/lantern/machinetag.json");
        if std::env::var_os("LANTERN_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&taxonomy()).unwrap() + "\n").unwrap();
        }
        let shipped: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("shipped")).expect("JSON");
        assert_eq!(shipped, taxonomy(), "the vocabulary changed: regenerate {} (LANTERN_BLESS=1)", path.display());
    }

    #[test]
    fn labels_become_taxonomy_values() {
        assert_eq!(slug("RIPE NCC"), "ripe-ncc");
        assert_eq!(slug("resources revoked / deregistered / reclaimed"), "resources-revoked-deregistered-reclaimed");
    }
}
