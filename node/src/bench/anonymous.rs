//! `lantern bench anonymous`: what anonymous authorship costs. For rings of 50, 512 and 5 000
//! members: proof and record size, proving and verifying one proof, and verifying anonymous
//! records (decode, validate, ring lookup, proof) in scope batches on all cores next to the
//! library's own batch verification of the same proofs (from their bytes) in the same run.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lantern_protocol::anon::{self, AnonymityKey, AnonymitySecret, Ring};
use lantern_protocol::anonymous::{self, ANONYMOUS_FORMAT, AnonBody, AnonEnvelope};
use lantern_protocol::record::SummaryBody;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::{CaseRef, Manifest, Policy, RecordId, VerifyContext};

use crate::store::Store;
use crate::store::loose::Loose;
use rayon::prelude::*;
use serde::Serialize;

/// Proofs verified together by the library and by the node (one ring, one scope).
const BATCH: usize = 32;

#[derive(Debug, Serialize)]
pub struct RingFigures {
    pub members: usize,
    /// The ring as proved over: padded to a power of two.
    pub padded: usize,
    pub proof_bytes: usize,
    /// A whole anonymous summary record (envelope, tag and proof).
    pub record_bytes: usize,
    /// The ring record naming the members' keys (`None` beyond what one record holds).
    pub ring_record_bytes: Option<usize>,
    pub prove_ms: f64,
    pub verify_ms: f64,
    pub records: usize,
    /// The library's batch verification from proof bytes (parse, statement, check), all cores:
    /// the baseline.
    pub library_batch_per_sec: f64,
    /// What a node does with the same records as bytes, all cores.
    pub ingest_verify_per_sec: f64,
    /// `ingest_verify_per_sec / library_batch_per_sec`.
    pub ratio: f64,
    /// Verified and stored in a store on disk, flushed (`None` past what one ring record holds).
    pub stored_per_sec: Option<f64>,
    /// `stored_per_sec / library_batch_per_sec` (goal ≥ 0.8).
    pub stored_ratio: Option<f64>,
}

fn keys(members: usize) -> (Vec<AnonymitySecret>, Arc<Ring>) {
    let secrets: Vec<AnonymitySecret> = (0..members)
        .into_par_iter()
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            AnonymitySecret::derive(&seed)
        })
        .collect();
    let mut public: Vec<AnonymityKey> = secrets.iter().map(AnonymitySecret::public).collect();
    public.sort();
    (secrets, Arc::new(Ring::new(public).expect("distinct valid keys")))
}

