//! OpenAPI schemas for the fields whose Rust types live in `lantern-protocol` (which stays free of
//! HTTP concerns) or parse from text: each names its format and, for vocabularies, every label.
//! The patterns are exact where a regular expression can be: every string they match, the server
//! parses (the tests below draw strings from them). What no schema can say (a period that ends
//! before it starts, a timeline stage dated before the case opened) is checked by the server and
//! told to the API fuzzer by `scripts/schemathesis/hooks.py`.

use lantern_protocol::vocab::*;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, Type};
use utoipa::openapi::{Array, SchemaFormat};

fn labels<T: Copy>(all: &[T], label: fn(T) -> &'static str, what: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all.iter().map(|&t| label(t))))
        .description(Some(format!("A {what}; labels match ignoring case, `_`/`-` and en dashes")))
        .build()
}

fn list(item: Object, max: usize) -> Array {
    ArrayBuilder::new().items(item).max_items(Some(max)).build()
}

pub fn registry() -> Object {
    labels(Registry::ALL, Registry::label, "registry")
}

pub fn categories() -> Array {
    let mut a = list(labels(Category::ALL, Category::label, "incident category"), 8);
    a.min_items = Some(1);
    a
}

pub fn outcome() -> Object {
    labels(Outcome::ALL, Outcome::label, "outcome")
}

pub fn stage() -> Object {
    labels(Stage::ALL, Stage::label, "timeline stage")
}

pub fn services() -> Array {
    list(labels(Service::ALL, Service::label, "service"), Service::ALL.len())
}

pub fn evidence_kind() -> Object {
    labels(EvidenceKind::ALL, EvidenceKind::label, "evidence kind")
}

/// A year the node accepts: 1980 to 2200.
const YEAR: &str = "(19[89][0-9]|20[0-9]{2}|21[0-9]{2}|2200)";
const MONTH_OF_YEAR: &str = "(0[1-9]|1[0-2])";

fn anchored(body: &str) -> String {
    format!("^({body})$")
}

/// YYYY-MM.
pub fn month_pattern() -> String {
    anchored(&format!("{YEAR}-{MONTH_OF_YEAR}"))
}

/// One period (YYYY-MM, YYYY-Qn or YYYY), or two joined by `..`.
pub fn period_pattern() -> String {
    let one = format!("{YEAR}(-{MONTH_OF_YEAR}|-Q[1-4])?");
    anchored(&format!("{one}(\\.\\.{one})?"))
}

pub fn day_pattern() -> String {
    anchored(&format!("{YEAR}-{MONTH_OF_YEAR}-(0[1-9]|[12][0-9]|3[01])"))
}

const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const HEXTET: &str = "[0-9a-fA-F]{1,4}";

/// An IPv4 prefix in dotted quads, or an IPv6 prefix in hex groups with at most one `::`.
pub fn prefix_pattern() -> String {
    let v4 = format!("({OCTET}\\.){{3}}{OCTET}/(3[0-2]|[12]?[0-9])");
    let h = HEXTET;
    let v6_addr = [
        format!("({h}:){{7}}{h}"),
        format!("({h}:){{1,7}}:"),
        format!("({h}:){{1,6}}:{h}"),
        format!("({h}:){{1,5}}(:{h}){{1,2}}"),
        format!("({h}:){{1,4}}(:{h}){{1,3}}"),
        format!("({h}:){{1,3}}(:{h}){{1,4}}"),
        format!("({h}:){{1,2}}(:{h}){{1,5}}"),
        format!("{h}:(:{h}){{1,6}}"),
        format!(":((:{h}){{1,7}}|:)"),
    ]
    .join("|");
    let v6 = format!("({v6_addr})/(12[0-8]|1[01][0-9]|[1-9]?[0-9])");
    anchored(&format!("{v4}|{v6}"))
}

/// `AS` (optional) and a 32-bit unsigned number.
pub fn asn_pattern() -> String {
    let u32_digits = [
        "[0-9]{1,9}",
        "[0-3][0-9]{9}",
        "4[01][0-9]{8}",
        "42[0-8][0-9]{7}",
        "429[0-3][0-9]{6}",
        "4294[0-8][0-9]{5}",
        "42949[0-5][0-9]{4}",
        "429496[0-6][0-9]{3}",
        "4294967[01][0-9]{2}",
        "42949672[0-8][0-9]",
        "429496729[0-5]",
    ]
    .join("|");
    anchored(&format!("(AS|as)?({u32_digits})"))
}

