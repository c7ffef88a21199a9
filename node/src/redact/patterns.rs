//! Detectors for structured identifiers: e-mail addresses (also as mail archives spell them:
//! `user at domain dot com`, `user () domain ! net`, `[at]`), URLs (also defanged), domain names
//! (IDN, internal zones), IP addresses and prefixes (partial, defanged, zero-padded, comma,
//! IPv4-mapped, spelt in a netname), AS numbers (any case, glued, asdot, BGP communities) and
//! AS-SETs, phone numbers, registry handles and reg-ids, ticket and case references, company ids
//! (IBAN, LEI, VAT), day-precise dates in several languages and scripts, compact timestamps and
//! times of day. Each candidate a regex finds is validated (an address must parse, a domain must
//! end in a real top-level domain, an IBAN or LEI must pass its check digits). Detectors accept
//! identifiers glued to the text around them: a false find costs a word, a miss costs a member.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use lantern_protocol::vocab::{Ipv4Size, Ipv6Size};
use regex::Regex;

use super::{Kind, Span};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid built-in pattern")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[\p{L}\p{N}][\p{L}\p{N}._%+\-]*\s?@\s?(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?(?:\.|\[\.\]|\(\.\)))+[\p{L}]{2,63}",
    )
});
/// Addresses as mail archives hide them: `user at example dot com`, `user () example ! com`,
/// `user [at] example [dot] com`, `user(at)example.com`.
static EMAIL_SPELT: LazyLock<Regex> = LazyLock::new(|| {
    let at = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+(?:at|AT|At)\s+|\s+\(\)\s+|\s*&#64;\s*|\s+@\s+)";
    let dot = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+(?:dot|DOT|Dot)\s+|\s+!\s+|\.)";
    re(&format!(
        r"[\p{{L}}\p{{N}}][\p{{L}}\p{{N}}._%+\-]*{at}[\p{{L}}\p{{N}}][\p{{L}}\p{{N}}\-]*(?:{dot}[\p{{L}}\p{{N}}][\p{{L}}\p{{N}}\-]*)+"
    ))
});
/// Archives that cut the domain off: `<jane.roe at>`, and a Mailman header line
/// `Jane Roe jane.roe at` above its weekday-first date line.
static EMAIL_CUT: LazyLock<Regex> = LazyLock::new(|| re(r"<([\p{L}\p{N}][\p{L}\p{N}._%+\-]*)\s+at\s*>"));
static EMAIL_CUT_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?m)^[^\n]{2,60}?[ \t]([\p{L}\p{N}][\p{L}\p{N}._%+\-]*[ \t]+at)[ \t]*\n(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ ,]")
});
static URL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:(?:h[tx]{2}ps?|ftp|sftp|rsync|ssh|telnet|git)(?:://|\[://\]|\[:\]//|:\\\\)|www\.|www\[\.\])[^\s<>"'`]+"#,
    )
});
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?(?:\.|\[\.\]|\(\.\)))+(?:[\p{L}][\p{L}\p{N}\-]{1,62}|xn--[a-z0-9\-]{1,59})",
    )
});
/// Dotted quads and their disguises: defanged (`[.]`, `(.)`), `x` or `*` for an octet,
/// a length (`/22`); commas as separators are checked apart.
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\d{1,3}(?:(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|,)(?:\d{1,3}|[xX]{1,3}|\*)){1,3}(?:\s?/\s?\d{1,2})?")
});
/// An address spelt with hyphens inside a netname or host name (`NET-198-51-100-0-1`).
static IPV4_HYPHENS: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:[0-9a-f]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,3})?|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:/\d{1,3})?",
    )
});
static ASN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:autonomous\s+system(?:\s+number)?\s*:?\s*)(?:AS)?\d{1,10}|(?i:as(?:dot|plain)\s*:?\s*)\d{1,10}(?:\.\d{1,5})?|(?:AS|ASN|asn|Asn|as|As)(?:\s?[-:#]\s?|\s)?\d{1,10}(?:\.\d{1,5})?",
    )
});
/// BGP communities (`64500:120`, large `64500:1:2`): they carry AS numbers.
static COMMUNITY: LazyLock<Regex> = LazyLock::new(|| re(r"\d{1,10}:\d{1,10}(?::\d{1,10})?"));
/// Times of day, which with a month pin an event to the minute.
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:[01]?\d|2[0-3])(?::[0-5]\d){1,2}(?:[.,]\d{1,6})?(?:\s?(?:z|utc|gmt|[ap]\.?m\.?|[+\-]\d{2}:?\d{2}|[A-Z]{3,4}T))?|(?i:(?-u:\b)(?:[01]?\d|2[0-3])h[0-5]\d(?-u:\b))",
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
        r"(?-u:\b)(?:ORG|org|Org)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?-u:\b)|(?-u:\b)[A-Z][A-Z0-9]{1,20}(?:-[A-Z0-9]{1,20})*-(?:RIPE|ARIN|AP|APNIC|AFRINIC|LACNIC|JPNIC|KRNIC|TWNIC|CNNIC|MNT|NICBR|BR|JP|KR|TW|CN|ID|IN)(?-u:\b)|(?i:(?-u:\b)[a-z0-9][a-z0-9_\-]{0,40}-mnt(?-u:\b)|(?-u:\b)mnt-[a-z0-9][a-z0-9_\-]*|(?-u:\b)[a-z]{1,6}\d{1,6}(?:-[a-z0-9]{1,8})?-(?:ripe|arin|ap|apnic|afrinic|lacnic|nicbr)(?-u:\b))|(?-u:\b)NET6?-[0-9A-F]{1,4}(?:-[0-9A-F]{1,4}){2,}(?-u:\b)",
    )
});
/// RIPE registration ids (`de.acme`): a country code, a dot, a name.
static REG_ID: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)[a-z]{2}\.[a-z][a-z0-9\-]{1,40}(?-u:\b)"));
/// Case numbers of courts and abuse lists: `XY 4521/2021`, `SBL12345`, `RIPE-NCC-12a45`.
static CASE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)[A-Z]{1,5}\s?\d{1,7}/\d{2,4}(?-u:\b)|(?-u:\b)[A-Z]{2,8}\d{3,}[A-Za-z0-9]*(?-u:\b)|(?-u:\b)[A-Z]{2,10}(?:-[A-Z]{2,10})*-\d[0-9A-Za-z]*[A-Za-z][0-9A-Za-z]*(?-u:\b)",
    )
});
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?(?-u:\b)"));
static LEI: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)[0-9A-Z]{18}\d{2}(?-u:\b)"));
/// VAT and company register numbers: after their label, or in an EU VAT shape.
static COMPANY_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:(?-u:\b)(?:vat|ust-?idnr|ust-?id|tva|iva|btw|nip|mwst|uid|p\.?\s?iva|cif|nif|kvk|crn|ein|tin|abn|acn|cnpj|cpf|ruc|siren|siret|inn|ogrn|инн|огрн|company\s+(?:no|number|reg(?:istration)?)|registration\s+(?:no|number)|handelsregister|hrb|kbo|rcs|regon|krs)(?-u:\b)\.?(?:\s*(?:no|nr|n°|number|id)\.?)?\s*[:#]?\s*)[A-Z]{0,3}[\s\-]?\d[\d\s\-./]{3,24}\d[A-Z]?|(?-u:\b)(?:ATU\d{8}|BE[01]\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}|EL\d{9}|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}|FR[A-HJ-NP-Z0-9]{2}\d{9}|HR\d{11}|HU\d{8}|IE\d[A-Z0-9+*]\d{5}[A-Z]{1,2}|IT\d{11}|LT\d{9,12}|LU\d{8}|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|PT\d{9}|RO\d{2,10}|SE\d{12}|SI\d{8}|SK\d{10}|GB\d{9,12}|CHE-?\d{3}\.?\d{3}\.?\d{3})(?-u:\b)",
    )
});
static TICKET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:(?-u:\b)(?:ticket|case|reference|ref|request|incident|complaint|dispute|claim|docket|file)(?:\s+(?:no|number|id|ref))?\.?\s*[:#]?\s*)[A-Za-z]{0,8}[-#]?\d[A-Za-z0-9\-/]{2,}|(?-u:\b)[A-Z][A-Za-z]{1,10}#\s?[A-Za-z0-9][A-Za-z0-9\-]{2,}|#\s?[A-Za-z0-9][A-Za-z0-9_\-]{2,}|(?-u:\b)[A-Z]{2,10}(?:-[A-Z]{2,10})?-\d{3,}(?:-\d+)*(?-u:\b)|(?-u:\b)\d{5,}(?-u:\b)",
    )
});

