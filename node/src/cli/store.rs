//! `lantern store check` and `lantern store repair`: a stopped node's store, read whole or
//! rebuilt from its arrival log.

use anyhow::{Result, bail};
use lantern_node::datadir::DataDir;
use lantern_node::store::{check, repair};

use crate::StoreCmd;

pub fn run(dir: &DataDir, cmd: StoreCmd) -> Result<()> {
    let store = dir.store_path();
    if lantern_node::store::in_use(&store) {
        bail!("a running node holds {}: stop it first", store.display());
    }
    if !store.exists() {
        bail!("there is no store at {}", store.display());
    }
    let manifest = dir.manifest()?;
    match cmd {
        StoreCmd::Check => {
            let report = check::check(&store, &manifest)?;
            println!("store     {}", store.display());
            println!(
                "records   {} read whole, {} signatures verified, {} purged slots",
                report.records, report.verified, report.purged
            );
            println!("cases     {}", report.cases);
            if report.is_sound() {
                println!("sound");
                return Ok(());
            }
            for problem in &report.problems {
                println!("problem   {problem}");
            }
            bail!("the store is damaged: `lantern store repair` rebuilds it from its log and keeps the damaged copy")
        }
        StoreCmd::Repair => {
            let rebuilt = repair::rebuild(&store, &manifest)?;
            println!("kept      {} records", rebuilt.records);
            println!("dropped   {} log entries that were not whole records", rebuilt.dropped);
            println!("damaged   {} (delete it once the node runs)", rebuilt.damaged_copy.display());
            Ok(())
        }
    }
}
