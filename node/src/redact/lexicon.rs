//! Word lists the name detector reasons with. General knowledge of English and of the field,
//! not examples: function words, common words that start sentences, roles and titles, legal
//! forms, words that mark an organisation, the field's vocabulary (always kept), and common
//! given names from many cultures (to find names written in lower case).

use std::collections::HashSet;
use std::sync::LazyLock;

fn set(words: &str) -> HashSet<String> {
    words.split_whitespace().map(|w| w.to_lowercase()).collect()
}

/// The field's vocabulary and registry names: never redacted, even when capitalised.
pub static VOCAB: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    afrinic apnic arin lacnic ripe ncc jpnic krnic cnnic twnic idnic vnnic irinn nic.br nic.mx nic mexico
    rir rirs nir nirs lir lirs irr irrs iana icann nro aso asn asns as-set ipv4 ipv6 ip bgp rpki roa roas
    rov aspa dns rdns reverse whois rdap loa loas noc soc isp isps ixp cdn vpn saas sla tls ssl http https api
    moa mou nda gdpr pdp aup sow rfc usd eur gbp chf jpy cny brl inr zar aud cad
    transfer transfers allocation allocations assignment assignments registry registries registration
    route object objects prefix prefixes appeal appeals arbiter arbitration policy policies
    internet number numbers resource resources certificate certificates maintainer maintainers
    hostmaster registrar legacy member members membership board executive committee services
    inter-rir intra-rir regional europe european africa african asia asia-pacific pacific america americas
    north south latin caribbean middle east eu us usa uk
    proposal proposals transit peering peerings routing arins apnics ripes afrinics lacnics status allocated assigned portable
    january february march april may june july august september october november december
    feb mar apr jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday
    ripe.net arin.net apnic.net afrinic.net lacnic.net registro.br nic.ad.jp jpnic.ad.jp krnic.or.kr
    twnic.net.tw cnnic.cn idnic.net vnnic.vn irinn.in iana.org nro.net icann.org
    inetnum inet6num aut-num route6 as-set route-set rtr validator validators maxlength max-length
    bogon bogons martian hijack hijacked hijacking leak leaked deaggregation deaggregated renumber
    renumbering renumbered multihomed multihoming upstreams downstream downstreams prepend prepending
    blackhole blackholed blackholing anycast unicast netblock netblocks subnet subnets nic-hdl
    mnt-by admin-c tech-c abuse-c abuse-mailbox org-name netname descr sponsoring lirs sub-allocation
    sub-allocated sub-assignment pa pi ipv4-only resellers reseller broker brokers brokered
    rpsl irrd rpki-invalid rpki-valid invalid valid unknown trust anchor anchors tal tals crl
    pdp nrpm cpm ppml apops sig-policy address-policy db-wg routing-wg anti-abuse arbiters
    noc nocs peeringdb looking glass ix ixps ipam dhcp nat cgnat ddos spam abuse blocklist blacklist
    blacklisted blocklisted spamhaus sbl drop edrop lir-portal ripe-ncc
    mntner upd-to mnt-nfy mnt-irt mnt-ref mnt-lower mnt-routes mnt-domains irt as-block as-name remarks
    changed source notify created last-modified fax-no e-mail nic-hdl org-type country admin tech
    nanog nren nrens dmarc wg wgs pdwg rpd co-chair co-chairs chair chairs ap-wg ncc-services
    cgn ftth mpls ospf igp ebgp ibgp med local_pref as-path as-paths communities rtbh flowspec
    mon tue tues wed thu thur thurs fri sat sun lun mer jeu ven sab sáb dom seg ter qua qui sex
    mo di mi fr sa so re fw fwd aw wg np nvp ap
    sig sigs cidr cidrs radb vrp vrps json acl acls ases idc gter localpref netrange nettype orgname
    regdate fullname ixp-manager looking-glass route-server route-servers rs rpsl-based
    prepends prepended loopback loopbacks iptables nftables netfilter conntrack traceroute traceroutes mtr
    backbone colocation colo datacenter datacentre cross-connect cross-connects xconnect lacp vlan vlans vxlan
    evpn bfd ecmp mtu bgpsec route-map route-maps prefix-list prefix-lists null-route null-routed nullroute
    nullrouted scrubbing dnssec nat64 dns64 soft-landing run-out runout waitlist wait-list
    enrutamiento encaminamiento roteamento encaminhamento routage subasignación subasignaciones sub-asignación
    sub-asignaciones reasignación reasignaciones subalocação sub-alocação sous-allocation sous-attribution
    маршрутизация маршрутизации
    ")
});

