//! Crowds: before a summary is signed, how many summaries this node already holds, from how many
//! other operators, share its quasi-identifiers, adding one field at a time. A registry holds its
//! own ticket history; a summary alone in its crowd is a lookup key into it, whatever the
//! redaction did. Computed in memory from the held summaries; nothing leaves the node.

use lantern_protocol::summary::{CaseSummary, Impact};
use lantern_protocol::vocab::{CostBucket, CustomersBucket, DowntimeBucket};
use serde::Serialize;

use super::fact::Fact;
use super::{FREE, Me, Patterns};

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
}

/// One publishable form of the summary and its crowd over every field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Form {
    #[schema(value_type = Object)]
    pub shape: crate::publish::Shape,
    pub summaries: u64,
    pub operators: u64,
}

/// The forms a summary can be published in, finest first, and the one proposed: the finest
/// whose crowd holds k other operators, else the coarsest (and `in_crowd` says it is not).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Forms {
    pub forms: Vec<Form>,
    pub proposed: usize,
    pub in_crowd: bool,
}

/// Field names, in the order they are added.
const FIELDS: [&str; 8] =
    ["registry", "categories", "start month", "resources", "timeline", "outcome", "impact", "profile"];

/// How the probe is dated: what a held summary must share with it.
#[derive(Debug, Clone, Copy)]
struct Dating {
    start_quarter: bool,
    offsets_in_quarters: bool,
}

/// How many fields, in [`FIELDS`] order, `other` shares with `probe` before the first that
/// differs, comparing dates as coarsely as the probe gives them.
fn depth(probe: &Fact, other: &Fact, dating: Dating) -> usize {
    let same_start = if dating.start_quarter { probe.month / 3 == other.month / 3 } else { probe.month == other.month };
    let same_timeline = if dating.offsets_in_quarters {
        probe.timeline_quarters == other.timeline_quarters
    } else {
        probe.timeline == other.timeline
    };
    let same = [
        probe.registry == other.registry,
        probe.categories == other.categories,
        same_start,
        probe.kinds == other.kinds && probe.sizes == other.sizes,
        same_timeline,
        probe.outcome == other.outcome,
        probe.impact == other.impact || probe.impact == super::fact::pack_impact(&omitted_impact()),
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
    /// The crowd of `summary` (in the form it would be signed) among the held summaries of
    /// current members other than `me`.
    pub fn crowd(&self, summary: &CaseSummary, me: Option<&Me<'_>>) -> Crowd {
        use lantern_protocol::summary::Granularity;
        let probe = Fact::of(FREE, summary);
        let dating = Dating {
            start_quarter: summary.precision.start == Granularity::Quarter,
            offsets_in_quarters: summary.precision.offsets == Granularity::Quarter,
        };
        let own = self.own(me);
        let mut authors: Vec<Vec<u64>> = vec![vec![0; self.authors.len().div_ceil(64)]; FIELDS.len()];
        let mut summaries = [0u64; FIELDS.len()];
        for fact in self.facts.live() {
            if !self.counted[fact.author as usize] || own[fact.author as usize] {
                continue;
            }
            for level in 0..depth(&probe, fact, dating) {
                summaries[level] += 1;
                authors[level][fact.author as usize / 64] |= 1 << (fact.author % 64);
            }
        }
        let count = |level: usize| self.distinct(&authors[level]);
        let levels: Vec<CrowdLevel> = FIELDS
            .iter()
            .enumerate()
            .map(|(i, &field)| CrowdLevel { field, summaries: summaries[i], operators: count(i) })
            .collect();
        let alone_from = levels.iter().find(|l| l.operators < self.k as u64).map(|l| l.field);
        Crowd { k: self.k, levels, alone_from }
    }

    /// The publishable forms of `summary` (as derived, month-precise), finest first: as is;
    /// impact omitted; and the start as its quarter; and the offsets in quarters.
    pub fn forms(&self, summary: &CaseSummary, narrative: crate::publish::Narrative, me: Option<&Me<'_>>) -> Forms {
        use crate::publish::Shape;
        let shapes = [
            Shape { narrative, ..Shape::default() },
            Shape { narrative, omit_impact: true, ..Shape::default() },
            Shape { narrative, omit_impact: true, start_quarter: true, ..Shape::default() },
            Shape { narrative, omit_impact: true, start_quarter: true, offsets_in_quarters: true, ..Shape::default() },
        ];
        let forms: Vec<Form> = shapes
            .into_iter()
            .map(|shape| {
                let mut s = summary.clone();
                shape.coarsen(&mut s);
                let all = self.crowd(&s, me).levels.pop().expect("eight levels");
                Form { shape, summaries: all.summaries, operators: all.operators }
            })
            .collect();
        let found = forms.iter().position(|f| f.operators >= self.k as u64);
        Forms { proposed: found.unwrap_or(forms.len() - 1), in_crowd: found.is_some(), forms }
    }
}
