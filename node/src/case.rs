//! The member's private case: full detail, kept on this node only. Loaded from TOML or JSON
//! (`docs/examples/case.toml`, `docs/examples/case.json`) and checked before it is stored.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ipnet::IpNet;
use lantern_protocol::Month;
use lantern_protocol::summary::{MAX_CATEGORIES, MAX_TAGS, is_valid_tag};
use lantern_protocol::vocab::{Category, EvidenceKind, Outcome, Registry, Service, Stage};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

pub const MAX_TITLE_CHARS: usize = 200;
/// Private notes: 16 384 characters (at most 64 KiB of UTF-8).
pub const MAX_NOTES_CHARS: usize = 16 * 1024;
pub const MAX_RESOURCES: usize = 64;
pub const MAX_TIMELINE: usize = 32;
pub const MAX_EVIDENCE: usize = 32;

/// A problem with a case: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct CaseError {
    pub field: String,
    pub message: String,
}

impl CaseError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// A calendar day, `YYYY-MM-DD`. Private: summaries only ever carry its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub time::Date);

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Day {
    pub fn month(self) -> Month {
        Month { year: self.0.year().clamp(0, u16::MAX.into()) as u16, month: self.0.month() as u8 }
    }

    pub fn today() -> Self {
        Day(time::OffsetDateTime::now_utc().date())
    }
}

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // Exactly YYYY-MM-DD: the parser alone would take a sign ("+2025-01-01").
        let shaped = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        shaped
            .then(|| time::Date::parse(s, DAY_FORMAT).ok())
            .flatten()
            .map(Day)
            .ok_or_else(|| format!("`{s}` is not a date: expected YYYY-MM-DD"))
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.format(DAY_FORMAT).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// An AS number, written `AS64496`, `as64496` or `64496`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asn(pub u32);

impl FromStr for Asn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let digits = t.strip_prefix("AS").or_else(|| t.strip_prefix("as")).unwrap_or(t);
        digits.parse().map(Asn).map_err(|_| format!("`{s}` is not an AS number: expected e.g. AS64496"))
    }
}

impl Serialize for Asn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("AS{}", self.0))
    }
}

impl<'de> Deserialize<'de> for Asn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            // JSON does not tell 64496 from 64496.0.
            Float(f64),
            Text(String),
        }
        let not_asn = || serde::de::Error::custom("expected an AS number: AS64496, \"64496\" or 64496");
        match Raw::deserialize(d).map_err(|_| not_asn())? {
            Raw::Number(n) => Ok(Asn(n)),
            Raw::Float(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => Ok(Asn(f as u32)),
            Raw::Float(_) => Err(not_asn()),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// One number resource the case is about: exactly one of `prefix` or `asn`
/// (its OpenAPI schema: `api::schemas::resource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<Asn>,
}

/// A dated stage of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    #[schema(schema_with = crate::api::schemas::stage)]
    pub stage: Stage,
    #[schema(schema_with = crate::api::schemas::day)]
    pub date: Day,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Impact in exact figures; summaries carry only their buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactDetail {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub customers: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0)]
    pub downtime_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub cost_usd: Option<u64>,
    #[serde(default)]
    #[schema(schema_with = crate::api::schemas::services)]
    pub services: Vec<Service>,
}

/// A count, 0 or more: JSON does not tell `2176` from `2176.0`, so neither does this.
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }
    // At most i64::MAX, the largest integer most JSON tools read exactly.
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    match Option::<Number>::deserialize(d) {
        Ok(None) => Ok(None),
        Ok(Some(Number::Whole(n))) if n <= i64::MAX as u64 => Ok(Some(n)),
        Ok(Some(Number::Float(f))) if f.fract() == 0.0 && (0.0..TWO_TO_63).contains(&f) => Ok(Some(f as u64)),
        _ => Err(serde::de::Error::custom(format!("expected a whole number from 0 to {}", i64::MAX))),
    }
}

/// A private document the summary commits to without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[schema(schema_with = crate::api::schemas::evidence_kind)]
    pub kind: EvidenceKind,
    #[serde(default)]
    pub description: String,
    /// BLAKE3 hash of the document, 64 hex characters (`b3sum FILE`).
    #[schema(schema_with = crate::api::schemas::hex32)]
    pub document_blake3: String,
    /// Random salt of the commitment, 32 hex characters; generated when the case is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::api::schemas::salt)]
    pub salt: Option<String>,
}

