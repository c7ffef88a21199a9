//! Crowds: before a summary is signed, how many summaries this node already holds, from how many
//! other operators, share its quasi-identifiers, adding one field at a time. A registry holds its
//! own ticket history; a summary alone in its crowd is a lookup key into it, whatever the
//! redaction did. Computed in memory from the held summaries; nothing leaves the node.

use lantern_protocol::MemberKey;
use lantern_protocol::summary::{CaseSummary, Impact};
use lantern_protocol::vocab::{CostBucket, CustomersBucket, DowntimeBucket};
use serde::Serialize;

use super::fact::Fact;
use super::{FREE, Patterns};

/// One step of the crowd: the fields matched so far.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CrowdLevel {
    /// The field this level adds: `registry`, `categories`, `start month`, `resources`,
    /// `timeline`, `outcome`, `impact`, `profile`.
    pub field: &'static str,
    /// Held summaries by other members equal to this one in every field so far.
    pub summaries: u64,
    /// The distinct operators who wrote them.
    pub operators: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Crowd {
    pub k: usize,
    pub levels: Vec<CrowdLevel>,
    /// The first field from which fewer than k other operators' summaries look like this one:
    /// from there on the summary singles its author out to anyone holding the matching ticket.
    pub alone_from: Option<&'static str>,
    /// The same summary with its impact omitted (publishable as such): its crowd over every field.
    pub without_impact: CrowdLevel,
}

/// Field names, in the order they are added.
const FIELDS: [&str; 8] =
    ["registry", "categories", "start month", "resources", "timeline", "outcome", "impact", "profile"];

/// How many fields, in [`FIELDS`] order, `other` shares with `probe` before the first that
/// differs. `skip_impact` treats the impact as shared (the summary would omit it).
fn depth(probe: &Fact, other: &Fact, skip_impact: bool) -> usize {
    let same = [
        probe.registry == other.registry,
        probe.categories == other.categories,
        probe.month == other.month,
        probe.kinds == other.kinds && probe.sizes == other.sizes,
        probe.timeline == other.timeline,
        probe.outcome == other.outcome,
        skip_impact || probe.impact == other.impact,
        probe.org_type == other.org_type && probe.region == other.region,
    ];
    same.iter().take_while(|s| **s).count()
}

/// The impact a summary carries when the member omits it.
pub fn omitted_impact() -> Impact {
    Impact {
        customers: CustomersBucket::Unknown,
        downtime: DowntimeBucket::Unknown,
        cost: CostBucket::Unknown,
        services: Vec::new(),
    }
}

impl Patterns {
    /// The crowd of `summary` among the held summaries of current members other than `me`.
    pub fn crowd(&self, summary: &CaseSummary, me: Option<MemberKey>) -> Crowd {
        let probe = Fact::of(FREE, summary);
        let me = me.and_then(|k| self.author_index.get(&k).copied());
        let mut authors: Vec<Vec<u64>> = vec![vec![0; self.authors.len().div_ceil(64)]; FIELDS.len() + 1];
        let mut summaries = [0u64; FIELDS.len() + 1];
        for fact in self.facts.live() {
            if !self.counted[fact.author as usize] || Some(fact.author) == me {
                continue;
            }
            let (full, relaxed) = (depth(&probe, fact, false), depth(&probe, fact, true));
            for (level, n) in summaries.iter_mut().enumerate().take(full) {
                *n += 1;
                authors[level][fact.author as usize / 64] |= 1 << (fact.author % 64);
            }
            // The last slot: every field, impact omitted.
            if relaxed == FIELDS.len() {
                summaries[FIELDS.len()] += 1;
                authors[FIELDS.len()][fact.author as usize / 64] |= 1 << (fact.author % 64);
            }
        }
        let count = |level: usize| authors[level].iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
        let levels: Vec<CrowdLevel> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, &field)| CrowdLevel { field, summaries: summaries[i], operators: count(i) })
            .collect();
        let alone_from = levels.iter().find(|l| l.operators < self.k as u64).map(|l| l.field);
        let without_impact = CrowdLevel {
            field: "every field, impact omitted",
            summaries: summaries[FIELDS.len()],
            operators: count(FIELDS.len()),
        };
        Crowd { k: self.k, levels, alone_from, without_impact }
    }
}
