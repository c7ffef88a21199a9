//! A case summary reduced to what the pattern queries and the crowd count read: 36 bytes, no
//! text.

use lantern_protocol::CaseSummary;
use lantern_protocol::summary::ResourceBucket;
use lantern_protocol::vocab::{Category, Stage};

use super::grid::{CellKey, Family, Filter, NO_FILTER, pair_index};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    pub author: u32,
    /// Start month, as months since 0000-01.
    pub month: u32,
    /// Bit i: `Category::ALL[i]`.
    pub categories: u16,
    /// Bit i: filter slot `ResourceSize.first + i`.
    pub sizes: u16,
    /// Bit i: `ResourceKind::ALL[i]`.
    pub kinds: u8,
    /// Bit i: `Stage::ALL[i]` appears in the timeline.
    pub stages: u8,
    pub registry: u8,
    pub outcome: u8,
    pub org_type: u8,
    pub size: u8,
    pub region: u8,
    pub duration: u8,
    /// Months from start to resolution, for closed cases.
    pub resolution: Option<u8>,
    /// A hash of the timeline (each stage with its month offset): equal timelines, equal hashes.
    pub timeline: u32,
    /// The same with the offsets in whole quarters from the start's quarter: what a summary in
    /// the coarse form shares with month-precise ones.
    pub timeline_quarters: u32,
    /// The impact buckets and services, packed: equal impacts, equal values.
    pub impact: u32,
}

impl Fact {
    pub fn of(author: u32, s: &CaseSummary) -> Self {
        let categories = s.categories.iter().fold(0u16, |m, c| m | 1 << c.index());
        let (mut sizes, mut kinds) = (0u16, 0u8);
        for r in &s.resources {
            sizes |= 1 << (Filter::Resource(*r).slot() - first_size_slot());
            kinds |= 1 << r.kind().index();
        }
        let stages = s.timeline.iter().fold(0u8, |m, t| m | 1 << t.stage.index());
        let resolution = s.outcome.is_closed().then(|| {
            let resolved = s.timeline.iter().find(|t| t.stage == Stage::Resolved).map(|t| t.month);
            let months = resolved.or_else(|| s.timeline.last().map(|t| t.month)).unwrap_or(0);
            months.min(255) as u8
        });
        // FNV-1a over (stage, offset): a crowd key, not a secret.
        let hash = |offset: &dyn Fn(u16) -> u16| {
            s.timeline.iter().fold(0x811c_9dc5u32, |h, t| {
                let h = (h ^ t.stage.index() as u32).wrapping_mul(0x0100_0193);
                (h ^ u32::from(offset(t.month))).wrapping_mul(0x0100_0193)
            })
        };
        let timeline = hash(&|m| m);
        let into_quarter = u16::from((s.start.month.max(1) - 1) % 3);
        let timeline_quarters = hash(&|m| (m + into_quarter) / 3);
        let impact = pack_impact(&s.impact);
        Self {
            author,
            month: s.start.index() as u32,
            categories,
            sizes,
            kinds,
            stages,
            registry: s.registry.index() as u8,
            outcome: s.outcome.index() as u8,
            org_type: s.profile.org_type.index() as u8,
            size: s.profile.size.index() as u8,
            region: s.profile.region.index() as u8,
            duration: s.duration.index() as u8,
            resolution,
            timeline,
            timeline_quarters,
            impact,
        }
    }

    pub fn categories(&self) -> impl Iterator<Item = Category> + '_ {
        Category::ALL.iter().copied().filter(|c| self.categories & 1 << c.index() != 0)
    }

    /// The filter slots this case falls in: none, its outcome, profile, resource kinds and sizes.
    pub fn slots(&self) -> impl Iterator<Item = u8> + '_ {
        use lantern_protocol::vocab::{OrgType, Outcome, Region, ResourceKind};
        let fixed = [
            NO_FILTER,
            Filter::Outcome(Outcome::ALL[usize::from(self.outcome)]).slot(),
            Filter::OrgType(OrgType::ALL[usize::from(self.org_type)]).slot(),
            Filter::Region(Region::ALL[usize::from(self.region)]).slot(),
        ];
        let kinds = ResourceKind::ALL
            .iter()
            .filter(|k| self.kinds & 1 << k.index() != 0)
            .map(|&k| Filter::ResourceKind(k).slot());
        let sizes = (0..16u8).filter(|i| self.sizes & 1 << i != 0).map(|i| first_size_slot() + i);
        fixed.into_iter().chain(kinds).chain(sizes)
    }

    /// Every base cell the case counts in, with whether it is the case's primary cell there.
    pub fn cells(&self, mut visit: impl FnMut(CellKey, bool)) {
        let lowest = self.categories.trailing_zeros();
        for slot in self.slots() {
            for c in self.categories() {
                let key = CellKey::new(Family::Category, slot, self.registry, c.index() as u8, self.month);
                visit(key, c.index() as u32 == lowest);
                // Pairs are counted unfiltered only: they are few, and filters would multiply them.
                if slot == NO_FILTER {
                    for b in self.categories().filter(|b| b.index() > c.index()) {
                        visit(CellKey::new(Family::Pair, slot, self.registry, pair_index(c, b), self.month), false);
                    }
                }
            }
        }
    }
}

/// An impact as one number: equal impacts, equal numbers.
pub fn pack_impact(impact: &lantern_protocol::summary::Impact) -> u32 {
    let services = impact.services.iter().fold(0u32, |m, v| m | 1 << (v.index() % 16));
    (impact.customers.index() as u32) << 24
        | (impact.downtime.index() as u32) << 20
        | (impact.cost.index() as u32) << 16
        | services
}

fn first_size_slot() -> u8 {
    super::grid::Dimension::ResourceSize.slots().start
}

/// Resource bucket of size bit `i` (the inverse of the bit layout in [`Fact::sizes`]).
pub fn size_bucket(i: u8) -> Option<ResourceBucket> {
    use lantern_protocol::vocab::{AsnCount, Ipv4Size, Ipv6Size};
    let i = usize::from(i);
    let (n4, n6) = (Ipv4Size::ALL.len(), Ipv6Size::ALL.len());
    if i < n4 {
        Some(ResourceBucket::Ipv4(Ipv4Size::ALL[i]))
    } else if i < n4 + n6 {
        Some(ResourceBucket::Ipv6(Ipv6Size::ALL[i - n4]))
    } else {
        AsnCount::ALL.get(i - n4 - n6).map(|&c| ResourceBucket::Asn(c))
    }
}
