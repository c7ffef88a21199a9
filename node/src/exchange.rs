//! Export and import of records as JSON lines, one signed record a line:
//! `{"id": HEX, "author": HEX, "sequence": N, "kind": KIND, "record": HEX}`.
//! Only `record` matters on import; `id`, when present, must match the record's hash.

use std::io::{BufRead, Read, Write};

use lantern_protocol::{RecordError, RecordId, VerifyContext, signed};
use serde::{Deserialize, Serialize};

use crate::federation::Federation;
use crate::store::{Ingested, Store, StoreError, StoredRecord};

/// Longest accepted line: a maximal record in hex plus the other fields.
pub const MAX_LINE_BYTES: usize = 2 * lantern_protocol::MAX_RECORD_BYTES + 1024;
/// Records verified and stored together.
const CHUNK: usize = 4096;
/// Rejections listed in a report; the rest are only counted.
const MAX_LISTED: usize = 100;

#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RecordId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub record: String,
}

impl Line {
    pub fn of(r: &StoredRecord) -> Self {
        Line {
            id: Some(r.id),
            author: r.record.author().map(|a| a.to_hex()),
            sequence: r.record.signed().map(|e| e.sequence),
            kind: Some(r.record.kind().to_string()),
            record: hex::encode(&r.bytes),
        }
    }
}

/// What an import or a verification found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub lines: usize,
    pub valid: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub equivocations: usize,
    /// Valid records held as ids only because their author purged them.
    pub purged: usize,
    pub gaps: usize,
    pub rejected: usize,
    /// `(line number, reason)` of the first rejections.
    pub rejections: Vec<(usize, String)>,
}

impl Report {
    fn reject(&mut self, line: usize, reason: String) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push((line, reason));
        }
    }
}

/// Writes every record, in arrival order; returns how many.
pub fn export(store: &Store, out: &mut impl Write) -> Result<usize, ExchangeError> {
    let mut after = None;
    let mut count = 0;
    loop {
        let page = store.records_after(after, CHUNK)?;
        let Some(last) = page.last() else { break };
        after = Some(last.arrival);
        for r in &page {
            serde_json::to_writer(&mut *out, &Line::of(r)).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            count += 1;
        }
    }
    Ok(count)
}

/// Parsed lines of a chunk: `(line number, bytes)` or a rejection.
fn read_chunk(
    input: &mut impl BufRead,
    line_no: &mut usize,
    report: &mut Report,
) -> std::io::Result<Vec<(usize, Vec<u8>)>> {
    let mut chunk = Vec::new();
    let mut buf = Vec::new();
    while chunk.len() < CHUNK {
        buf.clear();
        let n = input.by_ref().take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        *line_no += 1;
        report.lines += 1;
        if buf.len() > MAX_LINE_BYTES {
            report.reject(*line_no, format!("line longer than {MAX_LINE_BYTES} bytes"));
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            input.read_until(b'\n', &mut rest)?;
            continue;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            report.lines -= 1;
            continue;
        }
        match parse_line(&buf) {
            Ok(bytes) => chunk.push((*line_no, bytes)),
            Err(reason) => report.reject(*line_no, reason),
        }
    }
    Ok(chunk)
}

fn parse_line(buf: &[u8]) -> Result<Vec<u8>, String> {
    let line: Line = serde_json::from_slice(buf).map_err(|e| format!("not a record line: {e}"))?;
    let bytes = hex::decode(line.record.trim()).map_err(|_| "`record` is not hex".to_string())?;
    if let Some(id) = line.id
        && id != RecordId::of(&bytes)
    {
        return Err("`id` does not match the record's hash".into());
    }
    Ok(bytes)
}

/// Reads a JSON-lines stream chunk by chunk and hands each chunk's `(line number, bytes)` to
/// `each`, which fills the report; malformed lines are rejected before it sees them.
fn each_chunk<E: From<std::io::Error>>(
    input: &mut impl BufRead,
    mut each: impl FnMut(&[(usize, Vec<u8>)], &mut Report, usize) -> Result<(), E>,
) -> Result<Report, E> {
    let mut report = Report::default();
    let mut line_no = 0;
    loop {
        let chunk = read_chunk(input, &mut line_no, &mut report)?;
        if chunk.is_empty() {
            return Ok(report);
        }
        each(&chunk, &mut report, line_no)?;
    }
}

/// Verifies every record of a JSON-lines stream and stores those by current members (as if
/// they came from a peer). `progress` gets the lines read so far.
pub fn import(
    federation: &Federation,
    input: &mut impl BufRead,
    mut progress: impl FnMut(usize),
) -> Result<Report, ExchangeError> {
    each_chunk(input, |chunk, report, lines_read| {
        let bytes: Vec<&[u8]> = chunk.iter().map(|(_, b)| b.as_slice()).collect();
        for ((line, _), outcome) in chunk.iter().zip(federation.admit(&bytes)?) {
            match outcome {
                Ok(o) => {
                    report.valid += 1;
                    match o {
                        Ingested::Stored { gap, .. } => {
                            report.stored += 1;
                            report.gaps += usize::from(gap.is_some());
                        }
                        Ingested::Duplicate { .. } => report.duplicates += 1,
                        Ingested::Equivocation { .. } => {
                            report.stored += 1;
                            report.equivocations += 1;
                        }
                        Ingested::Purged { .. } => report.purged += 1,
                    }
                }
                Err(e) => report.reject(*line, e.to_string()),
            }
        }
        progress(lines_read);
        Ok(())
    })
}

/// Checks every record of a JSON-lines stream against a federation, storing nothing.
pub fn verify(ctx: &VerifyContext, input: &mut impl BufRead) -> std::io::Result<Report> {
    each_chunk(input, |chunk, report, _| {
        let bytes: Vec<&[u8]> = chunk.iter().map(|(_, b)| b.as_slice()).collect();
        for ((line, _), result) in chunk.iter().zip(signed::verify_batch(&bytes, ctx)) {
            match result {
                Ok(_) => report.valid += 1,
                Err(e) => report.reject(*line, e.to_string()),
            }
        }
        Ok::<(), std::io::Error>(())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RecordError> for ExchangeError {
    fn from(e: RecordError) -> Self {
        ExchangeError::Store(e.into())
    }
}
