//! Identifiers known by where they stand rather than by their shape: the values of whois and
//! RPSL attributes (`person:`, `org-name:`, `OrgTechEmail:`, `admin-c:`), of mail headers and
//! proposal labels (`From:`, `Author:`, `Proposer:`), and the name lines of signatures after a
//! sign-off ("Best regards,\nmaria kowalczyk").

use std::sync::LazyLock;

use regex::Regex;

use super::{Kind, Span};

/// A label at a line start, whatever follows (its value may be a placeholder, blanked).
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t>]*(\p{L}[\p{L}\p{N}\-_ ]{0,30}?)[ \t]*:(?:[ \t]|$)").expect("valid pattern")
});
/// `label: value` at the start of a line (whois, RPSL, mail headers, forms).
static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t>]*(\p{L}[\p{L}\p{N}\-_ ]{0,30}?)[ \t]*:[ \t]*(\S[^\n]*?)[ \t]*$").expect("valid pattern")
});

/// A sign-off line, in the languages the word lists cover.
static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^[ \t>]*(?:--|(?:best|kind|warm|many)?\s*(?:regards|wishes|thanks)|thank you|cheers|sincerely|yours(?: truly| faithfully| sincerely)?|br|rgds|brgds|saludos|un saludo|atentamente|cordialement|bien à vous|salutations|grüße|gruß|viele grüße|mit freundlichen grüßen|mfg|groeten|met vriendelijke groet|pozdrawiam|с уважением|atenciosamente|cumprimentos|abraços|distinti saluti|cordiali saluti|saluti|hälsningar|med vänlig hälsning|saygılarımla|salam)[ \t]*[,.!]?[ \t]*\r?\n",
    )
    .expect("valid pattern")
});

/// What the value of a field is, by its label (lower case, `_` and spaces as `-`).
fn field_kind(label: &str) -> Option<Kind> {
    let l = label.trim().to_lowercase().replace([' ', '_'], "-");
    Some(match l.as_str() {
        "person" | "role" | "name" | "contact" | "from" | "to" | "cc" | "bcc" | "reply-to" | "sender" | "author"
        | "authors" | "proposer" | "proposers" | "co-author" | "co-authors" | "submitted-by" | "reported-by"
        | "signed" | "signed-by" | "attn" | "attention" | "responsible" | "orgtechname" | "orgabusename"
        | "orgnocname" | "rtechname" | "rabusename" | "rnocname" | "techname" | "abusename" | "von" | "an" | "de"
        | "para" | "autor" | "auteur" | "expéditeur" | "destinataire" | "remitente" | "от" | "кому" | "автор" => {
            Kind::Person
        }
        "org-name"
        | "orgname"
        | "organisation"
        | "organization"
        | "org-name-local"
        | "descr"
        | "owner"
        | "netname"
        | "as-name"
        | "custname"
        | "customer"
        | "company"
        | "firma"
        | "société"
        | "empresa"
        | "organizacion"
        | "organização"
        | "организация"
        | "irt"
        | "mntner" => Kind::Org,
        "address" | "street" | "city" | "postalcode" | "postal-code" | "stateprov" | "adresse" | "anschrift"
        | "dirección" | "endereço" | "адрес" => Kind::Address,
        "nic-hdl" | "admin-c" | "tech-c" | "abuse-c" | "zone-c" | "owner-c" | "ownerid" | "org" | "orgid"
        | "org-id" | "mnt-by" | "mnt-ref" | "mnt-lower" | "mnt-routes" | "mnt-domains" | "mnt-irt" | "mnt-nfy"
        | "nethandle" | "orgtechhandle" | "orgabusehandle" | "orgnochandle" | "rtechhandle" | "rabusehandle"
        | "rnochandle" | "handle" | "sponsoring-org" | "parent" => Kind::Handle,
        "e-mail" | "email" | "abuse-mailbox" | "notify" | "upd-to" | "orgtechemail" | "orgabuseemail"
        | "orgnocemail" | "rtechemail" | "rabuseemail" | "rnocemail" | "mail" | "courriel" | "correo" => Kind::Email,
        "phone" | "fax-no" | "tel" | "telephone" | "fax" | "mobile" | "orgtechphone" | "orgabusephone"
        | "orgnocphone" | "rtechphone" | "rabusephone" | "téléphone" | "telefon" | "teléfono" | "telefone"
        | "телефон" => Kind::Phone,
        "auth" => Kind::Handle,
        _ => return None,
    })
}

