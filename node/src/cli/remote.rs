//! Commands acting through a running node's API (the node owns the store while it runs).

use std::path::Path;

use anyhow::{Context, Result, bail};
use lantern_node::case::PrivateCase;
use lantern_node::datadir::DataDir;
use lantern_node::remote::{Remote, query};
use serde_json::{Value, json};

use crate::{CaseCmd, Command, EvidenceCmd, PatternsArgs, PatternsCmd, RecordsCmd};

pub fn routable(command: &Command) -> bool {
    matches!(
        command,
        Command::Case(CaseCmd::Add { .. } | CaseCmd::List | CaseCmd::Show { .. })
            | Command::Publish { .. }
            | Command::Retract { .. }
            | Command::Purge { .. }
            | Command::Records(_)
            | Command::Vouch { .. }
            | Command::Evidence(EvidenceCmd::Prove { .. })
            | Command::Patterns(_)
            | Command::Info
    )
}

/// Whether a running node holds the store of the data dir at `root`.
pub fn node_running(root: &Path) -> Result<bool> {
    let Ok(dir) = DataDir::existing(root) else { return Ok(false) };
    Ok(lantern_node::store::in_use(&dir.store_path()))
}

fn print_json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn run(remote: &Remote, command: Command) -> Result<()> {
    eprintln!("(through the running node's API)");
    match command {
        Command::Case(CaseCmd::Add { file, idempotency_key }) => {
            // The node salts the evidence: the request a key stands for is the file as written.
            let case = PrivateCase::from_file(&file)?;
            let key = idempotency_key.as_ref().map(|k| k.as_str());
            println!("{}", remote.post_once("/cases", &serde_json::to_value(&case)?, key)?["id"]);
        }
        Command::Case(CaseCmd::List) => {
            println!("{:>6}  {:<10}  {:<22}  {:<9}  TITLE", "ID", "REGISTRY", "OUTCOME", "STATE");
            for c in remote.get("/cases")?.as_array().into_iter().flatten() {
                println!(
                    "{:>6}  {:<10}  {:<22}  {:<9}  {}",
                    c["id"],
                    c["registry"].as_str().unwrap_or(""),
                    c["outcome"].as_str().unwrap_or(""),
                    c["status"]["state"].as_str().unwrap_or(""),
                    c["title"].as_str().unwrap_or("")
                );
            }
        }
        Command::Case(CaseCmd::Show { id }) => print_json(&remote.get(&format!("/cases/{id}"))?["case"])?,
        Command::Publish { case_id, shape, idempotency_key } => {
            let path = format!("/cases/{case_id}/publish");
            let body = shape.body();
            let r = remote.post_once(&path, &body, idempotency_key.as_ref().map(|k| k.as_str()))?;
            println!("{}", r["record"].as_str().unwrap_or_default());
            eprintln!("published case {case_id} ({}, sequence {})", r["kind"].as_str().unwrap_or(""), r["sequence"]);
        }
        Command::Retract { case_id, reason } => {
            let r = remote.post(&format!("/cases/{case_id}/retract"), &json!({"reason": reason.label()}))?;
            println!("{}", r["record"].as_str().unwrap_or_default());
        }
        Command::Purge { case_id, reason } => {
            let r = remote.post(&format!("/cases/{case_id}/purge"), &json!({"reason": reason.label()}))?;
            println!("{}", r["record"].as_str().unwrap_or_default());
            eprintln!("purged case {case_id}: peers delete its summaries when the purge reaches them");
        }
        Command::Records(RecordsCmd::List { limit, after, json }) => {
            let q = query(&[("limit", Some(limit.clamp(1, 500).to_string())), ("after", after.map(|a| a.to_string()))]);
            let page = remote.get(&format!("/records{q}"))?;
            for r in page["records"].as_array().into_iter().flatten() {
                if json {
                    println!("{}", serde_json::to_string(r)?);
                } else {
                    println!(
                        "{:>8}  {}  {:<16}  seq {}",
                        r["arrival"],
                        r["id"].as_str().unwrap_or(""),
                        r["kind"].as_str().unwrap_or(""),
                        r["sequence"]
                    );
                }
            }
        }
        Command::Records(RecordsCmd::Show { id }) => print_json(&remote.get(&format!("/records/{id}"))?["envelope"])?,
        Command::Vouch { member, withdraw, idempotency_key } => {
            let body = json!({"member": member.to_hex(), "withdraw": withdraw});
            let r = remote.post_once("/vouches", &body, idempotency_key.as_ref().map(|k| k.as_str()))?;
            println!("{}", r["record"].as_str().unwrap_or_default());
        }
        Command::Info => {
            // The same lines as `lantern info` on a stopped node, where the API has them.
            let n = remote.get("/node")?;
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            println!("member key    {}", text(&n["member"]));
            println!("peer id       {}", text(&n["peer_id"]));
            println!("federation    {} ({})", text(&n["federation_name"]), text(&n["federation"]));
            println!("records       {}", n["records"]);
            println!("members       {}", n["members"]);
            println!("k threshold   {}", n["k_threshold"]);
            println!("version       {}", text(&n["version"]));
        }
        Command::Patterns(args) => patterns(remote, args)?,
        Command::Evidence(EvidenceCmd::Prove { case_id, file, out }) => {
            // Only the document's hash goes to the node; the document stays here.
            let hash = super::evidence::hash_file(&file)?;
            let proof =
                remote.post(&format!("/cases/{case_id}/evidence-proof"), &json!({ "document_blake3": hash }))?;
            super::evidence::write_proof(&serde_json::from_value(proof)?, out.as_deref())?;
        }
        _ => bail!("this command cannot act through a running node; stop the node first"),
    }
    Ok(())
}

