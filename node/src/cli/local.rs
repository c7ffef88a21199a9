//! Commands on a data dir with no node running: init, info, federation, cases, records.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use lantern_node::case::PrivateCase;
use lantern_node::datadir::{self, DataDir};
use lantern_node::exchange;
use lantern_node::publish;
use lantern_protocol::summary::MemberProfile;
use lantern_protocol::{Manifest, Policy, signed};

use crate::{CaseCmd, FederationCmd, InitArgs, RecordsCmd};

pub fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

pub fn tempdir_in(base: Option<&Path>) -> Result<PathBuf> {
    let base = base.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("lantern-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

pub fn init(root: &Path, args: InitArgs) -> Result<()> {
    let profile = MemberProfile { org_type: args.org_type, size: args.size, region: args.region };
    let (dir, member) = DataDir::init(root, profile)?;
    if let Some(path) = args.manifest {
        dir.install_manifest(&datadir::read_manifest(&path)?)?;
    }
    lantern_node::tokens::member_token(dir.root())?;
    println!("{member}");
    eprintln!("initialised {} (member key {})", root.display(), member.short());
    Ok(())
}

pub fn info(dir: &DataDir) -> Result<()> {
    let member = signed::member_key(&dir.member_key()?);
    println!("data dir      {}", dir.root().display());
    println!("member key    {member}");
    let mut seed = dir.node_key()?.to_bytes();
    let peer = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).context("node key")?.public().to_peer_id();
    println!("peer id       {peer}");
    match dir.manifest() {
        Ok(m) => {
            let store = dir.open_store()?;
            println!("federation    {} ({})", m.name, m.id());
            println!("founder       {}", m.is_founder(&member));
            println!("records       {}", store.record_count());
            println!("private cases {}", store.cases()?.len());
            println!("equivocators  {}", store.equivocators()?.len());
            match store.own_head(&member) {
                Ok(head) => println!("own chain     whole, sequence {}", head.map_or(0, |(s, _)| s)),
                Err(e) if e.is_own_chain_behind() => println!("own chain     cannot sign: {e}"),
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => println!("federation    none ({e})"),
    }
    Ok(())
}

pub fn federation(root: &Path, cmd: FederationCmd) -> Result<()> {
    match cmd {
        FederationCmd::Create { name, mut founders, no_self, vouches_needed, k, out } => {
            let dir = DataDir::existing(root).ok();
            if !no_self {
                let Some(dir) = &dir else {
                    bail!(
                        "no data dir at {} to add this node as a founder; run `lantern init` or pass --no-self",
                        root.display()
                    )
                };
                founders.push(signed::member_key(&dir.member_key()?));
            }
            let policy = Policy { vouches_needed, k_threshold: k, ..Policy::default() };
            let manifest = Manifest::new(name, lantern_node::this_month(), founders, policy);
            manifest.validate().context("invalid manifest")?;
            match (out, dir) {
                (Some(path), _) => datadir::write_manifest(&path, &manifest)?,
                (None, Some(dir)) => dir.install_manifest(&manifest)?,
                (None, None) => bail!("pass --out FILE, or run `lantern init` first to install it in the data dir"),
            }
            println!("{}", manifest.id());
            Ok(())
        }
        FederationCmd::Show => {
            let m = DataDir::existing(root)?.manifest()?;
            println!("{}", serde_json::to_string_pretty(&m)?);
            println!("federation id: {}", m.id());
            Ok(())
        }
        FederationCmd::Join { file } => {
            let m = datadir::read_manifest(&file)?;
            DataDir::existing(root)?.install_manifest(&m)?;
            println!("{}", m.id());
            Ok(())
        }
    }
}

pub fn case(dir: &DataDir, cmd: CaseCmd) -> Result<()> {
    // Export reads the case tree alone; everything else opens the whole store.
    let store = || dir.open_store();
    match cmd {
        CaseCmd::Export { out } => export_cases(dir, out),
        CaseCmd::Add { file, idempotency_key } => {
            let store = store()?;
            let case = PrivateCase::from_file(&file)?;
            case.validate(store.context().max_narrative_bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            // The same request as the API's, so a retry may go either way.
            println!("{}", lantern_node::publish::add_case(&store, &case, idempotency_key.as_ref())?);
            Ok(())
        }
        CaseCmd::List => {
            let store = store()?;
            println!("{:>6}  {:<10}  {:<22}  {:<9}  {:>8}  TITLE", "ID", "REGISTRY", "OUTCOME", "STATE", "RECORDS");
            for (id, case) in store.cases()? {
                let (state, _, records) = publish::status(&store, id)?;
                println!(
                    "{id:>6}  {:<10}  {:<22}  {:<9}  {records:>8}  {}",
                    case.registry.label(),
                    case.outcome.label(),
                    state.label(),
                    case.title
                );
            }
            Ok(())
        }
        CaseCmd::Show { id } => {
            let store = store()?;
            let case = store.case(id)?;
            println!("{}", serde_json::to_string_pretty(&case)?);
            for rid in store.published_for(id)? {
                eprintln!("published as {rid}");
            }
            Ok(())
        }
    }
}

pub fn records(dir: &DataDir, cmd: RecordsCmd) -> Result<()> {
    let store = dir.open_store()?;
    match cmd {
        RecordsCmd::List { limit, after, json } => {
            let page = store.records_after(after, limit.min(10_000))?;
            if !json {
                println!("{:>8}  {:<16}  {:<8}  {:>5}  {:<16}  CREATED", "ARRIVAL", "ID", "AUTHOR", "SEQ", "KIND");
            }
            for r in page {
                if json {
                    println!("{}", serde_json::to_string(&exchange::Line::of(&r))?);
                } else {
                    println!(
                        "{:>8}  {:<16}  {:<8}  {:>5}  {:<16}  {}",
                        r.arrival,
                        &r.id.to_hex()[..16],
                        r.record.author().map_or_else(|| "anon".into(), |a| a.short()),
                        r.record.signed().map_or_else(|| "-".into(), |e| e.sequence.to_string()),
                        r.record.kind(),
                        r.record.created().map(|m| m.to_string()).unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        RecordsCmd::Show { id } => {
            let Some(bytes) = store.record_bytes(&id)? else {
                match store.purge_of(&id)? {
                    Some(purge) => bail!("record {id} was purged by {purge}"),
                    None => bail!("no record {id}"),
                }
            };
            let env = lantern_node::api::records::record_json(&lantern_protocol::anonymous::open_stored_any(&bytes)?);
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "id": id, "envelope": env, "record": hex::encode(&bytes) })
                )?
            );
            Ok(())
        }
    }
}

pub fn print_report(what: &str, r: &exchange::Report) {
    eprintln!(
        "{what}: {} lines, {} valid, {} stored, {} duplicates, {} equivocations, {} purged, {} gaps, {} rejected",
        r.lines, r.valid, r.stored, r.duplicates, r.equivocations, r.purged, r.gaps, r.rejected
    );
    for (line, reason) in &r.rejections {
        eprintln!("  line {line}: {reason}");
    }
}

/// The private cases, read from the store's case tree alone (see `store::rescue`).
fn export_cases(dir: &DataDir, out: Option<PathBuf>) -> Result<()> {
    let mut sink: Box<dyn std::io::Write> = match &out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let done = match lantern_node::store::rescue::export_cases(&dir.store_path(), &mut sink) {
        Err(lantern_node::store::StoreError::Db(e)) if lantern_node::store::is_lock_error(&e) => {
            bail!("the store in {} is in use by a running node; stop it first", dir.root().display())
        }
        other => other?,
    };
    eprintln!("exported {} private cases", done.written);
    if !done.unreadable.is_empty() {
        eprintln!("could not read cases {:?}: their stored bytes are damaged", done.unreadable);
    }
    Ok(())
}
