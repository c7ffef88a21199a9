//! `deploy/local-federation.sh`, as acceptance checks use it: up, federation.json, down.

use std::process::Command;

use lantern_tests::*;

#[test]
fn local_federation_script_starts_connected_nodes_and_stops_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fed");
    let script = repo().join("deploy/local-federation.sh");
    let up = Command::new("bash")
        .arg(&script)
        .args(["up", "4"])
        .arg(&dir)
        .env("LANTERN_BIN", lantern_bin())
        .output()
        .unwrap();
    assert!(up.status.success(), "up failed: {}", String::from_utf8_lossy(&up.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("federation.json")).unwrap()).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for node in nodes {
        assert!(node["p2p"].as_str().unwrap().starts_with("/ip4/127.0.0.1/tcp/"), "{node}");
        assert_eq!(node["member"].as_str().unwrap().len(), 64);
        assert!(std::path::Path::new(node["data_dir"].as_str().unwrap()).is_dir());
        // Each node serves its API on loopback, with the member token written in federation.json.
        let api = node["api"].as_str().unwrap();
        assert!(api.starts_with("http://127.0.0.1:"), "{node}");
        assert_eq!(http::get(&format!("{api}/api/v1/health"), None).status, 200);
        let token = node["token"].as_str().unwrap();
        let info = http::get(&format!("{api}/api/v1/node"), Some(token));
        assert_eq!(info.status, 200, "{}", info.body);
        assert_eq!(info.json()["member"], node["member"]);
        assert_eq!(http::get(&format!("{api}/api/v1/node"), Some("wrong")).status, 401);
    }
    let pids: Vec<String> =
        (0..4).map(|i| std::fs::read_to_string(dir.join(format!("node{i}.pid"))).unwrap()).collect();
    let down = Command::new("bash").arg(&script).arg("down").arg(&dir).output().unwrap();
    assert!(down.status.success(), "down failed: {}", String::from_utf8_lossy(&down.stderr));
    for pid in pids {
        let alive = Command::new("kill").args(["-0", pid.trim()]).status().unwrap().success();
        assert!(!alive, "node {pid} still running");
    }
    // The vouched-in node 3 is a member everywhere: node 0's store holds both vouches for it.
    let records = ok(lantern(&dir.join("node0"), &["records", "list", "--json", "--limit", "1000"]));
    assert!(records.lines().filter(|l| l.contains("\"kind\":\"vouch\"")).count() >= 2, "{records}");
}