/// Month names and abbreviations of the supported languages, with their numbers.
const MONTH_NAMES_BY_LANGUAGE: &[(&str, u8)] = &[
    // English
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
    // French
    ("janvier", 1),
    ("janv", 1),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("mars", 3),
    ("avril", 4),
    ("avr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("juil", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    // German and Dutch
    ("januar", 1),
    ("jänner", 1),
    ("februar", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("okt", 10),
    ("dezember", 12),
    ("dez", 12),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    ("augusti", 8),
    ("maj", 5),
    // Spanish, Portuguese, Italian
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("marco", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    // Russian (nominative and genitive) and Ukrainian
    ("январь", 1),
    ("января", 1),
    ("февраль", 2),
    ("февраля", 2),
    ("март", 3),
    ("марта", 3),
    ("апрель", 4),
    ("апреля", 4),
    ("май", 5),
    ("мая", 5),
    ("июнь", 6),
    ("июня", 6),
    ("июль", 7),
    ("июля", 7),
    ("август", 8),
    ("августа", 8),
    ("сентябрь", 9),
    ("сентября", 9),
    ("октябрь", 10),
    ("октября", 10),
    ("ноябрь", 11),
    ("ноября", 11),
    ("декабрь", 12),
    ("декабря", 12),
    ("січня", 1),
    ("лютого", 2),
    ("березня", 3),
    ("квітня", 4),
    ("травня", 5),
    ("червня", 6),
    ("липня", 7),
    ("серпня", 8),
    ("вересня", 9),
    ("жовтня", 10),
    ("листопада", 11),
    ("грудня", 12),
    // Polish, Turkish, Indonesian
    ("stycznia", 1),
    ("lutego", 2),
    ("marca", 3),
    ("kwietnia", 4),
    ("maja", 5),
    ("czerwca", 6),
    ("lipca", 7),
    ("sierpnia", 8),
    ("września", 9),
    ("października", 10),
    ("listopada", 11),
    ("grudnia", 12),
    ("ocak", 1),
    ("şubat", 2),
    ("mart", 3),
    ("nisan", 4),
    ("mayıs", 5),
    ("haziran", 6),
    ("temmuz", 7),
    ("ağustos", 8),
    ("eylül", 9),
    ("ekim", 10),
    ("kasım", 11),
    ("aralık", 12),
    ("maret", 3),
    ("agustus", 8),
    ("desember", 12),
];

/// Every month name, longest first, as a regex alternation.
static MONTHS: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<&str> = MONTH_NAMES_BY_LANGUAGE.iter().map(|(n, _)| *n).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.iter().map(|n| regex::escape(n)).collect::<Vec<_>>().join("|")
});
static DATE_DMY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?-u:\b)(\d{{1,2}})(?:st|nd|rd|th|er|e|º|°|\.)?(?:\s+of)?(?:[\s\-]+de)?[\s\-]+({})\.?(?:,?[\s\-]+(?:de\s+)?(\d{{4}}))?(?:\s?(?:г|р|r)\.)?\b",
        *MONTHS
    ))
});
static DATE_MDY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(r"(?i)\b({})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+(\d{{4}})(?-u:\b))?", *MONTHS))
});
static DATE_ISO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(\d{4})[\-/.](\d{1,2})[\-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+\-]\d{2}:?\d{2})?)?(?-u:\b)",
    )
});
static DATE_NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?-u:\b)"));
/// Chinese, Japanese and Korean dates: `2024年3月15日`, `3月15日`, `2024년 3월 15일`.
static DATE_CJK: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일号號]"));
/// Compact timestamps and dates: `20240315T140500Z`, `20240315`.
/// Day and month without a year, German and Russian style: `am 29.10.`, `с 16.10.`.
static DATE_DAY_MONTH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(0?[1-9]|[12]\d|3[01])\.(0?[1-9]|1[0-2])\.(?:[ \t\n,;)]|$)"));
static DATE_COMPACT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:T?\d{4,6}(?:\.\d+)?Z?)?"));

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
    // Zones that never reach the public DNS but name a member's own hosts.
    const INTERNAL: &[&str] =
        &["internal", "local", "lan", "corp", "intra", "intranet", "home", "localdomain", "private", "priv", "prod"];
    // Internationalised country and generic TLDs in use.
    const IDN: &[&str] = &[
        "рф",
        "рус",
        "москва",
        "онлайн",
        "сайт",
        "орг",
        "ком",
        "укр",
        "срб",
        "бел",
        "қаз",
        "мкд",
        "мон",
        "中国",
        "中國",
        "香港",
        "台灣",
        "台湾",
        "公司",
        "网络",
        "網絡",
        "みんな",
        "コム",
        "닷컴",
        "한국",
        "امارات",
        "مصر",
        "السعودية",
        "ایران",
        "भारत",
        "ไทย",
        "ελ",
        "հայ",
    ];
    let t = tld.to_lowercase();
    (t.len() == 2 && t.bytes().all(|b| b.is_ascii_lowercase()))
        || GENERIC.contains(&t.as_str())
        || INTERNAL.contains(&t.as_str())
        || IDN.contains(&t.as_str())
        || t.starts_with("xn--")
}

