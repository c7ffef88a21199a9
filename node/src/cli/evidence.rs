//! `lantern evidence prove` and `lantern evidence check`: a proof, later, that a published
//! summary committed to a document (`lantern_node::evidence`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use lantern_node::datadir::DataDir;
use lantern_node::evidence::{self, Proof};

use crate::EvidenceCmd;

pub fn run(data_dir: &Path, cmd: EvidenceCmd) -> Result<()> {
    match cmd {
        EvidenceCmd::Prove { case_id, file, out } => {
            let hash = hash_file(&file)?;
            let document = lantern_node::case::parse_hex::<32>(&hash).context("document hash")?;
            let store = DataDir::existing(data_dir)?.open_store()?;
            write_proof(&evidence::prove(&store, case_id, &document)?, out.as_deref())
        }
        EvidenceCmd::Check { proof, document, manifest } => {
            let text = std::fs::read_to_string(&proof).with_context(|| format!("cannot read {}", proof.display()))?;
            let proof: Proof =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a proof: {e}", proof.display()))?;
            let manifest = match manifest {
                Some(path) => lantern_node::datadir::read_manifest(&path)?,
                None => DataDir::existing(data_dir)
                    .and_then(|d| d.manifest())
                    .context("no manifest: give --manifest FILE, or --data-dir of a node of the federation")?,
            };
            let bytes = document
                .as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
                .transpose()?;
            let checked = evidence::check(&proof, &manifest, bytes.as_deref())?;
            println!(
                "valid: record {} committed to this {} document in {}",
                checked.record,
                checked.kind.label(),
                checked.created
            );
            println!(
                "signed  {}",
                if checked.signed_by_member {
                    "by the member key the record names"
                } else {
                    "by some member of the record's ring"
                }
            );
            if document.is_none() {
                println!("document not given: the proof is for the document hashing to {}", proof.document_blake3);
            }
            Ok(())
        }
    }
}

/// The BLAKE3 hash of a file, hex.
pub fn hash_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

pub fn write_proof(proof: &Proof, out: Option<&Path>) -> Result<()> {
    let text = serde_json::to_string_pretty(proof)? + "\n";
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the proof to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
