//! The `lantern` CLI as a user runs it: one process per command, a real data dir on disk.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

fn lantern(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lantern")).arg("--data-dir").arg(dir).args(args).output().expect("lantern runs")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The one-line error of a failed command.
fn err(out: Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "expected one error line: {stderr}");
    lines[0].to_string()
}

fn node() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init", "--org-type", "hosting provider", "--region", "Europe"]));
    ok(lantern(&dir, &["federation", "create", "--name", "test"]));
    (tmp, dir)
}

#[test]
fn init_writes_private_keys_and_refuses_to_overwrite_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let member = ok(lantern(&dir, &["init"]));
    assert_eq!(member.trim().len(), 64);
    for key in ["member.key", "node.key"] {
        assert_eq!(std::fs::metadata(dir.join(key)).unwrap().permissions().mode() & 0o777, 0o600, "{key}");
    }
    let before = std::fs::read(dir.join("member.key")).unwrap();
    assert!(err(lantern(&dir, &["init"])).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(dir.join("member.key")).unwrap(), before);
}

#[test]
fn example_cases_are_valid_and_publishable() {
    let (_tmp, dir) = node();
    for file in ["case.toml", "case.json"] {
        let id = ok(lantern(&dir, &["case", "add", examples().join(file).to_str().unwrap()]));
        let record = ok(lantern(&dir, &["publish", id.trim(), "--omit-narrative"]));
        assert_eq!(record.trim().len(), 64, "{file}");
    }
    let list = ok(lantern(&dir, &["records", "list", "--json"]));
    assert_eq!(list.lines().count(), 2);
    assert!(!list.contains("185.53.244") && !list.contains("64496"), "resources leaked: {list}");
}

#[test]
fn publishing_again_amends_and_retraction_is_final() {
    let (_tmp, dir) = node();
    let id = ok(lantern(&dir, &["case", "add", examples().join("case.json").to_str().unwrap()]));
    let id = id.trim();
    let first = ok(lantern(&dir, &["publish", id, "--omit-narrative"]));
    let second = ok(lantern(&dir, &["publish", id, "--omit-narrative"]));
    let shown = ok(lantern(&dir, &["records", "show", second.trim()]));
    assert!(shown.contains(&format!("\"supersedes\": \"{}\"", first.trim())), "{shown}");
    ok(lantern(&dir, &["retract", id, "--reason", "duplicate"]));
    assert!(err(lantern(&dir, &["publish", id, "--omit-narrative"])).contains("was retracted"));
}

#[test]
fn a_publish_retried_with_its_idempotency_key_signs_once() {
    let (_tmp, dir) = node();
    let id = ok(lantern(&dir, &["case", "add", examples().join("case.json").to_str().unwrap()]));
    let args = ["publish", id.trim(), "--omit-narrative", "--idempotency-key", "retry-7"];
    let (first, again) = (ok(lantern(&dir, &args)), ok(lantern(&dir, &args)));
    assert_eq!(first, again, "the retry answers the first record");
    let list = ok(lantern(&dir, &["records", "list", "--json"]));
    assert_eq!(list.matches("\"summary\"").count(), 1, "{list}");
    assert!(!list.contains("amendment"), "{list}");
    let e = err(lantern(&dir, &["publish", id.trim(), "--idempotency-key", "bad key"]));
    assert!(e.contains("idempotency-key"), "{e}");
}

