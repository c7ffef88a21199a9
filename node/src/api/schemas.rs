//! OpenAPI schemas for the fields whose Rust types live in `lantern-protocol` (which stays free of
//! HTTP concerns) or parse from text: each names its format and, for vocabularies, every label.

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

pub fn day() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date)))
        .description(Some("A calendar day, YYYY-MM-DD; only its month is ever published"))
        .build()
}

pub fn prefix() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("An IPv4 or IPv6 prefix, e.g. 192.0.2.0/24; only its size bucket is ever published"))
        .build()
}

pub fn asn() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^(AS|as)?[0-9]{1,10}$"))
        .description(Some("An AS number, AS64496 or 64496; only a count bucket is ever published"))
        .build()
}

pub fn retraction_reason() -> Object {
    labels(RetractionReason::ALL, RetractionReason::label, "retraction reason")
}

pub fn purge_reason() -> Object {
    labels(PurgeReason::ALL, PurgeReason::label, "purge reason")
}

/// A case title: some text that is not only spaces.
pub fn title() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::case::MAX_TITLE_CHARS))
        .pattern(Some(r"\S"))
        .description(Some("Private: never published"))
        .build()
}

/// 64 lower- or upper-case hex characters: a record id or a member key.
pub fn hex32() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-fA-F]{64}$")).build()
}
