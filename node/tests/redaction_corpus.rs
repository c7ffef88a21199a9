//! Redaction scored on the shared development corpus (../shared/data/redaction-dev.jsonl) the
//! way its README defines a leak: any distinctive piece of a planted value surviving,
//! case-insensitively, as a whole word.

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

const STRUCTURED: &[&str] = &["email", "url", "domain", "ip", "prefix", "asn", "phone", "ticket", "handle", "date"];

fn contains_word(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.to_lowercase(), needle.to_lowercase());
    if n.is_empty() {
        return false;
    }
    h.match_indices(&n).any(|(i, _)| {
        let before = h[..i].chars().next_back();
        let after = h[i + n.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The pieces of a planted value whose survival counts as a leak.
fn pieces(p: &Planted) -> Vec<String> {
    match p.kind.as_str() {
        "person" => p.value.split_whitespace().map(String::from).collect(),
        "org" | "lawfirm" => p.value.split_whitespace().next().map(String::from).into_iter().collect(),
        "prefix" => {
            let addr = p.value.split('/').next().unwrap_or(&p.value).to_string();
            vec![p.value.clone(), addr]
        }
        "email" => vec![p.value.clone(), p.value.split('@').next().unwrap_or_default().to_string()],
        _ => vec![p.value.clone()],
    }
}

#[test]
fn dev_corpus_leaks_nothing_structured_and_keeps_the_vocabulary() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/redaction-dev.jsonl");
    let corpus =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (the shared data sits beside the repo)"));
    let (mut items, mut leaked, mut structured, mut structured_leaked, mut keeps, mut kept) = (0, 0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap();
        let out = Redactor::new(&case.profile).redact(&case.text).text;
        for p in &case.planted {
            let leak = pieces(p).iter().any(|piece| contains_word(&out, piece));
            items += 1;
            let is_structured = STRUCTURED.contains(&p.kind.as_str());
            structured += usize::from(is_structured);
            if leak {
                leaked += 1;
                structured_leaked += usize::from(is_structured);
                failures.push(format!("{} {} `{}` in: {out}", case.id, p.kind, p.value));
            }
        }
        for k in &case.keep {
            keeps += 1;
            if contains_word(&out, k) {
                kept += 1;
            } else {
                failures.push(format!("{} lost keep word `{k}` in: {out}", case.id));
            }
        }
    }
    let leak_free = 1.0 - leaked as f64 / items as f64;
    let keep_rate = kept as f64 / keeps as f64;
    eprintln!(
        "items {items}, leaked {leaked} ({:.2} % leak-free); structured {structured}, leaked {structured_leaked}; keep {kept}/{keeps} ({:.2} %)",
        leak_free * 100.0,
        keep_rate * 100.0
    );
    for f in failures.iter().take(30) {
        eprintln!("  {f}");
    }
    assert_eq!(structured_leaked, 0, "structured identifiers leaked");
    assert!(leak_free >= 0.99, "leak-free {leak_free:.4} < 0.99");
    assert!(keep_rate >= 0.98, "kept {keep_rate:.4} < 0.98");
}
