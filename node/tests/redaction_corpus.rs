//! Redaction scored on two corpora the way the shared corpus README defines a leak (any
//! distinctive piece of a planted value surviving, case-insensitively, as a whole word):
//! - the shared synthetic development set (../shared/data/redaction-dev.jsonl), saturated;
//! - our real-text corpus (tests/data/redaction-real.jsonl): passages of public operator
//!   material (mailing-list archives, whois output pasted in public issues, registry-dispute
//!   coverage), 152 passages, two in five not in English, hand-labelled, each with its source.
//!
//! Prints per-kind recall, the keep rate and the share of findings that touch no identifier.

use std::collections::BTreeMap;

use lantern_node::redact::{Profile, Redactor};
use serde::Deserialize;

#[derive(Deserialize)]
struct Planted {
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    text: String,
    #[serde(default)]
    profile: Profile,
    planted: Vec<Planted>,
    keep: Vec<String>,
}

const STRUCTURED: &[&str] =
    &["email", "url", "domain", "ip", "prefix", "asn", "phone", "ticket", "handle", "date", "time", "company-id"];

fn word_at(h: &str, i: usize, len: usize) -> bool {
    let before = h[..i].chars().next_back();
    let after = h[i + len..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

fn contains_word(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.to_lowercase(), needle.to_lowercase());
    !n.is_empty() && h.match_indices(&n).any(|(i, _)| word_at(&h, i, n.len()))
}

/// Parts of a name that distinguish no one ("van", "de", an initial).
fn is_particle(w: &str) -> bool {
    let w = w.trim_end_matches('.').to_lowercase();
    w.chars().count() < 2
        || [
            "van", "von", "de", "da", "do", "dos", "das", "del", "der", "den", "le", "la", "al", "el", "bin", "ibn",
            "y",
        ]
        .contains(&w.as_str())
}

/// Local parts of role addresses that are ordinary words ("abuse", "noc", "info"): their
/// surviving as a word elsewhere ("Abuse contact for …") discloses nothing of the address.
fn is_role_word(w: &str) -> bool {
    ["abuse", "noc", "info", "support", "hostmaster", "admin", "security", "network-abuse", "politicas"]
        .contains(&w.to_lowercase().as_str())
}

/// The distinctive pieces of a planted value whose survival counts as a leak.
fn pieces(p: &Planted) -> Vec<String> {
    match p.kind.as_str() {
        "person" => p.value.split_whitespace().filter(|w| !is_particle(w)).map(String::from).collect(),
        "org" | "lawfirm" => p.value.split_whitespace().next().map(String::from).into_iter().collect(),
        "prefix" => {
            let addr = p.value.split('/').next().unwrap_or(&p.value).to_string();
            vec![p.value.clone(), addr]
        }
        "email" => {
            let local = p.value.split(['@', ' ']).next().unwrap_or_default().to_string();
            let mut v = vec![p.value.clone()];
            if !is_role_word(&local) {
                v.push(local);
            }
            v
        }
        _ => vec![p.value.clone()],
    }
}

#[derive(Default)]
struct Score {
    items: usize,
    leaked: usize,
    structured: usize,
    structured_leaked: usize,
    keeps: usize,
    kept: usize,
    findings: usize,
    findings_on_nothing: usize,
    by_kind: BTreeMap<String, (usize, usize)>,
    failures: Vec<String>,
}

impl Score {
    fn leak_free(&self) -> f64 {
        1.0 - self.leaked as f64 / self.items.max(1) as f64
    }
    fn keep_rate(&self) -> f64 {
        self.kept as f64 / self.keeps.max(1) as f64
    }
    fn false_finding_rate(&self) -> f64 {
        self.findings_on_nothing as f64 / self.findings.max(1) as f64
    }
}

fn score(corpus: &str) -> Score {
    let mut s = Score::default();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap();
        let red = Redactor::new(&case.profile).redact(&case.text);
        let out = &red.text;
        for p in &case.planted {
            let leak = pieces(p).iter().any(|piece| contains_word(out, piece));
            s.items += 1;
            let entry = s.by_kind.entry(p.kind.clone()).or_default();
            entry.0 += 1;
            let is_structured = STRUCTURED.contains(&p.kind.as_str());
            s.structured += usize::from(is_structured);
            if leak {
                entry.1 += 1;
                s.leaked += 1;
                s.structured_leaked += usize::from(is_structured);
                s.failures.push(format!("{} {} `{}` in: {out}", case.id, p.kind, p.value));
            }
        }
        for k in &case.keep {
            s.keeps += 1;
            if contains_word(out, k) {
                s.kept += 1;
            } else {
                s.failures.push(format!("{} lost keep word `{k}` in: {out}", case.id));
            }
        }
        // A finding identifies something when it overlaps where a planted value stands.
        let src = red.source.to_lowercase();
        let mut marked = vec![false; src.len()];
        for p in &case.planted {
            for piece in pieces(p).iter().chain(std::iter::once(&p.value)) {
                let n = piece.to_lowercase();
                for (i, _) in src.match_indices(n.as_str()).filter(|_| !n.is_empty()) {
                    marked[i..i + n.len()].iter_mut().for_each(|m| *m = true);
                }
            }
        }
        for f in &red.findings {
            s.findings += 1;
            if !marked.get(f.start..f.end).is_some_and(|m| m.iter().any(|&x| x)) {
                s.findings_on_nothing += 1;
                if std::env::var_os("LANTERN_SHOW_FALSE_FINDINGS").is_some() {
                    let src = &red.source;
                    let at = |i: usize| (0..=i.min(src.len())).rev().find(|&j| src.is_char_boundary(j)).unwrap_or(0);
                    let (a, b) = (at(f.start.saturating_sub(40)), at((f.end + 40).min(src.len())));
                    let context =
                        format!("{}[{}]{}", &src[a..f.start], &src[f.start..f.end], &src[f.end..b]).replace('\n', " ");
                    eprintln!("  false finding {:?} `{}` in {}: {context}", f.kind, &src[f.start..f.end], case.id);
                }
            }
        }
    }
    s
}