/// Labels of whois and RPSL attributes and of mail headers: field vocabulary, never identifiers
/// themselves, whatever their value holds.
pub fn is_attribute(label: &str) -> bool {
    const OTHER: &[&str] = &[
        "inetnum",
        "inet6num",
        "route",
        "route6",
        "origin",
        "aut-num",
        "as-block",
        "as-set",
        "route-set",
        "members",
        "import",
        "export",
        "mp-import",
        "mp-export",
        "default",
        "status",
        "country",
        "source",
        "created",
        "last-modified",
        "changed",
        "remarks",
        "org-type",
        "language",
        "geoloc",
        "netrange",
        "cidr",
        "nettype",
        "originas",
        "regdate",
        "updated",
        "ref",
        "comment",
        "orgtechref",
        "orgabuseref",
        "orgnocref",
        "subject",
        "date",
        "sent",
        "received",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "domain",
        "nserver",
        "ds-rdata",
        "mnt-by",
        "mnt-lower",
        "mnt-ref",
        "mnt-irt",
        "mnt-routes",
        "mnt-domains",
        "e-mail",
        "org-name",
        "abuse-mailbox",
        "nic-hdl",
        "admin-c",
        "tech-c",
        "abuse-c",
        "netname",
        "descr",
        "handle",
        "name",
        "organization",
        "address",
        "phone",
        "fax-no",
        "city",
        "stateprov",
        "postalcode",
        "orgid",
        "orgname",
        "nethandle",
        "parent",
        "orgtechhandle",
        "orgtechname",
        "orgtechphone",
        "orgtechemail",
        "orgabusehandle",
        "orgabusename",
        "orgabusephone",
        "orgabuseemail",
        "email",
        "roles",
        "version",
    ];
    let l = label.trim().to_lowercase().replace([' ', '_'], "-");
    OTHER.contains(&l.as_str())
}

/// Byte ranges of attribute labels at line starts ("mnt-by", "OrgTechEmail", "Subject").
pub fn labels(text: &str) -> Vec<(usize, usize)> {
    LABEL
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .filter(|l| is_attribute(l.as_str()) || field_kind(l.as_str()).is_some())
        .map(|l| (l.start(), l.end()))
        .collect()
}

/// The sender's name signing a message, at byte `start`.
fn signature(start: usize, name: &str) -> Span {
    Span { kind: Kind::Person, start, end: start + name.len(), key: name.to_lowercase(), replacement: None }
}

/// Values of identifying fields, one span per comma- or angle-separated part.
pub fn find(text: &str, out: &mut Vec<Span>) {
    for c in FIELD.captures_iter(text) {
        let (label, value) = (c.get(1).expect("label"), c.get(2).expect("value"));
        let Some(kind) = field_kind(label.as_str()) else { continue };
        let v = value.as_str();
        // Split "Jane Roe <jane@x>, Bob" into parts; e-mails inside are left to their detector.
        let mut at = 0;
        for part in v.split_inclusive([',', ';', '<', '>', '(', ')', '"', '[', ']']) {
            let start = value.start() + at;
            at += part.len();
            let core = part.trim_end_matches([',', ';', '<', '>', '(', ')', '"', '[', ']']);
            let lead = core.len() - core.trim_start().len();
            let core = core.trim();
            if core.is_empty() || (core.contains('@') && kind != Kind::Email) {
                continue;
            }
            let s = start + lead;
            out.push(Span { kind, start: s, end: s + core.len(), key: core.to_lowercase(), replacement: None });
        }
    }
    for m in SIGN_OFF.find_iter(text) {
        // The line after a sign-off, if short, is the sender's name (any case).
        let rest = &text[m.end()..];
        let line = rest.lines().next().unwrap_or_default();
        let name = line.trim().trim_start_matches('>').trim();
        let words = name.split_whitespace().count();
        if name.is_empty() || words > 4 || name.len() > 60 || name.contains(['@', ':']) {
            continue;
        }
        out.push(signature(m.end() + line.find(name).unwrap_or(0), name));
    }
    // A message that ends in one or two bare words after a blank line is signed with them
    // ("…\n\nrandy"), whatever their case.
    if let Some((before, last)) = text.trim_end().rsplit_once('\n')
        && before.trim_end_matches([' ', '\t']).ends_with('\n')
    {
        let name = last.trim().trim_start_matches('>').trim();
        let words = name.split_whitespace().count();
        let plain = name.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '.');
        if (1..=2).contains(&words) && plain && name.len() <= 40 && !SIGN_OFF.is_match(&format!("{name}\n")) {
            out.push(signature(text.trim_end().len() - last.len() + last.find(name).unwrap_or(0), name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.into_iter().map(|s| (s.kind, text[s.start..s.end].to_string())).collect()
    }

    #[test]
    fn whois_values_by_attribute() {
        let f = found(
            "person:         jan kowalski\naddress:        ul. Prosta 1\nnic-hdl:        jk12\nsource:         RIPE\n",
        );
        assert!(f.contains(&(Kind::Person, "jan kowalski".into())), "{f:?}");
        assert!(f.contains(&(Kind::Address, "ul. Prosta 1".into())), "{f:?}");
        assert!(f.contains(&(Kind::Handle, "jk12".into())), "{f:?}");
        assert!(!f.iter().any(|(_, v)| v == "RIPE"), "{f:?}");
    }

    #[test]
    fn mail_headers_and_signatures() {
        let f = found("From: maria lopez <m@x.example>, Bob\nSubject: transfer\n\nBest regards,\nkenji\n");
        assert!(f.contains(&(Kind::Person, "maria lopez".into())), "{f:?}");
        assert!(f.contains(&(Kind::Person, "Bob".into())), "{f:?}");
        assert!(f.contains(&(Kind::Person, "kenji".into())), "{f:?}");
        assert!(!f.iter().any(|(_, v)| v.contains("transfer")), "{f:?}");
    }
}
