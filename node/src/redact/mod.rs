//! Redaction: from a member's free text to text that leaks nothing of "what must never leave a
//! node" (docs: ../../shared/design/domain.md), with typed placeholders.
//!
//! Pure and IO-free. The text is first normalised ([`normalise`]: NFKC, invisible characters
//! dropped, disguised words folded), and the field's multi-word names are set aside
//! ([`lexicon::VOCAB_PHRASES`], policy ids). Detectors then find candidate spans ([`patterns`]
//! for structured identifiers, [`fields`] for values of whois attributes, mail headers and
//! signatures, [`names`] for people and organisations, [`profile`] for the member's declared
//! identifiers); overlaps are resolved by priority then length; every distinctive word of a name
//! found once is redacted wherever else it appears. Last, independently of the detectors, the
//! allow-list pass ([`allow`]) replaces every word not known to be safe. Each span becomes a
//! placeholder numbered per entity (`[PERSON 1]` twice for one person), or a coarsened value (a
//! prefix's size bucket, a date's month). [`Redactor::residual`] runs all of it again over
//! finished text: publishing refuses while it finds anything, and the preview shows the same.

mod allow;
mod fields;
mod lexicon;
mod names;
mod normalise;
mod patterns;
mod profile;

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use normalise::{first_control, normalise};
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
    #[serde(rename = "company-id")]
    CompanyId,
    Domain,
    Address,
    Org,
    Person,
    /// A number that is not a count, month, year or unit (an AS in a path, a ticket, a phone part).
    Number,
    /// Letters and digits mixed (a handle, a reference, a host label).
    Code,
    /// A word not known to be safe: not vocabulary, not a common word, or a personal name.
    Word,
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
            Kind::CompanyId => "COMPANY-ID",
            Kind::Domain => "DOMAIN",
            Kind::Address => "ADDRESS",
            Kind::Org => "ORG",
            Kind::Person => "PERSON",
            Kind::Number => "NUMBER",
            Kind::Code => "CODE",
            Kind::Word => "WORD",
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
    /// The input after normalisation: what `findings` point into.
    pub source: String,
    pub text: String,
    pub findings: Vec<Finding>,
}

/// Placeholders this module writes; masked before [`Redactor::residual`] looks again.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:[A-Z]+(?:-[A-Z]+)? \d+|IPv[46] [^\]]{1,20}|DATE(?: \d{4})?|TIME)\]").expect("valid pattern")
});

/// A numbered placeholder: its kind's name and its number.
static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[([A-Z]+(?:-[A-Z]+)?) (\d+)\]").expect("valid pattern"));

/// How many times redaction is applied to its own output at most: rewriting must never leave
/// what the check refuses, and a second pass settles any rewrite that did.
const MAX_PASSES: usize = 3;

/// A redactor for one member: its profile compiled once.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    profile: profile::Compiled,
}

impl Redactor {
    pub fn new(profile: &Profile) -> Self {
        Self { profile: profile::Compiled::new(profile) }
    }

    /// Every identifier found in already normalised `text`: detectors, overlaps resolved, names
    /// propagated, then the allow-list pass over every word left.
    pub fn find(&self, text: &str) -> Vec<Span> {
        let mut protected = lexicon::protected(text);
        protected.extend(fields::labels(text));
        let toks = names::tokens(text);
        let lang = allow::language(&toks);
        let mut spans = structured(text);
        fields::find(text, &mut spans);
        names::find(text, &toks, lang, &mut spans);
        // The field's own names and policy ids are never identifiers, whatever they look like.
        // A name run that overlaps one is dropped whole: the words outside it are left to the
        // allow-list pass ("Policy Development Process Bis").
        spans.retain(|s| {
            !protected.iter().any(|&(a, b)| {
                (a <= s.start && s.end <= b) || (matches!(s.kind, Kind::Person | Kind::Org) && a < s.end && s.start < b)
            })
        });
        // The member's declared identifiers are redacted even inside such names.
        self.profile.find(text, &toks, &mut spans);
        let chosen = resolve(spans);
        let mut all = propagate(text, &toks, chosen, &self.profile);
        let mut covered = all.clone();
        covered.extend(protected.iter().map(|&(start, end)| Span {
            kind: Kind::Word,
            start,
            end,
            key: String::new(),
            replacement: None,
        }));
        allow::find(text, &toks, lang, &covered, &mut all);
        all.sort_by_key(|s| s.start);
        all
    }

    /// Structured identifiers (addresses, numbers, references) in `text`, names aside: for
    /// short fields such as tags, checked in upper case too ("as64496").
    pub fn structured(&self, text: &str) -> Vec<Finding> {
        let text = normalise(text);
        let mut spans = structured(&text);
        self.profile.find(&text, &names::tokens(&text), &mut spans);
        resolve(spans).into_iter().map(|s| Finding { kind: s.kind, start: s.start, end: s.end }).collect()
    }

