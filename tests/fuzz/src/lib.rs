//! The fuzz targets: one function per decoder that reads bytes from outside the node (a peer, an
//! HTTP client, a file an operator was handed). Each must return, never panic, whatever the
//! bytes. `cargo +nightly fuzz run NAME` drives them coverage-guided; `tests/tests/decoders.rs`
//! includes this file and runs every target on the committed corpus and on generated inputs.

use std::sync::LazyLock;

use ed25519_dalek::SigningKey;
use lantern_node::network::codec::{self, HelloRequest, HelloResponse, Request, Response};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::{Manifest, Policy, VerifyContext};

/// A fuzz target: takes any bytes, must return.
pub type Target = fn(&[u8]);

/// Every target, by name (the name of its `fuzz_targets/NAME.rs` and `corpus/NAME/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("signed_record", signed_record),
    ("any_record", any_record),
    ("manifest", manifest),
    ("sync_frame", sync_frame),
    ("hello_frame", hello_frame),
    ("import_lines", import_lines),
    ("case_file", case_file),
    ("config", config),
];

fn founder(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// A federation of four founders: records signed by them get past the signature to the rules.
static FEDERATION: LazyLock<(Manifest, VerifyContext)> = LazyLock::new(|| {
    let founders = (1..=4).map(|n| lantern_protocol::signed::member_key(&founder(n))).collect();
    let manifest = Manifest::new("fuzz", "2026-01".parse().expect("month"), founders, Policy::default());
    let ctx = VerifyContext::for_manifest(&manifest);
    (manifest, ctx)
});

/// A gossip payload or fetched record: decoded, then verified as key-signed.
pub fn signed_record(data: &[u8]) {
    let _ = lantern_protocol::signed::open_stored(data);
    let _ = lantern_protocol::verify(data, &FEDERATION.1);
}

/// Any record format a peer may send: signed, anonymous, ring.
pub fn any_record(data: &[u8]) {
    let _ = lantern_protocol::anonymous::open_stored_any(data);
    let _ = lantern_protocol::anonymous::verify_ring(data, FEDERATION.1.federation);
}

/// A federation manifest: its bincode encoding, and the JSON file `federation join` reads.
pub fn manifest(data: &[u8]) {
    if let Ok(m) = Manifest::decode(data) {
        let _ = m.validate();
    }
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let _ = m.validate();
        let _ = m.id();
    }
}

/// A sync-protocol frame body from a peer, as a request and as a response.
pub fn sync_frame(data: &[u8]) {
    let _ = codec::decode_frame::<Request, { codec::MAX_FRAME }>(data);
    if let Ok(Response::Peers { peers }) = codec::decode_frame::<Response, { codec::MAX_FRAME }>(data) {
        for p in peers {
            let _ = p.parse();
        }
    }
}

/// A hello frame body: the first bytes an unproven peer may send.
pub fn hello_frame(data: &[u8]) {
    let _ = codec::decode_frame::<HelloRequest, { codec::MAX_HELLO_FRAME }>(data);
    let _ = codec::decode_frame::<HelloResponse, { codec::MAX_HELLO_FRAME }>(data);
}

/// A JSON-lines export handed to `lantern import` / `lantern verify`.
pub fn import_lines(data: &[u8]) {
    let _ = lantern_node::exchange::verify(&FEDERATION.1, &mut &data[..]);
}

/// A case file (TOML or JSON) given to `lantern case add` or the API.
pub fn case_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for case in [lantern_node::case::PrivateCase::from_toml(text), lantern_node::case::PrivateCase::from_json(text)]
        .into_iter()
        .flatten()
    {
        let _ = case.validate(lantern_protocol::MAX_NARRATIVE_BYTES);
    }
}

/// `lantern run --config FILE` and the data dir's `node.toml`.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = lantern_node::config::RunConfig::parse(text) {
        let _ = c.resolve();
    }
    let _ = lantern_node::datadir::NodeConfig::parse(text);
}

/// Valid inputs for each target, to start the fuzzer where the decoders' deeper paths are.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let (manifest, ctx) = &*FEDERATION;
    let mut rng = Rng::new(7);
    let summaries = (0..3).map(|_| sample::summary(&mut rng, "2025-01".parse().expect("month"), 12));
    let records = sample::signed_chain(&founder(1), ctx, summaries.collect::<Vec<_>>(), &mut rng);
    let mut out = Vec::new();
    for r in &records {
        out.push(("signed_record", r.bytes().to_vec()));
        out.push(("any_record", r.bytes().to_vec()));
    }
    out.push(("manifest", manifest.encode()));
    out.push(("manifest", serde_json::to_vec(manifest).expect("json")));
    let ids: Vec<[u8; 32]> = records.iter().map(|r| r.id().0).collect();
    let bodies = records.iter().map(|r| r.bytes().to_vec()).collect();
    for frame in [
        codec::encode_frame(&Request::Fetch { ids }),
        codec::encode_frame(&Request::Peers),
        codec::encode_frame(&Request::Relay { records: vec![records[0].bytes().to_vec()] }),
        codec::encode_frame(&Response::Records { records: bodies }),
        codec::encode_frame(&Response::Refused { reason: "busy".into() }),
    ] {
        out.push(("sync_frame", frame));
    }
    let mut lines = Vec::new();
    for r in &records {
        lines.extend_from_slice(format!("{{\"record\":\"{}\"}}\n", hex(r.bytes())).as_bytes());
    }
    out.push(("import_lines", lines));
    let repo = repo();
    for (target, file) in [
        ("case_file", "docs/examples/case.json"),
        ("case_file", "docs/examples/case.toml"),
        ("config", "deploy/config/development.toml"),
        ("config", "deploy/config/production.toml"),
    ] {
        if let Ok(bytes) = std::fs::read(repo.join(file)) {
            out.push((target, bytes));
        }
    }
    out
}

/// The repository's root: this file is built from `tests/fuzz` and, included, from `tests`.
pub fn repo() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().find(|d| d.join("protocol").is_dir() && d.join("node").is_dir()).unwrap_or(here).to_path_buf()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