#[test]
fn published_narrative_is_redacted_with_the_declared_identifiers() {
    let (tmp, dir) = node();
    std::fs::write(
        dir.join("node.toml"),
        "[identifiers]\norg_names = [\"Quillon Data AB\"]\npeople = [\"Oskar Lindqvist\"]\n",
    )
    .unwrap();
    let case = tmp.path().join("case.toml");
    std::fs::write(
        &case,
        "title = \"t\"\nregistry = \"RIPE NCC\"\ncategories = [\"transfer delayed\"]\nopened = \"2025-01-02\"\n\
         narrative = \"On 2025-01-02 oskar of quillon asked RIPE NCC (ticket NCC#2025010212) to transfer 192.0.2.0/24; mail oskar@quillon.se.\"\n",
    )
    .unwrap();
    let id = ok(lantern(&dir, &["case", "add", case.to_str().unwrap()]));
    let record = ok(lantern(&dir, &["publish", id.trim()]));
    let shown = ok(lantern(&dir, &["records", "show", record.trim()])).to_lowercase();
    for secret in ["oskar", "quillon", "2025-01-02", "2025010212", "192.0.2", "quillon.se"] {
        assert!(!shown.contains(secret), "`{secret}` published: {shown}");
    }
    assert!(shown.contains("ripe ncc") && shown.contains("[ipv4 /24 or smaller]"), "{shown}");
}

#[test]
fn publish_refuses_tags_that_identify() {
    let (tmp, dir) = node();
    let case = tmp.path().join("case.json");
    std::fs::write(
        &case,
        r#"{"title": "t", "registry": "ARIN", "categories": ["other"], "opened": "2024-01-01", "tags": ["as64496"]}"#,
    )
    .unwrap();
    let id = ok(lantern(&dir, &["case", "add", case.to_str().unwrap()]));
    assert!(err(lantern(&dir, &["publish", id.trim()])).contains("identifying"));
    assert!(ok(lantern(&dir, &["records", "list", "--json"])).is_empty());
}

#[test]
fn bad_case_files_get_one_line_errors_naming_the_problem() {
    let (tmp, dir) = node();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let malformed = write("bad.toml", "title = \"x\"\nregistry = \n");
    assert!(err(lantern(&dir, &["case", "add", &malformed])).contains("bad.toml:2:"));

    let registry =
        write("reg.json", r#"{"title": "x", "registry": "RIPE", "categories": ["other"], "opened": "2024-01-01"}"#);
    let e = err(lantern(&dir, &["case", "add", &registry]));
    assert!(e.contains("reg.json:1:") && e.contains("unknown registry `RIPE`") && e.contains("RIPE NCC"), "{e}");

    let category =
        write("cat.toml", "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"stolen\"]\nopened = \"2024-01-01\"\n");
    let e = err(lantern(&dir, &["case", "add", &category]));
    assert!(e.contains("unknown incident category `stolen`") && e.contains("transfer delayed"), "{e}");

    let long = format!(
        "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"other\"]\nopened = \"2024-01-01\"\nnarrative = \"{}\"\n",
        "a".repeat(5000)
    );
    let e = err(lantern(&dir, &["case", "add", &write("long.toml", &long)]));
    assert!(e.contains("narrative") && e.contains("limit of 4000"), "{e}");
    assert!(ok(lantern(&dir, &["case", "list"])).lines().count() == 1, "nothing was stored");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (_tmp, dir) = node();
    // The reader is gone before the command writes: every write gets EPIPE (`… | head` that
    // has read what it wanted).
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["info"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "ended by the broken pipe, as Unix tools are: {:?}",
        out.status
    );
}

#[test]
fn missing_data_dir_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let e = err(lantern(&tmp.path().join("nowhere"), &["case", "list"]));
    assert!(e.contains("does not exist") && e.contains("lantern init"), "{e}");
}

#[test]
fn private_cases_can_be_exported_from_a_store_that_no_longer_opens() {
    let (tmp, dir) = node();
    ok(lantern(&dir, &["case", "add", examples().join("case.json").to_str().unwrap()]));
    ok(lantern(&dir, &["case", "add", examples().join("case.toml").to_str().unwrap()]));
    ok(lantern(&dir, &["publish", "1", "--omit-narrative"]));
    // Damage the store's layout mark: the store no longer opens for anything else.
    {
        let db = sled::open(dir.join("store")).unwrap();
        db.open_tree("meta").unwrap().insert("layout", &b"??"[..]).unwrap();
        db.flush().unwrap();
    }
    let e = err(lantern(&dir, &["case", "list"]));
    assert!(e.contains("corrupt entry in tree `meta`"), "{e}");
    let out = tmp.path().join("cases.jsonl");
    ok(lantern(&dir, &["case", "export", "--out", out.to_str().unwrap()]));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["id"].as_u64(), lines[1]["id"].as_u64()), (Some(1), Some(2)));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(examples().join("case.json")).unwrap()).unwrap();
    assert_eq!(lines[0]["case"]["title"], original["title"]);
    // Each line's case is a case file again.
    let one = tmp.path().join("one.json");
    std::fs::write(&one, lines[1]["case"].to_string()).unwrap();
    let (_tmp2, fresh) = node();
    ok(lantern(&fresh, &["case", "add", one.to_str().unwrap()]));
}

