//! Names of people and organisations, found without a model: capitalised words that are not
//! the field's vocabulary or ordinary English, runs of them ending in a legal form, words after
//! roles and titles ("our CTO …", "counsel …"), and common given names even in lower case.

use std::sync::LazyLock;

use regex::Regex;

use super::allow::Lang;
use super::lexicon::*;
use super::{Kind, Span};

/// A word of the text with its byte range.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
    /// First word of a sentence (so its capital letter says nothing).
    pub initial: bool,
}

static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}'’\-]|\.[\p{L}])*\.?|&").expect("valid pattern"));

/// Splits text into words, marking those that start a sentence.
pub fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut last_end = 0;
    for m in WORD.find_iter(text) {
        let mut word = m.as_str();
        let gap = &text[last_end..m.start()];
        let prev = out.last();
        let initial = match prev {
            None => true,
            Some(p) => gap.contains(['\n', '.', '!', '?']) || (p.text.ends_with('.') && !is_abbreviation(p.text)),
        };
        // A trailing dot belongs to the word only for abbreviations and legal forms ("Inc.", "B.V.").
        if word.ends_with('.') && !is_abbreviation(word) {
            word = &word[..word.len() - 1];
        }
        out.push(Token { text: word, start: m.start(), end: m.start() + word.len(), initial });
        // A dot stripped from the word stays in the gap before the next one: it ends a sentence.
        last_end = m.start() + word.len();
    }
    out
}

fn is_abbreviation(word: &str) -> bool {
    let w = word.trim_end_matches('.');
    (is_cap(word) && is_legal_form(word))
        || ROLES.contains(&word.to_lowercase())
        || w.contains('.')
        || matches!(
            w.to_lowercase().as_str(),
            "st" | "no" | "vs" | "etc" | "e.g" | "i.e" | "approx" | "dept" | "jr" | "sr"
        )
}

fn is_cap(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_uppercase)
}

fn is_alpha(word: &str) -> bool {
    word.chars().any(char::is_alphabetic) && !word.chars().any(|c| c.is_ascii_digit())
}

/// A word that can never be part of a name.
fn is_plain(word: &str) -> bool {
    let b = bare(word);
    b.len() < 2 || VOCAB.contains(&b) || FUNCTION.contains(&b) || ROLES.contains(&b) || !is_alpha(word)
}

fn is_registry(word: &str) -> bool {
    matches!(
        bare(word).as_str(),
        "afrinic"
            | "apnic"
            | "arin"
            | "lacnic"
            | "ripe"
            | "ncc"
            | "jpnic"
            | "krnic"
            | "cnnic"
            | "twnic"
            | "idnic"
            | "vnnic"
            | "irinn"
            | "iana"
    )
}

/// Given names that are also everyday words: only trusted when capitalised.
pub(super) fn ambiguous_given(word: &str) -> bool {
    matches!(
        word,
        "mark"
            | "grace"
            | "max"
            | "sun"
            | "frank"
            | "jack"
            | "per"
            | "will"
            | "may"
            | "hope"
            | "rose"
            | "ida"
            | "ella"
            | "ana"
            | "sam"
            | "lin"
            | "ming"
            | "tim"
            | "dan"
            | "ben"
            | "tom"
            | "kim"
            | "jun"
            | "sara"
            | "mei"
            | "bill"
            | "gary"
            | "victor"
            | "eugene"
            | "eric"
            | "nils"
            | "jens"
            | "ling"
            | "yan"
            | "xin"
    )
}

/// Whether a capitalised token is a name word rather than ordinary text.
fn is_name_word(t: &Token<'_>, lang: Lang) -> bool {
    if !is_cap(t.text) || is_plain(t.text) {
        return false;
    }
    let b = bare(t.text);
    if t.initial {
        // At a sentence start a capital proves nothing: ordinary words are not names.
        return !ordinary(&b, lang) || GIVEN_NAMES.contains(&b);
    }
    true
}

/// An ordinary word of some supported language that is not also a personal name.
fn ordinary(b: &str, lang: Lang) -> bool {
    // A name that is also one of a language's few hundred commonest words ("La", "De") is a word.
    let name_like =
        super::allow::is_personal_name(b) && super::allow::rank(b).is_none_or(|r| r > super::allow::FUNCTION_RANK);
    COMMON.contains(b) || (super::allow::is_ordinary_initial(b, lang) && !name_like)
}

