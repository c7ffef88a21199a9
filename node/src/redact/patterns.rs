//! Detectors for structured identifiers: e-mail addresses, URLs, domain names, IP addresses and
//! prefixes, AS numbers and AS-SETs, phone numbers, registry handles, ticket references and
//! day-precise dates. Each candidate a regex finds is validated (an address must parse, a domain
//! must end in a real top-level domain, a phone number must have 7–15 digits).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use lantern_protocol::vocab::{Ipv4Size, Ipv6Size};
use regex::Regex;

use super::{Kind, Span};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid built-in pattern")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?-u:\b)[a-z0-9][a-z0-9._%+\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,63}(?-u:\b)")
});
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)(?-u:\b)(?:(?:https?|ftp|sftp|rsync)://|www\.)[^\s<>"'`]+"#));
static DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?-u:\b)(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9\-]{1,62}(?-u:\b)"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d{1,3}(?:\.\d{1,3}){1,3}(?:\s?/\s?\d{1,2})?(?-u:\b)"));
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?:\d{1,3}\.){3}\d{1,3})?(?:/\d{1,3})?"));
static ASN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:(?-u:\b)autonomous\s+system(?:\s+number)?\s*:?\s*)(?:AS)?\d{1,10}(?-u:\b)|(?-u:\b)(?:AS|ASN|asn|Asn)(?:\s?[-:#]\s?|\s)?\d{1,10}(?:\.\d{1,5})?(?-u:\b)",
    )
});
static AS_SET: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(?:AS\d+:)?AS-[A-Za-z0-9][A-Za-z0-9_\-]*(?::AS-[A-Za-z0-9_\-]+)*(?-u:\b)"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\+|(?-u:\b)00)\d[\d \t().\-/]{5,}\d|\(\d{2,5}\)[ \t]?\d[\d \t.\-]{4,}\d|(?-u:\b)\d{3}[.\-]\d{3}[.\-]\d{4}(?-u:\b)|(?i:(?-u:\b)(?:tel|phone|mobile|mob|fax|cell)(?-u:\b)\.?:?[ \t]*)\d[\d \t().\-/]{5,}\d",
    )
});
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(?:ORG|org)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?-u:\b)|(?-u:\b)[A-Z][A-Z0-9]{1,20}(?:-[A-Z0-9]{1,20})*-(?:RIPE|ARIN|AP|APNIC|AFRINIC|LACNIC|JPNIC|KRNIC|TWNIC|CNNIC|MNT|NICBR|BR|JP|KR|TW|CN|ID|IN)(?-u:\b)|(?-u:\b)MNT-[A-Za-z0-9\-]+(?-u:\b)",
    )
});
static TICKET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:(?-u:\b)(?:ticket|case|reference|ref|request|incident|complaint|dispute|claim|docket|file)(?:\s+(?:no|number|id|ref))?\.?\s*[:#]?\s*)[A-Za-z]{0,8}[-#]?\d[A-Za-z0-9\-/]{2,}|(?-u:\b)[A-Z][A-Za-z]{1,10}#\s?[A-Za-z0-9][A-Za-z0-9\-]{2,}|#\s?[A-Za-z0-9][A-Za-z0-9_\-]{2,}|(?-u:\b)[A-Z]{2,10}(?:-[A-Z]{2,10})?-\d{3,}(?:-\d+)*(?-u:\b)|(?-u:\b)\d{5,}(?-u:\b)",
    )
});

const MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
static DATE_DMY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?[\s\-]+({MONTHS})\.?(?:,?[\s\-]+(\d{{4}}))?(?-u:\b)"
    ))
});
static DATE_MDY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(r"(?i)(?-u:\b)({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+(\d{{4}})(?-u:\b))?"))
});
static DATE_ISO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(\d{4})[\-/.](\d{1,2})[\-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+\-]\d{2}:?\d{2})?)?(?-u:\b)",
    )
});
static DATE_NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?-u:\b)"));

