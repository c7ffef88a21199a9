//! From a private case to the structured part of its summary: dates become months, resources
//! size buckets, figures buckets. The narrative arrives already redacted.

use std::collections::BTreeSet;

use ipnet::IpNet;
use lantern_protocol::summary::{
    CaseSummary, EvidenceCommitment, Impact, MemberProfile, Precision, ResourceBucket, TimelineEntry,
};
use lantern_protocol::vocab::*;
use lantern_protocol::{Month, SCHEMA_VERSION};

use crate::case::{CaseError, PrivateCase, parse_hex};

/// The summary of `case` as of month `now`, with `narrative` (already redacted) as its text.
pub fn summary(
    case: &PrivateCase,
    profile: MemberProfile,
    now: Month,
    narrative: String,
) -> Result<CaseSummary, CaseError> {
    let start = case.opened.month();
    let mut events = case.timeline.clone();
    events.sort_by_key(|e| e.date);
    let timeline: Vec<TimelineEntry> = events
        .iter()
        .map(|e| TimelineEntry { stage: e.stage, month: start.months_until(e.date.month()).clamp(0, 600) as u16 })
        .collect();

    let end = if case.outcome.is_closed() {
        events.iter().rev().find(|e| e.stage == Stage::Resolved).or(events.last()).map_or(start, |e| e.date.month())
    } else {
        now
    };

    let mut resources: Vec<ResourceBucket> = case
        .resources
        .iter()
        .filter_map(|r| match r.prefix? {
            IpNet::V4(n) => Some(ResourceBucket::Ipv4(Ipv4Size::of_prefix_len(n.prefix_len()))),
            IpNet::V6(n) => Some(ResourceBucket::Ipv6(Ipv6Size::of_prefix_len(n.prefix_len()))),
        })
        .collect();
    let asns = case.resources.iter().filter(|r| r.asn.is_some()).count();
    if asns > 0 {
        resources.push(ResourceBucket::Asn(AsnCount::of(asns)));
    }
    resources.sort();

    let categories: BTreeSet<Category> = case.categories.iter().copied().collect();
    let services: BTreeSet<Service> = case.impact.services.iter().copied().collect();
    let tags: BTreeSet<String> = case.tags.iter().cloned().collect();
    let evidence = case
        .evidence
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let salt = e.salt.as_deref().and_then(parse_hex::<16>);
            let doc = parse_hex::<32>(&e.document_blake3);
            match (salt, doc) {
                (Some(salt), Some(doc)) => Ok(EvidenceCommitment::commit(e.kind, &salt, &doc)),
                _ => Err(CaseError::new(
                    format!("evidence[{i}]"),
                    "needs a 32-hex-character salt and a 64-hex-character hash",
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;

    let summary = CaseSummary {
        schema: SCHEMA_VERSION,
        registry: case.registry,
        categories: categories.into_iter().collect(),
        resources,
        start,
        timeline,
        duration: DurationBucket::of_months(start.months_until(end)),
        outcome: case.outcome,
        impact: Impact {
            customers: case.impact.customers.map_or(CustomersBucket::Unknown, CustomersBucket::of),
            downtime: case.impact.downtime_hours.map_or(DowntimeBucket::Unknown, DowntimeBucket::of_hours),
            cost: case.impact.cost_usd.map_or(CostBucket::Unknown, CostBucket::of_usd),
            services: services.into_iter().collect(),
        },
        profile,
        narrative,
        tags: tags.into_iter().collect(),
        evidence,
        precision: Precision::default(),
    };
    summary.validate(usize::MAX).map_err(|e| CaseError::new(e.field, e.rule.to_string()))?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> PrivateCase {
        PrivateCase::from_toml(
            r#"
title = "Stalled transfer"
registry = "RIPE NCC"
categories = ["transfer delayed", "extraordinary documentation demanded", "transfer delayed"]
opened = "2024-11-20"
outcome = "resolved favourably"
resources = [{ prefix = "185.53.244.0/22" }, { prefix = "2a0c:1234::/29" }, { asn = "AS64496" }, { asn = 64497 }]
timeline = [
  { stage = "resolved", date = "2025-06-02" },
  { stage = "request submitted", date = "2024-11-20" },
  { stage = "documents requested", date = "2025-01-15" },
]
impact = { customers = 1200, downtime_hours = 0, cost_usd = 45000, services = ["VPN", "hosting"] }
"#,
        )
        .unwrap()
    }

    #[test]
    fn coarsens_dates_resources_and_figures() {
        let s = summary(&case(), MemberProfile::default(), "2026-01".parse().unwrap(), String::new()).unwrap();
        assert_eq!(s.start.to_string(), "2024-11");
        assert_eq!(
            s.timeline.iter().map(|e| (e.stage, e.month)).collect::<Vec<_>>(),
            vec![(Stage::RequestSubmitted, 0), (Stage::DocumentsRequested, 2), (Stage::Resolved, 7)]
        );
        assert_eq!(s.duration, DurationBucket::SixToTwelveMonths);
        assert_eq!(s.categories, vec![Category::TransferDelayed, Category::ExtraordinaryDocumentation]);
        assert_eq!(
            s.resources,
            vec![
                ResourceBucket::Ipv4(Ipv4Size::Slash23To22),
                ResourceBucket::Ipv6(Ipv6Size::Slash31To29),
                ResourceBucket::Asn(AsnCount::TwoToFour)
            ]
        );
        assert_eq!(s.impact.customers, CustomersBucket::UpTo10k);
        assert_eq!(s.impact.downtime, DowntimeBucket::Zero);
        assert_eq!(s.impact.cost, CostBucket::Under100k);
        assert_eq!(s.impact.services, vec![Service::Hosting, Service::Vpn]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("185.53") && !json.contains("64496") && !json.contains("2024-11-20"), "{json}");
    }

    #[test]
    fn open_case_lasts_until_now() {
        let mut c = case();
        c.outcome = Outcome::Open;
        let s = summary(&c, MemberProfile::default(), "2026-01".parse().unwrap(), String::new()).unwrap();
        assert_eq!(s.duration, DurationBucket::OneToTwoYears);
    }
}