/// Whether a run of capitalised words inside a sentence is Title Case prose rather than a
/// name: one very common word alone ("the Board", "Google"-like brands aside, see below), or
/// common words around a word of the field's vocabulary ("RIPE Database", "Transfer Policy").
fn title_case_prose(text: &str, run: &[Token<'_>], lang: Lang) -> bool {
    let words: Vec<String> = run.iter().map(|t| bare(t.text)).collect();
    let very_common_word = |w: &str| super::allow::is_very_common(w, lang) && !super::allow::is_personal_name(w);
    // "IP-Routing": each part of a hyphenated word is judged.
    let very_common = |w: &str| {
        very_common_word(w) || (w.contains('-') && w.split('-').all(|p| VOCAB.contains(p) || very_common_word(p)))
    };
    if words.iter().any(|w| GIVEN_NAMES.contains(w) || ORG_WORDS.contains(w)) {
        return false;
    }
    let all_ordinary = words.iter().all(|w| VOCAB.contains(w) || FUNCTION.contains(w) || very_common(w));
    match words.as_slice() {
        [w] => very_common(w),
        // A heading or a label: the whole line, or what precedes its colon ("Submission Date:").
        _ if run[0].initial && line_or_label(text, run) => all_ordinary,
        _ => words.iter().any(|w| VOCAB.contains(w)) && all_ordinary,
    }
}

/// Whether a run of words is a whole line or a label: only spaces before it on its line, and
/// nothing but a colon or the line's end after it.
fn line_or_label(text: &str, run: &[Token<'_>]) -> bool {
    let (Some(first), Some(last)) = (run.first(), run.last()) else { return false };
    let before = text[..first.start].rsplit('\n').next().unwrap_or_default();
    let after = text[last.end..].split('\n').next().unwrap_or_default().trim();
    before.chars().all(|c| c == ' ' || c == '\t' || c == '>' || c == '-' || c == '#')
        && (after.is_empty() || after.starts_with(':'))
}

/// How many tokens starting at `i` form a legal form ("Ltd", "B.V.", "Pty Ltd", "Sp. z o.o.").
fn legal_form_len(toks: &[Token<'_>], i: usize) -> usize {
    for n in (1..=3).rev() {
        if i + n > toks.len() {
            continue;
        }
        let joined: String = toks[i..i + n].iter().map(|t| t.text).collect();
        if is_cap(toks[i].text) && is_legal_form(&joined) {
            // "AS" is a legal form only after a name, never before a number.
            if legal_key(&joined) == "as" && toks[i].text != "AS" {
                continue;
            }
            return n;
        }
    }
    0
}

/// Finds names; each span's key identifies its entity for consistent placeholders.
pub fn find(text: &str, toks: &[Token<'_>], lang: Lang, out: &mut Vec<Span>) {
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let after_role = i > 0 && ROLES.contains(&bare(toks[i - 1].text));
        if is_name_word(t, lang) || (after_role && is_cap(t.text) && !is_plain(t.text)) {
            let start = i;
            let mut end = i + 1;
            // Extend over further name words, joiners between name words, and capitalised
            // field words inside an organisation's name ("Nordhavn Internet AS").
            loop {
                if end < toks.len() && is_name_word(&toks[end], lang) && !toks[end].initial && adjacent(text, toks, end)
                {
                    end += 1;
                } else if let Some(n) = joiners_then_name(text, toks, end, lang) {
                    end += n;
                } else if end < toks.len()
                    && !toks[end].initial
                    && adjacent(text, toks, end)
                    && is_cap(toks[end].text)
                    && ORG_WORDS.contains(&bare(toks[end].text))
                {
                    end += 1;
                } else {
                    break;
                }
            }
            // "Acme Communications, Inc.": a comma may stand before the legal form.
            let comma = end < toks.len() && end > 0 && text[toks[end - 1].end..toks[end].start].trim() == ",";
            let legal = if end < toks.len() && !toks[end].initial && (adjacent(text, toks, end) || comma) {
                legal_form_len(toks, end)
            } else {
                0
            };
            let mut first = start;
            // "Silver Networks …": an ordinary word opening the sentence belongs to the name
            // that follows it, unless it is a function word or a role.
            if first > 0
                && toks[first - 1].initial
                && is_cap(toks[first - 1].text)
                && !is_plain(toks[first - 1].text)
                && !t.initial
            {
                first -= 1;
            }
            // "Level 3 Communications, Inc.": a number inside a company's name, and the word before it.
            if legal > 0
                && first >= 2
                && toks[first - 1].text.len() <= 3
                && toks[first - 1].text.chars().all(|c| c.is_ascii_digit())
                && is_cap(toks[first - 2].text)
                && adjacent(text, toks, first)
                && adjacent(text, toks, first - 1)
            {
                first -= 2;
            }
            // "… Allocation Criteria     Erik Bais": on a proposal's line, the title's words
            // before a name are the title's, not the name's.
            if legal == 0 && super::lexicon::in_proposal_title(text, toks[first].start) {
                while first + 1 < end && super::allow::proposal_word(&bare(toks[first].text)) {
                    first += 1;
                }
            }
            let titled = (first..end).all(|j| super::allow::titled_word(&bare(toks[j].text)))
                && (beside_titled_vocabulary(text, toks, first) || beside_titled_vocabulary(text, toks, end - 1))
                || (super::lexicon::in_proposal_title(text, toks[first].start)
                    && (first..end).all(|j| super::allow::proposal_word(&bare(toks[j].text))));
            if legal == 0 && !after_role && (titled || title_case_prose(text, &toks[first..end], lang)) {
                i = end;
                continue;
            }
            push_name(text, &toks[first..end + legal], legal > 0, after_role, out);
            i = end + legal;
            continue;
        }
        // A legal form after ordinary capitalised words: "Quarry Cloud Inc.", "Acme B.V.",
        // "Level 3 Communications, Inc." (a number inside the name, a comma before the form).
        let legal = if i > 0 { legal_form_len(toks, i) } else { 0 };
        if legal > 0 && is_cap(toks[i - 1].text) && !is_registry(toks[i - 1].text) {
            let mut first = i - 1;
            let name_part = |t: &Token<'_>| {
                (is_cap(t.text) && !is_registry(t.text) && !FUNCTION.contains(&bare(t.text)))
                    || (t.text.len() <= 3 && t.text.chars().all(|c| c.is_ascii_digit()))
            };
            while first > 0 && !toks[first].initial && adjacent(text, toks, first) && name_part(&toks[first - 1]) {
                first -= 1;
            }
            // A name never starts with a number.
            while first < i - 1 && toks[first].text.chars().all(|c| c.is_ascii_digit()) {
                first += 1;
            }
            push_name(text, &toks[first..i + legal], true, false, out);
            i += legal;
            continue;
        }
        // Lower-case names: after a role ("our cto tomasz byrne"), or a known given name and
        // the surname after it ("asked priya okafor").
        let b = bare(t.text);
        let given = GIVEN_NAMES.contains(&b) && !ambiguous_given(&b) && !is_plain(t.text) && !COMMON.contains(&b);
        let cued_pair = i > 0
            && person_cue(toks[i - 1].text)
            && !is_cap(t.text)
            && lower_name_word(t, lang)
            && toks.get(i + 1).is_some_and(|n| !n.initial && !is_cap(n.text) && lower_name_word(n, lang))
            && adjacent(text, toks, i + 1);
        // "heard from jian on this": one rare word after a cue.
        let cued_rare = i > 0
            && person_cue(toks[i - 1].text)
            && !is_cap(t.text)
            && !is_plain(t.text)
            && !COMMON.contains(&b)
            && super::allow::rank(&b).is_some_and(|r| r > RARE_RANK);
        if (after_role && lower_name_word(t, lang)) || (given && !is_cap(t.text)) || cued_pair || cued_rare {
            let mut end = i + 1;
            while end < toks.len()
                && end < i + 3
                && lower_name_word(&toks[end], lang)
                && !is_cap(toks[end].text)
                && !toks[end].initial
                && adjacent(text, toks, end)
            {
                end += 1;
            }
            push_name(text, &toks[i..end], false, true, out);
            i = end;
            continue;
        }
        i += 1;
    }
}

/// One of a language's few hundred commonest words ("die", "las", "une") that is not a personal
/// name: an article or a preposition, never what tells one name from another.
fn function_word(b: &str) -> bool {
    super::allow::rank(b).is_some_and(|r| r <= super::allow::FUNCTION_RANK) && !super::allow::is_personal_name(b)
}

/// Whether token `i` stands beside (only spaces between) a capitalised word of the field's
/// vocabulary: a Title Case phrase about registries ("Consolidated Policy Manual").
pub fn beside_titled_vocabulary(text: &str, toks: &[Token<'_>], i: usize) -> bool {
    let titled = |j: usize| toks.get(j).is_some_and(|t| is_cap(t.text) && VOCAB.contains(&bare(t.text)));
    (i > 0 && adjacent(text, toks, i) && titled(i - 1)) || (adjacent(text, toks, i + 1) && titled(i + 1))
}

/// Whether only spaces separate token `at` from the one before it: names never run across
/// punctuation ("Network, Fjordline", "x.no; McAllister").
fn adjacent(text: &str, toks: &[Token<'_>], at: usize) -> bool {
    at > 0 && at < toks.len() && text[toks[at - 1].end..toks[at].start].chars().all(|c| c == ' ' || c == '\t')
}

/// Joining words ("&", "van der", "de la") followed by a name word: how many tokens in all.
fn joiners_then_name(text: &str, toks: &[Token<'_>], at: usize, lang: Lang) -> Option<usize> {
    let mut n = 0;
    while at + n < toks.len()
        && n < 3
        && NAME_JOINERS.contains(&bare(toks[at + n].text))
        && !toks[at + n].initial
        && adjacent(text, toks, at + n)
    {
        n += 1;
    }
    let next = toks.get(at + n)?;
    (n > 0 && is_name_word(next, lang) && !next.initial && adjacent(text, toks, at + n)).then_some(n + 1)
}

/// Rank past which a word of the lists is rare enough, after a cue, to be a name.
const RARE_RANK: u32 = 20_000;

/// Words after which two unknown lower-case words are most likely a person's name.
fn person_cue(word: &str) -> bool {
    matches!(
        bare(word).as_str(),
        "with"
            | "told"
            | "asked"
            | "emailed"
            | "e-mailed"
            | "mailed"
            | "called"
            | "phoned"
            | "rang"
            | "contacted"
            | "met"
            | "cc"
            | "cc'd"
            | "dear"
            | "thanks"
            | "informed"
            | "notified"
            | "messaged"
            | "pinged"
            | "by"
            | "from"
            | "whom"
            | "colleague"
            | "named"
            | "signed"
    )
}

/// Endings of ordinary English words, rarely of names.
fn english_ending(word: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "ed", "ing", "ly", "tion", "sion", "ment", "ness", "ity", "ance", "ence", "able", "ible", "ful", "less", "ous",
        "ive", "ise", "ize", "ism", "ship", "ward", "wards", "ery", "ary", "ory",
    ];
    ENDINGS.iter().any(|e| word.len() > e.len() + 2 && word.ends_with(e))
}

fn lower_name_word(t: &Token<'_>, lang: Lang) -> bool {
    let b = bare(t.text);
    !is_plain(t.text) && !ordinary(&b, lang) && !english_ending(&b) && !ORG_WORDS.contains(&b)
}

fn push_name(text: &str, run: &[Token<'_>], legal: bool, person_cue: bool, out: &mut Vec<Span>) {
    let (Some(first), Some(last)) = (run.first(), run.last()) else { return };
    let org = legal || run.iter().any(|t| ORG_WORDS.contains(&bare(t.text)));
    let given = run.iter().any(|t| GIVEN_NAMES.contains(&bare(t.text)));
    let kind = if org {
        Kind::Org
    } else if person_cue || given || run.len() > 1 {
        Kind::Person
    } else {
        Kind::Org
    };
    out.push(Span {
        kind,
        start: first.start,
        end: last.end,
        key: entity_key(&text[first.start..last.end]),
        replacement: None,
    });
}

/// The key of a name: its distinctive words, lower case, so "Acme Cloud B.V." and "Acme Cloud"
/// are one entity.
pub fn entity_key(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .filter(|w| !is_legal_form(w) && !NAME_JOINERS.contains(&bare(w)))
        .map(bare)
        .filter(|w| !w.is_empty())
        .collect();
    words.join(" ")
}

/// The words of a name that identify it wherever they appear alone: every part of a person's
/// name; an organisation's first word and its other words that are not generic.
pub fn distinctive_words(kind: Kind, name: &str) -> Vec<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            let b = bare(w);
            if b.chars().count() < 2
                || is_legal_form(w)
                || NAME_JOINERS.contains(&b)
                || FUNCTION.contains(&b)
                || VOCAB.contains(&b)
                || ROLES.contains(&b)
                || function_word(&b)
            {
                return false;
            }
            kind == Kind::Person || *i == 0 || !ORG_WORDS.contains(&b)
        })
        .map(|(_, w)| bare(w))
        .collect()
}
