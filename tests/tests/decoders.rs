//! The fuzz targets of `tests/fuzz` (every decoder that reads outside bytes), run in the test
//! suite: on every committed corpus and regression input, and on generated and mutated bytes.
//! The coverage-guided runs themselves are `cargo +nightly fuzz run` (docs/fuzzing.md); this
//! keeps what they found fixed. `LANTERN_BLESS=1` writes the seed inputs into the corpus.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use proptest::prelude::*;

fn target(name: &str) -> targets::Target {
    targets::TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f).expect("a target of that name")
}

#[test]
fn every_committed_input_and_seed_decodes_without_a_panic() {
    let fuzz = targets::repo().join("tests/fuzz");
    let seeds = targets::seeds();
    if std::env::var_os("LANTERN_BLESS").is_some() {
        for (i, (name, bytes)) in seeds.iter().enumerate() {
            let dir = fuzz.join("corpus").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("seed-{i:02}")), bytes).unwrap();
        }
    }
    for (name, bytes) in &seeds {
        target(name)(bytes);
    }
    let mut ran = 0;
    for (name, run) in targets::TARGETS {
        for kind in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(name)) else { continue };
            for entry in entries {
                run(&std::fs::read(entry.unwrap().path()).unwrap());
                ran += 1;
            }
        }
    }
    assert!(ran >= targets::TARGETS.len(), "the committed corpus is there ({ran} inputs)");
}

/// A seed of the target with some bytes changed, inserted or cut: where decoders break.
fn mutated(name: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = targets::seeds().into_iter().filter(|(n, _)| *n == name).map(|(_, b)| b).collect();
    let seeds = if seeds.is_empty() { vec![Vec::new()] } else { seeds };
    (0..seeds.len(), proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8)).prop_map(
        move |(i, edits)| {
            let mut bytes = seeds[i].clone();
            for (at, byte, op) in edits {
                let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
                match op {
                    0 if !bytes.is_empty() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => bytes.truncate(at),
                }
            }
            bytes
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (_, run) in targets::TARGETS {
            run(&bytes);
        }
    }

    #[test]
    fn mutated_records_never_panic(bytes in mutated("signed_record")) {
        target("signed_record")(&bytes);
        target("any_record")(&bytes);
    }

    #[test]
    fn mutated_frames_never_panic(bytes in mutated("sync_frame")) {
        target("sync_frame")(&bytes);
        target("hello_frame")(&bytes);
    }

    #[test]
    fn mutated_manifests_imports_cases_and_configs_never_panic(
        manifest in mutated("manifest"),
        import in mutated("import_lines"),
        case in mutated("case_file"),
        config in mutated("config"),
    ) {
        target("manifest")(&manifest);
        target("import_lines")(&import);
        target("case_file")(&case);
        target("config")(&config);
    }
}