/// Measures one ring size with `records` anonymous summaries.
pub fn ring(members: usize, records: usize, dir: &Path, say: &mut impl FnMut(&str)) -> anyhow::Result<RingFigures> {
    say(&format!("{members} members: keys and {records} anonymous summaries"));
    let (secrets, ring) = keys(members);
    let founder = lantern_protocol::signed::member_key(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let manifest = Manifest::new("bench", "2024-01".parse()?, vec![founder], Policy::default());
    let federation = manifest.id();
    let ring_record = anonymous::ring_record(federation, ring.keys().to_vec()).ok();
    let ring_id = ring_record.as_ref().map_or(RecordId([1; 32]), |r| r.id());
    let ctx = VerifyContext::for_manifest(&manifest);
    let mut rng = Rng::new(members as u64);
    let envelopes: Vec<AnonEnvelope> = (0..records)
        .map(|_| {
            let summary = sample::summary(&mut rng, "2025-01".parse().expect("month"), 11);
            AnonEnvelope {
                format: ANONYMOUS_FORMAT,
                federation,
                ring: ring_id,
                year: summary.start.year,
                created: "2026-01".parse().expect("month"),
                body: AnonBody::Summary(SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary }),
            }
        })
        .collect();
    let scope = envelopes[0].scope();
    let params = ring.params(&scope);
    // Proving: one at a time for the latency, then the rest on all cores.
    let message = lantern_protocol::codec::encode(&envelopes[0]);
    let t = Instant::now();
    let first = anon::prove(&secrets[0], &ring, &params, &message)?;
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let signed: Vec<Vec<u8>> = envelopes
        .par_iter()
        .enumerate()
        .map(|(i, e)| {
            let message = lantern_protocol::codec::encode(e);
            let proof = anon::prove(&secrets[i % members], &ring, &params, &message).expect("a ring member");
            let mut bytes = message;
            bytes.extend(lantern_protocol::codec::encode(&proof));
            bytes
        })
        .collect();
    say(&format!("{members} members: verifying"));
    let prepared_first = anon::prepare(&ring, &params, &first)?;
    let t = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        anon::verify(&prepared_first, &message)?;
    }
    let verify_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(runs);

    // Baseline: the library alone, from proof bytes (parsing, statement, batch check) in
    // batches of one scope; messages and proofs split out of the records beforehand.
    let split: Vec<(anon::RingProof, Vec<u8>)> = signed
        .iter()
        .map(|bytes| {
            let (env, proof) = decode(bytes);
            (proof, lantern_protocol::codec::encode(&env))
        })
        .collect();
    let t = Instant::now();
    let all_ok = split.par_chunks(BATCH).all(|chunk| {
        let prepared: Vec<anon::Prepared> =
            chunk.iter().map(|(p, _)| anon::prepare(&ring, &params, p).expect("well formed")).collect();
        let items: Vec<(&anon::Prepared, &[u8])> =
            prepared.iter().zip(chunk).map(|(p, (_, m))| (p, m.as_slice())).collect();
        anon::verify_all(&items)
    });
    let library_batch_per_sec = records as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(all_ok, "every proof verifies");

    // The node's path: bytes in, verified records out.
    let lookup = |id: &RecordId| (*id == ring_id).then(|| ring.clone());
    let t = Instant::now();
    let verified = anonymous::verify_anonymous_batch(&signed, &ctx, &lookup);
    let ingest_verify_per_sec = records as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(verified.iter().all(Result::is_ok), "every record verifies");

    // And stored: verified, written to a store on disk and flushed (the ring stored before).
    let stored_per_sec = match &ring_record {
        Some(ring_record) => {
            let store = Store::open(&dir.join(format!("store-{members}")), &manifest)?;
            store.store_loose(vec![Loose::Ring(ring_record.clone())])?;
            let t = Instant::now();
            let outcomes = store.ingest_any(&signed)?;
            let per_sec = records as f64 / t.elapsed().as_secs_f64();
            anyhow::ensure!(outcomes.iter().all(Result::is_ok), "every record stored");
            Some(per_sec)
        }
        None => None,
    };

    Ok(RingFigures {
        members,
        padded: members.next_power_of_two().max(4),
        proof_bytes: first.proof.len(),
        record_bytes: signed[0].len(),
        ring_record_bytes: ring_record.map(|r| r.bytes().len()),
        prove_ms,
        verify_ms,
        records,
        library_batch_per_sec,
        ingest_verify_per_sec,
        ratio: ingest_verify_per_sec / library_batch_per_sec,
        stored_per_sec,
        stored_ratio: stored_per_sec.map(|s| s / library_batch_per_sec),
    })
}

fn decode(bytes: &[u8]) -> (AnonEnvelope, anon::RingProof) {
    let max = lantern_protocol::MAX_RECORD_BYTES;
    lantern_protocol::codec::decode_canonical(bytes, max).expect("records made above")
}

/// Every ring size of the report, with a number of records each that keeps the run short.
pub fn run(records: usize, dir: &Path, mut say: impl FnMut(&str)) -> anyhow::Result<Vec<RingFigures>> {
    [(50, records), (512, records / 2), (5000, records / 8)]
        .into_iter()
        .map(|(members, n)| ring(members, n.max(BATCH), dir, &mut say))
        .collect()
}