    /// Redacts `text` after normalising it; findings point into [`Redacted::source`].
    pub fn redact(&self, text: &str) -> Redacted {
        let source = normalise(text);
        let first = self.redact_once(&source);
        let mut out = first.0.clone();
        for _ in 1..MAX_PASSES {
            if self.residual(&out).is_empty() {
                break;
            }
            out = self.redact_once(&out).0;
        }
        Redacted { source, text: out, findings: first.1 }
    }

    fn redact_once(&self, text: &str) -> (String, Vec<Finding>) {
        // Placeholders already written stay as they are.
        let masked = mask_placeholders(text);
        let spans = self.find(&masked);
        let mut numbers: HashMap<(Kind, String), usize> = HashMap::new();
        // A later pass numbers on from the placeholders an earlier one wrote: "[PERSON 3]" after
        // "[PERSON 2]", never a second, different "[PERSON 1]".
        let mut used: HashMap<String, usize> = HashMap::new();
        for c in NUMBERED.captures_iter(text) {
            let n = c[2].parse().unwrap_or(0);
            let e = used.entry(c[1].to_string()).or_insert(0);
            *e = (*e).max(n);
        }
        let mut counters: HashMap<Kind, usize> = HashMap::new();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for s in &spans {
            if s.start < at {
                continue; // spans are disjoint by construction; never slice backwards
            }
            out.push_str(&text[at..s.start]);
            match &s.replacement {
                Some(r) => out.push_str(r),
                None => {
                    let n = *numbers.entry((s.kind, s.key.clone())).or_insert_with(|| {
                        let c = counters
                            .entry(s.kind)
                            .or_insert_with(|| used.get(s.kind.placeholder()).copied().unwrap_or(0));
                        *c += 1;
                        *c
                    });
                    out.push_str(&format!("[{} {n}]", s.kind.placeholder()));
                }
            }
            at = s.end;
        }
        out.push_str(&text[at..]);
        (out, spans.iter().map(|s| Finding { kind: s.kind, start: s.start, end: s.end }).collect())
    }

    /// What is still identifying in already redacted text (placeholders aside), with offsets
    /// into `text` as given. Text that normalisation would change is itself a finding.
    pub fn residual(&self, text: &str) -> Vec<Finding> {
        let normal = normalise(text);
        if normal != text {
            let start = text.bytes().zip(normal.bytes()).take_while(|(a, b)| a == b).count();
            let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = text[start..].char_indices().nth(1).map_or(text.len(), |(i, _)| start + i);
            return vec![Finding { kind: Kind::Word, start, end }];
        }
        self.find(&mask_placeholders(text))
            .into_iter()
            .map(|s| Finding { kind: s.kind, start: s.start, end: s.end })
            .collect()
    }
}

/// `text` with this module's placeholders blanked out (same length, so offsets hold).
fn mask_placeholders(text: &str) -> String {
    PLACEHOLDER.replace_all(text, |c: &regex::Captures<'_>| " ".repeat(c[0].len())).into_owned()
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
    patterns::times(text, &mut spans);
    patterns::asns(text, &mut spans);
    patterns::tickets(text, &mut spans);
    patterns::company_ids(text, &mut spans);
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
    // Word → (kind, entity key, declared by the member: redacted in any case).
    let mut words: HashMap<String, (Kind, String, bool)> = HashMap::new();
    for (w, kind, key) in profile.words() {
        words.entry(w.clone()).or_insert((kind, key.clone(), true));
    }
    // Longest names first, so "Moreau" alone joins "Ines Moreau" rather than the reverse.
    let mut named: Vec<&Span> = chosen.iter().filter(|s| matches!(s.kind, Kind::Person | Kind::Org)).collect();
    named.sort_by_key(|s| std::cmp::Reverse(s.key.split(' ').count()));
    for s in named {
        for w in names::distinctive_words(s.kind, &text[s.start..s.end]) {
            words.entry(w).or_insert((s.kind, s.key.clone(), false));
        }
    }
    for s in chosen.iter_mut().filter(|s| matches!(s.kind, Kind::Person | Kind::Org) && !s.key.contains(' ')) {
        if let Some((kind, key, _)) = words.get(&s.key) {
            (s.kind, s.key) = (*kind, key.clone());
        }
    }
    let mut extra = Vec::new();
    for t in toks {
        let b = lexicon::bare(t.text);
        // A name word that is also an ordinary word ("Bush", "Orange") names the entity only
        // where it is capitalised.
        let capitalised = t.text.chars().next().is_some_and(char::is_uppercase);
        if let Some((kind, key, declared)) = words.get(&b)
            && (*declared || capitalised || !allow::is_common(&b))
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