fn report(name: &str, s: &Score) {
    eprintln!(
        "{name}: items {}, leaked {} ({:.2} % removed); structured {}, leaked {}; keep {}/{} ({:.2} %); findings {}, on no identifier {} ({:.1} %)",
        s.items,
        s.leaked,
        s.leak_free() * 100.0,
        s.structured,
        s.structured_leaked,
        s.kept,
        s.keeps,
        s.keep_rate() * 100.0,
        s.findings,
        s.findings_on_nothing,
        s.false_finding_rate() * 100.0
    );
    for (kind, (n, leaked)) in &s.by_kind {
        eprintln!("  {kind:<10} {:>6.2} % of {n}", (1.0 - *leaked as f64 / *n as f64) * 100.0);
    }
    for f in s.failures.iter().take(40) {
        eprintln!("  {f}");
    }
}

#[test]
fn dev_corpus_leaks_nothing_structured_and_keeps_the_vocabulary() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/redaction-dev.jsonl");
    let corpus =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (the shared data sits beside the repo)"));
    let s = score(&corpus);
    report("dev corpus", &s);
    assert_eq!(s.structured_leaked, 0, "structured identifiers leaked");
    assert!(s.leak_free() >= 0.99, "leak-free {:.4} < 0.99", s.leak_free());
    assert!(s.keep_rate() >= 0.98, "kept {:.4} < 0.98", s.keep_rate());
}

#[test]
fn real_text_corpus_meets_the_redaction_goals() {
    let corpus = include_str!("data/redaction-real.jsonl");
    let s = score(corpus);
    report("real-text corpus", &s);
    assert_eq!(s.structured_leaked, 0, "structured identifiers leaked");
    assert!(s.leak_free() >= REMOVED_AT_LEAST, "identifiers removed {:.4}", s.leak_free());
    assert!(s.keep_rate() >= 0.95, "vocabulary kept {:.4} < 0.95", s.keep_rate());
    assert!(
        s.false_finding_rate() <= FALSE_FINDINGS_AT_MOST,
        "findings on no identifier {:.3}",
        s.false_finding_rate()
    );
}

/// The goals are 0.995 removed and 0.10 false findings, and are NOT met on this corpus yet
/// (docs/redaction.md lists the misses): these guard the levels reached, so neither can get
/// worse unnoticed.
const REMOVED_AT_LEAST: f64 = 0.99;
const FALSE_FINDINGS_AT_MOST: f64 = 0.27;
