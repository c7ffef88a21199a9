//! Helpers for the multi-node and end-to-end tests in `tests/tests/`.
//!
//! The tests drive the real `lantern` binary. `cargo test --workspace` builds it (the node
//! crate's own integration tests need it), next to this crate's test executables.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `lantern` binary of this build.
pub fn lantern_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let bin = dir.join("lantern");
    assert!(bin.exists(), "{} is missing: run the tests with `cargo test --workspace`", bin.display());
    bin
}

/// Runs `lantern --data-dir DIR ARGS…`.
pub fn lantern(dir: &Path, args: &[&str]) -> Output {
    Command::new(lantern_bin()).arg("--data-dir").arg(dir).args(args).output().expect("lantern runs")
}

/// Stdout of a command that must succeed.
pub fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Stderr of a command that must fail.
pub fn fails(out: Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).expect("utf-8 output")
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