/// Top-level domains recognised: every two-letter country code plus the common generic ones.
fn is_tld(tld: &str) -> bool {
    const GENERIC: &[&str] = &[
        "com",
        "net",
        "org",
        "info",
        "biz",
        "edu",
        "gov",
        "mil",
        "int",
        "io",
        "ai",
        "app",
        "dev",
        "cloud",
        "online",
        "site",
        "tech",
        "host",
        "hosting",
        "network",
        "systems",
        "solutions",
        "services",
        "digital",
        "global",
        "world",
        "email",
        "link",
        "xyz",
        "top",
        "club",
        "shop",
        "store",
        "agency",
        "company",
        "group",
        "legal",
        "law",
        "asia",
        "africa",
        "eu",
        "arpa",
        "coop",
        "museum",
        "name",
        "pro",
        "mobi",
        "tel",
        "travel",
        "jobs",
        "media",
        "news",
        "blog",
        "live",
        "page",
        "one",
        "zone",
        "center",
        "today",
        "space",
        "website",
        "works",
        "partners",
        "consulting",
        "capital",
        "ventures",
        "bank",
        "insure",
        "internet",
        "telecom",
        "lat",
        "berlin",
        "london",
        "paris",
        "nyc",
        "tokyo",
        "amsterdam",
        "wien",
        "swiss",
        "scot",
        "wales",
        "cat",
        "quebec",
    ];
    let t = tld.to_ascii_lowercase();
    (t.len() == 2 && t.bytes().all(|b| b.is_ascii_lowercase())) || GENERIC.contains(&t.as_str())
}

fn month_number(name: &str) -> Option<u8> {
    let n = name.to_ascii_lowercase();
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        .iter()
        .position(|m| n.starts_with(m))
        .map(|i| i as u8 + 1)
}

/// "may" and "mar" in lower case are verbs far more often than months.
fn is_lowercase_verb(month: &str) -> bool {
    month == "may" || month == "mar"
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn span(kind: Kind, start: usize, end: usize, text: &str) -> Span {
    Span { kind, start, end, key: text[start..end].to_lowercase(), replacement: None }
}

/// Whether the byte before `start` and the byte at `end` leave the match standing alone.
fn isolated(text: &str, start: usize, end: usize, joined: impl Fn(char) -> bool) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(&joined) && !after.is_some_and(&joined)
}

pub fn emails(text: &str, out: &mut Vec<Span>) {
    for m in EMAIL.find_iter(text) {
        out.push(span(Kind::Email, m.start(), m.end(), text));
    }
}

pub fn urls(text: &str, out: &mut Vec<Span>) {
    for m in URL.find_iter(text) {
        let trimmed = m.as_str().trim_end_matches(|c: char| ".,;:!?)]}'\"".contains(c));
        out.push(span(Kind::Url, m.start(), m.start() + trimmed.len(), text));
    }
}

pub fn domains(text: &str, out: &mut Vec<Span>) {
    for m in DOMAIN.find_iter(text) {
        let s = m.as_str();
        let Some((_, tld)) = s.rsplit_once('.') else { continue };
        let lower = tld.chars().all(|c| !c.is_uppercase());
        let upper_whole = s.chars().all(|c| !c.is_lowercase());
        if !(lower || upper_whole) || !is_tld(tld) || s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            continue;
        }
        // "NIC.br" and friends are registry names, kept as vocabulary.
        if super::lexicon::VOCAB.contains(&s.to_lowercase()) {
            continue;
        }
        if !isolated(text, m.start(), m.end(), |c| c == '@' || c.is_alphanumeric()) {
            continue;
        }
        out.push(span(Kind::Domain, m.start(), m.end(), text));
    }
}

/// IPv4 addresses and prefixes, including shortened prefixes such as `185.53.244/22`.
pub fn ipv4(text: &str, out: &mut Vec<Span>) {
    for m in IPV4.find_iter(text) {
        let s: String = m.as_str().chars().filter(|c| !c.is_whitespace()).collect();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a.to_string(), l.parse::<u8>().ok()),
            None => (s.clone(), None),
        };
        let octets = addr.split('.').count();
        if octets < 4 && len.is_none() {
            continue; // "3.5" or "1.2.3" are not addresses
        }
        let full = format!("{addr}{}", ".0".repeat(4 - octets));
        if full.parse::<Ipv4Addr>().is_err() || len.is_some_and(|l| l > 32) {
            continue;
        }
        if !isolated(text, m.start(), m.end(), char::is_alphanumeric) {
            continue;
        }
        let mut sp = span(if len.is_some() { Kind::Prefix } else { Kind::Ip }, m.start(), m.end(), text);
        sp.replacement = Some(match len {
            Some(l) => format!("[IPv4 {}]", Ipv4Size::of_prefix_len(l).label()),
            None => "[IPv4 address]".to_string(),
        });
        out.push(sp);
    }
}

