//! `lantern bench ingest`: how fast a node verifies and stores records, next to the raw
//! signature-verification limit (the federation's rule, `lantern_protocol::sig`) measured in the
//! same run on the same cores.

pub mod anonymous;
pub mod net;
pub mod patterns;

use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::{Manifest, MemberKey, Month, Policy, SIGNATURE_LEN, VerifyContext, sig, signed};
use rayon::prelude::*;
use serde::Serialize;

use crate::store::Store;

/// Records handed to the store at once, as a catch-up would.
const INGEST_CHUNK: usize = 16_384;

#[derive(Debug, Serialize)]
pub struct IngestReport {
    pub records: usize,
    pub authors: usize,
    pub threads: usize,
    pub generate_secs: f64,
    /// Raw batch verification under the federation's signature rule (`lantern_protocol::sig`,
    /// ZIP 215 via ed25519-consensus) in batches of 64 on all cores: the baseline.
    pub batch_verify_per_sec: f64,
    /// The same rule, one signature at a time, on all cores.
    pub single_verify_per_sec: f64,
    /// `ed25519_dalek::verify_batch` over the same signatures, for reference: faster, but it
    /// disagrees with single verification on some signatures, so it is not used.
    pub dalek_batch_verify_per_sec: f64,
    /// Decode + validate + verify (protocol::verify_batch), nothing stored.
    pub protocol_verify_per_sec: f64,
    /// Store + index + flush of already verified records, one thread.
    pub store_only_per_sec: f64,
    /// Verify + store + index + flush.
    pub ingest_per_sec: f64,
    pub ingest_secs: f64,
    pub ingest_vs_batch_verify: f64,
    /// Opening the filled store: loading the in-memory id index and chains.
    pub reopen_secs: f64,
    pub disk_bytes_per_record: f64,
    pub mean_record_bytes: f64,
    pub peak_rss_mib: f64,
}

/// `records` signed summaries by `authors` members, as chains, interleaved across authors.
pub fn generate(records: usize, authors: usize, seed: u64) -> (Manifest, Vec<Vec<u8>>) {
    generate_with_founders(records, authors, seed, &[])
}