/// A member's private case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivateCase {
    #[schema(schema_with = crate::api::schemas::title)]
    pub title: String,
    #[schema(schema_with = crate::api::schemas::registry)]
    pub registry: Registry,
    #[schema(schema_with = crate::api::schemas::categories)]
    pub categories: Vec<Category>,
    /// When the problem began.
    #[schema(schema_with = crate::api::schemas::day)]
    pub opened: Day,
    #[serde(default = "open")]
    #[schema(schema_with = crate::api::schemas::outcome)]
    pub outcome: Outcome,
    #[serde(default, deserialize_with = "objects::many")]
    #[schema(schema_with = crate::api::schemas::resources)]
    pub resources: Vec<Resource>,
    /// Stages in any order, none dated before `opened` and none more than 50 years after it.
    #[serde(default, deserialize_with = "objects::many")]
    #[schema(max_items = 32)]
    pub timeline: Vec<Event>,
    #[serde(default, deserialize_with = "objects::one")]
    pub impact: ImpactDetail,
    /// Free text; redacted before anything of it is published.
    #[serde(default)]
    #[schema(schema_with = crate::api::schemas::narrative)]
    pub narrative: String,
    #[serde(default)]
    #[schema(schema_with = crate::api::schemas::tags)]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "objects::many")]
    #[schema(max_items = 32)]
    pub evidence: Vec<Evidence>,
    /// Private notes; never published in any form.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(schema_with = crate::api::schemas::notes)]
    pub notes: String,
}

/// serde's derived structs also read from arrays (`"impact": [null, null]`); a case's parts are
/// objects, in JSON and TOML alike, so these read them as maps only.
mod objects {
    use serde::de::{Deserialize, Deserializer, Visitor};

    /// A deserializer that reads a struct as a map, everything else as it is.
    struct AsMap<D>(D);

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for AsMap<D> {
        type Error = D::Error;

        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.0.deserialize_any(v)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            v: V,
        ) -> Result<V::Value, D::Error> {
            self.0.deserialize_map(v)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    struct Object<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::deserialize(AsMap(d)).map(Object)
        }
    }

    pub fn one<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
        T::deserialize(AsMap(d))
    }

    pub fn many<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Object<T>>::deserialize(d)?.into_iter().map(|o| o.0).collect())
    }
}

fn open() -> Outcome {
    Outcome::Open
}

/// A hex string of exactly `N` bytes.
pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s.trim(), &mut out).ok()?;
    Some(out)
}