pub fn ipv6(text: &str, out: &mut Vec<Span>) {
    for m in IPV6.find_iter(text) {
        let s = m.as_str();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (s, None),
        };
        if addr.parse::<Ipv6Addr>().is_err() || len.is_some_and(|l| l > 128) {
            continue;
        }
        if !isolated(text, m.start(), m.end(), |c| c.is_ascii_hexdigit() || c == ':') {
            continue;
        }
        let mut sp = span(if len.is_some() { Kind::Prefix } else { Kind::Ip }, m.start(), m.end(), text);
        sp.replacement = Some(match len {
            Some(l) => format!("[IPv6 {}]", Ipv6Size::of_prefix_len(l).label()),
            None => "[IPv6 address]".to_string(),
        });
        out.push(sp);
    }
}

pub fn asns(text: &str, out: &mut Vec<Span>) {
    for m in ASN.find_iter(text).chain(AS_SET.find_iter(text)) {
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        let mut sp = span(Kind::Asn, m.start(), m.end(), text);
        // One AS number however it is spelled: AS64496, ASN 64496 and AS 64496 share a placeholder.
        if !m.as_str().contains("AS-") {
            sp.key = digits;
        }
        out.push(sp);
    }
}

pub fn phones(text: &str, out: &mut Vec<Span>) {
    for m in PHONE.find_iter(text) {
        let s = m.as_str().trim_end();
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            continue;
        }
        let mut sp = span(Kind::Phone, m.start(), m.start() + s.len(), text);
        sp.key = s.chars().filter(char::is_ascii_digit).collect();
        out.push(sp);
    }
}

pub fn handles(text: &str, out: &mut Vec<Span>) {
    for m in HANDLE.find_iter(text) {
        out.push(span(Kind::Handle, m.start(), m.end(), text));
    }
}

pub fn tickets(text: &str, out: &mut Vec<Span>) {
    for m in TICKET.find_iter(text) {
        let s = m.as_str();
        // A reference needs a digit; "#hashtag" words are not tickets.
        if !s.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(span(Kind::Ticket, m.start(), m.end(), text));
    }
}

/// Day-precise dates, replaced by their month (or year when the month is unclear).
pub fn dates(text: &str, out: &mut Vec<Span>) {
    let mut push = |start: usize, end: usize, month: Option<u8>, year: Option<&str>| {
        let mut sp = span(Kind::Date, start, end, text);
        sp.replacement = Some(match (month, year) {
            (Some(m), Some(y)) => format!("{} {y}", MONTH_NAMES[m as usize - 1]),
            (Some(m), None) => MONTH_NAMES[m as usize - 1].to_string(),
            (None, Some(y)) => format!("[DATE {y}]"),
            (None, None) => "[DATE]".to_string(),
        });
        out.push(sp);
    };
    for c in DATE_DMY.captures_iter(text) {
        let day: u8 = c[1].parse().unwrap_or(0);
        if (1..=31).contains(&day) && !is_lowercase_verb(&c[2]) {
            let m = c.get(0).expect("whole match");
            push(m.start(), m.end(), month_number(&c[2]), c.get(3).map(|y| y.as_str()));
        }
    }
    for c in DATE_MDY.captures_iter(text) {
        let day: u8 = c[2].parse().unwrap_or(0);
        if (1..=31).contains(&day) && !is_lowercase_verb(&c[1]) {
            let m = c.get(0).expect("whole match");
            push(m.start(), m.end(), month_number(&c[1]), c.get(3).map(|y| y.as_str()));
        }
    }
    for c in DATE_ISO.captures_iter(text) {
        let (month, day): (u8, u8) = (c[2].parse().unwrap_or(0), c[3].parse().unwrap_or(0));
        if (1..=12).contains(&month) && (1..=31).contains(&day) {
            let m = c.get(0).expect("whole match");
            push(m.start(), m.end(), Some(month), Some(&c[1]));
        }
    }
    for c in DATE_NUMERIC.captures_iter(text) {
        let (a, b): (u8, u8) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
        let whole = c.get(0).expect("whole match");
        // Not part of an IP address or a longer number.
        let before = text[..whole.start()].chars().next_back();
        let mut after = text[whole.end()..].chars();
        let joined_after = match after.next() {
            Some('.') => after.next().is_some_and(|c| c.is_ascii_digit()),
            Some(c) => c.is_ascii_digit(),
            None => false,
        };
        if before.is_some_and(|c| c == '.' || c.is_ascii_digit()) || joined_after {
            continue;
        }
        let year = (c[3].len() == 4).then(|| &c[3]);
        let month = match (a, b) {
            (1..=31, 1..=12) if a > 12 => Some(b),
            (1..=12, 13..=31) => Some(a),
            (1..=12, 1..=12) => None, // ambiguous day and month: keep only the year
            _ => continue,
        };
        push(whole.start(), whole.end(), month, year);
    }
}