/// What a write torn by a full disk leaves (blocks without their index entries, as a 9 MiB tmpfs
/// import produced): the next open rebuilds the index from the block log, keeping every record
/// and every private case, and keeps the damaged copy beside it.
#[test]
fn a_store_whose_index_disagrees_with_its_log_is_rebuilt_at_open() {
    let (_tmp, dir) = node();
    ok(lantern(&dir, &["case", "add", examples().join("case.json").to_str().unwrap()]));
    let record = ok(lantern(&dir, &["publish", "1", "--omit-narrative"]));
    let before = ok(lantern(&dir, &["info"]));
    {
        let db = sled::open(dir.join("store")).unwrap();
        db.open_tree("chains").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let after = ok(lantern(&dir, &["info"]));
    assert_eq!(after, before, "the same records, cases and own chain");
    assert!(ok(lantern(&dir, &["records", "show", record.trim()])).contains(record.trim()));
    assert!(ok(lantern(&dir, &["case", "list"])).contains("published"));
    let copies: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("store.damaged-"))
        .collect();
    assert_eq!(copies.len(), 1, "the damaged store is kept beside the rebuilt one");
    // The next case gets the next id: the case counter came along.
    assert_eq!(ok(lantern(&dir, &["case", "add", examples().join("case.toml").to_str().unwrap()])).trim(), "2");
}

