//! Redaction: from a member's free text to text that leaks nothing of "what must never leave a
//! node" (docs: ../../shared/design/domain.md), with typed placeholders.
//!
//! Pure and IO-free. Detectors find candidate spans ([`patterns`] for structured identifiers,
//! [`names`] for people and organisations, [`profile`] for the member's declared identifiers);
//! overlaps are resolved by priority then length; every distinctive word of a name found once is
//! then redacted wherever else it appears; each span becomes a placeholder numbered per entity
//! (`[PERSON 1]` twice for one person), or a coarsened value (a prefix's size bucket, a date's
//! month). [`Redactor::residual`] runs the detectors again over finished text: publishing refuses
//! while it finds anything.

mod lexicon;
mod names;
mod patterns;
mod profile;

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use profile::Profile;

/// The kinds of identifier, named as in the shared redaction corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Url,
    Email,
    Handle,
    Prefix,
    Ip,
    Phone,
    Date,
    Asn,
    Ticket,
    Domain,
    Org,
    Person,
}

impl Kind {
    /// Detection priority when spans overlap: structured identifiers first.
    fn priority(self) -> u8 {
        self as u8
    }

    fn placeholder(self) -> &'static str {
        match self {
            Kind::Url => "URL",
            Kind::Email => "EMAIL",
            Kind::Handle => "HANDLE",
            Kind::Prefix => "PREFIX",
            Kind::Ip => "IP",
            Kind::Phone => "PHONE",
            Kind::Date => "DATE",
            Kind::Asn => "ASN",
            Kind::Ticket => "TICKET",
            Kind::Domain => "DOMAIN",
            Kind::Org => "ORG",
            Kind::Person => "PERSON",
        }
    }
}

/// A candidate identifier in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// Identifies the entity, so one entity gets one placeholder number.
    pub key: String,
    /// Fixed replacement text instead of a numbered placeholder.
    pub replacement: Option<String>,
}

/// What was found: a kind and its byte range in the input text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// Redacted text and what was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redacted {
    pub text: String,
    pub findings: Vec<Finding>,
}

/// Placeholders this module writes; masked before [`Redactor::residual`] looks again.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(?:[A-Z]+ \d+|IPv[46] [^\]]{1,20}|DATE(?: \d{4})?)\]").expect("valid pattern"));

/// A redactor for one member: its profile compiled once.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    profile: profile::Compiled,
}

impl Redactor {
    pub fn new(profile: &Profile) -> Self {
        Self { profile: profile::Compiled::new(profile) }
    }

    /// Every identifier found in `text`, overlaps resolved, names propagated.
    pub fn find(&self, text: &str) -> Vec<Span> {
        let mut spans = structured(text);
        let toks = names::tokens(text);
        self.profile.find(text, &toks, &mut spans);
        names::find(text, &toks, &mut spans);
        let chosen = resolve(spans);
        propagate(text, &toks, chosen, &self.profile)
    }

    /// Structured identifiers (addresses, numbers, references) in `text`, names aside: for
    /// short fields such as tags, checked in upper case too ("as64496").
    pub fn structured(&self, text: &str) -> Vec<Finding> {
        let mut spans = structured(text);
        self.profile.find(text, &names::tokens(text), &mut spans);
        resolve(spans).into_iter().map(|s| Finding { kind: s.kind, start: s.start, end: s.end }).collect()
    }

    pub fn redact(&self, text: &str) -> Redacted {
        let spans = self.find(text);
        let mut numbers: HashMap<(Kind, String), usize> = HashMap::new();
        let mut counters: HashMap<Kind, usize> = HashMap::new();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in &spans {
            out.push_str(&text[at..s.start]);
            match &s.replacement {
                Some(r) => out.push_str(r),
                None => {
                    let n = *numbers.entry((s.kind, s.key.clone())).or_insert_with(|| {
                        let c = counters.entry(s.kind).or_insert(0);
                        *c += 1;
                        *c
                    });
                    out.push_str(&format!("[{} {n}]", s.kind.placeholder()));
                }
            }
            at = s.end;
        }
        out.push_str(&text[at..]);
        Redacted {
            text: out,
            findings: spans.iter().map(|s| Finding { kind: s.kind, start: s.start, end: s.end }).collect(),
        }
    }

    /// What is still identifying in already redacted text (placeholders aside).
    pub fn residual(&self, text: &str) -> Vec<Finding> {
        let masked = PLACEHOLDER.replace_all(text, |c: &regex::Captures<'_>| " ".repeat(c[0].len()));
        self.find(&masked).into_iter().map(|s| Finding { kind: s.kind, start: s.start, end: s.end }).collect()
    }
}

fn structured(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    patterns::urls(text, &mut spans);
    patterns::emails(text, &mut spans);
    patterns::handles(text, &mut spans);
    patterns::ipv4(text, &mut spans);
    patterns::ipv6(text, &mut spans);
    patterns::phones(text, &mut spans);
    patterns::dates(text, &mut spans);
    patterns::asns(text, &mut spans);
    patterns::tickets(text, &mut spans);
    patterns::domains(text, &mut spans);
    spans
}

/// Keeps the strongest of overlapping spans (priority, then length), in text order.
fn resolve(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| {
        a.kind
            .priority()
            .cmp(&b.kind.priority())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut chosen: Vec<Span> = Vec::new();
    for s in spans {
        if s.start < s.end && !chosen.iter().any(|c| c.start < s.end && s.start < c.end) {
            chosen.push(s);
        }
    }
    chosen.sort_by_key(|s| s.start);
    chosen
}

/// Redacts every other occurrence of a found name's distinctive words ("Okafor" after "Priya
/// Okafor"; "Orbitel" after "Orbitel Telecom S.A."), as the same entity.
fn propagate(text: &str, toks: &[names::Token<'_>], mut chosen: Vec<Span>, profile: &profile::Compiled) -> Vec<Span> {
    let mut words: HashMap<String, (Kind, String)> = HashMap::new();
    for (w, kind, key) in profile.words() {
        words.entry(w.clone()).or_insert((kind, key.clone()));
    }
    // Longest names first, so "Moreau" alone joins "Ines Moreau" rather than the reverse.
    let mut named: Vec<&Span> = chosen.iter().filter(|s| matches!(s.kind, Kind::Person | Kind::Org)).collect();
    named.sort_by_key(|s| std::cmp::Reverse(s.key.split(' ').count()));
    for s in named {
        for w in names::distinctive_words(s.kind, &text[s.start..s.end]) {
            words.entry(w).or_insert((s.kind, s.key.clone()));
        }
    }
    for s in chosen.iter_mut().filter(|s| matches!(s.kind, Kind::Person | Kind::Org) && !s.key.contains(' ')) {
        if let Some((kind, key)) = words.get(&s.key) {
            (s.kind, s.key) = (*kind, key.clone());
        }
    }
    let mut extra = Vec::new();
    for t in toks {
        let b = lexicon::bare(t.text);
        if let Some((kind, key)) = words.get(&b)
            && !chosen.iter().any(|c| c.start < t.end && t.start < c.end)
        {
            extra.push(Span { kind: *kind, start: t.start, end: t.end, key: key.clone(), replacement: None });
        }
    }
    let mut all = chosen;
    all.extend(extra);
    all.sort_by_key(|s| s.start);
    all
}

#[cfg(test)]
mod tests;
