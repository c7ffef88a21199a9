//! `lantern`: a federated case-sharing node for network operators.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lantern_node::datadir::{self, DataDir};
use lantern_node::exchange;
use lantern_node::publish::{self, Narrative};
use lantern_node::store::idempotency::Once;
use lantern_protocol::vocab::{OrgSize, OrgType, PurgeReason, Region, RetractionReason};
use lantern_protocol::{MemberKey, Policy, RecordId, VerifyContext};

mod cli;

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
pub enum EvidenceCmd {
    /// Write a proof that a published summary of case CASE_ID committed to the document FILE
    /// (which must be among the case's evidence). The document itself is not in the proof.
    Prove {
        case_id: u64,
        file: PathBuf,
        /// Where to write the proof (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a proof offline against the federation's manifest (the data dir's, or --manifest),
    /// and against the document if given.
    Check {
        proof: PathBuf,
        /// The document the proof is for: its hash must be the proof's.
        #[arg(long)]
        document: Option<PathBuf>,
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum StoreCmd {
    /// Read the whole store of this (stopped) node and say what is wrong with it; changes
    /// nothing. Exits 1 if anything is.
    Check,
    /// Rebuild the store from its arrival log: every whole record verified and stored again, the
    /// private cases and the rest of what exists only here copied over. The damaged store is
    /// kept beside it. The node must be stopped.
    Repair,
}

#[derive(Subcommand)]
pub enum NodeKeyCmd {
    /// Write a fresh node key where one was lost; `--replace` retires the current one.
    New {
        #[arg(long)]
        replace: bool,
    },
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
    /// The node's transport key (not the member key).
    #[command(subcommand)]
    NodeKey(NodeKeyCmd),
    /// Check or repair this node's store.
    #[command(subcommand)]
    Store(StoreCmd),
    /// Prove later that a published summary committed to a document, or check such a proof.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
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
        #[command(flatten)]
        shape: ShapeArgs,
        /// Sign at most once per key: a retry with the same key answers the first record
        /// (e.g. a UUID per intended publish; kept 24 hours).
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<lantern_node::store::idempotency::IdempotencyKey>,
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
        /// A file (JSON lines), or for `--format misp` the feed's directory.
        #[arg(long)]
        out: Option<PathBuf>,
        /// `jsonl`: every record, to import elsewhere; `misp`: a MISP feed of the live summaries;
        /// `stix`: a STIX 2.1 bundle of them.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
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
        /// Sign at most once per key: a retry with the same key answers the first record.
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<lantern_node::store::idempotency::IdempotencyKey>,
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

/// What of a case `lantern publish` sends (docs/patterns.md, "Crowds").
#[derive(Args)]
struct ShapeArgs {
    /// Publish the structured fields only, without the narrative.
    #[arg(long)]
    omit_narrative: bool,
    /// Leave the impact out (unknown customers, downtime and cost; no services): more
    /// operators' summaries then look like this one.
    #[arg(long)]
    omit_impact: bool,
    /// Publish the start as its calendar quarter.
    #[arg(long)]
    start_quarter: bool,
    /// Publish the stages' offsets in whole quarters.
    #[arg(long)]
    offsets_in_quarters: bool,
    /// Sign a new case with the member key, naming this member, instead of anonymously.
    #[arg(long)]
    attributed: bool,
}

impl ShapeArgs {
    fn shape(&self) -> publish::Shape {
        publish::Shape {
            narrative: if self.omit_narrative { Narrative::Omit } else { Narrative::Redact },
            omit_impact: self.omit_impact,
            start_quarter: self.start_quarter,
            offsets_in_quarters: self.offsets_in_quarters,
            attributed: self.attributed,
        }
    }

    /// The same, as the API's publish body.
    fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "omit_narrative": self.omit_narrative,
            "omit_impact": self.omit_impact,
            "start_quarter": self.start_quarter,
            "offsets_in_quarters": self.offsets_in_quarters,
            "attributed": self.attributed,
        })
    }
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print the member token (full access to the API).
    Show,
    /// Issue a token for pattern queries only; it is printed once and only its hash is kept.
    Analyst { name: String },
    /// Revoke an analyst token (a running node picks this up at restart).
    Revoke { name: String },
    /// What analysts asked this node, oldest first.
    Log {
        /// One analyst's queries only.
        #[arg(long)]
        analyst: Option<String>,
        /// The last N entries.
        #[arg(long, default_value_t = 50)]
        last: usize,
        #[arg(long)]
        json: bool,
    },
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
    /// Longest random wait, in seconds, before this member's own anonymous records leave the
    /// node (default 600; 0 sends them at once).
    #[arg(long, env = "LANTERN_RELEASE_DELAY")]
    release_delay: Option<u64>,
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
    Add {
        file: PathBuf,
        /// Add at most once per key: a retry with the same key and file answers the first id.
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<lantern_node::store::idempotency::IdempotencyKey>,
    },
    /// List private cases.
    List,
    /// Show one private case in full.
    Show { id: u64 },
    /// Write every private case as JSON lines `{"id", "case"}` (to stdout or --out), even from a
    /// store that no longer opens for anything else. The node must be stopped.
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Misp,
    Stix,
    /// The registry × category matrix of the last 12 months as a STIX report of observed data.
    StixPatterns,
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
        /// Anonymous summaries over a ring of this many members instead of key-signed ones.
        #[arg(long)]
        anonymous_members: Option<usize>,
        /// Keeps the anonymous records made (proving takes long) for the next run.
        #[arg(long, requires = "anonymous_members")]
        cache: Option<PathBuf>,
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
    /// Who can tell where a record came from: first-heard-from estimators (one spy, a coalition
    /// of a fifth of the nodes) for released records next to records gossiped at once.
    Origin {
        #[arg(long, default_value_t = 20)]
        nodes: usize,
        #[arg(long, default_value_t = 200)]
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
    /// Utility at realistic density: the share of cases the default dashboard represents, for
    /// synthetic federations of 10, 20, 50 and 200 operators (about 3 cases each a year).
    Utility {
        /// Federations averaged per size.
        #[arg(long, default_value_t = 20)]
        federations: u64,
        /// The last month of the twelve the dashboard shows (default: this month).
        #[arg(long)]
        last: Option<lantern_protocol::Month>,
        #[arg(long)]
        json: bool,
    },
    /// Anonymous authorship: proof size, proving and verifying at 50, 512 and 5 000 members, and
    /// the node's verification of anonymous records next to the library's batch verification.
    Anonymous {
        /// Anonymous summaries at 50 members (half as many at 512, an eighth at 5 000).
        #[arg(long, default_value_t = 1024)]
        records: usize,
        /// Where to put the benchmark stores (default: a temporary directory).
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
    // A command whose output is piped into `head` ends quietly when the reader goes, as Unix
    // tools do (Rust ignores SIGPIPE, so println! would panic). Not the node itself: its sockets
    // must never kill it.
    if !matches!(cli.command, Command::Run(_) | Command::Demo { .. }) {
        // SAFETY: restoring the default disposition of one signal, before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
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
    if cli::remote::routable(&cli.command) && cli::remote::node_running(&data_dir)? {
        let remote = lantern_node::remote::Remote::of(&data_dir)?;
        return cli::remote::run(&remote, cli.command);
    }
    match cli.command {
        Command::Init(args) => cli::local::init(&data_dir, args),
        Command::Demo { members, cases, seed, dir, api } => cli::node::demo(members, cases, seed, dir, api),
        Command::Info => cli::local::info(&dir()?),
        Command::NodeKey(NodeKeyCmd::New { replace }) => {
            let dir = dir()?;
            dir.new_node_key(replace)?;
            eprintln!(
                "wrote a new node key to {}; the node binds it to your member at its next start",
                dir.node_key_path().display()
            );
            Ok(())
        }
        Command::Backup { dir: to } => {
            let bar = cli::node::entries_bar("backing up");
            let n = lantern_node::backup::backup(&dir()?, &to, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            eprintln!("backed up {n} store entries and the keys into {}", to.display());
            Ok(())
        }
        Command::Restore { dir: from } => {
            let bar = cli::node::entries_bar("checking the backup");
            lantern_node::backup::restore(&from, &data_dir, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            eprintln!("restored {} from {}", data_dir.display(), from.display());
            Ok(())
        }
        Command::Federation(cmd) => cli::local::federation(&data_dir, cmd),
        Command::Case(cmd) => cli::local::case(&dir()?, cmd),
        Command::Store(cmd) => cli::store::run(&dir()?, cmd),
        Command::Evidence(cmd) => cli::evidence::run(&data_dir, cmd),
        Command::Publish { case_id, shape, idempotency_key } => {
            let dir = dir()?;
            let federation = dir.federation()?;
            let store = federation.store();
            let shape = shape.shape();
            let config = dir.config()?;
            let choice = federation.profile_to_publish(&config)?;
            eprintln!("profile published at level `{}` (shared by {} other members)", choice.level, choice.members);
            let sign = || federation.publish(&config, case_id, shape);
            let (id, kind, sequence) = match idempotency_key {
                None => {
                    let rec = sign()?;
                    (rec.id(), rec.kind().to_string(), rec.sequence())
                }
                Some(k) => match store.sign_once(&k, publish::request(case_id, shape, false).as_bytes(), sign)? {
                    Once::Signed(rec) => (rec.id(), rec.kind().to_string(), rec.sequence()),
                    Once::Again(first) => (first.record, first.kind, first.sequence),
                },
            };
            println!("{id}");
            let signed = match sequence {
                Some(s) => format!("signed with the member key, sequence {s}"),
                None => "anonymous: signed by some current member".into(),
            };
            eprintln!("published case {case_id} as record {} ({kind}, {signed})", id.short());
            Ok(())
        }
        Command::Retract { case_id, reason } => {
            let rec = dir()?.federation()?.retract(case_id, reason)?;
            println!("{}", rec.id());
            Ok(())
        }
        Command::Purge { case_id, reason } => {
            let rec = dir()?.federation()?.purge(case_id, reason)?;
            println!("{}", rec.id());
            eprintln!("purged case {case_id}: peers delete its summaries when the purge reaches them");
            Ok(())
        }
        Command::Records(cmd) => cli::local::records(&dir()?, cmd),
        Command::Export { out, format: ExportFormat::Misp } => {
            let out = out.context("--format misp needs --out DIR: the feed is a directory")?;
            let federation = dir()?.federation()?;
            let events = lantern_node::interop::misp::write_feed(&federation, &out)?;
            eprintln!("{events} events in the MISP feed at {}", out.display());
            Ok(())
        }
        Command::Export { out, format: format @ (ExportFormat::Stix | ExportFormat::StixPatterns) } => {
            let federation = dir()?.federation()?;
            let bundle = match format {
                ExportFormat::Stix => lantern_node::interop::stix::bundle(&federation)?,
                _ => {
                    let period = lantern_node::patterns::query::Period::year_to(lantern_node::this_month());
                    lantern_node::interop::stix_patterns::bundle(&federation, period)?
                }
            };
            let bytes = lantern_node::interop::misp::pretty(&bundle)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?
                }
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
            Ok(())
        }
        Command::Export { out, format: ExportFormat::Jsonl } => {
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
            let mut input = BufReader::new(cli::local::open(&file)?);
            let tty = std::io::stderr().is_terminal();
            let report = exchange::import(&federation, &mut input, |lines| {
                if tty {
                    eprint!("\rimported {lines} lines");
                }
            })?;
            if tty {
                eprintln!();
            }
            cli::local::print_report("import", &report);
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
            let report = exchange::verify(
                &VerifyContext::for_manifest(&manifest),
                &mut BufReader::new(cli::local::open(&file)?),
            )?;
            cli::local::print_report("verify", &report);
            if report.rejected > 0 {
                bail!("{} of {} records failed verification", report.rejected, report.lines);
            }
            Ok(())
        }
        Command::Run(args) => cli::node::run_node(cli.data_dir.clone(), args),
        Command::Vouch { member, withdraw, idempotency_key } => {
            let federation = dir()?.federation()?;
            let id = match idempotency_key {
                None => federation.vouch(member, !withdraw)?.id(),
                Some(key) => {
                    let request = lantern_node::publish::vouch_request(&member, withdraw);
                    let sign = || federation.vouch(member, !withdraw).map(lantern_node::publish::Made::Signed);
                    match federation.store().sign_once(&key, request.as_bytes(), sign)? {
                        Once::Signed(record) => record.id(),
                        Once::Again(first) => first.record,
                    }
                }
            };
            println!("{id}");
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
                cli::redact::jsonl(&mut stdin.lock(), &mut out, declared.as_ref())?;
            } else {
                cli::redact::plain(&mut stdin.lock(), &mut out, declared.as_ref())?;
            }
            out.flush()?;
            Ok(())
        }
        Command::Patterns(args) => cli::patterns::run(&dir()?, args),
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
                TokenCmd::Log { analyst, last, json } => {
                    let entries = lantern_node::query_log::read(dir.root(), analyst.as_deref(), last)?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&entries)?);
                    } else {
                        print!("{}", lantern_node::query_log::table(&entries));
                    }
                }
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Sync { records, anonymous_members, cache, dir }) => {
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
            let say = |msg: &str| eprintln!("bench: {msg}");
            let r = match anonymous_members {
                Some(members) => {
                    lantern_node::bench::net::sync_anonymous(members, records, cache.as_deref(), &tmp, say)
                }
                None => lantern_node::bench::net::sync(records, &tmp, say),
            };
            std::fs::remove_dir_all(&tmp).ok();
            println!("{}", serde_json::to_string_pretty(&r?)?);
            Ok(())
        }
        Command::Bench(BenchCmd::Propagation { nodes, messages, dir }) => {
            anyhow::ensure!(nodes >= 2, "--nodes must be at least 2");
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench::net::propagation(nodes, messages, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            println!("{}", serde_json::to_string_pretty(&r?)?);
            Ok(())
        }
        Command::Bench(BenchCmd::Origin { nodes, messages, dir }) => {
            anyhow::ensure!(nodes >= 5, "--nodes must be at least 5");
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench::net::origin(nodes, messages, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            println!("{}", serde_json::to_string_pretty(&r?)?);
            Ok(())
        }
        Command::Bench(BenchCmd::Patterns { records, authors, runs, dir, json }) => {
            anyhow::ensure!(records > 0 && runs > 0, "--records and --runs must be positive");
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
            let r = lantern_node::bench::patterns::run(records, authors, runs, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            let r = r?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?)
            } else {
                print!("{}", r.table())
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Utility { federations, last, json }) => {
            anyhow::ensure!(federations > 0, "--federations must be positive");
            let last = last.unwrap_or_else(lantern_node::this_month);
            let rows: Vec<_> = [10, 20, 50, 200]
                .into_iter()
                .map(|n| lantern_node::patterns::utility::measure(n, federations, last))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?)
            } else {
                print!("{}", lantern_node::patterns::utility::table(&rows))
            }
            Ok(())
        }
        Command::Bench(BenchCmd::Anonymous { records, dir, json }) => {
            anyhow::ensure!(records > 0, "--records must be positive");
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
            let rows = lantern_node::bench::anonymous::run(records, &tmp, |msg| eprintln!("bench: {msg}"));
            std::fs::remove_dir_all(&tmp).ok();
            let rows = rows?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?)
            } else {
                print!("{}", lantern_node::bench::anonymous::table(&rows));
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
            let tmp = cli::local::tempdir_in(dir.as_deref())?;
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
