//! Normalisation before any detector looks: what a reader sees as `103.41.144.1` or
//! `noc@acme.net` must also be that to the detectors, however it is encoded. Compatibility forms
//! (full-width digits, ligatures, mathematical letters) are folded by NFKC; invisible characters
//! (zero-width, bidi overrides, variation selectors, tags) are dropped; digits of other scripts
//! become ASCII digits; and a word that mixes scripts (`АS64500` with a Cyrillic А) is folded to
//! the Latin characters it imitates (Unicode confusables, UTS #39). The normalised text is what is
//! redacted and published.

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

/// Default-ignorable code points (Unicode `Default_Ignorable_Code_Point`): rendered as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF
        | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// Control characters a person never types into a case (tab and line breaks aside).
pub fn is_disallowed_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\t' | '\r')
}

/// The first disallowed control character in `text`, for a clear refusal when a case is saved.
pub fn first_control(text: &str) -> Option<char> {
    text.chars().find(|&c| is_disallowed_control(c))
}

/// The ASCII digit a decimal digit of another script stands for (Arabic-Indic, Devanagari, …).
fn ascii_digit(c: char) -> Option<char> {
    const ZEROS: &[u32] = &[
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50,
        0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
        0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xAA50, 0xABF0,
    ];
    let u = c as u32;
    ZEROS.iter().find(|&&z| (z..z + 10).contains(&u)).and_then(|&z| char::from_digit(u - z, 10))
}

/// The ASCII character a non-ASCII character imitates, if it imitates exactly one.
fn ascii_prototype(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 4];
    let mut proto = unicode_security::confusable_detection::skeleton(c.encode_utf8(&mut buf));
    match (proto.next(), proto.next()) {
        (Some(p), None) if p.is_ascii_graphic() => Some(p),
        _ => None,
    }
}

/// Whether a word should be read as the Latin text it imitates: it mixes scripts, or it puts
/// letters of another script next to ASCII digits (`АЅ64500` spelt all in Cyrillic).
fn is_disguised(word: &str) -> bool {
    let has_ascii_alnum = word.chars().any(|c| c.is_ascii_alphanumeric());
    let has_other = word.chars().any(|c| !c.is_ascii() && c.is_alphabetic());
    has_other && has_ascii_alnum && (!word.is_single_script() || word.chars().any(|c| c.is_ascii_digit()))
}

/// The text as detectors and readers should both see it.
pub fn normalise(text: &str) -> String {
    let folded: String = text
        .nfkc()
        .filter(|&c| !is_invisible(c))
        .map(|c| {
            if let Some(d) = ascii_digit(c) {
                d
            } else if matches!(c, '\u{3002}' | '\u{FF61}') {
                '.' // ideographic full stops, which IDNA also reads as label dots
            } else if is_disallowed_control(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    if folded.is_ascii() {
        return folded;
    }
    // Fold disguised words character by character to their Latin prototypes.
    let mut out = String::with_capacity(folded.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_disguised(word) {
            out.extend(word.chars().map(|c| ascii_prototype(c).unwrap_or(c)));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in folded.chars() {
        if c.is_alphanumeric() || matches!(c, '@' | '.' | ':' | '-' | '_' | '/') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_what_hides_an_identifier() {
        assert_eq!(normalise("noc\u{200b}@acme-hosting.net"), "noc@acme-hosting.net");
        assert_eq!(normalise("１０３.４１.１４４.１"), "103.41.144.1");
        assert_eq!(normalise("\u{0410}S64500"), "AS64500"); // Cyrillic А
        assert_eq!(normalise("\u{0410}\u{0405}64500"), "AS64500"); // all Cyrillic, with digits
        assert_eq!(normalise("AS٦٤٥٠٠"), "AS64500"); // Arabic-Indic digits
        assert_eq!(normalise("ops\u{202e}@x.net"), "ops@x.net");
        assert_eq!(normalise("example\u{3002}com"), "example.com");
    }

    #[test]
    fn leaves_real_text_of_other_scripts_alone() {
        for s in ["Регистратор отозвал ROA", "Ελληνικά", "東京の事業者", "café über"]
        {
            assert_eq!(normalise(s), s.nfkc().collect::<String>());
        }
    }
}