/// [`generate`], with `extra` keys among the founders too (nodes that join the benchmark).
pub fn generate_with_founders(
    records: usize,
    authors: usize,
    seed: u64,
    extra: &[MemberKey],
) -> (Manifest, Vec<Vec<u8>>) {
    let authors = authors.clamp(1, records.max(1));
    let keys: Vec<SigningKey> = (0..authors)
        .map(|i| {
            let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
            SigningKey::from_bytes(&rng.bytes())
        })
        .collect();
    let manifest = Manifest::new(
        "bench",
        "2020-01".parse().expect("valid month"),
        keys.iter().take(256 - extra.len()).map(signed::member_key).chain(extra.iter().copied()).collect(),
        Policy::default(),
    );
    let ctx = VerifyContext::for_manifest(&manifest);
    let first: Month = "2018-01".parse().expect("valid month");
    let chains: Vec<Vec<Vec<u8>>> = keys
        .par_iter()
        .enumerate()
        .map(|(i, key)| {
            let count = records / authors + usize::from(i < records % authors);
            let mut rng = Rng::new(seed.wrapping_add(i as u64));
            let summaries: Vec<_> = (0..count).map(|_| sample::summary(&mut rng, first, 96)).collect();
            sample::signed_chain(key, &ctx, summaries, &mut rng).into_iter().map(|r| r.into_parts().1).collect()
        })
        .collect();
    // Round-robin across authors, as records from many members arrive in practice.
    let mut iters: Vec<_> = chains.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(records);
    while out.len() < records {
        for it in &mut iters {
            out.extend(it.next());
        }
    }
    (manifest, out)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Each record's author key, message and signature, split without any check.
fn parts(records: &[Vec<u8>]) -> Vec<(&[u8], [u8; 32], [u8; SIGNATURE_LEN])> {
    records
        .iter()
        .map(|r| {
            let (msg, sig) = r.split_at(r.len() - SIGNATURE_LEN);
            let author: [u8; 32] = msg[33..65].try_into().expect("author at a fixed offset");
            (msg, author, sig.try_into().expect("64 bytes"))
        })
        .collect()
}

/// Raw batch verification under the federation's rule, on all cores.
fn raw_batch_verify(records: &[Vec<u8>]) -> f64 {
    let parts: Vec<_> = parts(records)
        .into_iter()
        .map(|(msg, author, sig)| (msg, sig::author_key(&author).expect("valid key"), sig))
        .collect();
    let start = Instant::now();
    let ok = parts.par_chunks(64).all(|chunk| sig::verify_all(chunk.iter().map(|(m, k, s)| (k, *m, s))));
    assert!(ok, "generated signatures verify");
    rate(records.len(), start.elapsed())
}

/// The same rule, one signature at a time.
fn raw_single_verify(records: &[Vec<u8>]) -> f64 {
    let parts: Vec<_> = parts(&records[..records.len().min(50_000)])
        .into_iter()
        .map(|(msg, author, sig)| (msg, sig::author_key(&author).expect("valid key"), sig))
        .collect();
    let start = Instant::now();
    let ok = parts.par_iter().all(|(m, k, s)| sig::verify_one(k, m, s));
    assert!(ok, "generated signatures verify");
    rate(parts.len(), start.elapsed())
}

/// ed25519-dalek's batch verification, the rule we left, for reference.
fn raw_dalek_batch_verify(records: &[Vec<u8>]) -> f64 {
    use ed25519_dalek::{Signature, VerifyingKey};
    let parts: Vec<(&[u8], Signature, VerifyingKey)> = parts(records)
        .into_iter()
        .map(|(msg, author, sig)| {
            (msg, Signature::from_bytes(&sig), VerifyingKey::from_bytes(&author).expect("valid key"))
        })
        .collect();
    let start = Instant::now();
    let ok = parts.par_chunks(64).all(|chunk| {
        let msgs: Vec<&[u8]> = chunk.iter().map(|p| p.0).collect();
        let sigs: Vec<Signature> = chunk.iter().map(|p| p.1).collect();
        let keys: Vec<VerifyingKey> = chunk.iter().map(|p| p.2).collect();
        ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok()
    });
    assert!(ok, "generated signatures verify");
    rate(records.len(), start.elapsed())
}

/// Generates, then measures verification and ingest into a fresh store under `dir`.
pub fn ingest(records: usize, authors: usize, dir: &Path, mut say: impl FnMut(&str)) -> anyhow::Result<IngestReport> {
    say(&format!("generating {records} signed summaries from {authors} authors"));
    let t = Instant::now();
    let (manifest, data) = generate(records, authors, 42);
    let generate_secs = t.elapsed().as_secs_f64();
    let ctx = VerifyContext::for_manifest(&manifest);

    say("measuring raw ed25519 verification (batch and single)");
    let batch_verify_per_sec = raw_batch_verify(&data);
    let single_verify_per_sec = raw_single_verify(&data);
    let dalek_batch_verify_per_sec = raw_dalek_batch_verify(&data);

    say("measuring protocol verification (decode + validate + batch verify)");
    let t = Instant::now();
    let verified = lantern_protocol::verify_batch(&data[..data.len().min(200_000)], &ctx);
    anyhow::ensure!(verified.iter().all(Result::is_ok), "generated records verify");
    let protocol_verify_per_sec = rate(verified.len(), t.elapsed());

    say("measuring storing alone (records verified beforehand)");
    let only_dir = dir.join("bench-store-only");
    let store = Store::open(&only_dir, &manifest)?;
    let verified: Vec<_> = verified.into_iter().map(Result::unwrap).collect();
    let n = verified.len();
    let mut verified = verified.into_iter();
    let t = Instant::now();
    loop {
        let chunk: Vec<_> = verified.by_ref().take(INGEST_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        store.ingest_verified(chunk)?;
    }
    let store_only_per_sec = rate(n, t.elapsed());
    drop(store);
    std::fs::remove_dir_all(&only_dir)?;

    say("ingesting into a fresh store");
    let store_dir = dir.join("bench-store");
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir)?;
    }
    let store = Store::open(&store_dir, &manifest)?;
    let t = Instant::now();
    for chunk in data.chunks(INGEST_CHUNK) {
        for outcome in store.ingest_batch(chunk)? {
            outcome?;
        }
    }
    let ingest_time = t.elapsed();
    anyhow::ensure!(store.record_count() == records, "every record stored");
    store.flush()?;
    drop(store);
    let t = Instant::now();
    let store = Store::open(&store_dir, &manifest)?;
    let reopen_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(store.record_count() == records, "every record found after reopening");
    drop(store);
    let disk = dir_size(&store_dir)?;
    let mean_record_bytes = data.iter().map(Vec::len).sum::<usize>() as f64 / records.max(1) as f64;
    let ingest_per_sec = rate(records, ingest_time);
    Ok(IngestReport {
        records,
        authors,
        threads: rayon::current_num_threads(),
        generate_secs,
        batch_verify_per_sec,
        single_verify_per_sec,
        dalek_batch_verify_per_sec,
        protocol_verify_per_sec,
        store_only_per_sec,
        ingest_per_sec,
        ingest_secs: ingest_time.as_secs_f64(),
        ingest_vs_batch_verify: ingest_per_sec / batch_verify_per_sec,
        reopen_secs,
        disk_bytes_per_record: disk as f64 / records.max(1) as f64,
        mean_record_bytes,
        peak_rss_mib: peak_rss_kib() as f64 / 1024.0,
    })
}

fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_size(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// Peak resident set size of this process (Linux `VmHWM`), in KiB; 0 where unknown.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

impl IngestReport {
    pub fn table(&self) -> String {
        format!(
            "records                 {}\n\
             authors                 {}\n\
             threads                 {}\n\
             generation              {:.1} s\n\
             raw batch (ZIP 215)     {:>10.0} verifications/s   (baseline)\n\
             raw single (ZIP 215)    {:>10.0} verifications/s\n\
             dalek batch (not used)  {:>10.0} verifications/s\n\
             protocol verify         {:>10.0} records/s\n\
             store only              {:>10.0} records/s\n\
             ingest                  {:>10.0} records/s         ({:.1} s)\n\
             ingest / batch verify   {:.2}\n\
             reopen (index load)     {:.2} s\n\
             record size (mean)      {:.0} bytes\n\
             disk per record         {:.0} bytes\n\
             peak RSS                {:.0} MiB\n",
            self.records,
            self.authors,
            self.threads,
            self.generate_secs,
            self.batch_verify_per_sec,
            self.single_verify_per_sec,
            self.dalek_batch_verify_per_sec,
            self.protocol_verify_per_sec,
            self.store_only_per_sec,
            self.ingest_per_sec,
            self.ingest_secs,
            self.ingest_vs_batch_verify,
            self.reopen_secs,
            self.mean_record_bytes,
            self.disk_bytes_per_record,
            self.peak_rss_mib,
        )
    }
}

/// Narrative sentences with identifiers of every kind, for the redaction benchmark.
const REDACT_SENTENCES: &[&str] = &[
    "After the IPv4 transfer of 185.53.244.0/22 to Brightwater Hosting Pty Ltd, RIPE NCC asked Ines Moreau (+33 1 70 36 42 19) for board minutes.",
    "Server 198.51.100.7 and 2001:db8:4c1::17 stayed up but the reverse DNS for 185.53.244.0/22 was delegated elsewhere.",
    "Counsel Whitcombe Strand LLP wrote to ARIN on behalf of Kestrel Networks GmbH under ticket #ARIN-2024-88123.",
    "Our registry account ORG-KN12-RIPE was locked on 14 March 2024 and AS64511 peers dropped the route.",
    "See https://portal.kestrel.example/cases/5511 or write to noc@kestrel.example for our internal record.",
    "The hostmaster asked for the original purchase agreement, then the court order, then a notarised translation.",
    "Customers lost access to banking and government websites for nine days while the appeal was pending.",
    "we spoke with oluwaseun adeyemi on the phone; she said LACNIC would not approve the transfer until 2024-05-17.",
];

#[derive(Debug, Serialize)]
pub struct RedactReport {
    pub bytes: usize,
    /// One regex pass (`\d+`) over the same text: the cost of merely scanning it once.
    pub regex_scan_mb_per_sec: f64,
    pub redact_mb_per_sec: f64,
    pub redact_vs_scan: f64,
    pub narratives_per_sec: f64,
    /// Loading the word lists of the allow-list pass, once per process.
    pub word_lists_load_ms: f64,
    /// One narrative of the federation's maximum size (4 000 bytes), mean of 50.
    pub ms_per_4000_byte_narrative: f64,
}

/// Redaction throughput on one core, next to a single regex scan of the same text.
pub fn redact(megabytes: usize) -> RedactReport {
    let mut rng = Rng::new(7);
    let mut narratives = Vec::new();
    let mut bytes = 0;
    while bytes < megabytes.max(1) * 1024 * 1024 {
        let n: String = (0..6).map(|_| rng.pick(REDACT_SENTENCES)).collect::<Vec<_>>().join(" ");
        bytes += n.len();
        narratives.push(n);
    }
    let scan = regex::Regex::new(r"\d+").expect("valid pattern");
    let t = Instant::now();
    let found: usize = narratives.iter().map(|n| scan.find_iter(n).count()).sum();
    let scan_secs = t.elapsed().as_secs_f64();
    assert!(found > 0);
    let redactor = crate::redact::Redactor::default();
    let t = Instant::now();
    redactor.redact("warm up the word lists");
    let word_lists_load_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut long = String::new();
    while long.len() < 4000 - 200 {
        long.push_str(rng.pick(REDACT_SENTENCES));
        long.push(' ');
    }
    let t = Instant::now();
    for _ in 0..50 {
        assert!(!redactor.redact(&long).findings.is_empty());
    }
    let ms_per_4000_byte_narrative = t.elapsed().as_secs_f64() * 1e3 / 50.0;
    let t = Instant::now();
    let out: usize = narratives.iter().map(|n| redactor.redact(n).findings.len()).sum();
    let redact_secs = t.elapsed().as_secs_f64();
    assert!(out > 0);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    RedactReport {
        bytes,
        regex_scan_mb_per_sec: mb / scan_secs,
        redact_mb_per_sec: mb / redact_secs,
        redact_vs_scan: scan_secs / redact_secs,
        narratives_per_sec: narratives.len() as f64 / redact_secs,
        word_lists_load_ms,
        ms_per_4000_byte_narrative,
    }
}