/// Names of the field that span several words: kept whole, even where their words would
/// otherwise read as an organisation ("Local Internet Registry") or a name.
pub static VOCAB_PHRASES: LazyLock<regex::Regex> = LazyLock::new(|| {
    const PHRASES: &[&str] = &[
        "American Registry for Internet Numbers",
        "Asia Pacific Network Information Cent(?:re|er)",
        "African Network Information Cent(?:re|er)",
        "Latin America(?:n)? and (?:the )?Caribbean (?:Internet Addresses Registry|Network Information Cent(?:re|er))",
        "R[ée]seaux IP Europ[ée]ens(?: Network Coordination Cent(?:re|er))?",
        "RIPE Network Coordination Cent(?:re|er)",
        "Japan Network Information Cent(?:er|re)",
        "Korea Internet (?:&|and) Security Agency",
        "China Internet Network Information Cent(?:er|re)",
        "Taiwan Network Information Cent(?:er|re)",
        "Indonesia Network Information Cent(?:er|re)",
        "Vietnam Internet Network Information Cent(?:er|re)",
        "Indian Registry for Internet Names and Numbers",
        "N[úu]cleo de Informa[çc][ãa]o e Coordena[çc][ãa]o do Ponto BR",
        "Internet Assigned Numbers Authority",
        "Internet Corporation for Assigned Names and Numbers",
        "Number Resource Organi[sz]ation",
        "Address Supporting Organi[sz]ation",
        "(?:Local|Regional|National) Internet Registr(?:y|ies)",
        "Internet Routing Registr(?:y|ies)",
        "Routing Registry",
        "(?:RIPE|APNIC|ARIN|AFRINIC|LACNIC|IRR|Whois) Database",
        "(?:RIPE|APNIC|ARIN|AFRINIC|LACNIC) (?:Community|Executive Board|Board(?: of Trustees)?|Policy Manual|Services|Meeting|Arbiters? Panel|General Meeting|Service Region)",
        "(?:Address Policy|Database|Routing|Anti-Abuse|Cooperation|IPv6|Connect|DNS|Open Source|RIPE NCC Services|Policy Development) Working Group",
        "Working Group",
        "Policy Development Process",
        "Number Resource Policy Manual",
        "Resource Public Key Infrastructure",
        "Route Origin Authori[sz]ations?",
        "Internet Number Resources?",
        "Registration Services Agreement",
        "Special Purpose Registry",
        "Board of Trustees",
        "Advisory Council",
        "Arbitration Panel",
        "General Meeting",
        "Executive Board",
        "Service Region",
        "Trust Anchor",
        "Letter of Authori[sz]ation",
        // Continents and the regions registries serve: coarser than any member's service
        // region, and how registry texts name where a policy applies.
        "(?:North|South|Central|Latin) America(?: and (?:the )?Caribbean)?",
        "(?:the )?Caribbean",
        "Middle East",
        "Asia[ -]Pacific(?: region)?",
        "(?:Europe|Africa|Asia|Oceania)",
        "Am[ée]rica (?:del Norte|del Sur|do Norte|do Sul|Central|Latina(?: (?:y|e) (?:el )?Caribe)?)",
        "Latinoam[ée]rica",
        "(?:Europa(?: y| e)? )?Oriente M[ée]dio",
        "[ÁA]sia[ -]Pac[íi]fico",
        "[ÁA]frica",
        "Europa",
        "Am[ée]rique (?:du Nord|du Sud|centrale|latine(?: et (?:les )?Cara[ïi]bes)?)",
        "Moyen-Orient",
        "Asie[ -]Pacifique",
        "Afrique",
        "(?:Nord|Süd|Mittel|Latein)amerika",
        "(?:Naher|Mittlerer) Osten",
        "Asien[ -]Pazifik(?:-Region)?",
        "Afrika",
        "(?:Северн|Южн|Центральн|Латинск)\\w* Америк\\w*",
        "Ближн\\w* Восток\\w*",
        "Азиатско-Тихоокеанск\\w*(?: регион\\w*)?",
        "Африк\\w*",
        "Европ[аеуы]",
    ];
    let alternation = PHRASES.iter().map(|p| p.replace(' ', r"\s+")).collect::<Vec<_>>().join("|");
    regex::Regex::new(&format!(r"(?i)\b(?:{alternation})\b")).expect("valid pattern")
});