/// The characters of free text: no control character but tab and line breaks.
const TEXT_CHAR: &str = "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]";

/// Text without control characters other than tab and line breaks (the server refuses them).
pub fn text_pattern() -> String {
    anchored(&format!("{TEXT_CHAR}*"))
}

/// Free text with at least one character that is not white space.
pub fn title_pattern() -> String {
    let visible = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]";
    anchored(&format!("{TEXT_CHAR}*{visible}{TEXT_CHAR}*"))
}

pub fn day() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date)))
        .pattern(Some(day_pattern()))
        .description(Some("A calendar day, YYYY-MM-DD, in 1980-2200; only its month is ever published"))
        .build()
}

pub fn month() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(month_pattern()))
        .description(Some("A month, YYYY-MM, in 1980-2200"))
        .build()
}

pub fn period() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(period_pattern()))
        .description(Some(format!(
            "YYYY-MM, YYYY-Qn, YYYY or FROM..TO (both included; TO not before FROM, at most {} months)",
            crate::patterns::query::MAX_PERIOD_MONTHS
        )))
        .build()
}

/// Every filter a pattern query takes, spelled as the server writes it back; empty is none.
pub fn filter() -> Object {
    let all = std::iter::once(String::new()).chain(crate::patterns::grid::Filter::all().map(|f| f.to_string()));
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all))
        .description(Some(
            "One filter: outcome=…, org_type=…, region=…, resource_kind=… or resource=KIND SIZE (empty: none)",
        ))
        .build()
}

pub fn category() -> Object {
    labels(Category::ALL, Category::label, "incident category")
}

pub fn prefix() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(prefix_pattern()))
        .description(Some("An IPv4 or IPv6 prefix, e.g. 192.0.2.0/24; only its size bucket is ever published"))
        .build()
}

/// An AS number as text (`AS64496`, `64496`) or as a JSON number.
pub fn asn() -> utoipa::openapi::schema::OneOf {
    let text = ObjectBuilder::new().schema_type(Type::String).pattern(Some(asn_pattern())).build();
    let number = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(u32::MAX)).build();
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(text)
        .item(number)
        .description(Some("An AS number, AS64496 or 64496; only a count bucket is ever published"))
        .build()
}

/// A number resource: an object with exactly one of `prefix` or `asn`.
pub fn resource() -> utoipa::openapi::schema::OneOf {
    let only = |name: &str, schema: utoipa::openapi::Schema| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(name, schema)
            .required(name)
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .build()
    };
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(only("prefix", utoipa::openapi::Schema::Object(prefix())))
        .item(only("asn", utoipa::openapi::Schema::OneOf(asn())))
        .description(Some("One number resource: exactly one of `prefix` or `asn`"))
        .build()
}

pub fn resources() -> Array {
    ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::OneOf(resource())))
        .max_items(Some(crate::case::MAX_RESOURCES))
        .build()
}

/// A tag: 1-32 of a-z, 0-9 and `-`, not starting with `-`.
pub const TAG_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,31}$";

pub fn tags() -> Array {
    let tag = ObjectBuilder::new().schema_type(Type::String).pattern(Some(TAG_PATTERN)).build();
    list(tag, lantern_protocol::summary::MAX_TAGS)
}

/// Free text that may hold line breaks and tabs but no other control character.
pub fn text(description: &'static str) -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(text_pattern())).description(Some(description)).build()
}

pub fn narrative() -> Object {
    text("Free text; redacted before anything of it is published (the federation's manifest limits its bytes)")
}

pub fn notes() -> Object {
    let mut o = text("Private notes; never published in any form");
    o.max_length = Some(crate::case::MAX_NOTES_CHARS);
    o
}

/// 32 hex characters, or null to have the node pick one.
pub fn salt() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some("^[0-9a-fA-F]{32}$"))
        .description(Some("Random salt of the commitment, 32 hex characters; generated when the case is added"))
        .build()
}

pub fn retraction_reason() -> Object {
    labels(RetractionReason::ALL, RetractionReason::label, "retraction reason")
}

pub fn purge_reason() -> Object {
    labels(PurgeReason::ALL, PurgeReason::label, "purge reason")
}

/// A case title: some text that is not only spaces, without control characters.
pub fn title() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::case::MAX_TITLE_CHARS))
        .pattern(Some(title_pattern()))
        .description(Some("Private: never published"))
        .build()
}