fn month_number(name: &str) -> Option<u8> {
    let n = name.to_lowercase();
    MONTH_NAMES_BY_LANGUAGE.iter().find(|(m, _)| *m == n).map(|(_, i)| *i)
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

/// The byte offset of the character before `at`, if it is `pred`.
fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

pub fn emails(text: &str, out: &mut Vec<Span>) {
    for m in EMAIL.find_iter(text) {
        out.push(span(Kind::Email, m.start(), m.end(), text));
    }
    for c in EMAIL_CUT.captures_iter(text).chain(EMAIL_CUT_HEADER.captures_iter(text)) {
        let m = c.get(1).expect("group");
        out.push(span(Kind::Email, m.start(), m.end(), text));
    }
    for m in EMAIL_SPELT.find_iter(text) {
        // The part after the last dot word must be a real top-level domain: "meet at noon" is not.
        let tld = m.as_str().rsplit(['.', ' ', ']', ')', '}', '>', '!']).next().unwrap_or_default();
        if is_tld(tld) {
            out.push(span(Kind::Email, m.start(), m.end(), text));
        }
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
        let Some(tld) = s.rsplit(['.', ']', ')']).next() else { continue };
        let lower = tld.chars().all(|c| !c.is_uppercase());
        let upper_whole = s.chars().all(|c| !c.is_lowercase());
        let dots = s.matches('.').count();
        // "end.It" in sloppy prose is a sentence break; "Mail.Example.COM" is a host.
        if !(lower || upper_whole || dots >= 2) || !is_tld(tld) || s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            continue;
        }
        // "NIC.br", "ripe.net" and friends are registry names, kept as vocabulary.
        if super::lexicon::VOCAB.contains(&s.to_lowercase()) {
            continue;
        }
        if !isolated(text, m.start(), m.end(), |c| c == '@' || c.is_alphanumeric()) {
            continue;
        }
        out.push(span(Kind::Domain, m.start(), m.end(), text));
    }
    for m in REG_ID.find_iter(text) {
        let s = m.as_str();
        if matches!(&s[..2], "e.g" | "i.e" | "a.m" | "p.m" | "n.b") || s.starts_with("e.g") || s.starts_with("i.e") {
            continue;
        }
        if isolated(text, m.start(), m.end(), |c| c == '@' || c == '.' || c.is_alphanumeric()) {
            out.push(span(Kind::Handle, m.start(), m.end(), text));
        }
    }
}