/// Words that never belong to a name: determiners, pronouns, prepositions, conjunctions,
/// auxiliaries and adverbs that start sentences.
pub static FUNCTION: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    a an the this that these those our ours we us my your their they them it its he she his her him
    i me you one some any no not all both each every either neither other another such
    and or but nor so yet for of to in on at by from with without within into onto upon over under
    after before during since until till while when whenever where wherever why how what which who whom whose
    if unless although though because as than then there here thus hence however therefore meanwhile
    also only even still again already just once twice now later soon eventually finally initially
    about above across against along among around behind below beneath beside besides between beyond
    despite down except inside near off out outside past per plus regarding through throughout toward towards
    via versus is are was were be been being am do does did done have has had having will would shall
    should can could may might must let lets please yes instead otherwise furthermore moreover nevertheless
    first second third last next previous several many much more most few less least
    today yesterday tomorrow recently currently meanwhile afterwards subsequently accordingly
    dear hi hello regards thanks thank kind best sincerely
    ")
});

/// Common words that often start a sentence in a case narrative. A capitalised word at the start
/// of a sentence is kept only if it is a function word, vocabulary, or one of these.
pub static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    background summary timeline impact outcome context update lessons
    customer customers client clients server servers staff team engineer engineers user users
    contact see note notes email emails mail letter letters call calls phone meeting meetings
    request requests requested response responses reply replies answer decision decisions
    documents document documentation evidence proof invoice invoices fee fees payment payments
    contract contracts agreement agreements notice notices ticket tickets case cases issue issues
    traffic routing routes announcement announcements upstream upstreams peer peers peering transit
    network networks service outage outages downtime reachability access account accounts portal
    login password credentials support escalation escalations review reviews audit audits
    management legal finance billing sales operations counsel lawyer lawyers lawyers' court courts
    judge judgment lawsuit litigation hearing complaint complaints objection dispute disputes
    status update updates progress delay delays deadline deadlines weeks months days years hours
    several nobody nothing everyone everything someone something anyone anything
    eventually unfortunately fortunately apparently meanwhile despite following according
    it's we've we're they've they're there's that's what's nothing's
    new old same different another whole entire total half full partial
    asked told said wrote sent received replied requested approved rejected denied refused revoked
    submitted supplied provided filed opened closed reopened escalated appealed resolved withdrawn
    no yes none both neither only just
    ")
});

/// Roles and titles: never part of a name themselves, and what follows them is a name.
pub static ROLES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    mr mr. mrs mrs. ms ms. miss dr dr. prof prof. sir madam dame
    ceo cto cfo coo ciso cio ctio vp svp evp md gm chair chairman chairwoman chairperson president
    director manager head lead officer founder cofounder co-founder owner partner principal
    engineer administrator admin architect analyst consultant specialist coordinator assistant
    counsel attorney lawyer solicitor barrister advocate paralegal notary
    contact colleague colleagues representative spokesperson agent handler liaison
    ")
});

/// Legal forms of companies, lower case, dots and spaces removed ("b.v." → "bv", "sp. z o.o." →
/// "spzoo"). Matched on normalised token runs.
pub static LEGAL_FORMS: &[&str] = &[
    "ltd",
    "limited",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "gmbhcokg",
    "ug",
    "ev",
    "llc",
    "llp",
    "lp",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "bv",
    "nv",
    "vof",
    "sa",
    "sas",
    "sasu",
    "sarl",
    "sl",
    "slu",
    "srl",
    "spa",
    "sapi",
    "sadecv",
    "ltda",
    "eireli",
    "me",
    "as",
    "asa",
    "aps",
    "ab",
    "oy",
    "oyj",
    "hf",
    "ehf",
    "kft",
    "zrt",
    "nyrt",
    "sro",
    "as",
    "doo",
    "dd",
    "ad",
    "ood",
    "eood",
    "spzoo",
    "sp",
    "sc",
    "ooo",
    "zao",
    "oao",
    "pao",
    "tov",
    "pte",
    "ptyltd",
    "pty",
    "pvt",
    "pvtltd",
    "sdn",
    "sdnbhd",
    "bhd",
    "tbk",
    "pt",
    "kk",
    "gk",
    "yk",
    "jsc",
    "ojsc",
    "cjsc",
    "jv",
    "fze",
    "fzc",
    "fzco",
    "fzllc",
    "wll",
    "sal",
    "sae",
    "cc",
    "npc",
    "group",
    "holding",
    "holdings",
];