/// The figures as a table.
pub fn table(rows: &[RingFigures]) -> String {
    let mut out = String::from(
        "members  padded  proof B  record B  ring B   prove ms  verify ms  library batch/s  node verify/s  ratio  stored/s  ratio\n",
    );
    for r in rows {
        let stored = r.stored_per_sec.map_or("-".into(), |s| format!("{s:.0}"));
        let stored_ratio = r.stored_ratio.map_or("-".into(), |s| format!("{s:.2}"));
        out.push_str(&format!(
            "{:>7}  {:>6}  {:>7}  {:>8}  {:>6}  {:>9.1}  {:>9.2}  {:>15.0}  {:>13.0}  {:>5.2}  {:>8}  {:>5}\n",
            r.members,
            r.padded,
            r.proof_bytes,
            r.record_bytes,
            r.ring_record_bytes.map_or("-".into(), |b| b.to_string()),
            r.prove_ms,
            r.verify_ms,
            r.library_batch_per_sec,
            r.ingest_verify_per_sec,
            r.ratio,
            stored,
            stored_ratio
        ));
    }
    out
}

/// Member `i`'s ed25519 key in [`federation`].
pub fn member_key(i: usize) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&Rng::new(0xa17e_0000 ^ i as u64).bytes())
}

/// Founders of [`federation`]: as many as a manifest holds; the other members are vouched in.
const FOUNDERS: usize = lantern_protocol::manifest::MAX_FOUNDERS;

/// A federation as a fresh node would find it: `members` members (the first 256 founders, each
/// other one vouched in by two founders), every member's anonymity key registered, one ring of
/// them all, and `records` anonymous summaries of 2025 proved over it, members in turn. The same
/// arguments give the same manifest, keys and ring; proofs are randomised. Records in an order a
/// node admits them in (key-signed, ring, anonymous).
pub fn federation(
    members: usize,
    records: usize,
    say: &mut impl FnMut(&str),
) -> anyhow::Result<(Manifest, Vec<Vec<u8>>)> {
    use lantern_protocol::record::{AnonymityKeyBody, Body, VouchBody};
    use lantern_protocol::{Envelope, WIRE_FORMAT, signed};
    anyhow::ensure!(members >= 2, "at least two members");
    anyhow::ensure!(
        records.div_ceil(members) <= crate::federation::MAX_RECORDS_PER_TAG as usize,
        "at most {} summaries per member and year: give more members or fewer records",
        crate::federation::MAX_RECORDS_PER_TAG
    );
    let keys: Vec<ed25519_dalek::SigningKey> = (0..members).into_par_iter().map(member_key).collect();
    let founders: Vec<_> = keys.iter().take(FOUNDERS).map(signed::member_key).collect();
    let manifest = Manifest::new("bench-anonymous", "2024-01".parse()?, founders.clone(), Policy::default());
    let ctx = VerifyContext::for_manifest(&manifest);
    let created: lantern_protocol::Month = "2024-06".parse()?;
    let secrets: Vec<AnonymitySecret> = keys.iter().map(|k| AnonymitySecret::derive(&k.to_bytes())).collect();
    // Each founder's chain: its registration, then its vouches for later members.
    let mut bodies: Vec<Vec<Body>> = secrets
        .par_iter()
        .zip(&keys)
        .map(|(secret, key)| {
            vec![Body::AnonymityKey(AnonymityKeyBody::new(secret, ctx.federation, signed::member_key(key)))]
        })
        .collect();
    for (j, newcomer) in keys.iter().enumerate().skip(FOUNDERS) {
        for voucher in [j % FOUNDERS, (j + 1) % FOUNDERS] {
            bodies[voucher].push(Body::Vouch(VouchBody { member: signed::member_key(newcomer) }));
        }
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (key, chain) in keys.iter().zip(bodies) {
        let mut previous = None;
        for (n, body) in chain.into_iter().enumerate() {
            let env = Envelope {
                format: WIRE_FORMAT,
                federation: ctx.federation,
                author: signed::member_key(key),
                sequence: n as u64 + 1,
                previous,
                created,
                body,
            };
            let record = lantern_protocol::sign(&env, key, &ctx)?;
            previous = Some(record.id());
            out.push(record.bytes().to_vec());
        }
    }
    let ring = anonymous::ring_record(ctx.federation, secrets.iter().map(AnonymitySecret::public).collect())?;
    out.push(ring.bytes().to_vec());

    say(&format!("proving {records} anonymous summaries over a ring of {members}"));
    let mut rng = Rng::new(members as u64 ^ records as u64);
    let envelopes: Vec<(usize, AnonEnvelope)> = (0..records)
        .map(|i| {
            let summary = sample::summary(&mut rng, "2025-01".parse().expect("month"), 12);
            let envelope = AnonEnvelope {
                format: ANONYMOUS_FORMAT,
                federation: ctx.federation,
                ring: ring.id(),
                year: summary.start.year,
                created: "2026-01".parse().expect("month"),
                body: AnonBody::Summary(SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary }),
            };
            (i % members, envelope)
        })
        .collect();
    let params = ring.ring().params(&envelopes[0].1.scope());
    let done = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let proved: Vec<Vec<u8>> = envelopes
        .par_iter()
        .map(|(author, envelope)| {
            let message = lantern_protocol::codec::encode(envelope);
            let proof = anon::prove(&secrets[*author], ring.ring(), &params, &message).expect("a ring member");
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(5_000) {
                let left = started.elapsed().as_secs_f64() / n as f64 * (records - n) as f64;
                eprintln!("bench: {n} of {records} proved, about {:.0} min left", left / 60.0);
            }
            let mut bytes = message;
            bytes.extend(lantern_protocol::codec::encode(&proof));
            bytes
        })
        .collect();
    out.extend(proved);
    Ok((manifest, out))
}