#[test]
fn a_member_whose_purged_summaries_a_rebuild_could_not_restore_still_signs() {
    let (_tmp, dir) = node();
    ok(lantern(&dir, &["case", "add", examples().join("case.json").to_str().unwrap()]));
    ok(lantern(&dir, &["publish", "1", "--omit-narrative"]));
    ok(lantern(&dir, &["purge", "1"]));
    // The index is lost; the rebuild at open finds the purge but not the purged summary's bytes.
    {
        let db = sled::open(dir.join("store")).unwrap();
        db.open_tree("chains").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    ok(lantern(&dir, &["case", "add", examples().join("case.toml").to_str().unwrap()]));
    let record = ok(lantern(&dir, &["publish", "2", "--omit-narrative"]));
    assert_eq!(record.trim().len(), 64, "the member signs on after its purged summary");
}

#[test]
fn lost_keys_are_named_with_their_fix_and_a_node_key_can_be_replaced() {
    let (_tmp, dir) = node();
    let peer = |out: &str| out.lines().find(|l| l.starts_with("peer id")).unwrap().to_string();
    let before = peer(&ok(lantern(&dir, &["info"])));
    std::fs::rename(dir.join("member.key"), dir.join("member.key.away")).unwrap();
    let e = err(lantern(&dir, &["info"]));
    assert!(e.contains("has no member.key") && e.contains("lantern restore"), "{e}");
    std::fs::rename(dir.join("member.key.away"), dir.join("member.key")).unwrap();
    std::fs::remove_file(dir.join("node.key")).unwrap();
    let e = err(lantern(&dir, &["info"]));
    assert!(e.contains("node.key is missing") && e.contains("lantern node-key new"), "{e}");
    ok(lantern(&dir, &["node-key", "new"]));
    let renewed = peer(&ok(lantern(&dir, &["info"])));
    assert_ne!(renewed, before, "a new transport key, a new peer id");
    assert!(err(lantern(&dir, &["node-key", "new"])).contains("refusing to overwrite"));
    ok(lantern(&dir, &["node-key", "new", "--replace"]));
    assert_ne!(peer(&ok(lantern(&dir, &["info"]))), renewed);
}

/// `lantern run --config FILE` refuses to start on a bad config, naming the problem.
#[test]
fn run_refuses_a_bad_config_with_the_documented_message() {
    let (tmp, dir) = node();
    let config = tmp.path().join("lantern.toml");
    let run = |text: &str| {
        std::fs::write(&config, text).unwrap();
        err(lantern(&dir, &["run", "--config", config.to_str().unwrap(), "--api", "127.0.0.1:0"]))
    };
    let e = run("lisen = []\n");
    assert!(e.contains("lantern.toml: line 1: unknown field `lisen`"), "{e}");
    let e = run("bootstrap = [\"192.0.2.1:4001\"]\n");
    assert_eq!(e, "error: bootstrap: `192.0.2.1:4001` is not a multiaddr");
    let e = err(lantern(&dir, &["run", "--api", "localhost"]));
    assert_eq!(e, "error: api: `localhost` is not an IP:PORT address");
    let e = err(lantern(&dir, &["run", "--config", "/nonexistent/lantern.toml"]));
    assert!(e.contains("/nonexistent/lantern.toml: cannot read"), "{e}");
    // A data dir without a manifest, and one whose key file cannot be read.
    let bare = tmp.path().join("bare");
    ok(lantern(&bare, &["init"]));
    let e = err(lantern(&bare, &["run", "--api", "127.0.0.1:0"]));
    assert!(e.contains("no federation manifest"), "{e}");
    std::fs::set_permissions(dir.join("member.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = err(lantern(&dir, &["run", "--api", "127.0.0.1:0"]));
    assert!(e.contains("member.key"), "{e}");
}

#[test]
fn backup_and_restore_give_back_the_same_node() {
    let (tmp, dir) = node();
    let case = examples().join("case.toml");
    ok(lantern(&dir, &["case", "add", case.to_str().unwrap()]));
    ok(lantern(&dir, &["publish", "1"]));
    let backup = tmp.path().join("backup");
    ok(lantern(&dir, &["backup", backup.to_str().unwrap()]));
    let e = err(lantern(&dir, &["backup", backup.to_str().unwrap()]));
    assert!(e.contains("exists already"), "{e}");
    let restored = tmp.path().join("restored");
    ok(lantern(&restored, &["restore", backup.to_str().unwrap()]));
    // The same node, except that it signs again only after catching up: the backup may be older
    // than what it signed since.
    let without_own_chain =
        |s: String| s.lines().filter(|l| !l.starts_with("own chain")).collect::<Vec<_>>().join("\n");
    for args in [&["records", "list", "--json"][..], &["case", "show", "1"], &["info"]] {
        let (a, b) = (ok(lantern(&dir, args)), ok(lantern(&restored, args)));
        let (a, b) = (a.replace(dir.to_str().unwrap(), "D"), b.replace(restored.to_str().unwrap(), "D"));
        assert_eq!(without_own_chain(a), without_own_chain(b), "{args:?}");
    }
    assert!(ok(lantern(&restored, &["info"])).contains("own chain     cannot sign: this store was restored"));
    ok(lantern(&restored, &["case", "add", case.to_str().unwrap()]));
    let e = err(lantern(&restored, &["publish", "2"]));
    assert!(e.contains("caught up with a member"), "{e}");
    assert_eq!(std::fs::read(dir.join("member.key")).unwrap(), std::fs::read(restored.join("member.key")).unwrap());
    let mode = std::fs::metadata(restored.join("member.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A damaged backup is refused, and nothing is created.
    let store = backup.join("store.lantern-backup");
    let mut bytes = std::fs::read(&store).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&store, bytes).unwrap();
    let again = tmp.path().join("again");
    let e = err(lantern(&again, &["restore", backup.to_str().unwrap()]));
    assert!(e.contains("damaged"), "{e}");
    assert!(!again.exists());
}