/// An octet as written: digits (leading zeros allowed) or a wildcard.
fn octet(s: &str) -> Option<Option<u8>> {
    if s.chars().all(|c| c == 'x' || c == 'X' || c == '*') {
        return Some(None);
    }
    s.parse::<u16>().ok().filter(|&n| n <= 255).map(|n| Some(n as u8))
}

fn ipv4_span(text: &str, start: usize, end: usize, len: Option<u8>) -> Span {
    let mut sp = span(if len.is_some() { Kind::Prefix } else { Kind::Ip }, start, end, text);
    sp.replacement = Some(match len {
        Some(l) => format!("[IPv4 {}]", Ipv4Size::of_prefix_len(l).label()),
        None => "[IPv4 address]".to_string(),
    });
    sp
}

/// IPv4 addresses and prefixes, whole, shortened (`185.53.244/22`, `185.53.244`), defanged,
/// with wildcards, zero-padded, comma-separated, or spelt with hyphens in a name.
pub fn ipv4(text: &str, out: &mut Vec<Span>) {
    for m in IPV4.find_iter(text) {
        let s: String = m.as_str().chars().filter(|c| !c.is_whitespace()).collect();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a.to_string(), l.parse::<u8>().ok()),
            None => (s.clone(), None),
        };
        let commas = addr.contains(',');
        let plain = addr
            .replace("[.]", ".")
            .replace("(.)", ".")
            .replace("{.}", ".")
            .replace("[dot]", ".")
            .replace("(dot)", ".");
        let parts: Vec<&str> = plain.split(['.', ',']).collect();
        if commas && (plain.contains('.') || parts.len() != 4 || parts[1..].iter().all(|p| p.len() == 3)) {
            continue; // "1,000,000" is a number; commas must separate four octets
        }
        let Some(octets) = parts.iter().map(|p| octet(p)).collect::<Option<Vec<_>>>() else { continue };
        if octets[0].is_none() || len.is_some_and(|l| l > 32) {
            continue;
        }
        let wild = octets.iter().any(Option::is_none);
        let digits_of = |i: usize| parts[i].len();
        // Three octets with no length: a partial address unless it reads as a version ("2.4.1").
        let partial = octets.len() == 3 && len.is_none() && !wild;
        if octets.len() < 3 && len.is_none() && !wild {
            continue;
        }
        if partial && !(octets[0].is_some_and(|o| o >= 10) || (0..3).any(|i| digits_of(i) == 3)) {
            continue;
        }
        if partial && char_before(text, m.start()).is_some_and(|c| c == 'v' || c == 'V') {
            continue;
        }
        // Not inside a longer number or dotted run; letters may be glued after ("…100.7Tue").
        let before = char_before(text, m.start());
        let after = text[m.end()..].chars().next();
        let after2 = text[m.end()..].chars().nth(1);
        if before.is_some_and(|c| c.is_ascii_digit() || c.is_alphabetic() && !c.is_uppercase() || c == '.')
            || after.is_some_and(|c| c.is_ascii_digit())
            || (after == Some('.') && after2.is_some_and(|c| c.is_ascii_digit()))
        {
            continue;
        }
        out.push(ipv4_span(text, m.start(), m.end(), len));
    }
    for m in IPV4_HYPHENS.find_iter(text) {
        let ok = m.as_str().split('-').all(|p| octet(p).is_some_and(|o| o.is_some()));
        let after = text[m.end()..].chars().next();
        if ok && !after.is_some_and(|c| c.is_ascii_digit()) {
            out.push(ipv4_span(text, m.start(), m.end(), None));
        }
    }
}