/// Words that mark a run of capitalised words as an organisation rather than a person.
pub static ORG_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    networks network net hosting host hosts cloud clouds telecom telecoms telecommunications telco tel
    communications comms internet online broadband wireless fiber fibre cable datacenter datacenters
    datacentre datacentres data digital systems solutions technologies technology tech labs lab
    services service media connect connectivity it ict infrastructure partners associates advocates
    attorneys solicitors law legal chambers consulting consultants capital ventures industries
    enterprises international global trading bank university college institute foundation association
    society council agency authority ministry government municipality hospital school group holdings
    exchange ix registry isp
    ")
});

/// Joining words allowed inside a name ("Carter & Voss", "Bank of Tessera", "van der Berg").
pub static NAME_JOINERS: LazyLock<HashSet<String>> =
    LazyLock::new(|| set("& and of de del della der den van von da das do dos du la le al el bin ibn y zu"));

/// Common given names from many cultures, lower case: to find a person written in lower case.
pub static GIVEN_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    set("
    aaron abdul abdullah abel abigail abraham adam adebayo adele adriana adrian adrien agnes ahmad ahmed aiden
    aisha akira akosua alan albert alberto alejandro aleksandr aleksandra alessandro alex alexander alexandra
    alexei alexis alfonso ali alice alicia alina alison amal amanda amara amelia amina amir amit amy ana anand
    anastasia anders andre andrea andreas andrei andres andrew andrzej angela angelo anika anil anita ann anna
    anne annika anthony antoine anton antonio anya aram arjun arnav arthur arturo asha ashok astrid aurelien
    axel ayaan ayesha aylin aziz barbara beatriz ben benjamin bernard bernardo bilal bjorn blessing bogdan
    boris brandon brian bruno camila camille carl carla carlos carmen carolina caroline catherine cecile cedric
    celine chandra charles charlotte chen chiara chidi chinedu chioma chloe chris christian christina christine
    christopher claire clara claudia colin connor cristina daisuke dalia damian dan daniel daniela daniele
    danielle dario darius david dawit deepak deborah denis dennis derek diana diego dilnoza dimitri dmitri
    dmitry dominik dong elena eleni elif elizabeth ella emeka emil emily emma emmanuel enrique eric erik
    ernesto esther ethan eugene eva evelyn fabian fabio farah farid fatima fatma federico felipe felix fernando
    filip florian francesca francesco francisco francois frank franz freya fumiko gabriel gabriela gareth gary
    george georgios gerhard giorgio giovanni giulia gonzalo grace gregory guillaume gustavo hana hannah hans
    haruto hassan hector heidi helen helena henrik henry hiroshi hugo hussein ibrahim ida igor ilya ines ingrid
    irina isaac isabel isabella ivan jack jacob jakub james jan jana jane janet jasmine javier jean jelena
    jennifer jens jeremy jessica jin joao joaquin johan johanna john jonas jonathan jorge jose josef joseph
    joshua juan julia julian juliana julie julien jun jurgen karen karim karin karl kasia katarzyna kate
    katharina kathryn katja kazuki keisha kemal kenji kevin khalid kim kirill klaus kofi kristina kwame kwabena
    lars laura lauren leila lena leo leon leonardo liam lin lina linda ling lisa liu lorenzo louis lucas lucia
    luis luisa lukas luka lukasz mads magnus maja malik manuel marcel marco marcos marek margaret maria mariam
    mariana marie marina mario mariusz mark marko marta martin martina mary maryam mateo matteo matthew
    matthias maurice max maxim maximilian mehmet mei melissa mia michael michal michel michelle miguel mihai
    mika mikhail milan milos ming minh mohamed mohammad mohammed monica mustafa nadia naomi natalia natasha
    nathan nguyen nicolas nicole niklas nikola nikolai nikos nils nina noah noor nora nour obinna olga oliver
    olivia omar oscar osman pablo paolo patricia patrick paul paula pavel pedro per peter petra philip
    philippe pierre pietro piotr pooja priya priyanka rafael rahul raj rajesh ramon rania raphael rashid
    raul rebecca reza ricardo richard robert roberto rohan roman rosa ruben ruth ryan sakura salma sam samir
    samuel sandra sara sarah sasha sean sebastian sergei sergey sergio seun shreya simon simone sofia sonia
    sophie stefan stefano stephanie stephen steven sun sunil susan sven svetlana takeshi tamar tanaka tariq
    tatiana thabo thomas tim timo timothy tobias tom tomas tomasz tran valentina valeria vanessa vasily
    vera victor victoria vijay viktor vincent vladimir wei william wojciech xavier xin yan yara yasmin yasmine
    yegor yuki yuri yusuf zainab zara zhang zheng zoe zoran
    ")
});

