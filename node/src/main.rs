//! `lantern`: a federated case-sharing node for network operators.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lantern_node::case::PrivateCase;
use lantern_node::datadir::{self, DataDir};
use lantern_node::exchange;
use lantern_node::publish::{self, Narrative};
use lantern_protocol::summary::MemberProfile;
use lantern_protocol::vocab::{OrgSize, OrgType, PurgeReason, Region, RetractionReason};
use lantern_protocol::{Manifest, MemberKey, Policy, RecordId, VerifyContext, signed};

#[derive(Parser)]
#[command(name = "lantern", version, about = "A federated case-sharing node for network operators")]
struct Cli {
    /// The node's data directory (keys, manifest, settings, store).
    #[arg(long, global = true, env = "LANTERN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start a local demo federation (three nodes, synthetic cases from many members) and its UI.
    Demo {
        /// Members (operators) publishing cases.
        #[arg(long, default_value_t = 40)]
        members: usize,
        /// Synthetic cases, spread over the last 12 months.
        #[arg(long, default_value_t = 4000)]
        cases: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Keep the nodes' data here (default: a temporary directory, removed at exit).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Address of the first node's API and UI.
        #[arg(long, default_value = "127.0.0.1:7777")]
        api: std::net::SocketAddr,
    },
    /// Create the data dir with a new member key and node key.
    Init(InitArgs),
    /// Show this node's member key, federation and record counts.
    Info,
    /// Copy this (stopped) node's keys, settings and store into the new directory DIR.
    Backup { dir: PathBuf },
    /// Make the data dir (--data-dir, which must not exist) from the backup in DIR.
    Restore { dir: PathBuf },
    /// Create, show or install the federation manifest.
    #[command(subcommand)]
    Federation(FederationCmd),
    /// Manage the member's private cases (never leave this node).
    #[command(subcommand)]
    Case(CaseCmd),
    /// Publish a private case as a signed summary, its narrative redacted (again to amend it).
    Publish {
        case_id: u64,
        /// Publish the structured fields only, without the narrative.
        #[arg(long)]
        omit_narrative: bool,
    },
    /// Retract a published case from every figure.
    Retract {
        case_id: u64,
        /// published in error, identifying information, duplicate, other
        #[arg(long, default_value = "other")]
        reason: RetractionReason,
    },
    /// Purge a published case: every node deletes its summaries' bytes and drops it from every
    /// figure, keeping only the record ids. For a summary that identifies someone. Final.
    Purge {
        case_id: u64,
        /// identifying information, legal request, other
        #[arg(long, default_value = "identifying information")]
        reason: PurgeReason,
    },
    /// List or show the verified records this node holds.
    #[command(subcommand)]
    Records(RecordsCmd),
    /// Write every record as JSON lines (to stdout or --out).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify and store the records of a JSON-lines export.
    Import { file: PathBuf },
    /// Check every record of a JSON-lines export without storing anything.
    Verify {
        file: PathBuf,
        /// Federation manifest to check against (default: the data dir's).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Run the node: join the federation's network, gossip and catch up, until Ctrl-C or SIGTERM.
    Run(RunArgs),
    /// Vouch for a member key (or withdraw a vouch); the record reaches the federation on the
    /// node's next sync.
    Vouch {
        member: MemberKey,
        #[arg(long)]
        withdraw: bool,
    },
    /// Revoke this member's key for good (compromise, retirement); its vouches stop counting and
    /// no node accepts new records signed with it.
    Revoke {
        /// The member key that takes over, if any (it still needs vouches to become a member).
        #[arg(long)]
        successor: Option<MemberKey>,
    },
    /// Redact free text: stdin to stdout, or JSON lines with --jsonl.
    Redact {
        /// Input lines `{"id", "text", "profile"?}` give output lines `{"id", "redacted", "source",
        /// "findings"}`; finding offsets are bytes of `source`, the input after Unicode normalisation.
        #[arg(long)]
        jsonl: bool,
    },
    /// API tokens: print the member token, issue or revoke read-only analyst tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Patterns across the federation's summaries; groups of fewer than k operators are suppressed.
    Patterns(PatternsArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print the member token (full access to the API).
    Show,
    /// Issue a token for pattern queries only; it is printed once and only its hash is kept.
    Analyst { name: String },
    /// Revoke an analyst token (a running node picks this up at restart).
    Revoke { name: String },
}

#[derive(Args)]
struct PatternsArgs {
    #[command(subcommand)]
    query: PatternsCmd,
    /// Print JSON.
    #[arg(long, global = true, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (every group, suppressed ones marked).
    #[arg(long, global = true)]
    csv: bool,
}

#[derive(Args, Clone)]
struct ScopeArgs {
    /// YYYY-MM, YYYY-Qn, YYYY or FROM..TO (default: the last 12 months).
    #[arg(long)]
    period: Option<String>,
    /// One filter: outcome=…, org_type=…, region=…, resource_kind=… or resource="IPv4 /24 or smaller".
    #[arg(long)]
    filter: Option<String>,
}

#[derive(Subcommand)]
enum PatternsCmd {
    /// Registry × incident category: distinct operators and cases.
    Matrix(ScopeArgs),
    /// Counts over time per category or per registry.
    Trends {
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long, value_enum, default_value = "category")]
        by: lantern_node::patterns::query::TrendBy,
        #[arg(long, value_enum, default_value = "month")]
        step: lantern_node::patterns::query::Step,
    },
    /// Registry × category pairs whose last months are clearly above their own baseline.
    Emerging {
        /// Last month of the recent window (default: this month).
        #[arg(long)]
        until: Option<lantern_protocol::Month>,
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=24))]
        recent: u16,
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..=120))]
        baseline: u16,
    },
    /// Median and p90 months to resolution and outcome shares, per registry × category.
    Durations {
        /// YYYY-MM, YYYY-Qn, YYYY or FROM..TO (default: the last 12 months).
        #[arg(long)]
        period: Option<String>,
    },
    /// Categories that occur together in one case.
    Cooccurrence {
        /// YYYY-MM, YYYY-Qn, YYYY or FROM..TO (default: the last 12 months).
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        registry: Option<lantern_protocol::vocab::Registry>,
    },
    /// Published summaries most like one of your private cases (which never leaves this node).
    Similar {
        case_id: u64,
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

#[derive(Args)]
struct InitArgs {
    /// Install this federation manifest too.
    #[arg(long)]
    manifest: Option<PathBuf>,
    #[arg(long, default_value = "undisclosed")]
    org_type: OrgType,
    #[arg(long, default_value = "undisclosed")]
    size: OrgSize,
    #[arg(long, default_value = "undisclosed")]
    region: Region,
}

#[derive(Args)]
struct RunArgs {
    /// A TOML config file (deploy/config/*.toml); flags and LANTERN_* variables override it.
    #[arg(long, env = "LANTERN_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (repeatable; default /ip4/127.0.0.1/tcp/0).
    #[arg(long, env = "LANTERN_LISTEN", value_delimiter = ',')]
    listen: Vec<String>,
    /// A peer to dial at start, `/ip4/…/tcp/…/p2p/…` (repeatable).
    #[arg(long, env = "LANTERN_BOOTSTRAP", value_delimiter = ',')]
    bootstrap: Vec<String>,
    /// Seconds between reconciliations with every connected member (default 60).
    #[arg(long, env = "LANTERN_SYNC_INTERVAL")]
    sync_interval: Option<u64>,
    /// Address of the HTTP API and web UI (default 127.0.0.1:7777; keep it on loopback).
    #[arg(long, env = "LANTERN_API")]
    api: Option<String>,
    /// Find other nodes on the local network by mDNS (off unless set here or in the config).
    #[arg(long, env = "LANTERN_MDNS")]
    mdns: Option<bool>,
}

#[derive(Subcommand)]
enum FederationCmd {
    /// Write a new federation manifest with its founders' member keys.
    Create {
        #[arg(long)]
        name: String,
        /// A founder's member key (hex); repeat for each. This node's own key is added unless --no-self.
        #[arg(long = "founder")]
        founders: Vec<MemberKey>,
        #[arg(long)]
        no_self: bool,
        #[arg(long, default_value_t = Policy::default().vouches_needed)]
        vouches_needed: u16,
        /// Smallest group of distinct operators a figure may show.
        #[arg(long, default_value_t = Policy::default().k_threshold)]
        k: u16,
        /// Where to write it (default: the data dir, installing it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the installed manifest and its federation id.
    Show,
    /// Install a manifest file into the data dir.
    Join { file: PathBuf },
}

#[derive(Subcommand)]
enum CaseCmd {
    /// Add a private case from a TOML or JSON file.
    Add { file: PathBuf },
    /// List private cases.
    List,
    /// Show one private case in full.
    Show { id: u64 },
}

#[derive(Subcommand)]
enum RecordsCmd {
    /// List records in arrival order.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this arrival number (for paging).
        #[arg(long)]
        after: Option<u64>,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Show one record, decoded.
    Show { id: RecordId },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Generate signed summaries, then measure verification and ingest.
    Ingest {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long, default_value_t = 1_000)]
        authors: usize,
        /// Where to put the benchmark store (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Catch-up of a fresh node from one peer over loopback, next to ingest alone.
    Sync {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Publish-to-stored latency across a federation of nodes in one process.
    Propagation {
        #[arg(long, default_value_t = 20)]
        nodes: usize,
        #[arg(long, default_value_t = 100)]
        messages: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Pattern engine: update cost next to ingest, rebuild time, memory, query latencies.
    Patterns {
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        #[arg(long, default_value_t = 1_000)]
        authors: usize,
        /// Runs of each query.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Redaction throughput (MB/s of narrative text, one core).
    Redact {
        /// Megabytes of synthetic narratives to redact.
        #[arg(long, default_value_t = 8)]
        mb: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes the message already quotes.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out.replace('\n', " ")
}

fn init_tracing(format: LogFormat) {
    // kad warns once at start when a node has no peer yet: expected for the first node.
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,libp2p_kad=error".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(|| PathBuf::from("lantern-data"));
    let dir = || DataDir::existing(&data_dir);
    if remote_cmd::routable(&cli.command) && remote_cmd::node_running(&data_dir)? {
        let remote = lantern_node::remote::Remote::of(&data_dir)?;
        return remote_cmd::run(&remote, cli.command);
    }
    match cli.command {
        Command::Init(args) => init(&data_dir, args),
        Command::Demo { members, cases, seed, dir, api } => demo(members, cases, seed, dir, api),
        Command::Info => info(&dir()?),
        Command::Backup { dir: to } => {
            let bar = entries_bar("backing up");
            let n = lantern_node::backup::backup(&dir()?, &to, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            eprintln!("backed up {n} store entries and the keys into {}", to.display());
            Ok(())
        }
        Command::Restore { dir: from } => {
            let bar = entries_bar("checking the backup");
            lantern_node::backup::restore(&from, &data_dir, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            eprintln!("restored {} from {}", data_dir.display(), from.display());
            Ok(())
        }
        Command::Federation(cmd) => federation(&data_dir, cmd),
        Command::Case(cmd) => case(&dir()?, cmd),
        Command::Publish { case_id, omit_narrative } => {
            let dir = dir()?;
            let store = dir.open_store()?;
            let narrative = if omit_narrative { Narrative::Omit } else { Narrative::Redact };
            let rec = publish::publish(
                &store,
                &dir.member_key()?,
                &dir.config()?,
                case_id,
                lantern_node::this_month(),
                narrative,
            )?;
            println!("{}", rec.id());
            eprintln!(
                "published case {case_id} as record {} ({}, sequence {})",
                rec.id().short(),
                rec.envelope().body.kind(),
                rec.sequence()
            );
            Ok(())
        }
        Command::Retract { case_id, reason } => {
            let dir = dir()?;
            let store = dir.open_store()?;
            let rec = publish::retract(&store, &dir.member_key()?, case_id, lantern_node::this_month(), reason)?;
            println!("{}", rec.id());
            Ok(())
        }
        Command::Purge { case_id, reason } => {
            let dir = dir()?;
            let store = dir.open_store()?;
            let rec = publish::purge(&store, &dir.member_key()?, case_id, lantern_node::this_month(), reason)?;
            println!("{}", rec.id());
            eprintln!("purged case {case_id}: peers delete its summaries when the purge reaches them");
            Ok(())
        }
        Command::Records(cmd) => records(&dir()?, cmd),
        Command::Export { out } => {
            let store = dir()?.open_store()?;
            let count = match out {
                Some(path) => {
                    let mut w = BufWriter::new(
                        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
                    );
                    let n = exchange::export(&store, &mut w)?;
                    w.flush()?;
                    n
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = BufWriter::new(stdout.lock());
                    let n = exchange::export(&store, &mut w)?;
                    w.flush()?;
                    n
                }
            };
            eprintln!("exported {count} records");
            Ok(())
        }
        Command::Import { file } => {
            let federation = dir()?.federation()?;
            let mut input = BufReader::new(open(&file)?);
            let tty = std::io::stderr().is_terminal();
            let report = exchange::import(&federation, &mut input, |lines| {
                if tty {
                    eprint!("\rimported {lines} lines");
                }
            })?;
            if tty {
                eprintln!();
            }
            print_report("import", &report);
            if report.rejected > 0 {
                bail!("{} of {} records rejected", report.rejected, report.lines);
            }
            Ok(())
        }
        Command::Verify { file, manifest } => {
            let manifest = match manifest {
                Some(path) => datadir::read_manifest(&path)?,
                None => dir()?.manifest()?,
            };
            let report = exchange::verify(&VerifyContext::for_manifest(&manifest), &mut BufReader::new(open(&file)?))?;
            print_report("verify", &report);
            if report.rejected > 0 {
                bail!("{} of {} records failed verification", report.rejected, report.lines);
            }
            Ok(())
        }
        Command::Run(args) => run_node(cli.data_dir.clone(), args),
        Command::Vouch { member, withdraw } => {
            let federation = dir()?.federation()?;
            let record = federation.vouch(member, !withdraw)?;
            println!("{}", record.id());
            Ok(())
        }
        Command::Revoke { successor } => {
            let record = dir()?.federation()?.revoke(successor)?;
            println!("{}", record.id());
            eprintln!("revoked this member key; the record reaches the federation on the node's next sync");
            Ok(())
        }
        Command::Redact { jsonl } => {
            // The member's declared identifiers, when this runs beside a node.
            let declared = DataDir::existing(&data_dir).ok().map(|d| d.config()).transpose()?.map(|c| c.identifiers);
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            if jsonl {
                redact_cmd::jsonl(&mut stdin.lock(), &mut out, declared.as_ref())?;
            } else {
                redact_cmd::plain(&mut stdin.lock(), &mut out, declared.as_ref())?;
            }
            out.flush()?;
            Ok(())
        }
        Command::Patterns(args) => patterns_cmd::run(&dir()?, args),
        Command::Token(cmd) => {
            let dir = dir()?;
            match cmd {
                TokenCmd::Show => println!("{}", lantern_node::tokens::member_token(dir.root())?),
                TokenCmd::Analyst { name } => println!("{}", lantern_node::tokens::issue_analyst(dir.root(), &name)?),
                TokenCmd::Revoke { name } => {
                    if !lantern_node::tokens::revoke_analyst(dir.root(), &name)? {
                        bail!("no analyst token named `{name}`");
                    }
                    eprintln!("revoked analyst token `{name}`; restart the node to apply");
                }
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Sync { records, dir }) => {
            let tmp = tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench_net::sync(records, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            println!("{}", serde_json::to_string_pretty(&r?)?);
            Ok(())
        }
        Command::Bench(BenchCmd::Propagation { nodes, messages, dir }) => {
            anyhow::ensure!(nodes >= 2, "--nodes must be at least 2");
            let tmp = tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench_net::propagation(nodes, messages, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            println!("{}", serde_json::to_string_pretty(&r?)?);
            Ok(())
        }
        Command::Bench(BenchCmd::Patterns { records, authors, runs, dir, json }) => {
            anyhow::ensure!(records > 0 && runs > 0, "--records and --runs must be positive");
            let tmp = tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench_patterns::run(records, authors, runs, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            let r = r?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?)
            } else {
                print!("{}", r.table())
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Redact { mb }) => {
            let r = lantern_node::bench::redact(mb);
            println!(
                "text                    {:.1} MiB in {:.0}-byte narratives",
                r.bytes as f64 / 1048576.0,
                r.bytes as f64 / (r.narratives_per_sec * r.bytes as f64 / (r.redact_mb_per_sec * 1048576.0))
            );
            println!("regex scan (\\d+)        {:>8.1} MB/s   (baseline)", r.regex_scan_mb_per_sec);
            println!(
                "redaction               {:>8.1} MB/s   ({:.0} narratives/s)",
                r.redact_mb_per_sec, r.narratives_per_sec
            );
            println!("redaction / scan        {:.3}", r.redact_vs_scan);
            println!("one 4 000-byte narrative {:>7.2} ms", r.ms_per_4000_byte_narrative);
            println!("word lists, loaded once {:>8.1} ms", r.word_lists_load_ms);
            Ok(())
        }
        Command::Bench(BenchCmd::Ingest { records, authors, dir, json }) => {
            let tmp = tempdir_in(dir.as_deref())?;
            let report = lantern_node::bench::ingest(records, authors, &tmp, |msg| eprintln!("bench: {msg}"))?;
            std::fs::remove_dir_all(&tmp).ok();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            Ok(())
        }
    }
}

/// Commands acting through a running node's API (the node owns the store while it runs).
mod remote_cmd {
    use std::path::Path;

    use anyhow::{Result, bail};
    use lantern_node::case::PrivateCase;
    use lantern_node::datadir::{DataDir, DataDirError};
    use lantern_node::remote::{Remote, query};
    use serde_json::{Value, json};

    use super::{CaseCmd, Command, PatternsArgs, PatternsCmd, RecordsCmd};

    pub fn routable(command: &Command) -> bool {
        matches!(
            command,
            Command::Case(_)
                | Command::Publish { .. }
                | Command::Retract { .. }
                | Command::Purge { .. }
                | Command::Records(_)
                | Command::Vouch { .. }
                | Command::Patterns(_)
                | Command::Info
        )
    }

    /// Whether a running node holds the store of the data dir at `root`.
    pub fn node_running(root: &Path) -> Result<bool> {
        let Ok(dir) = DataDir::existing(root) else { return Ok(false) };
        match dir.open_store() {
            Err(DataDirError::InUse(_)) => Ok(true),
            _ => Ok(false),
        }
    }

    fn print_json(v: &Value) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }

    pub fn run(remote: &Remote, command: Command) -> Result<()> {
        eprintln!("(through the running node's API)");
        match command {
            Command::Case(CaseCmd::Add { file }) => {
                let mut case = PrivateCase::from_file(&file)?;
                case.salt_evidence();
                println!("{}", remote.post("/cases", &serde_json::to_value(&case)?)?["id"]);
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
            Command::Publish { case_id, omit_narrative } => {
                let r =
                    remote.post(&format!("/cases/{case_id}/publish"), &json!({"omit_narrative": omit_narrative}))?;
                println!("{}", r["record"].as_str().unwrap_or_default());
                eprintln!(
                    "published case {case_id} ({}, sequence {})",
                    r["kind"].as_str().unwrap_or(""),
                    r["sequence"]
                );
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
                let q =
                    query(&[("limit", Some(limit.clamp(1, 500).to_string())), ("after", after.map(|a| a.to_string()))]);
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
            Command::Records(RecordsCmd::Show { id }) => {
                print_json(&remote.get(&format!("/records/{id}"))?["envelope"])?
            }
            Command::Vouch { member, withdraw } => {
                let r = remote.post("/vouches", &json!({"member": member.to_hex(), "withdraw": withdraw}))?;
                println!("{}", r["record"].as_str().unwrap_or_default());
            }
            Command::Info => print_json(&remote.get("/node")?)?,
            Command::Patterns(args) => patterns(remote, args)?,
            _ => bail!("this command cannot act through a running node; stop the node first"),
        }
        Ok(())
    }

    fn patterns(remote: &Remote, args: PatternsArgs) -> Result<()> {
        let format = Some(if args.json { "json" } else { "csv" }.to_string());
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
        // Similar answers JSON only; the rest CSV unless --json.
        print!("{}", remote.get_text(&path)?);
        if !args.json && matches!(args.query, PatternsCmd::Similar { .. }) {
            println!();
        }
        Ok(())
    }
}

mod patterns_cmd {
    use anyhow::Result;
    use lantern_node::datadir::DataDir;
    use lantern_node::patterns::emerging::Windows;
    use lantern_node::patterns::query::{Period, Scope};
    use lantern_node::patterns::report;
    use lantern_node::table::Table;
    use serde::Serialize;

    use super::{PatternsArgs, PatternsCmd, ScopeArgs};

    fn scope(args: &ScopeArgs) -> Result<Scope> {
        let period = match &args.period {
            Some(p) => p.parse()?,
            None => Period::year_to(lantern_node::this_month()),
        };
        let filter = args.filter.as_deref().map(str::parse).transpose()?;
        Ok(Scope { period, filter })
    }

    fn print<T: Serialize>(
        args: &PatternsArgs,
        answer: &T,
        table: impl Fn(bool) -> Table,
        footer: String,
    ) -> Result<()> {
        if args.json {
            println!("{}", serde_json::to_string_pretty(answer)?);
        } else if args.csv {
            print!("{}", table(true).csv());
        } else {
            let t = table(false);
            if t.is_empty() {
                println!("(nothing to show)")
            } else {
                print!("{}", t.text())
            }
            println!("{footer}");
        }
        Ok(())
    }

    pub fn run(dir: &DataDir, args: PatternsArgs) -> Result<()> {
        let federation = dir.federation()?;
        let k = usize::from(federation.manifest().policy.k_threshold);
        let rule = format!("groups of fewer than {k} operators are suppressed");
        match &args.query {
            PatternsCmd::Matrix(s) => {
                let scope = scope(s)?;
                let m = federation.with_patterns(|p| p.matrix(scope))?;
                let hidden = m.cells.iter().filter(|c| c.figure.suppressed).count();
                let footer = format!("{}: {hidden} of {} groups suppressed ({rule})", m.period, m.cells.len());
                print(&args, &m, |all| report::matrix(&m, all), footer)
            }
            PatternsCmd::Trends { scope: s, by, step } => {
                let scope = scope(s)?;
                let t = federation.with_patterns(|p| p.trends(scope, *by, *step))?;
                print(&args, &t, |all| report::trends(&t, all), format!("{}: {rule}", t.period))
            }
            PatternsCmd::Emerging { until, recent, baseline } => {
                let until = until.unwrap_or_else(lantern_node::this_month);
                let windows = Windows { recent: *recent, baseline: *baseline };
                let e = federation.with_patterns(|p| p.emerging(until, windows))?;
                let footer = format!(
                    "last {} months to {} against the {} before; p < {:.1e}; {rule}",
                    e.recent_months, e.until, e.baseline_months, e.threshold
                );
                print(&args, &e, |_| report::emerging(&e), footer)
            }
            PatternsCmd::Durations { period } => {
                let scope = scope(&ScopeArgs { period: period.clone(), filter: None })?;
                let d = federation.with_patterns(|p| p.durations(scope.period))?;
                print(&args, &d, |_| report::durations(&d), format!("{}: {rule}", d.period))
            }
            PatternsCmd::Cooccurrence { period, registry } => {
                let scope = scope(&ScopeArgs { period: period.clone(), filter: None })?;
                let c = federation.with_patterns(|p| p.co_occurrence(scope.period, *registry))?;
                print(&args, &c, |_| report::co_occurrence(&c), format!("{}: {rule}", c.period))
            }
            PatternsCmd::Similar { case_id, limit } => {
                let s = federation.similar_to(*case_id, *limit)?;
                let footer = match s.operators {
                    Some(n) => format!("{n} operators published cases like yours (score >= {})", s.like_score),
                    None => format!("fewer than {k} operators published cases like yours (score >= {})", s.like_score),
                };
                print(&args, &s, |_| report::similar(&s), footer)
            }
        }
    }
}

mod redact_cmd {
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
            let out_line =
                Out { id: &item.id, redacted: result.text, source: result.source, findings: result.findings };
            serde_json::to_writer(&mut *out, &out_line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn run_node(data_dir: Option<PathBuf>, args: RunArgs) -> Result<()> {
    use lantern_node::config::RunConfig;
    let file = match &args.config {
        Some(path) => RunConfig::load(path)?,
        None => RunConfig::default(),
    };
    let flags = RunConfig {
        data_dir,
        listen: Some(args.listen),
        bootstrap: Some(args.bootstrap),
        api: args.api,
        sync_interval_secs: args.sync_interval,
        max_peers: None,
        mdns: args.mdns,
    };
    let settings = file.overridden_by(flags).resolve()?;
    let dir = &DataDir::existing(&settings.data_dir)?;
    let network = lantern_node::network::NetworkConfig {
        listen: settings.listen,
        bootstrap: settings.bootstrap,
        sync_interval: settings.sync_interval,
        max_peers: settings.max_peers,
        mdns: settings.mdns,
        ..Default::default()
    };
    let mut seed = dir.node_key()?.to_bytes();
    let parts = lantern_node::app::NodeParts {
        federation: std::sync::Arc::new(dir.federation()?),
        keypair: libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).context("node key")?,
        config: dir.config()?,
        tokens: lantern_node::tokens::Tokens::load(dir.root())?,
        network,
        api: settings.api,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (node, mut events) = lantern_node::app::start(parts).await?;
        println!("api http://{}", node.api);
        // While this file exists the CLI acts through the API (the store is ours).
        let addr_file = lantern_node::remote::addr_path(dir.root());
        std::fs::write(&addr_file, node.api.to_string())
            .with_context(|| format!("cannot write {}", addr_file.display()))?;
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut progress = CatchUpBars::default();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => progress.show(node.peer, &event),
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => break,
                _ = sigterm.recv() => break,
            }
        }
        eprintln!("shutting down");
        // Bounded: a stuck peer or request must not keep the process alive.
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), node.stop()).await;
        std::fs::remove_file(&addr_file).ok();
        stopped.context("shutdown took over 20 s")??;
        anyhow::Ok(())
    })
}

/// What `lantern run` prints as the network works: addresses, peers, catch-up progress (a bar
/// on a terminal).
#[derive(Default)]
struct CatchUpBars {
    bars: std::collections::HashMap<libp2p::PeerId, indicatif::ProgressBar>,
}

impl CatchUpBars {
    fn show(&mut self, me: libp2p::PeerId, event: &lantern_node::network::NetworkEvent) {
        use lantern_node::network::NetworkEvent;
        match event {
            NetworkEvent::SyncProgress { peer, fetched, remaining } if std::io::stderr().is_terminal() => {
                let bar = self.bars.entry(*peer).or_insert_with(|| {
                    let bar = indicatif::ProgressBar::new(0);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "catching up {prefix} {bar:30} {pos}/{len} records ({per_sec})",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(peer.to_string()[..16].to_string());
                    bar
                });
                bar.set_length((fetched + remaining) as u64);
                bar.set_position(*fetched as u64);
            }
            NetworkEvent::SyncFinished { peer, fetched, .. } => {
                if let Some(bar) = self.bars.remove(peer) {
                    bar.finish_and_clear();
                }
                if *fetched > 0 {
                    eprintln!("caught up with {peer}: {fetched} records");
                }
            }
            NetworkEvent::Listening { address } => println!("{address}/p2p/{me}"),
            NetworkEvent::PeerAuthenticated { peer, member } => {
                eprintln!("connected to {peer} (member {})", member.short())
            }
            event => tracing::debug!(?event, "network"),
        }
    }
}

fn demo(members: usize, cases: usize, seed: u64, dir: Option<PathBuf>, api: std::net::SocketAddr) -> Result<()> {
    use lantern_node::demo;
    let temporary = dir.is_none();
    let root = dir.unwrap_or_else(demo::default_dir);
    let opts = demo::DemoOptions { members, cases, seed, dir: root.clone(), api };
    let dirs = demo::prepare(&opts, &mut |msg| eprintln!("demo: {msg}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let nodes = demo::start(&dirs, api).await?;
        let token = demo::token(dirs[0].root())?;
        let url = format!("http://{}", nodes[0].api);
        println!("api {url}");
        println!(
            "Lantern demo: {} nodes, {members} members, {cases} cases (seed {seed}); data in {}",
            nodes.len(),
            root.display()
        );
        println!("  open   {url}/#token={token}");
        println!("  API    {url}/api/v1 (Authorization: Bearer {token})");
        for (i, n) in nodes.iter().enumerate().skip(1) {
            println!("  node{i}  http://{} (token in {}/node{i}/api.token)", n.api, root.display());
        }
        println!("The nodes catch up with each other over loopback in a few seconds. Ctrl-C stops the demo.");
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
        eprintln!("stopping the demo");
        for node in nodes {
            tokio::time::timeout(std::time::Duration::from_secs(20), node.stop())
                .await
                .context("shutdown took over 20 s")??;
        }
        anyhow::Ok(())
    });
    if temporary {
        std::fs::remove_dir_all(&root).ok();
    }
    result
}

/// A counter of entries on a terminal; hidden otherwise.
fn entries_bar(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} entries ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn tempdir_in(base: Option<&Path>) -> Result<PathBuf> {
    let base = base.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("lantern-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn init(root: &Path, args: InitArgs) -> Result<()> {
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

fn info(dir: &DataDir) -> Result<()> {
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
        }
        Err(e) => println!("federation    none ({e})"),
    }
    Ok(())
}

fn federation(root: &Path, cmd: FederationCmd) -> Result<()> {
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

fn case(dir: &DataDir, cmd: CaseCmd) -> Result<()> {
    let store = dir.open_store()?;
    match cmd {
        CaseCmd::Add { file } => {
            let mut case = PrivateCase::from_file(&file)?;
            case.validate(store.context().max_narrative_bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            case.salt_evidence();
            let id = store.insert_case(&case)?;
            println!("{id}");
            Ok(())
        }
        CaseCmd::List => {
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
            let case = store.case(id)?;
            println!("{}", serde_json::to_string_pretty(&case)?);
            for rid in store.published_for(id)? {
                eprintln!("published as {rid}");
            }
            Ok(())
        }
    }
}

fn records(dir: &DataDir, cmd: RecordsCmd) -> Result<()> {
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
                        r.envelope.author.short(),
                        r.envelope.sequence,
                        r.envelope.body.kind(),
                        r.envelope.created
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
            let env = signed::open_stored(&bytes)?;
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

fn print_report(what: &str, r: &exchange::Report) {
    eprintln!(
        "{what}: {} lines, {} valid, {} stored, {} duplicates, {} equivocations, {} purged, {} gaps, {} rejected",
        r.lines, r.valid, r.stored, r.duplicates, r.equivocations, r.purged, r.gaps, r.rejected
    );
    for (line, reason) in &r.rejections {
        eprintln!("  line {line}: {reason}");
    }
}