/// A run of colon-separated hex groups that does not parse but still reads as part of a
/// global or local IPv6 address (`2001:db8:1234`, `2a02:1234:5678::` cut short).
fn partial_ipv6(s: &str) -> bool {
    let groups: Vec<&str> = s.split(':').filter(|g| !g.is_empty()).collect();
    let first = groups.first().map(|g| g.to_ascii_lowercase()).unwrap_or_default();
    groups.len() >= 3
        && groups.iter().all(|g| g.len() <= 4 && g.chars().all(|c| c.is_ascii_hexdigit()))
        && first.len() == 4
        && (first.starts_with('2')
            || first.starts_with('3')
            || first.starts_with("fe8")
            || first.starts_with("fd")
            || first.starts_with("fc"))
}

pub fn ipv6(text: &str, out: &mut Vec<Span>) {
    for m in IPV6.find_iter(text) {
        let s = m.as_str();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (s, None),
        };
        if (addr.parse::<Ipv6Addr>().is_err() && !partial_ipv6(addr)) || len.is_some_and(|l| l > 128) {
            continue;
        }
        if char_before(text, m.start()).is_some_and(|c| c.is_ascii_hexdigit() || c == ':') {
            continue;
        }
        // After a length only a digit would join ("/32AS64500" ends at the 2).
        let after = text[m.end()..].chars().next();
        if if len.is_some() { after.is_some_and(|c| c.is_ascii_digit()) } else { after.is_some_and(|c| c == ':') } {
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
    for m in ASN.find_iter(text) {
        let s = m.as_str();
        let before = char_before(text, m.start());
        let after = text[m.end()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let upper = s.starts_with("AS");
        // Glued to a word only as "ViolationAS64511" (upper-case AS after a lower-case letter).
        if before.is_some_and(|c| c.is_alphanumeric()) && !(upper && before.is_some_and(char::is_lowercase)) {
            continue;
        }
        // Lower-case "as 5 operators" or "as 2024" is English; "as64500" glued is not.
        if !upper
            && !s.to_lowercase().starts_with("asn")
            && !s.to_lowercase().starts_with("asdot")
            && !s.to_lowercase().starts_with("asplain")
            && !s.to_lowercase().starts_with("autonomous")
        {
            let glued = s.as_bytes().get(2).is_some_and(u8::is_ascii_digit);
            let n: u64 = digits.parse().unwrap_or(0);
            if !glued && (n < 100 || (1980..=2039).contains(&n)) {
                continue;
            }
        }
        let mut sp = span(Kind::Asn, m.start(), m.end(), text);
        // One AS number however it is spelled: AS64496, ASN 64496 and AS 64496 share a placeholder.
        sp.key = digits;
        out.push(sp);
    }
    for m in AS_SET.find_iter(text) {
        out.push(span(Kind::Asn, m.start(), m.end(), text));
    }
    for m in COMMUNITY.find_iter(text) {
        let parts: Vec<u64> = m.as_str().split(':').filter_map(|p| p.parse().ok()).collect();
        let before = char_before(text, m.start());
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            || after.is_some_and(|c| c == ':' || c.is_ascii_hexdigit())
        {
            continue;
        }
        // A time of day or a ratio ("08:36", "3:1") is not a community.
        let is_time = parts.len() <= 3 && parts[0] <= 23 && parts[1..].iter().all(|&p| p <= 59);
        if is_time || parts[0] < 100 && parts[1] < 100 {
            continue;
        }
        let mut sp = span(Kind::Asn, m.start(), m.end(), text);
        sp.key = parts[0].to_string();
        out.push(sp);
    }
}

/// Times of day (`08:36:34`, `14:05 UTC`, `9:30am`), replaced by a neutral mark.
/// Agenda slots written without a colon: `1400 – 1405`, `0930-1030`.
static TIME_SLOT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)(?:[01]\d|2[0-3])[0-5]\d[ \t]*[–—\-][ \t]*(?:[01]\d|2[0-3])[0-5]\d(?-u:\b)"));

pub fn times(text: &str, out: &mut Vec<Span>) {
    for m in TIME_SLOT.find_iter(text) {
        let mut sp = span(Kind::Date, m.start(), m.end(), text);
        sp.replacement = Some("[TIME]".to_string());
        out.push(sp);
    }
    for m in TIME.find_iter(text) {
        let before = char_before(text, m.start());
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':')
            || after.is_some_and(|c| c == ':' || c.is_ascii_digit())
        {
            continue;
        }
        let mut sp = span(Kind::Date, m.start(), m.end(), text);
        sp.replacement = Some("[TIME]".to_string());
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
    for m in TICKET.find_iter(text).chain(CASE_NUMBER.find_iter(text)) {
        let s = m.as_str();
        // A reference needs a digit; "#hashtag" words are not tickets.
        if !s.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(span(Kind::Ticket, m.start(), m.end(), text));
    }
}

/// ISO 7064 MOD 97-10, the check of LEIs: the code read as base 36 is 1 modulo 97.
fn mod97_is_one(code: &str) -> bool {
    let mut r: u32 = 0;
    for c in code.chars() {
        let Some(v) = c.to_digit(36) else { return false };
        r = if v < 10 { (r * 10 + v) % 97 } else { (r * 100 + v) % 97 };
    }
    r == 1
}

/// Company identifiers: IBANs and LEIs that pass their check digits, VAT and register numbers.
pub fn company_ids(text: &str, out: &mut Vec<Span>) {
    for m in IBAN.find_iter(text) {
        if m.as_str().parse::<iban::Iban>().is_ok() {
            out.push(span(Kind::CompanyId, m.start(), m.end(), text));
        }
    }
    for m in LEI.find_iter(text) {
        if mod97_is_one(m.as_str()) {
            out.push(span(Kind::CompanyId, m.start(), m.end(), text));
        }
    }
    for m in COMPANY_ID.find_iter(text) {
        out.push(span(Kind::CompanyId, m.start(), m.end(), text));
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
    for c in DATE_CJK.captures_iter(text) {
        let (month, day): (u8, u8) = (c[2].parse().unwrap_or(0), c[3].parse().unwrap_or(0));
        if (1..=12).contains(&month) && (1..=31).contains(&day) {
            let m = c.get(0).expect("whole match");
            push(m.start(), m.end(), Some(month), c.get(1).map(|y| y.as_str()));
        }
    }
    for c in DATE_COMPACT.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        if text[m.end()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        push(m.start(), m.end(), c[2].parse().ok(), Some(&c[1]));
    }
    for c in DATE_DAY_MONTH.captures_iter(text) {
        let whole = c.get(0).expect("whole match");
        // Not the end of an address or of a version ("192.168.1.10.").
        if text[..whole.start()].chars().next_back().is_some_and(|c| c == '.' || c.is_ascii_digit()) {
            continue;
        }
        let end = whole.start() + c[1].len() + 1 + c[2].len() + 1;
        push(whole.start(), end, c[2].parse().ok(), None);
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