/// The lower-case form of a word with surrounding punctuation and a possessive removed.
pub fn bare(word: &str) -> String {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    let w = w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")).unwrap_or(w);
    w.to_lowercase()
}

/// A legal-form key: lower case, without dots and spaces.
pub fn legal_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

pub fn is_legal_form(s: &str) -> bool {
    let k = legal_key(s);
    !k.is_empty() && LEGAL_FORMS.contains(&k.as_str())
}

/// Policy documents, proposals and standards cited by id ("RIPE-733", "ARIN-2024-3", "prop-155",
/// "LAC-2025-5", "RFC 7454", "NRPM 8.3"): vocabulary, not tickets.
static POLICY_ID: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(?:ripe-\d{3,4}|prop-\d{1,4}|(?:lac|arin|afpub|apnic)-\d{4}-[a-z0-9]{1,4}(?:-[a-z0-9]{1,8}){0,3}|(?:19|20)\d{2}-\d{2}|apnic-\d{1,4}|rfc\s?-?\d{1,5}|bcp\s?-?\d{1,4}|nrpm(?:\s+(?:section\s+)?\d{1,2}(?:\.\d{1,2}){0,3})?|icp-\d)\b",
    )
    .expect("valid pattern")
});

/// A line that opens with a policy proposal's id: what follows is the proposal's title
/// ("• 2015-05 Revision of Last /8 Allocation Criteria", "prop-142: Unify Transfer Policies").
static PROPOSAL_LINE: LazyLock<regex::Regex> = LazyLock::new(|| {
    let id = POLICY_ID.as_str().trim_start_matches("(?i)");
    regex::Regex::new(&format!(r"(?i)^[\s>•*#-]*(?:(?:policy|proposal|propuesta|proposta|proposition)\s+)?{id}\s*:?\s"))
        .expect("valid pattern")
});

/// Whether byte `at` of `text` stands in the title after a proposal's id at its line's start.
pub fn in_proposal_title(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    PROPOSAL_LINE.find(&text[line_start..at]).is_some_and(|m| m.start() == 0)
}

/// A mailing list's own address as list software writes it: `name-bounces@…`, `name-request@…`.
static LIST_ADDRESS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b([a-z][a-z0-9._]*(?:-[a-z0-9]+)*?)-(?:bounces|request|owner)\b").expect("valid pattern")
});

/// A list's name where mail through it shows it: `Someone via Name <…>`, the sender rewritten by
/// list software (a person's mail never reads "via" before the address's display name). Still
/// there once the address is a placeholder, so a re-check of redacted text knows the list too.
static VIA_LIST: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"(?i)\bvia\s+([\p{L}][\p{L}\p{N}._-]*)\s*<").expect("valid pattern"));

/// Where the names of mailing lists that carry the text stand as names: a list's display name
/// (`via gter <…>`, `Politicas <politicas-bounces at …>`) and its subject tag (`[LACNIC/Politicas]`,
/// `[sig-policy]`). A list is known by the shapes of its mail only, never by name; its addresses
/// stay e-mail addresses.
fn mailing_lists(text: &str) -> Vec<(usize, usize)> {
    let mut names: Vec<String> = LIST_ADDRESS.captures_iter(text).map(|c| c[1].to_lowercase()).collect();
    names.extend(VIA_LIST.captures_iter(text).map(|c| c[1].to_lowercase()));
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names.iter().filter(|n| n.chars().count() >= 3) {
        let shown = format!(r"(?i)(?:\bvia\s+|[\[/])({0})\b|\b({0})(?:\s*<|\])", regex::escape(name));
        let Ok(shown) = regex::Regex::new(&shown) else { continue };
        for c in shown.captures_iter(text) {
            if let Some(m) = c.get(1).or_else(|| c.get(2)) {
                out.push((m.start(), m.end()));
            }
        }
    }
    out
}

/// Byte ranges of the field's multi-word names, policy ids and the names of mailing lists in
/// `text`.
pub fn protected(text: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = VOCAB_PHRASES.find_iter(text).map(|m| (m.start(), m.end())).collect();
    out.extend(mailing_lists(text));
    for m in POLICY_ID.find_iter(text) {
        // "RIPE-2024-1" goes on as a reference number; "RIPE-733" ends here.
        let mut rest = text[m.end()..].chars();
        if rest.next() == Some('-') && rest.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        out.push((m.start(), m.end()));
    }
    out
}