/// [`federation`], read from `cache` when it holds the same federation's records, else made and
/// written there: proving 100 000 summaries over 512 members takes an hour on two cores.
pub fn federation_cached(
    members: usize,
    records: usize,
    cache: Option<&Path>,
    say: &mut impl FnMut(&str),
) -> anyhow::Result<(Manifest, Vec<Vec<u8>>)> {
    const MAGIC: &[u8] = b"lantern bench anonymous federation v1\n";
    let header = |manifest_id: &lantern_protocol::FederationId| {
        let mut h = MAGIC.to_vec();
        h.extend((members as u64).to_le_bytes());
        h.extend((records as u64).to_le_bytes());
        h.extend(manifest_id.0);
        h
    };
    if let Some(path) = cache
        && let Ok(bytes) = std::fs::read(path)
    {
        // The manifest depends on the members only: rebuild it cheaply to check the header.
        let founders =
            (0..members.min(FOUNDERS)).map(|i| lantern_protocol::signed::member_key(&member_key(i))).collect();
        let manifest = Manifest::new("bench-anonymous", "2024-01".parse()?, founders, Policy::default());
        let expected = header(&manifest.id());
        if let Some(mut rest) = bytes.strip_prefix(expected.as_slice()) {
            let mut out = Vec::new();
            while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                let len = u32::from_le_bytes(*len) as usize;
                anyhow::ensure!(tail.len() >= len, "{} is cut short", path.display());
                out.push(tail[..len].to_vec());
                rest = &tail[len..];
            }
            say(&format!("{} records read from {}", out.len(), path.display()));
            return Ok((manifest, out));
        }
        say(&format!("{} holds another federation: making this one", path.display()));
    }
    let (manifest, out) = federation(members, records, say)?;
    if let Some(path) = cache {
        let mut bytes = header(&manifest.id());
        for r in &out {
            bytes.extend((r.len() as u32).to_le_bytes());
            bytes.extend(r);
        }
        std::fs::write(path, bytes)?;
    }
    Ok((manifest, out))
}