/// 64 lower- or upper-case hex characters: a record id or a member key.
pub fn hex32() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-fA-F]{64}$")).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::query::{Period, QueryError};
    use proptest::prelude::*;
    use proptest::string::string_regex;

    /// Strings the document allows: drawn from a pattern without its anchors.
    fn allowed(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
        let body = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored pattern");
        string_regex(body).expect("a pattern proptest can draw from")
    }

    proptest! {
        #[test]
        fn every_prefix_the_document_allows_parses(s in allowed(&prefix_pattern())) {
            prop_assert!(s.parse::<ipnet::IpNet>().is_ok(), "{s}");
        }

        #[test]
        fn every_asn_the_document_allows_parses(s in allowed(&asn_pattern())) {
            prop_assert!(s.parse::<crate::case::Asn>().is_ok(), "{s}");
        }

        #[test]
        fn every_month_the_document_allows_parses(s in allowed(&month_pattern())) {
            prop_assert!(s.parse::<lantern_protocol::Month>().is_ok(), "{s}");
        }

        /// The one rule left to the server (and the fuzzer's hook): the order and length of a range.
        #[test]
        fn every_period_the_document_allows_parses_unless_reversed_or_too_long(s in allowed(&period_pattern())) {
            match s.parse::<Period>() {
                Ok(_) => {}
                Err(QueryError::PeriodTooLong(_)) => {}
                Err(QueryError::Period(_)) => {
                    let (a, b) = s.split_once("..").expect("only a range may fail");
                    let (a, b) = (a.parse::<Period>().unwrap(), b.parse::<Period>().unwrap());
                    prop_assert!(b.last < a.first, "{s}");
                }
                Err(e) => prop_assert!(false, "{s}: {e}"),
            }
        }

        #[test]
        fn every_real_day_the_document_allows_parses_and_has_a_year_the_node_takes(s in allowed(&day_pattern())) {
            // The document also says `format: date`, which rules out 2023-02-30.
            let (y, rest) = s.split_at(4);
            let (m, d) = rest[1..].split_at(2);
            let real = time::Date::from_calendar_date(
                y.parse().unwrap(),
                time::Month::try_from(m.parse::<u8>().unwrap()).unwrap(),
                d[1..].parse().unwrap(),
            )
            .is_ok();
            if real {
                let day = s.parse::<crate::case::Day>();
                prop_assert!(day.is_ok(), "{s}");
                prop_assert!(day.unwrap().month().validate("opened").is_ok(), "{s}");
            }
        }

        #[test]
        fn every_text_the_document_allows_has_no_refused_control(s in allowed(&text_pattern())) {
            prop_assert_eq!(crate::redact::first_control(&s), None);
        }

        #[test]
        fn every_title_the_document_allows_is_not_blank(s in allowed(&title_pattern())) {
            prop_assert!(!s.trim().is_empty() && crate::redact::first_control(&s).is_none(), "{s:?}");
        }

        #[test]
        fn every_tag_the_document_allows_is_valid(s in allowed(TAG_PATTERN)) {
            prop_assert!(lantern_protocol::summary::is_valid_tag(&s), "{s}");
        }
    }

    #[test]
    fn every_filter_label_parses_back_to_its_filter() {
        let all: Vec<_> = crate::patterns::grid::Filter::all().collect();
        assert!(all.len() > 20);
        for f in all {
            assert_eq!(f.to_string().parse::<crate::patterns::grid::Filter>(), Ok(f));
        }
    }

    #[test]
    fn patterns_reject_what_the_server_refuses() {
        let re = |p: String| regex::Regex::new(&p).unwrap();
        for bad in ["10.0.0.0/33", "256.0.0.0/8", "1:2:3:4:5:6:7:8:9/64", "1::2::3/48", "2001:db8::/129"] {
            assert!(!re(prefix_pattern()).is_match(bad), "{bad}");
            assert!(bad.parse::<ipnet::IpNet>().is_err(), "{bad}");
        }
        for good in ["192.0.2.0/24", "2001:db8::/32", "::/0", "fe80::1/128", "1:2:3:4:5:6:7::/112"] {
            assert!(re(prefix_pattern()).is_match(good), "{good}");
        }
        assert!(!re(asn_pattern()).is_match("4294967296"));
        assert!(re(asn_pattern()).is_match("AS4294967295"));
        assert!(!re(period_pattern()).is_match("1979-12"));
        assert!(re(period_pattern()).is_match("2024-Q1..2025-03"));
        assert!(!re(text_pattern()).is_match("a\u{0}b"));
        assert!(re(text_pattern()).is_match("line\nline\ttab"));
    }
}