impl PrivateCase {
    /// Reads a case from a `.toml` or `.json` file; errors name the file, line and column.
    pub fn from_file(path: &Path) -> Result<Self, CaseError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CaseError::new(&file, format!("cannot read: {e}")))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => {
                Self::from_toml(&text).map_err(|e| CaseError::new(format!("{file}:{}", e.field), e.message))
            }
            Some("json") => {
                Self::from_json(&text).map_err(|e| CaseError::new(format!("{file}:{}", e.field), e.message))
            }
            _ => Err(CaseError::new(file, "expected a .toml or .json file")),
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, CaseError> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            CaseError::new(format!("{line}:{col}"), e.message().trim().replace('\n', " "))
        })
    }

    pub fn from_json(text: &str) -> Result<Self, CaseError> {
        serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m).to_string();
            CaseError::new(format!("{}:{}", e.line(), e.column()), msg)
        })
    }

    /// Checks what the types alone cannot; `max_narrative_bytes` is the federation's limit.
    pub fn validate(&self, max_narrative_bytes: usize) -> Result<(), CaseError> {
        if self.title.trim().is_empty() {
            return Err(CaseError::new("title", "must not be empty"));
        }
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(CaseError::new("title", format!("must be at most {MAX_TITLE_CHARS} characters")));
        }
        if self.categories.is_empty() {
            return Err(CaseError::new("categories", "needs at least one incident category"));
        }
        if self.categories.len() > MAX_CATEGORIES {
            return Err(CaseError::new("categories", format!("at most {MAX_CATEGORIES}")));
        }
        if self.opened.month().validate("opened").is_err() {
            return Err(CaseError::new("opened", "year out of range"));
        }
        let today = Day::today();
        if self.opened > today {
            return Err(CaseError::new("opened", format!("{} is after today ({today})", self.opened)));
        }
        if self.resources.len() > MAX_RESOURCES {
            return Err(CaseError::new("resources", format!("at most {MAX_RESOURCES}")));
        }
        for (i, r) in self.resources.iter().enumerate() {
            if r.prefix.is_some() == r.asn.is_some() {
                return Err(CaseError::new(format!("resources[{i}]"), "give exactly one of `prefix` or `asn`"));
            }
        }
        if self.timeline.len() > MAX_TIMELINE {
            return Err(CaseError::new("timeline", format!("at most {MAX_TIMELINE} stages")));
        }
        for (i, e) in self.timeline.iter().enumerate() {
            if e.date > today {
                return Err(CaseError::new(
                    format!("timeline[{i}].date"),
                    format!("{} is after today ({today})", e.date),
                ));
            }
            if e.date < self.opened {
                return Err(CaseError::new(format!("timeline[{i}].date"), "must not be before `opened`"));
            }
            if e.date.month().months_until(self.opened.month()).abs() > 600 {
                return Err(CaseError::new(format!("timeline[{i}].date"), "more than 50 years after `opened`"));
            }
        }
        if self.impact.services.len() > Service::ALL.len() {
            return Err(CaseError::new(
                "impact.services",
                format!("at most {} (each service once)", Service::ALL.len()),
            ));
        }
        if let Some(h) = self.impact.downtime_hours
            && !(h.is_finite() && h >= 0.0)
        {
            return Err(CaseError::new("impact.downtime_hours", "must be a number of hours, 0 or more"));
        }
        if self.narrative.len() > max_narrative_bytes {
            return Err(CaseError::new(
                "narrative",
                format!("is {} bytes, over the federation's limit of {max_narrative_bytes}", self.narrative.len()),
            ));
        }
        for (field, text) in [("title", &self.title), ("narrative", &self.narrative), ("notes", &self.notes)] {
            if let Some(c) = crate::redact::first_control(text) {
                return Err(CaseError::new(field, format!("contains the control character U+{:04X}", c as u32)));
            }
        }
        if self.notes.chars().count() > MAX_NOTES_CHARS {
            return Err(CaseError::new("notes", format!("must be at most {MAX_NOTES_CHARS} characters")));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(CaseError::new("tags", format!("at most {MAX_TAGS}")));
        }
        for (i, t) in self.tags.iter().enumerate() {
            if !is_valid_tag(t) {
                return Err(CaseError::new(format!("tags[{i}]"), "1-32 characters of a-z, 0-9 and '-'"));
            }
        }
        if self.evidence.len() > MAX_EVIDENCE {
            return Err(CaseError::new("evidence", format!("at most {MAX_EVIDENCE}")));
        }
        for (i, e) in self.evidence.iter().enumerate() {
            if parse_hex::<32>(&e.document_blake3).is_none() {
                return Err(CaseError::new(format!("evidence[{i}].document_blake3"), "must be 64 hex characters"));
            }
            if e.salt.as_deref().is_some_and(|s| parse_hex::<16>(s).is_none()) {
                return Err(CaseError::new(format!("evidence[{i}].salt"), "must be 32 hex characters"));
            }
        }
        Ok(())
    }

    /// Gives every evidence entry a fresh random salt if it has none.
    pub fn salt_evidence(&mut self) {
        for e in &mut self.evidence {
            if e.salt.is_none() {
                e.salt = Some(hex::encode(crate::keys::random_bytes::<16>()));
            }
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_registry_error_names_line_and_valid_values() {
        let err =
            PrivateCase::from_toml("title = \"x\"\nregistry = \"RIPE\"\ncategories = []\nopened = \"2024-01-02\"\n")
                .unwrap_err();
        assert_eq!(err.field, "2:12");
        assert!(err.message.contains("unknown registry `RIPE`") && err.message.contains("RIPE NCC"), "{err}");
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd_and_never_after_today() {
        for bad in ["+2025-01-01", "2025-1-01", " 2025-01-01", "2025-01-01T00:00", "20250101"] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
        let mut case = PrivateCase::from_toml(
            "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"other\"]\nopened = \"2024-01-02\"\n",
        )
        .unwrap();
        let tomorrow = Day(Day::today().0.next_day().unwrap());
        case.timeline.push(Event { stage: Stage::Escalated, date: tomorrow, note: String::new() });
        let e = case.validate(4000).unwrap_err();
        assert_eq!(e.field, "timeline[0].date");
        assert!(e.message.contains("after today"), "{e}");
        case.timeline.clear();
        case.opened = tomorrow;
        assert_eq!(case.validate(4000).unwrap_err().field, "opened");
        case.opened = Day::today();
        assert!(case.validate(4000).is_ok(), "today is fine");
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = PrivateCase::from_json("{\n  \"title\": \"x\",\n  \"registry\": }").unwrap_err();
        assert_eq!(err.field, "3:15");
    }

    #[test]
    fn services_and_notes_are_bounded_as_the_document_says() {
        let mut case = PrivateCase::from_toml(
            "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"fee or billing dispute\"]\nopened = \"2024-01-02\"\n",
        )
        .unwrap();
        case.impact.services = vec![Service::Vpn; Service::ALL.len() + 1];
        assert_eq!(case.validate(4000).unwrap_err().field, "impact.services");
        case.impact.services.clear();
        // Counted in characters: 16 384 four-byte characters are fine, one more is not.
        case.notes = "😀".repeat(MAX_NOTES_CHARS);
        assert!(case.validate(4000).is_ok());
        case.notes.push('x');
        assert_eq!(case.validate(4000).unwrap_err().field, "notes");
    }

    #[test]
    fn narrative_over_limit_names_the_limit() {
        let mut case = PrivateCase::from_toml(
            "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"fee or billing dispute\"]\nopened = \"2024-01-02\"\n",
        )
        .unwrap();
        case.narrative = "a".repeat(4001);
        assert_eq!(
            case.validate(4000).unwrap_err().to_string(),
            "narrative: is 4001 bytes, over the federation's limit of 4000"
        );
    }

    #[test]
    fn resource_needs_exactly_one_identifier() {
        let mut case = PrivateCase::from_toml(
            "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"fee or billing dispute\"]\nopened = \"2024-01-02\"\n[[resources]]\n",
        )
        .unwrap();
        assert_eq!(case.validate(4000).unwrap_err().field, "resources[0]");
        case.resources[0].asn = Some(Asn(64496));
        case.validate(4000).unwrap();
    }
}
