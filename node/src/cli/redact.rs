//! `lantern redact`: text on stdin, redacted; or JSON lines of a corpus.

use std::io::{BufRead, Read, Write};

use anyhow::{Context, Result, bail};
use lantern_node::redact::{Finding, Profile, Redactor};
use serde::{Deserialize, Serialize};

/// Longest text accepted on stdin or in one JSON line.
const MAX_INPUT: usize = 16 * 1024 * 1024;

/// Other fields (a corpus's `planted`, `keep`) are ignored.
#[derive(Deserialize)]
struct In {
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Serialize)]
struct Out<'a> {
    id: &'a serde_json::Value,
    redacted: String,
    /// The input after Unicode normalisation: what `findings` offsets point into.
    source: String,
    findings: Vec<Finding>,
}

pub fn plain(input: &mut impl Read, out: &mut impl Write, declared: Option<&Profile>) -> Result<()> {
    let mut text = String::new();
    input.take(MAX_INPUT as u64 + 1).read_to_string(&mut text).context("stdin is not UTF-8 text")?;
    if text.len() > MAX_INPUT {
        bail!("input is over {MAX_INPUT} bytes");
    }
    let redactor = Redactor::new(declared.unwrap_or(&Profile::default()));
    out.write_all(redactor.redact(&text).text.as_bytes())?;
    Ok(())
}

pub fn jsonl(input: &mut impl BufRead, out: &mut impl Write, declared: Option<&Profile>) -> Result<()> {
    let default = Redactor::new(declared.unwrap_or(&Profile::default()));
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        if input.take(MAX_INPUT as u64 + 1).read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        if line.len() > MAX_INPUT {
            bail!("line {number}: over {MAX_INPUT} bytes");
        }
        if line.trim().is_empty() {
            continue;
        }
        let item: In = serde_json::from_str(&line).with_context(|| format!("line {number}"))?;
        let result = match &item.profile {
            Some(p) => {
                let mut merged = p.clone();
                if let Some(d) = declared {
                    merged.org_names.extend(d.org_names.iter().cloned());
                    merged.asns.extend(d.asns.iter().cloned());
                    merged.prefixes.extend(d.prefixes.iter().cloned());
                    merged.domains.extend(d.domains.iter().cloned());
                    merged.people.extend(d.people.iter().cloned());
                }
                Redactor::new(&merged).redact(&item.text)
            }
            None => default.redact(&item.text),
        };
        let out_line = Out { id: &item.id, redacted: result.text, source: result.source, findings: result.findings };
        serde_json::to_writer(&mut *out, &out_line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
