//! Closed vocabularies of the field. Each term has a human label (what JSON, TOML and the CLI
//! use) and a stable position (what the wire carries). Never reorder or remove a term: add new
//! ones at the end, in a new schema version.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A word that is not in a vocabulary; the message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what} `{got}`; expected one of: {expected}")]
pub struct UnknownTerm {
    pub what: &'static str,
    pub got: String,
    pub expected: String,
}

/// Lenient matching: case, `-`, `_`, en dashes and repeated spaces don't matter.
fn normalize(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| match c {
            '_' | '–' | '—' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ").replace(" - ", "-")
}

fn loose(s: &str) -> String {
    normalize(s).replace('-', " ")
}

macro_rules! vocab {
    ($(#[$meta:meta])* pub enum $name:ident ($what:literal) {
        $($(#[$vmeta:meta])* $variant:ident => $label:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every term, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// What the vocabulary is, for error messages.
            pub const WHAT: &'static str = $what;

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The position of this term in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }

            pub fn labels() -> String {
                Self::ALL.iter().map(|t| t.label()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, UnknownTerm> {
                let want = normalize(s);
                let want_loose = loose(s);
                Self::ALL
                    .iter()
                    .find(|t| normalize(t.label()) == want)
                    .or_else(|| Self::ALL.iter().find(|t| loose(t.label()) == want_loose))
                    .copied()
                    .ok_or_else(|| UnknownTerm { what: $what, got: s.to_string(), expected: Self::labels() })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.label())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

vocab! {
    /// The registry a case is about: the five RIRs, the NIRs, or another party.
    pub enum Registry ("registry") {
        Afrinic => "AFRINIC",
        Apnic => "APNIC",
        Arin => "ARIN",
        Lacnic => "LACNIC",
        RipeNcc => "RIPE NCC",
        Jpnic => "JPNIC",
        Krnic => "KRNIC",
        Cnnic => "CNNIC",
        Twnic => "TWNIC",
        Idnic => "IDNIC",
        Vnnic => "VNNIC",
        Irinn => "IRINN",
        NicBr => "NIC.br",
        NicMexico => "NIC Mexico",
        OtherNir => "other NIR",
        /// An IRR operator, an upstream, or anyone else.
        Other => "other",
    }
}

impl Registry {
    /// The RIR a registry belongs to (an NIR's parent), if known.
    pub fn rir(self) -> Option<Registry> {
        use Registry::*;
        match self {
            Afrinic | Apnic | Arin | Lacnic | RipeNcc => Some(self),
            Jpnic | Krnic | Cnnic | Twnic | Idnic | Vnnic | Irinn => Some(Apnic),
            NicBr | NicMexico => Some(Lacnic),
            OtherNir | Other => None,
        }
    }
}

vocab! {
    /// The kind of incident.
    pub enum Category ("incident category") {
        TransferDelayed => "transfer delayed",
        TransferRefused => "transfer refused",
        RecordDisputed => "registration record disputed",
        ResourcesRevoked => "resources revoked",
        MembershipSuspended => "membership suspended or terminated",
        AccountAccessLost => "registry account access lost",
        ExtraordinaryDocumentation => "extraordinary documentation demanded",
        PolicyReinterpreted => "policy reinterpreted retroactively",
        RpkiChange => "RPKI change",
        RouteObjectIssue => "route object or IRR issue",
        ReverseDnsIssue => "reverse DNS delegation issue",
        ContactsChanged => "contact or maintainer records changed without consent",
        FeeDispute => "fee or billing dispute",
        UpstreamRefusesRoute => "upstream refuses to route",
        LegalProceeding => "legal proceeding",
        Other => "other",
    }
}

vocab! {
    /// Size of an IPv4 resource, never the prefix itself.
    pub enum Ipv4Size ("IPv4 size") {
        Slash24OrSmaller => "/24 or smaller",
        Slash23To22 => "/23-/22",
        Slash21To20 => "/21-/20",
        Slash19To17 => "/19-/17",
        Slash16OrLarger => "/16 or larger",
    }
}

impl Ipv4Size {
    pub fn of_prefix_len(len: u8) -> Self {
        match len {
            24.. => Self::Slash24OrSmaller,
            22..=23 => Self::Slash23To22,
            20..=21 => Self::Slash21To20,
            17..=19 => Self::Slash19To17,
            _ => Self::Slash16OrLarger,
        }
    }
}

vocab! {
    /// Size of an IPv6 resource, never the prefix itself.
    pub enum Ipv6Size ("IPv6 size") {
        Slash48OrSmaller => "/48 or smaller",
        Slash47To33 => "/47-/33",
        Slash32 => "/32",
        Slash31To29 => "/31-/29",
        Slash28OrLarger => "/28 or larger",
    }
}

impl Ipv6Size {
    pub fn of_prefix_len(len: u8) -> Self {
        match len {
            48.. => Self::Slash48OrSmaller,
            33..=47 => Self::Slash47To33,
            32 => Self::Slash32,
            29..=31 => Self::Slash31To29,
            _ => Self::Slash28OrLarger,
        }
    }
}

vocab! {
    /// How many AS numbers a case involves.
    pub enum AsnCount ("ASN count") {
        One => "1",
        TwoToFour => "2-4",
        FiveOrMore => "5 or more",
    }
}

impl AsnCount {
    pub fn of(count: usize) -> Self {
        match count {
            0 | 1 => Self::One,
            2..=4 => Self::TwoToFour,
            _ => Self::FiveOrMore,
        }
    }
}

vocab! {
    /// Kind of resource, for filters.
    pub enum ResourceKind ("resource kind") {
        Ipv4 => "IPv4",
        Ipv6 => "IPv6",
        Asn => "ASN",
    }
}

vocab! {
    /// A stage of the case's timeline.
    pub enum Stage ("timeline stage") {
        RequestSubmitted => "request submitted",
        DocumentsRequested => "documents requested",
        DocumentsSupplied => "documents supplied",
        Escalated => "escalated",
        Appealed => "appealed",
        Decision => "decision",
        LegalActionFiled => "legal action filed",
        Resolved => "resolved",
    }
}

vocab! {
    /// Where the case stands or how it ended.
    pub enum Outcome ("outcome") {
        Open => "open",
        ResolvedFavourably => "resolved favourably",
        ResolvedUnfavourably => "resolved unfavourably",
        ResourcesLost => "resources lost",
        Withdrawn => "withdrawn",
        InLitigation => "in litigation",
    }
}

impl Outcome {
    /// Whether the case has ended (its duration is final).
    pub fn is_closed(self) -> bool {
        !matches!(self, Outcome::Open | Outcome::InLitigation)
    }
}

vocab! {
    /// Time from the case's start to its end (or to publication while it is open).
    pub enum DurationBucket ("duration") {
        UnderOneMonth => "under 1 month",
        OneToThreeMonths => "1-3 months",
        ThreeToSixMonths => "3-6 months",
        SixToTwelveMonths => "6-12 months",
        OneToTwoYears => "1-2 years",
        OverTwoYears => "over 2 years",
    }
}

impl DurationBucket {
    pub fn of_months(months: i64) -> Self {
        match months {
            ..=0 => Self::UnderOneMonth,
            1..=2 => Self::OneToThreeMonths,
            3..=5 => Self::ThreeToSixMonths,
            6..=11 => Self::SixToTwelveMonths,
            12..=23 => Self::OneToTwoYears,
            _ => Self::OverTwoYears,
        }
    }
}

vocab! {
    /// Customers affected.
    pub enum CustomersBucket ("customers affected") {
        Unknown => "unknown",
        Zero => "none",
        UpTo100 => "1-100",
        UpTo1k => "101-1k",
        UpTo10k => "1k-10k",
        UpTo100k => "10k-100k",
        Over100k => "over 100k",
    }
}

impl CustomersBucket {
    pub fn of(count: u64) -> Self {
        match count {
            0 => Self::Zero,
            1..=100 => Self::UpTo100,
            101..=1_000 => Self::UpTo1k,
            1_001..=10_000 => Self::UpTo10k,
            10_001..=100_000 => Self::UpTo100k,
            _ => Self::Over100k,
        }
    }
}

vocab! {
    /// Service downtime caused.
    pub enum DowntimeBucket ("downtime") {
        Unknown => "unknown",
        Zero => "none",
        UnderOneHour => "under 1 hour",
        UpToOneDay => "1-24 hours",
        UpToOneWeek => "1-7 days",
        OverOneWeek => "over 7 days",
    }
}

impl DowntimeBucket {
    pub fn of_hours(hours: f64) -> Self {
        match hours {
            h if h <= 0.0 => Self::Zero,
            h if h < 1.0 => Self::UnderOneHour,
            h if h <= 24.0 => Self::UpToOneDay,
            h if h <= 24.0 * 7.0 => Self::UpToOneWeek,
            _ => Self::OverOneWeek,
        }
    }
}

vocab! {
    /// Cost to the operator in USD.
    pub enum CostBucket ("cost") {
        Unknown => "unknown",
        Zero => "none",
        Under10k => "under 10k USD",
        Under100k => "10k-100k USD",
        Under1m => "100k-1M USD",
        Over1m => "over 1M USD",
    }
}

impl CostBucket {
    pub fn of_usd(usd: u64) -> Self {
        match usd {
            0 => Self::Zero,
            1..=9_999 => Self::Under10k,
            10_000..=99_999 => Self::Under100k,
            100_000..=999_999 => Self::Under1m,
            _ => Self::Over1m,
        }
    }
}

vocab! {
    /// Services affected.
    pub enum Service ("service") {
        Hosting => "hosting",
        Cloud => "cloud",
        Vpn => "VPN",
        Email => "email",
        Telecom => "telecom",
        Security => "security",
        Saas => "SaaS",
        EnterpriseAccess => "enterprise access",
        Web => "web",
        Other => "other",
    }
}

vocab! {
    /// The member's kind of organisation.
    pub enum OrgType ("organisation type") {
        Undisclosed => "undisclosed",
        Isp => "ISP",
        Hosting => "hosting provider",
        Cloud => "cloud provider",
        Lir => "LIR",
        Ipv4Holder => "IPv4 holder",
        Enterprise => "enterprise",
        Academic => "academic or research",
        Other => "other",
    }
}

vocab! {
    /// The member's size.
    pub enum OrgSize ("organisation size") {
        Undisclosed => "undisclosed",
        Micro => "1-10 staff",
        Small => "11-50 staff",
        Medium => "51-250 staff",
        Large => "251-1000 staff",
        VeryLarge => "over 1000 staff",
    }
}

vocab! {
    /// Where the member serves customers.
    pub enum Region ("service region") {
        Undisclosed => "undisclosed",
        Africa => "Africa",
        AsiaPacific => "Asia-Pacific",
        NorthAmerica => "North America",
        LatinAmerica => "Latin America and Caribbean",
        Europe => "Europe",
        MiddleEast => "Middle East",
        Global => "global",
    }
}

vocab! {
    /// What an evidence commitment is a commitment to.
    pub enum EvidenceKind ("evidence kind") {
        Email => "email",
        Contract => "contract",
        RegistryNotice => "registry notice",
        RoutingRecord => "routing record",
        Other => "other",
    }
}

vocab! {
    /// Why a member retracted a case.
    pub enum RetractionReason ("retraction reason") {
        PublishedInError => "published in error",
        IdentifyingInformation => "identifying information",
        Duplicate => "duplicate",
        Other => "other",
    }
}

vocab! {
    /// Why a member purged summaries.
    pub enum PurgeReason ("purge reason") {
        IdentifyingInformation => "identifying information",
        LegalRequest => "legal request",
        Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_leniently() {
        assert_eq!("ripe ncc".parse::<Registry>().unwrap(), Registry::RipeNcc);
        assert_eq!("RIPE_NCC".parse::<Registry>().unwrap(), Registry::RipeNcc);
        assert_eq!("Transfer-Delayed".parse::<Category>().unwrap(), Category::TransferDelayed);
        assert_eq!("/23–/22".parse::<Ipv4Size>().unwrap(), Ipv4Size::Slash23To22);
        assert_eq!("nic.br".parse::<Registry>().unwrap(), Registry::NicBr);
    }

    #[test]
    fn unknown_term_lists_the_valid_ones() {
        let err = "RIPE".parse::<Registry>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown registry `RIPE`"), "{msg}");
        assert!(msg.contains("AFRINIC") && msg.contains("RIPE NCC") && msg.contains("NIC Mexico"), "{msg}");
    }

    #[test]
    fn every_label_round_trips() {
        fn check<T: FromStr + fmt::Display + PartialEq + fmt::Debug + Copy>(all: &[T]) {
            for t in all {
                assert_eq!(t.to_string().parse::<T>().ok(), Some(*t));
            }
        }
        check(Registry::ALL);
        check(Category::ALL);
        check(Ipv4Size::ALL);
        check(Ipv6Size::ALL);
        check(AsnCount::ALL);
        check(Stage::ALL);
        check(Outcome::ALL);
        check(DurationBucket::ALL);
        check(CustomersBucket::ALL);
        check(DowntimeBucket::ALL);
        check(CostBucket::ALL);
        check(Service::ALL);
        check(OrgType::ALL);
        check(OrgSize::ALL);
        check(Region::ALL);
        check(EvidenceKind::ALL);
        check(RetractionReason::ALL);
        check(PurgeReason::ALL);
    }

    #[test]
    fn buckets_follow_the_domain_boundaries() {
        assert_eq!(Ipv4Size::of_prefix_len(24), Ipv4Size::Slash24OrSmaller);
        assert_eq!(Ipv4Size::of_prefix_len(22), Ipv4Size::Slash23To22);
        assert_eq!(Ipv4Size::of_prefix_len(20), Ipv4Size::Slash21To20);
        assert_eq!(Ipv4Size::of_prefix_len(17), Ipv4Size::Slash19To17);
        assert_eq!(Ipv4Size::of_prefix_len(16), Ipv4Size::Slash16OrLarger);
        assert_eq!(Ipv6Size::of_prefix_len(32), Ipv6Size::Slash32);
        assert_eq!(DurationBucket::of_months(0), DurationBucket::UnderOneMonth);
        assert_eq!(DurationBucket::of_months(12), DurationBucket::OneToTwoYears);
        assert_eq!(CostBucket::of_usd(10_000), CostBucket::Under100k);
    }
}
