//! Schemathesis, all checks, against a real `lantern run`: every request the OpenAPI document
//! allows is accepted (or refused for the node's state, not its shape), every request it forbids is
//! refused, and every answer matches the document. The rules a schema cannot state are told to the
//! fuzzer by `scripts/schemathesis/hooks.py`; its settings are in `scripts/schemathesis/`.

use std::process::Command;

use lantern_tests::process::{run, terminate, wait_api};
use lantern_tests::*;

#[test]
fn schemathesis_finds_no_failure_against_a_running_node() {
    let schemathesis = repo().join("target/test-venv/bin/schemathesis");
    assert!(schemathesis.exists(), "{} is missing: run scripts/install-test-deps.sh", schemathesis.display());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "fuzzed"]));
    let (mut node, lines) = run(&dir, &[]);
    let api = wait_api(&lines);
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    let config = repo().join("scripts/schemathesis");
    let out = Command::new(&schemathesis)
        .current_dir(tmp.path()) // its cache and reports stay out of the repository
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &config)
        .env("LANTERN_TOKEN", token.trim())
        .arg("--no-color")
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .args(["run", &format!("{api}/api/v1/openapi.json"), "--checks", "all", "--seed", "1"])
        .args(["--max-examples", "40"])
        .output()
        .expect("schemathesis runs");
    terminate(&mut node);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis failed:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    let count = |label: &str| {
        let line = report.lines().find_map(|l| l.trim().strip_prefix(label)).expect(label);
        line.rsplit('/').next().unwrap().trim().parse::<usize>().unwrap()
    };
    assert_eq!(count("Tested:"), count("Selected:"), "not every operation was tested:\n{report}");
}
