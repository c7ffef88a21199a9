//! Getting the private cases out of a store that no longer opens: they exist nowhere else, so
//! this reads the `cases` tree alone, without the consistency checks of [`Store::open`] (a
//! damaged record index must not hold them hostage).

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{StoreError, be_u64, open_db};
use crate::case::PrivateCase;

/// What an export of the private cases wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CasesExported {
    pub written: usize,
    /// Cases whose stored bytes are not a case any more (their ids, for the operator).
    pub unreadable: Vec<u64>,
}

#[derive(Serialize)]
struct Line<'a> {
    id: u64,
    case: &'a PrivateCase,
}

/// Writes every private case of the store at `dir` as a JSON line `{"id", "case"}`.
pub fn export_cases(dir: &Path, out: &mut dyn Write) -> Result<CasesExported, StoreError> {
    let db = open_db(dir)?;
    let cases = db.open_tree("cases")?;
    let mut done = CasesExported::default();
    for entry in cases.iter() {
        let (key, value) = entry?;
        let id = be_u64(&key)?;
        match serde_json::from_slice::<PrivateCase>(&value) {
            Ok(case) => {
                serde_json::to_writer(&mut *out, &Line { id, case: &case }).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
                done.written += 1;
            }
            Err(_) => done.unreadable.push(id),
        }
    }
    out.flush()?;
    Ok(done)
}
