//! `lantern store check`: reads a stopped node's whole store, changes nothing, and says what is
//! wrong with it. Every record of the arrival log is read; its bytes must hash to an id the
//! index places at that very slot, and a chained record's signature must verify under the
//! federation's rules. Every index entry must point at such a record (or at a purged slot the
//! `purged` tree accounts for), and every private case must decode. Anything else is a problem,
//! named with where it is, and `lantern store repair` rebuilds what the log still holds.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use lantern_protocol::anonymous::{Format, format_of};
use lantern_protocol::{Manifest, RecordId, VerifyContext, verify_batch};

use super::{StoreError, be_u64, blocks, chains, open_db};

/// What a check found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Records read whole from the arrival log.
    pub records: usize,
    /// Of them, chained records whose signature was verified.
    pub verified: usize,
    /// Purged slots (bytes deleted on purpose).
    pub purged: usize,
    /// Private cases that decode.
    pub cases: usize,
    /// Everything wrong, one line each, at most [`MAX_PROBLEMS`] (then a count of the rest).
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, line: String) {
        self.problems.push(line);
    }
}

/// Problems listed one by one; more are counted.
pub const MAX_PROBLEMS: usize = 20;

/// Checks the store at `dir` against `manifest`. Fails only if the store cannot be read at all.
pub fn check(dir: &Path, manifest: &Manifest) -> Result<CheckReport, StoreError> {
    let db = open_db(dir)?;
    let mut report = CheckReport::default();
    let federation = db.open_tree("meta")?.get("federation")?;
    if federation.as_deref().is_some_and(|f| f != manifest.id().as_bytes()) {
        report.problem("the store belongs to another federation than the data dir's manifest".into());
    }
    // The index, as the store would load it: id → arrival, from chains and loose entries.
    let mut index: HashMap<RecordId, u64> = HashMap::new();
    for entry in db.open_tree("chains")?.iter() {
        let (key, value) = entry?;
        match chains::decode_entries(&value) {
            Some(links) => index.extend(links.map(|l| (l.id, l.arrival))),
            None => report.problem(format!("chains entry {} does not decode", hex::encode(&key[..key.len().min(8)]))),
        }
    }
    for entry in db.open_tree("loose")?.iter() {
        let (key, value) = entry?;
        match (RecordId::from_slice(&key), value.as_ref().try_into().map(u64::from_be_bytes)) {
            (Some(id), Ok(arrival)) => {
                index.insert(id, arrival);
            }
            _ => report.problem("a loose entry does not decode".into()),
        }
    }
    let purged: HashSet<Vec<u8>> =
        db.open_tree("purged")?.iter().keys().filter_map(Result::ok).map(|k| k.to_vec()).collect();
    let by_arrival: HashMap<u64, RecordId> = index.iter().map(|(id, a)| (*a, *id)).collect();
    let ctx = VerifyContext::for_manifest(manifest);
    let mut seen: HashSet<RecordId> = HashSet::new();
    for entry in db.open_tree("blocks")?.iter() {
        let (key, block) = entry?;
        let Ok(number) = be_u64(&key) else {
            report.problem("a block key is not a block number".into());
            continue;
        };
        let Some(records) = blocks::records(&block) else {
            report.problem(format!("block {number} is malformed: its records are lost"));
            continue;
        };
        let mut chained = Vec::new();
        for (slot, bytes) in records.iter().enumerate() {
            let arrival = number << 16 | slot as u64;
            if bytes.is_empty() {
                report.purged += 1;
                continue;
            }
            report.records += 1;
            let id = RecordId::of(bytes);
            match by_arrival.get(&arrival) {
                Some(indexed) if *indexed == id => {
                    seen.insert(id);
                    if matches!(format_of(bytes), Format::Signed) {
                        chained.push(*bytes);
                    }
                }
                Some(_) => report.problem(format!(
                    "record at arrival {arrival} changed: its bytes are not the record indexed there"
                )),
                None => {
                    report.problem(format!("record {} at arrival {arrival} is in the log but not indexed", id.short()))
                }
            }
        }
        for (bytes, verified) in chained.iter().zip(verify_batch(&chained, &ctx)) {
            match verified {
                Ok(_) => report.verified += 1,
                Err(e) => report
                    .problem(format!("record {} in block {number} does not verify: {e}", RecordId::of(bytes).short())),
            }
        }
    }
    // A purged record's slot is empty: its index entry stays, and the `purged` tree names it.
    let missing = index.keys().filter(|id| !seen.contains(id) && !purged.contains(id.0.as_slice())).count();
    if missing > 0 {
        report.problem(format!("{missing} indexed records are missing from the log (a torn write)"));
    }
    for entry in db.open_tree("cases")?.iter() {
        let (key, value) = entry?;
        match serde_json::from_slice::<crate::case::PrivateCase>(&value) {
            Ok(_) => report.cases += 1,
            Err(e) => report.problem(format!("private case {} does not decode: {e}", be_u64(&key).unwrap_or(0))),
        }
    }
    if report.problems.len() > MAX_PROBLEMS {
        let more = report.problems.len() - MAX_PROBLEMS;
        report.problems.truncate(MAX_PROBLEMS);
        report.problems.push(format!("… and {more} more"));
    }
    Ok(report)
}