fn patterns(remote: &Remote, args: PatternsArgs) -> Result<()> {
    use super::patterns::Answer;
    let format = Some("json".to_string());
    let path = match &args.query {
        PatternsCmd::Matrix(s) => {
            format!(
                "/patterns/matrix{}",
                query(&[("period", s.period.clone()), ("filter", s.filter.clone()), ("format", format)])
            )
        }
        PatternsCmd::Trends { scope, by, step } => {
            let by = serde_json::to_value(by)?.as_str().map(str::to_string);
            let step = serde_json::to_value(step)?.as_str().map(str::to_string);
            let q = query(&[
                ("period", scope.period.clone()),
                ("filter", scope.filter.clone()),
                ("by", by),
                ("step", step),
                ("format", format),
            ]);
            format!("/patterns/trends{q}")
        }
        PatternsCmd::Emerging { until, recent, baseline } => {
            let q = query(&[
                ("until", until.map(|m| m.to_string())),
                ("recent", Some(recent.to_string())),
                ("baseline", Some(baseline.to_string())),
                ("format", format),
            ]);
            format!("/patterns/emerging{q}")
        }
        PatternsCmd::Durations { period } => {
            format!("/patterns/durations{}", query(&[("period", period.clone()), ("format", format)]))
        }
        PatternsCmd::Cooccurrence { period, registry } => {
            let q = query(&[
                ("period", period.clone()),
                ("registry", registry.map(|r| r.label().to_string())),
                ("format", format),
            ]);
            format!("/patterns/cooccurrence{q}")
        }
        PatternsCmd::Similar { case_id, limit } => format!("/cases/{case_id}/similar?limit={limit}"),
    };
    // The node's JSON, shown as the local command shows it (table, --csv or --json).
    let json = remote.get(&path)?;
    let answer = match &args.query {
        PatternsCmd::Matrix(_) => Answer::Matrix(serde_json::from_value(json)?),
        PatternsCmd::Trends { .. } => Answer::Trends(serde_json::from_value(json)?),
        PatternsCmd::Emerging { .. } => Answer::Emerging(serde_json::from_value(json)?),
        PatternsCmd::Durations { .. } => Answer::Durations(serde_json::from_value(json)?),
        PatternsCmd::Cooccurrence { .. } => Answer::CoOccurrence(serde_json::from_value(json)?),
        PatternsCmd::Similar { .. } => Answer::Similar(serde_json::from_value(json)?),
    };
    let k = remote.get("/node")?["k_threshold"].as_u64().context("the node did not say its k threshold")? as usize;
    super::patterns::show(&args, k, &answer)
}
