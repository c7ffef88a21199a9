//! The member's own declared identifiers (organisation names, ASNs, prefixes, domains, staff),
//! always redacted, in their usual variants: any case, with or without the legal form, possessive,
//! any subdomain, an address or a shortened form of a declared prefix.

use ipnet::IpNet;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::lexicon::{VOCAB, bare, is_legal_form};
use super::names::{Token, distinctive_words, entity_key};
use super::{Kind, Span};

/// What a member declares about itself, in the node's settings (`[identifiers]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub org_names: Vec<String>,
    #[serde(default)]
    pub asns: Vec<String>,
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub people: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Compiled {
    patterns: Vec<(Kind, Regex, String, Option<String>)>,
    words: Vec<(String, Kind, String)>,
}

fn words_pattern(name: &str) -> String {
    name.split_whitespace().map(regex::escape).collect::<Vec<_>>().join(r"[\s\-]+")
}

impl Compiled {
    pub fn new(p: &Profile) -> Self {
        let mut c = Compiled::default();
        let mut add = |kind: Kind, pattern: String, key: String, replacement: Option<String>| {
            if let Ok(re) = Regex::new(&pattern) {
                c.patterns.push((kind, re, key, replacement));
            }
        };
        for name in p.org_names.iter().filter(|n| !n.trim().is_empty()) {
            let mut core: Vec<&str> = name.split_whitespace().collect();
            let mut legal: Vec<&str> = Vec::new();
            while core.len() > 1 && core.last().is_some_and(|l| is_legal_form(l)) {
                legal.insert(0, core.pop().unwrap_or_default());
            }
            let core = core.join(" ");
            // The name with or without its legal form, and possessives ("Orbitel's").
            let tail = if legal.is_empty() {
                String::new()
            } else {
                format!(r"(?:,?\s+{})?", words_pattern(&legal.join(" ")))
            };
            add(Kind::Org, format!(r"(?i)\b{}\b{tail}", words_pattern(&core)), entity_key(&core), None);
        }
        for person in p.people.iter().filter(|n| !n.trim().is_empty()) {
            add(Kind::Person, format!(r"(?i)\b{}\b", words_pattern(person)), entity_key(person), None);
        }
        for asn in &p.asns {
            let digits: String = asn.chars().filter(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                add(Kind::Asn, format!(r"(?i)\b(?:AS|ASN)?[\s\-:]?{digits}\b"), digits, None);
            }
        }
        for prefix in &p.prefixes {
            let Ok(net) = prefix.trim().parse::<IpNet>() else { continue };
            let bucket = match net {
                IpNet::V4(n) => {
                    format!("[IPv4 {}]", lantern_protocol::vocab::Ipv4Size::of_prefix_len(n.prefix_len()).label())
                }
                IpNet::V6(n) => {
                    format!("[IPv6 {}]", lantern_protocol::vocab::Ipv6Size::of_prefix_len(n.prefix_len()).label())
                }
            };
            // The network address written short: "185.53.244" for 185.53.244.0/22.
            let addr = net.network().to_string();
            let mut short = addr.as_str();
            while let Some(s) = short.strip_suffix(".0") {
                short = s;
            }
            if short != addr && short.contains('.') {
                add(
                    Kind::Prefix,
                    format!(r"\b{}(?:\s?/\s?\d{{1,2}})?\b(?:[^.\d]|$)", regex::escape(short)),
                    addr.clone(),
                    Some(bucket.clone()),
                );
            }
        }
        for domain in p.domains.iter().map(|d| d.trim().trim_start_matches("www.").to_lowercase()) {
            if domain.is_empty() {
                continue;
            }
            add(Kind::Domain, format!(r"(?i)\b(?:[a-z0-9\-]+\.)*{}\b", regex::escape(&domain)), domain.clone(), None);
            if let Some(label) = domain.split('.').next()
                && label.len() >= 3
                && !VOCAB.contains(label)
            {
                c.words.push((label.to_string(), Kind::Org, label.to_string()));
            }
        }
        for name in &p.org_names {
            for w in distinctive_words(Kind::Org, name) {
                c.words.push((w, Kind::Org, entity_key(name)));
            }
        }
        for person in &p.people {
            for w in distinctive_words(Kind::Person, person) {
                c.words.push((w, Kind::Person, entity_key(person)));
            }
        }
        c
    }

    pub fn find(&self, text: &str, _toks: &[Token<'_>], out: &mut Vec<Span>) {
        for (kind, re, key, replacement) in &self.patterns {
            for m in re.find_iter(text) {
                let mut end = m.end();
                // Patterns that check the character after a shortened prefix include it.
                if *kind == Kind::Prefix && !m.as_str().ends_with(|c: char| c.is_ascii_digit()) {
                    end -= m.as_str().chars().next_back().map_or(0, char::len_utf8);
                }
                out.push(Span {
                    kind: *kind,
                    start: m.start(),
                    end,
                    key: key.clone(),
                    replacement: replacement.clone(),
                });
            }
        }
    }

    /// Declared words to redact wherever they stand alone.
    pub fn words(&self) -> impl Iterator<Item = (&String, Kind, &String)> {
        self.words.iter().filter(|(w, _, _)| bare(w).len() >= 2).map(|(w, k, key)| (w, *k, key))
    }
}
