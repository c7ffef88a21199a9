//! Every endpoint in-process (`oneshot`), on a real store: successes, errors and auth.

use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode, header};
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::vocab::{Category, Registry};
use lantern_protocol::{Manifest, Policy, VerifyContext, signed};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AppState, auth, router};
use crate::datadir::NodeConfig;
use crate::federation::Federation;
use crate::metrics::Metrics;
use crate::status::NodeStatus;
use crate::store::Store;
use crate::tokens::Tokens;

const MEMBER: &str = "member-token";
const ANALYST: &str = "analyst-token";

struct Node {
    _dir: tempfile::TempDir,
    state: AppState,
}

/// A node whose federation has six other founders, each with summaries in RIPE × transfer delayed.
fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let me = SigningKey::from_bytes(&[1; 32]);
    let others: Vec<SigningKey> = (2..8u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let founders = std::iter::once(&me).chain(&others).map(signed::member_key).collect();
    let manifest = Manifest::new("api-test", "2024-01".parse().unwrap(), founders, Policy::default());
    let store = Store::open(dir.path(), &manifest).unwrap();
    let fed = Federation::new(store, manifest.clone(), me).unwrap();
    let ctx = VerifyContext::for_manifest(&manifest);
    let mut rng = Rng::new(5);
    let mut records = Vec::new();
    for key in &others {
        let summaries: Vec<_> = (0..3)
            .map(|_| {
                let mut s = sample::summary(&mut rng, "2025-03".parse().unwrap(), 1);
                s.registry = Registry::RipeNcc;
                s.categories = vec![Category::TransferDelayed];
                s
            })
            .collect();
        records.extend(sample::signed_chain(key, &ctx, summaries, &mut rng).iter().map(|r| r.bytes().to_vec()));
    }
    assert!(fed.admit(&records).unwrap().iter().all(Result::is_ok));
    let status = Arc::new(NodeStatus::new(Metrics::default()));
    let tokens = Tokens::from_plain(MEMBER, &[("ana", ANALYST)]);
    let state = AppState::new(Arc::new(fed), NodeConfig::default(), tokens, None, status);
    Node { _dir: dir, state }
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn field(&self) -> String {
        self.json()["error"]["field"].as_str().unwrap_or_default().to_string()
    }
}

async fn call(state: &AppState, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(HttpBody::from(b.to_string())),
        None => req.body(HttpBody::empty()),
    }
    .unwrap();
    raw(state, req).await
}

async fn raw(state: &AppState, req: Request<HttpBody>) -> Reply {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let content_type =
        res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, content_type, body }
}

fn example_case() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/case.json")).unwrap(),
    )
    .unwrap()
}

async fn add_case(state: &AppState, case: Value) -> u64 {
    let r = call(state, "POST", "/api/v1/cases", Some(MEMBER), Some(case)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    r.json()["id"].as_u64().unwrap()
}

#[tokio::test]
async fn health_ready_and_openapi_need_no_token() {
    let n = node();
    let r = call(&n.state, "GET", "/api/v1/health", None, None).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (StatusCode::OK, Some("ok")));
    let r = call(&n.state, "GET", "/api/v1/ready", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["ready"], true);
    let doc = call(&n.state, "GET", "/api/v1/openapi.json", None, None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/publish",
        "/api/v1/cases/{id}/amend",
        "/api/v1/cases/{id}/retract",
        "/api/v1/cases/{id}/purge",
        "/api/v1/cases/{id}/similar",
        "/api/v1/cases/{id}/preview",
        "/api/v1/redact/preview",
        "/api/v1/records",
        "/api/v1/records/{id}",
        "/api/v1/records/export",
        "/api/v1/patterns/matrix",
        "/api/v1/patterns/trends",
        "/api/v1/patterns/emerging",
        "/api/v1/patterns/durations",
        "/api/v1/patterns/cooccurrence",
        "/api/v1/members",
        "/api/v1/vouches",
        "/api/v1/peers",
        "/api/v1/sync",
        "/api/v1/node",
        "/api/v1/vocabulary",
        "/api/v1/health",
        "/api/v1/ready",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Every status the edge sends is documented where it can happen.
    let publish = &doc["paths"]["/api/v1/cases/{id}/publish"]["post"]["responses"];
    for status in ["400", "401", "403", "405", "413", "415", "429", "503"] {
        assert!(publish[status].is_object(), "publish does not document {status}");
    }
    // The case body is described field by field, vocabularies with every label.
    let case = &doc["components"]["schemas"]["PrivateCase"]["properties"];
    let registries = case["registry"]["enum"].as_array().expect("registry labels");
    assert!(registries.iter().any(|r| r == "RIPE NCC") && registries.len() > 10, "{registries:?}");
    assert_eq!(case["categories"]["minItems"], 1);
    assert_eq!(case["categories"]["maxItems"], 8);
    assert_eq!(case["opened"]["format"], "date");
    let resource = &case["resources"]["items"]["oneOf"];
    assert_eq!(resource[0]["required"], json!(["prefix"]));
    assert!(resource[1]["properties"]["asn"]["oneOf"][0]["pattern"].is_string());
    // Query parameters with a grammar carry it.
    let matrix = &doc["paths"]["/api/v1/patterns/matrix"]["get"]["parameters"];
    let param = |name: &str| matrix.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert!(param("period")["pattern"].is_string());
    assert!(param("filter")["enum"].as_array().unwrap().iter().any(|f| f == "resource_kind=IPv6"));
    let health = &doc["paths"]["/api/v1/health"]["get"]["responses"];
    assert!(health["405"].is_object() && health["401"].is_null(), "a public route has no 401");
}

#[tokio::test]
async fn tokens_are_checked_and_analysts_only_query_patterns() {
    let n = node();
    let s = &n.state;
    let r = call(s, "GET", "/api/v1/cases", None, None).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let r = call(s, "GET", "/api/v1/cases", Some("wrong"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(s, "POST", "/api/v1/cases", Some(ANALYST), Some(example_case())).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(call(s, "GET", "/api/v1/records", Some(ANALYST), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(s, "GET", "/api/v1/patterns/matrix", Some(ANALYST), None).await.status, StatusCode::OK);
    assert_eq!(call(s, "GET", "/api/v1/node", Some(ANALYST), None).await.status, StatusCode::OK);
    let vocab = call(s, "GET", "/api/v1/vocabulary", Some(ANALYST), None).await.json();
    assert_eq!(vocab["registries"].as_array().unwrap().len(), Registry::ALL.len());
    assert!(vocab["resource_sizes"].as_array().unwrap().contains(&json!("IPv4 /23-/22")));
    assert_eq!(call(s, "GET", "/api/v1/cases", Some(MEMBER), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn analysts_have_their_own_read_budget_and_every_query_is_logged_for_the_member() {
    let n = node();
    let log_dir = tempfile::tempdir().unwrap();
    let s = &n.state.clone().with_query_log(log_dir.path());
    for _ in 0..auth::ANALYST_BURST {
        assert_eq!(
            call(s, "GET", "/api/v1/patterns/matrix?period=2025", Some(ANALYST), None).await.status,
            StatusCode::OK
        );
    }
    let r = call(s, "GET", "/api/v1/patterns/trends", Some(ANALYST), None).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("`ana`"));
    // The member's reads are not the analyst's budget.
    assert_eq!(call(s, "GET", "/api/v1/patterns/trends", Some(MEMBER), None).await.status, StatusCode::OK);
    // Only the member reads the log; it holds every analyst query, refused ones too.
    assert_eq!(call(s, "GET", "/api/v1/analysts/log", Some(ANALYST), None).await.status, StatusCode::FORBIDDEN);
    let log = call(s, "GET", "/api/v1/analysts/log?analyst=ana&limit=1000", Some(MEMBER), None).await.json();
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), auth::ANALYST_BURST as usize + 1, "the member's own reads are not logged");
    assert_eq!(entries[0]["query"], "/api/v1/patterns/matrix?period=2025");
    assert_eq!(
        (entries.last().unwrap()["query"].as_str(), entries.last().unwrap()["status"].as_u64()),
        (Some("/api/v1/patterns/trends"), Some(429))
    );
    let one = call(s, "GET", "/api/v1/analysts/log?limit=1", Some(MEMBER), None).await.json();
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    for bad in ["limit=0", "limit=1001", "analyst=Ana!", "since=1"] {
        let r = call(s, "GET", &format!("/api/v1/analysts/log?{bad}"), Some(MEMBER), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn cases_are_created_read_updated_and_deleted() {
    let n = node();
    let s = &n.state;
    let id = add_case(s, example_case()).await;
    let list = call(s, "GET", "/api/v1/cases", Some(MEMBER), None).await.json();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["status"]["state"], "draft");
    let one = call(s, "GET", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await.json();
    assert_eq!(one["case"]["title"], example_case()["title"]);
    assert!(one["case"]["evidence"][0]["salt"].is_string(), "evidence gets a salt");
    let mut changed = example_case();
    changed["title"] = json!("A new title");
    let r = call(s, "PUT", &format!("/api/v1/cases/{id}"), Some(MEMBER), Some(changed)).await;
    assert_eq!((r.status, r.json()["case"]["title"].as_str()), (StatusCode::OK, Some("A new title")));
    assert_eq!(
        call(s, "DELETE", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = call(s, "GET", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(call(s, "DELETE", "/api/v1/cases/999", Some(MEMBER), None).await.status, StatusCode::NOT_FOUND);
    let r = call(s, "PUT", "/api/v1/cases/999", Some(MEMBER), Some(example_case())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_case_bodies_are_rejected_naming_the_field() {
    let n = node();
    let s = &n.state;
    let mut bad = example_case();
    bad["categories"] = json!(["transfer delayed", "alien abduction"]);
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(bad)).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "categories[1]".to_string()));
    let mut bad = example_case();
    bad.as_object_mut().unwrap().remove("registry");
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("registry"));
    let mut bad = example_case();
    bad["timeline"][1]["date"] = json!("2020-01-01");
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(bad)).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "timeline[1].date".to_string()));
    let r = raw(
        s,
        Request::post("/api/v1/cases")
            .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(HttpBody::from("{\"title\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = raw(
        s,
        Request::post("/api/v1/cases")
            .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(HttpBody::from("hello"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = example_case();
    huge["notes"] = json!("x".repeat(super::MAX_BODY + 1));
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(huge)).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    assert!(
        call(s, "GET", "/api/v1/cases", Some(MEMBER), None).await.json().as_array().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn preview_publish_amend_and_retract() {
    let n = node();
    let s = &n.state;
    let id = add_case(s, example_case()).await;
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/amend"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "nothing to amend yet");
    let preview = call(s, "POST", &format!("/api/v1/cases/{id}/preview"), Some(MEMBER), None).await.json();
    assert_eq!(preview["summary"]["registry"], "APNIC");
    // The other founders' summaries are all RIPE NCC: no one else looks like this case.
    let crowd = &preview["crowd"];
    assert_eq!(
        (crowd["levels"][0]["field"].as_str(), crowd["levels"][0]["operators"].as_u64()),
        (Some("registry"), Some(0))
    );
    assert_eq!(crowd["alone_from"], "registry");
    let forms = preview["forms"]["forms"].as_array().unwrap();
    assert_eq!(forms.len(), 4);
    assert_eq!(preview["forms"]["in_crowd"], false, "no form puts an APNIC case among RIPE ones");
    assert_eq!(preview["forms"]["proposed"], 3, "then the coarsest is proposed");
    // The profile shown is the one signed, at the level reported.
    assert_eq!(preview["summary"]["profile"], preview["profile"]["profile"]);
    assert!(preview["profile"]["level"].is_string());
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let first = r.json();
    assert_eq!(first["kind"], "summary");
    let record = first["record"].as_str().unwrap().to_string();
    let detail = call(s, "GET", &format!("/api/v1/records/{record}"), Some(MEMBER), None).await.json();
    assert_eq!(detail["verified"], true);
    let bytes = hex::decode(detail["bytes"].as_str().unwrap()).unwrap();
    assert_eq!(blake3::hash(&bytes).to_hex().to_string(), record, "the id is the hash of the signed bytes");
    let r = call(
        s,
        "POST",
        &format!("/api/v1/cases/{id}/amend"),
        Some(MEMBER),
        Some(json!({"omit_narrative": true, "omit_impact": true, "start_quarter": true, "offsets_in_quarters": true})),
    )
    .await;
    assert_eq!((r.status, r.json()["kind"].as_str()), (StatusCode::CREATED, Some("amendment")));
    // What was signed: no narrative, no impact.
    let amended = r.json()["record"].as_str().unwrap().to_string();
    let detail = call(s, "GET", &format!("/api/v1/records/{amended}"), Some(MEMBER), None).await.json();
    let env = lantern_protocol::signed::open_stored(&hex::decode(detail["bytes"].as_str().unwrap()).unwrap()).unwrap();
    let lantern_protocol::record::Body::Summary(body) = env.body else { panic!("an amendment is a summary") };
    assert_eq!(body.summary.narrative, "");
    assert_eq!(body.summary.impact, crate::patterns::crowd::omitted_impact());
    use lantern_protocol::summary::{Granularity, Precision};
    assert_eq!(body.summary.precision, Precision { start: Granularity::Quarter, offsets: Granularity::Quarter });
    assert_eq!(body.summary.start.month % 3, 1, "a quarter's first month");
    assert!(body.summary.timeline.iter().all(|t| t.month % 3 == 0));
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/retract"), Some(MEMBER), Some(json!({"reason": "duplicate"})))
        .await;
    assert_eq!((r.status, r.json()["kind"].as_str()), (StatusCode::CREATED, Some("retraction")));
    let state = call(s, "GET", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await.json();
    assert_eq!(state["status"]["state"], "retracted");
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r =
        call(s, "POST", &format!("/api/v1/cases/{id}/retract"), Some(MEMBER), Some(json!({"reason": "because"}))).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "reason".to_string()));
    assert_eq!(call(s, "POST", "/api/v1/cases/999/publish", Some(MEMBER), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn purge_deletes_every_published_version_and_answers_gone() {
    let n = node();
    let s = &n.state;
    let id = add_case(s, example_case()).await;
    let uri = format!("/api/v1/cases/{id}/purge");
    let purge = |reason: &str| call(s, "POST", &uri, Some(MEMBER), Some(json!({"reason": reason})));
    assert_eq!(purge("identifying information").await.status, StatusCode::CONFLICT, "nothing published yet");
    let first = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await.json();
    let second = call(s, "POST", &format!("/api/v1/cases/{id}/amend"), Some(MEMBER), None).await.json();
    let versions = [first["record"].as_str().unwrap().to_string(), second["record"].as_str().unwrap().to_string()];
    let counted = || n.state.federation.with_patterns(|p| p.case_count()).unwrap();
    let before = counted();
    let r = purge("because").await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "reason".to_string()));
    let r = purge("identifying information").await;
    assert_eq!((r.status, r.json()["kind"].as_str()), (StatusCode::CREATED, Some("purge")));
    let purge_id = r.json()["record"].as_str().unwrap().to_string();
    let detail = call(s, "GET", &format!("/api/v1/records/{purge_id}"), Some(MEMBER), None).await.json();
    let mut targets: Vec<&str> =
        detail["envelope"]["body"]["targets"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    targets.sort();
    let mut expected: Vec<&str> = versions.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(targets, expected, "every version is named");
    for v in &versions {
        let r = call(s, "GET", &format!("/api/v1/records/{v}"), Some(MEMBER), None).await;
        assert_eq!(r.status, StatusCode::GONE);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains(&purge_id));
    }
    let listed = call(s, "GET", "/api/v1/records", Some(MEMBER), None).await.json();
    assert!(!listed.to_string().contains(&versions[0]) && !listed.to_string().contains(&versions[1]));
    let state = call(s, "GET", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await.json();
    assert_eq!(state["status"]["state"], "purged");
    assert_eq!(purge("identifying information").await.status, StatusCode::CONFLICT, "purged already");
    assert_eq!(
        call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(counted(), before - 1, "the case counts in no figure");
}

#[tokio::test]
async fn publish_refuses_text_that_still_identifies_someone() {
    let n = node();
    let s = &n.state;
    let mut case = example_case();
    // Redaction replaces this; a tag can't be redacted, so publishing must refuse it.
    case["tags"] = json!(["as64511"]);
    let id = add_case(s, case).await;
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::CONFLICT, "tags[0]".to_string()));
    assert_eq!(r.json()["error"]["code"], "identifying");
    let message = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("as64511"), "the refusal names the words: {message}");
}

#[tokio::test]
async fn control_characters_are_refused_when_a_case_is_saved() {
    let n = node();
    let mut case = example_case();
    case["narrative"] = json!("the registry\u{7} refused");
    let r = call(&n.state, "POST", "/api/v1/cases", Some(MEMBER), Some(case)).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "narrative".to_string()));
    assert!(call(&n.state, "GET", "/api/v1/cases", Some(MEMBER), None).await.json().as_array().unwrap().is_empty());
}

/// The preview and publish run one check: for every narrative and tag set tried, the preview
/// lists nothing to fix exactly when publishing goes through, and names what publishing refuses.
#[tokio::test]
async fn preview_is_clean_exactly_when_publish_goes_through() {
    let mut n = node();
    // Three writes a case, for many cases: the write budget is not what this test is about.
    n.state.writes = Arc::new(auth::RateLimit::new(1_000, 1_000.0));
    let s = &n.state;
    let real = include_str!("../../tests/data/redaction-real.jsonl");
    let mut narratives: Vec<String> = real
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(String::from))
        .collect();
    narratives.extend(
        [
            "Received: Jun  8 08:36:34 2022 from the registry; Wed, 8 Jun 2022 08:36:34 +0200 again.",
            "Mail noc\u{200b}@acme-hosting.net or １０３.４１.１４４.１ about \u{0410}S64500.",
            "Contact: jane roe <jane at example dot com>, ticket XY 4521/2021, SBL12345, 20240315T140500Z.",
        ]
        .map(String::from),
    );
    let tag_sets: [&[&str]; 4] = [&[], &["transfer-delay"], &["as64511"], &["rpki", "acme-hosting-4711"]];
    let (mut clean, mut refused) = (0, 0);
    for (i, narrative) in narratives.iter().enumerate() {
        let mut case = example_case();
        case["narrative"] = json!(narrative);
        case["tags"] = json!(tag_sets[i % tag_sets.len()]);
        let id = add_case(s, case).await;
        let preview = call(s, "POST", &format!("/api/v1/cases/{id}/preview"), Some(MEMBER), None).await.json();
        let blocking = preview["blocking"].as_array().cloned().unwrap_or_default();
        let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
        if blocking.is_empty() {
            assert_eq!(r.status, StatusCode::CREATED, "preview clean but publish refused: {narrative}: {:?}", r.json());
            clean += 1;
        } else {
            assert_eq!(r.status, StatusCode::CONFLICT, "preview blocked but publish went through");
            assert_eq!(r.field(), blocking[0]["field"].as_str().unwrap());
            let message = r.json()["error"]["message"].as_str().unwrap_or_default().to_string();
            let word = blocking[0]["text"].as_str().unwrap();
            assert!(message.contains(word), "refusal `{message}` names `{word}`");
            refused += 1;
        }
    }
    assert!(clean > 0 && refused > 0, "both outcomes exercised: {clean} clean, {refused} refused");
}

#[tokio::test]
async fn redaction_preview_marks_what_it_found() {
    let n = node();
    let r = call(
        &n.state,
        "POST",
        "/api/v1/redact/preview",
        Some(MEMBER),
        Some(json!({"text": "Mail noc@example.net about 192.0.2.0/24 today."})),
    )
    .await
    .json();
    assert!(!r["redacted"].as_str().unwrap().contains("noc@example.net"));
    let kinds: Vec<&str> = r["segments"].as_array().unwrap().iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(kinds.len(), 2, "{r}");
    let joined: String = r["segments"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert_eq!(joined, "Mail noc@example.net about 192.0.2.0/24 today.", "segments cover the input");
    let r = call(&n.state, "POST", "/api/v1/redact/preview", Some(MEMBER), Some(json!({"txt": "x"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn records_list_filters_pages_and_exports() {
    let n = node();
    let s = &n.state;
    let all = call(s, "GET", "/api/v1/records?limit=500", Some(MEMBER), None).await.json();
    assert_eq!(all["records"].as_array().unwrap().len(), 18);
    let page =
        call(s, "GET", "/api/v1/records?limit=5&kind=summary&registry=RIPE%20NCC", Some(MEMBER), None).await.json();
    assert_eq!(page["records"].as_array().unwrap().len(), 5);
    let next = page["next"].as_u64().unwrap();
    let rest = call(s, "GET", &format!("/api/v1/records?limit=500&after={next}"), Some(MEMBER), None).await.json();
    assert_eq!(rest["records"].as_array().unwrap().len(), 13);
    assert!(rest["next"].is_null());
    let none = call(s, "GET", "/api/v1/records?category=fee%20or%20billing%20dispute", Some(MEMBER), None).await.json();
    assert!(none["records"].as_array().unwrap().is_empty());
    for (query, field) in [
        ("kind=bogus", "kind"),
        ("limit=0", "limit"),
        ("author=xyz", "author"),
        ("registry=Mars", "registry"),
        ("after=-1", "after"),
    ] {
        let r = call(s, "GET", &format!("/api/v1/records?{query}"), Some(MEMBER), None).await;
        assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, field.to_string()), "{query}");
    }
    let r = call(s, "GET", "/api/v1/records/zz", Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "id".to_string()));
    let r = call(s, "GET", &format!("/api/v1/records/{}", "ab".repeat(32)), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let export = call(s, "GET", "/api/v1/records/export", Some(MEMBER), None).await;
    assert_eq!(export.content_type, "application/x-ndjson");
    assert_eq!(String::from_utf8(export.body).unwrap().lines().count(), 18);
}

#[tokio::test]
async fn pattern_queries_answer_and_reject_bad_parameters() {
    let n = node();
    let s = &n.state;
    let m = call(s, "GET", "/api/v1/patterns/matrix?period=2025-03", Some(ANALYST), None).await.json();
    let cell = m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["registry"] == "RIPE NCC" && c["category"] == "transfer delayed")
        .unwrap();
    assert_eq!((cell["operators"].as_u64(), cell["cases"].as_u64()), (Some(6), Some(18)));
    let other = m["cells"].as_array().unwrap().iter().find(|c| c["registry"] == "ARIN").unwrap();
    assert_eq!(other["suppressed"], true);
    let csv = call(s, "GET", "/api/v1/patterns/matrix?period=2025-03&format=csv", Some(ANALYST), None).await;
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(String::from_utf8(csv.body).unwrap().contains("RIPE NCC,transfer delayed,6,18,"));
    let t =
        call(s, "GET", "/api/v1/patterns/trends?period=2025-01..2025-06&by=registry&step=quarter", Some(ANALYST), None)
            .await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.json()["series"][0]["points"].as_array().unwrap().len(), 2);
    for uri in [
        "/api/v1/patterns/emerging?until=2025-06",
        "/api/v1/patterns/durations?period=2025",
        "/api/v1/patterns/cooccurrence?period=2025&registry=RIPE%20NCC",
    ] {
        assert_eq!(call(s, "GET", uri, Some(ANALYST), None).await.status, StatusCode::OK, "{uri}");
    }
    for (uri, field) in [
        ("/api/v1/patterns/matrix?period=2025-13", "period"),
        ("/api/v1/patterns/matrix?filter=region%3DMars", "filter"),
        ("/api/v1/patterns/matrix?format=xml", "format"),
        ("/api/v1/patterns/trends?by=planet", "by"),
        ("/api/v1/patterns/trends?step=week", "step"),
        ("/api/v1/patterns/emerging?until=soon", "until"),
        ("/api/v1/patterns/emerging?recent=0", "recent"),
        ("/api/v1/patterns/emerging?baseline=abc", "baseline"),
        ("/api/v1/patterns/cooccurrence?registry=Mars", "registry"),
    ] {
        let r = call(s, "GET", uri, Some(ANALYST), None).await;
        assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, field.to_string()), "{uri}");
    }
}

#[tokio::test]
async fn similar_cases_for_a_private_case() {
    let n = node();
    let s = &n.state;
    let mut case = example_case();
    case["registry"] = json!("RIPE NCC");
    case["categories"] = json!(["transfer delayed"]);
    let id = add_case(s, case).await;
    let r = call(s, "GET", &format!("/api/v1/cases/{id}/similar?limit=3"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    assert_eq!(j["matches"].as_array().unwrap().len(), 3);
    assert_eq!(j["matches"][0]["registry"], "RIPE NCC");
    let r = call(s, "GET", &format!("/api/v1/cases/{id}/similar?limit=0"), Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "limit".to_string()));
    assert_eq!(call(s, "GET", "/api/v1/cases/42/similar", Some(MEMBER), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn members_vouches_peers_and_sync() {
    let n = node();
    let s = &n.state;
    let m = call(s, "GET", "/api/v1/members", Some(MEMBER), None).await.json();
    assert_eq!(m["members"].as_array().unwrap().len(), 7);
    let newcomer = signed::member_key(&SigningKey::from_bytes(&[42; 32])).to_hex();
    let r = call(s, "POST", "/api/v1/vouches", Some(MEMBER), Some(json!({"member": newcomer}))).await;
    assert_eq!((r.status, r.json()["kind"].as_str()), (StatusCode::CREATED, Some("vouch")));
    let m = call(s, "GET", "/api/v1/members", Some(MEMBER), None).await.json();
    assert_eq!(m["candidates"][0]["key"], newcomer.as_str());
    assert_eq!(m["candidates"][0]["vouches"], 1);
    let r = call(s, "POST", "/api/v1/vouches", Some(MEMBER), Some(json!({"member": "not-a-key"}))).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "member".to_string()));
    // A well-formed key that is this node's own: a conflict with its state, not bad input.
    let own = signed::member_key(&SigningKey::from_bytes(&[1; 32])).to_hex();
    let r = call(s, "POST", "/api/v1/vouches", Some(MEMBER), Some(json!({"member": own}))).await;
    assert_eq!((r.status, r.field()), (StatusCode::CONFLICT, "member".to_string()));
    assert_eq!(call(s, "GET", "/api/v1/peers", Some(MEMBER), None).await.json(), json!([]));
    let sync = call(s, "GET", "/api/v1/sync", Some(MEMBER), None).await.json();
    assert_eq!(sync["remaining"], 0);
}

#[tokio::test]
async fn writes_are_rate_limited() {
    let mut n = node();
    n.state.writes = Arc::new(auth::RateLimit::new(2, 0.01));
    let s = &n.state;
    for _ in 0..2 {
        let r = call(s, "POST", "/api/v1/redact/preview", Some(MEMBER), Some(json!({"text": "x"}))).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = raw(
        s,
        Request::post("/api/v1/redact/preview")
            .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(HttpBody::from("{\"text\": \"x\"}"))
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(
        call(s, "GET", "/api/v1/cases", Some(MEMBER), None).await.status,
        StatusCode::OK,
        "reads are not limited"
    );
}

#[tokio::test]
async fn metrics_ui_and_unknown_paths() {
    let n = node();
    let s = &n.state;
    call(s, "GET", "/api/v1/health", None, None).await;
    // Ingest counters tell when the member publishes: no token, no metrics.
    assert_eq!(call(s, "GET", "/metrics", None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(call(s, "GET", "/metrics", Some(ANALYST), None).await.status, StatusCode::UNAUTHORIZED);
    let m = call(s, "GET", "/metrics", Some(MEMBER), None).await;
    let text = String::from_utf8(m.body).unwrap();
    assert!(text.contains("lantern_records 18"), "{text}");
    assert!(text.contains("route=\"/api/v1/health\",method=\"GET\",status=\"200\"} 1"), "{text}");
    let ui = call(s, "GET", "/", None, None).await;
    assert!(ui.content_type.starts_with("text/html"));
    let deep = call(s, "GET", "/browse", None, None).await;
    assert!(deep.content_type.starts_with("text/html"), "deep links get the app");
    let r = call(s, "GET", "/api/v1/nope", Some(MEMBER), None).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn only_the_member_token_spends_the_write_budget_and_misses_cost_nothing() {
    let mut n = node();
    n.state.writes = Arc::new(auth::RateLimit::new(2, 0.01));
    let s = &n.state;
    for _ in 0..40 {
        let r = call(s, "POST", "/api/v1/health", None, None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        let r = call(s, "POST", "/api/v1/redact/preview", None, Some(json!({"text": "x"}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = call(s, "POST", "/api/v1/redact/preview", Some("not-a-token"), Some(json!({"text": "x"}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = call(s, "POST", "/api/v1/nowhere", Some(MEMBER), Some(json!({}))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = call(s, "PATCH", "/api/v1/cases", Some(MEMBER), None).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    for _ in 0..2 {
        let r = call(s, "POST", "/api/v1/redact/preview", Some(MEMBER), Some(json!({"text": "x"}))).await;
        assert_eq!(r.status, StatusCode::OK, "the member's budget is whole");
    }
    let r = call(s, "POST", "/api/v1/redact/preview", Some(MEMBER), Some(json!({"text": "x"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn counts_are_whole_numbers_however_json_writes_them() {
    let n = node();
    let s = &n.state;
    let mut case = example_case();
    case["impact"] = json!({"customers": 2176.0, "cost_usd": 12});
    case["resources"] = json!([{"asn": 64496}, {"asn": "AS64497"}, {"asn": 64498.0}]);
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(case.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_u64().unwrap();
    let stored = call(s, "GET", &format!("/api/v1/cases/{id}"), Some(MEMBER), None).await.json();
    assert_eq!(stored["case"]["impact"]["customers"], 2176);
    for bad in [json!(2.5), json!(-1), json!(1e30), json!(9_223_372_036_854_775_808_u64)] {
        case["impact"] = json!({ "customers": bad });
        let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(case.clone())).await;
        assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "impact.customers".to_string()), "{bad}");
    }
    // The parts of a case are objects: serde alone would read a struct from an array.
    for (part, value, field) in [
        ("impact", json!([null, null]), "impact"),
        ("timeline", json!([["resolved", "2024-02-01"]]), "timeline[0]"),
        ("resources", json!([[null, 64496]]), "resources[0]"),
        ("evidence", json!([["email", "", "00"]]), "evidence[0]"),
    ] {
        let mut case = example_case();
        case[part] = value;
        let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(case)).await;
        assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, field.to_string()), "{part}");
    }
    // Errors inside a part still name their path.
    let mut case = example_case();
    case["resources"] = json!([{"asn": "AS1"}, {"asn": "AS-x"}]);
    let r = call(s, "POST", "/api/v1/cases", Some(MEMBER), Some(case)).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "resources[1].asn".to_string()));
}

#[tokio::test]
async fn every_error_is_json_and_api_answers_are_neither_cached_sniffed_nor_framed() {
    let n = node();
    let s = &n.state;
    // A declared body over the limit: refused before a byte of it is read.
    let r = raw(
        s,
        Request::post("/api/v1/cases")
            .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, (super::MAX_BODY + 1).to_string())
            .body(HttpBody::empty())
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    // A bad path id: JSON naming the parameter, not echoing the input or a Rust type.
    let r = call(s, "GET", "/api/v1/cases/%3Cscript%3E", Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "id".to_string()));
    let text = String::from_utf8_lossy(&r.body);
    assert!(!text.contains("script") && !text.contains("u64"), "{text}");
    // 405 carries JSON and still says what is allowed.
    let res = router(s.clone())
        .oneshot(Request::builder().method("PATCH").uri("/api/v1/health").body(HttpBody::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.headers().contains_key(header::ALLOW));
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    // Trailing data after the JSON value is a malformed body.
    let r = raw(
        s,
        Request::post("/api/v1/redact/preview")
            .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(HttpBody::from("{\"text\": \"x\"} {\"text\": \"y\"}"))
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "body".to_string()));
    // serde would read a struct from an array; the API takes objects only.
    let r = call(s, "POST", "/api/v1/redact/preview", Some(MEMBER), Some(json!(["x"]))).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "body".to_string()));
    // A cursor no node gives out.
    let r = call(s, "GET", "/api/v1/records?after=9223372036854775808", Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "after".to_string()));
    // Security headers on API answers.
    let res = router(s.clone())
        .oneshot(
            Request::get("/api/v1/cases")
                .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
                .body(HttpBody::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], "frame-ancestors 'none'");
}

#[tokio::test]
async fn connections_are_capped_and_idle_ones_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let n = node();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = super::ServeLimits { max_connections: 3, header_read_timeout: std::time::Duration::from_secs(1) };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(super::serve_with(
        listener,
        n.state.clone(),
        async {
            let _ = stopped.await;
        },
        limits,
    ));
    // Reads until the server closes the connection; how many bytes came. Fails at the deadline.
    async fn closed(stream: &mut tokio::net::TcpStream) -> usize {
        let mut buf = [0u8; 1024];
        let mut total = 0;
        let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => total += n,
                }
            }
        });
        read.await.expect("the server kept the connection open");
        total
    }
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Every slot is taken (the third one may still be queued): a fourth is closed at once.
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = extra.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(closed(&mut extra).await, 0, "a connection over the cap is closed unanswered");
    // Idle connections are closed when their header time runs out, and their slots come back.
    for stream in &mut idle {
        assert_eq!(closed(stream).await, 0);
    }
    let mut fresh = tokio::net::TcpStream::connect(addr).await.unwrap();
    fresh.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    fresh.read_to_end(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A POST with an `Idempotency-Key` and a JSON body.
async fn post_once(s: &AppState, uri: &str, key: &str, body: Value) -> Reply {
    let req = Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {MEMBER}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", key)
        .body(HttpBody::from(body.to_string()))
        .unwrap();
    raw(s, req).await
}

#[tokio::test]
async fn a_publish_retried_with_its_idempotency_key_answers_the_first_record() {
    let n = node();
    let s = &n.state;
    let (one, two) = (add_case(s, example_case()).await, add_case(s, example_case()).await);
    let records = || n.state.federation.store().record_count();
    let first = post_once(s, &format!("/api/v1/cases/{one}/publish"), "k-1", json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let after_first = records();
    // The answer was lost; the client retries: the same answer, no second record (no amendment).
    let again = post_once(s, &format!("/api/v1/cases/{one}/publish"), "k-1", json!({})).await;
    assert_eq!((again.status, again.json()), (StatusCode::CREATED, first.json()));
    assert_eq!(records(), after_first);
    // The key for another request is refused, naming the header; so is a malformed key.
    let other = post_once(s, &format!("/api/v1/cases/{two}/publish"), "k-1", json!({})).await;
    assert_eq!((other.status, other.field()), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_string()));
    let bad = post_once(s, &format!("/api/v1/cases/{two}/publish"), "no spaces", json!({})).await;
    assert_eq!((bad.status, bad.field()), (StatusCode::BAD_REQUEST, "Idempotency-Key".to_string()));
    assert_eq!(records(), after_first);
    // Without a key, publishing again amends, as before.
    let r = call(s, "POST", &format!("/api/v1/cases/{one}/publish"), Some(MEMBER), None).await;
    assert_eq!(r.json()["kind"], "amendment");
    // Adding a case takes a key too: a retried add answers the first id.
    let cases = |s: &AppState| s.federation.store().cases().unwrap().len();
    let before_cases = cases(s);
    let a = post_once(s, "/api/v1/cases", "add-1", example_case()).await;
    let b = post_once(s, "/api/v1/cases", "add-1", example_case()).await;
    assert_eq!((a.status, b.status, a.json()), (StatusCode::CREATED, StatusCode::CREATED, b.json()));
    assert_eq!(cases(s), before_cases + 1);
    let mut other = example_case();
    other["title"] = json!("another case");
    let r = post_once(s, "/api/v1/cases", "add-1", other).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_string()));
    // Retract takes a key too.
    let uri = format!("/api/v1/cases/{one}/retract");
    let a = post_once(s, &uri, "r-1", json!({"reason": "duplicate"})).await;
    let b = post_once(s, &uri, "r-1", json!({"reason": "duplicate"})).await;
    assert_eq!((a.status, b.status, a.json()), (StatusCode::CREATED, StatusCode::CREATED, b.json()));
    // And vouching: a retried vouch answers the first record instead of signing another.
    let newcomer = signed::member_key(&SigningKey::from_bytes(&[99; 32])).to_hex();
    let before = records();
    let a = post_once(s, "/api/v1/vouches", "v-1", json!({"member": newcomer})).await;
    let b = post_once(s, "/api/v1/vouches", "v-1", json!({"member": newcomer})).await;
    assert_eq!((a.status, b.status, a.json()), (StatusCode::CREATED, StatusCode::CREATED, b.json()));
    assert_eq!(records(), before + 1);
    let r = post_once(s, "/api/v1/vouches", "v-1", json!({"member": newcomer, "withdraw": true})).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_string()));
}

#[test]
fn a_full_disk_is_a_507_with_a_json_reason() {
    let e = super::error::ApiError::from(crate::store::StoreError::Io(std::io::Error::from_raw_os_error(28)));
    let res = axum::response::IntoResponse::into_response(e);
    assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE);
}

#[tokio::test]
async fn the_misp_feed_is_served_to_the_member_only_and_follows_retraction() {
    let n = node();
    let s = &n.state;
    let id = add_case(s, example_case()).await;
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let record: lantern_protocol::RecordId = r.json()["record"].as_str().unwrap().parse().unwrap();
    let uuid = crate::interop::record_uuid(&record).to_string();
    let manifest = call(s, "GET", "/api/v1/feeds/misp/manifest.json", Some(MEMBER), None).await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(manifest.json()[&uuid]["Orgc"]["name"], "api-test", "the federation publishes: {:?}", manifest.json());
    let event = call(s, "GET", &format!("/api/v1/feeds/misp/{uuid}.json"), Some(MEMBER), None).await.json();
    assert_eq!(event["Event"]["uuid"], uuid.as_str());
    let hashes = call(s, "GET", "/api/v1/feeds/misp/hashes.csv", Some(MEMBER), None).await;
    assert_eq!(hashes.content_type, "text/csv");
    assert!(String::from_utf8(hashes.body).unwrap().lines().any(|l| l.ends_with(&uuid)));
    // Summaries are the members': an analyst gets none of it.
    let r = call(s, "GET", "/api/v1/feeds/misp/manifest.json", Some(ANALYST), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(s, "GET", "/api/v1/feeds/misp/not-a-uuid.json", Some(MEMBER), None).await;
    assert_eq!((r.status, r.json()["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("event")));
    // Retracted, the case leaves the feed.
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/retract"), Some(MEMBER), Some(json!({"reason": "duplicate"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    let r = call(s, "GET", &format!("/api/v1/feeds/misp/{uuid}.json"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn taxii_serves_the_live_summaries_in_pages_to_the_member_only() {
    let n = node();
    let s = &n.state;
    let taxii = "application/taxii+json;version=2.1";
    let get = |uri: String, token: &'static str, accept: &'static str| {
        let req = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, accept)
            .body(HttpBody::empty())
            .unwrap();
        raw(s, req)
    };
    let discovery = get("/api/v1/taxii2/".into(), MEMBER, taxii).await;
    assert_eq!((discovery.status, discovery.content_type.as_str()), (StatusCode::OK, taxii));
    let root = discovery.json()["api_roots"][0].as_str().unwrap().to_string();
    assert_eq!(get(root.clone(), MEMBER, taxii).await.json()["versions"][0], taxii);
    let collections = get(format!("{root}collections/"), MEMBER, taxii).await.json();
    let collection = collections["collections"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(collections["collections"][0]["can_write"], false);
    let objects = format!("{root}collections/{collection}/objects/");

    // Four fixed objects and one incident per live summary (six founders × 3), two at a time.
    let (mut seen, mut next, mut pages, mut last_added) = (Vec::new(), None::<String>, 0, String::new());
    loop {
        let uri = match &next {
            Some(n) => format!("{objects}?limit=2&next={n}"),
            None => format!("{objects}?limit=2"),
        };
        let r = get(uri, MEMBER, taxii).await;
        assert_eq!(r.status, StatusCode::OK);
        let page = r.json();
        seen.extend(page["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()));
        pages += 1;
        if page["more"] == false {
            break;
        }
        next = Some(page["next"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 4 + 18, "{seen:?}");
    assert_eq!(pages, 11);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no object twice across pages");

    // A poll with the last date_added sees only what came after it: the member's new summary.
    let manifest = get(format!("{root}collections/{collection}/manifest/"), MEMBER, taxii).await.json();
    let entries = manifest["objects"].as_array().unwrap();
    assert_eq!(entries.len(), 22);
    last_added.push_str(entries.last().unwrap()["date_added"].as_str().unwrap());
    let r = get(format!("{objects}?added_after={last_added}"), MEMBER, taxii).await;
    assert_eq!(r.json()["objects"].as_array().unwrap().len(), 0);
    let id = add_case(s, example_case()).await;
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    let record: lantern_protocol::RecordId = r.json()["record"].as_str().unwrap().parse().unwrap();
    let incident = format!("incident--{}", crate::interop::record_uuid(&record));
    let polled = get(format!("{objects}?added_after={last_added}"), MEMBER, taxii).await.json();
    let polled: Vec<&str> = polled["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(polled, vec![incident.as_str()]);
    let one = get(format!("{objects}{incident}/"), MEMBER, taxii).await;
    assert_eq!(one.json()["objects"][0]["type"], "incident");
    let published_at = one.json()["objects"][0]["modified"].as_str().unwrap().to_string();
    let seen = get(format!("{objects}?added_after={last_added}"), MEMBER, taxii).await;
    let seen_last = seen.json()["objects"].as_array().unwrap().len();
    assert_eq!(seen_last, 1);
    let manifest = get(format!("{root}collections/{collection}/manifest/"), MEMBER, taxii).await.json();
    let last_before_retraction = manifest["objects"].as_array().unwrap().last().unwrap()["date_added"].clone();

    // Retracted, a poll after the last date added gets it again, revoked, as a later version.
    call(s, "POST", &format!("/api/v1/cases/{id}/retract"), Some(MEMBER), Some(json!({"reason": "duplicate"}))).await;
    let after = last_before_retraction.as_str().unwrap();
    let polled = get(format!("{objects}?added_after={after}"), MEMBER, taxii).await.json();
    let revoked = &polled["objects"].as_array().unwrap()[..];
    assert_eq!(revoked.len(), 1, "{polled}");
    assert_eq!((revoked[0]["id"].as_str(), revoked[0]["revoked"].as_bool()), (Some(incident.as_str()), Some(true)));
    assert!(revoked[0]["modified"].as_str().unwrap() > published_at.as_str(), "a later version");

    // Bad input, other media types, analysts.
    let r = get(format!("{objects}?added_after=yesterday"), MEMBER, taxii).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "added_after".to_string()));
    let r = get(format!("{objects}?match[colour]=red"), MEMBER, taxii).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(format!("{root}collections/not-ours/objects/"), MEMBER, taxii).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(root.clone(), MEMBER, "application/taxii+json;version=2.0").await.status,
        StatusCode::NOT_ACCEPTABLE
    );
    assert_eq!(get(objects.clone(), ANALYST, taxii).await.status, StatusCode::FORBIDDEN, "summaries are the members'");
    // An analyst sees the pattern reports' collection only, and reads it.
    let theirs = get(format!("{root}collections/"), ANALYST, taxii).await.json();
    let theirs = theirs["collections"].as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["title"], "Pattern reports");
    let patterns = format!("{root}collections/{}/objects/", theirs[0]["id"].as_str().unwrap());
    let r = get(patterns, ANALYST, taxii).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["objects"].as_array().unwrap().iter().all(|o| o["type"] != "incident"), "no summary in it");
}

#[tokio::test]
async fn an_evidence_proof_checks_offline_and_fails_for_any_other_document_record_or_salt() {
    use crate::evidence::{EvidenceError, Proof, check};
    let n = node();
    let s = &n.state;
    let document = b"RPKI validator output, 2025-03-14: 185.53.244.0/22 invalid".to_vec();
    let hash = blake3::hash(&document).to_hex().to_string();
    let mut case = example_case();
    case["evidence"][0]["document_blake3"] = json!(hash);
    let id = add_case(s, case).await;
    let uri = format!("/api/v1/cases/{id}/evidence-proof");
    // Not published yet: nothing commits to it.
    let r = call(s, "POST", &uri, Some(MEMBER), Some(json!({ "document_blake3": hash }))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json());
    let r = call(s, "POST", &format!("/api/v1/cases/{id}/publish"), Some(MEMBER), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = call(s, "POST", &uri, Some(MEMBER), Some(json!({ "document_blake3": hash }))).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    let proof: Proof = serde_json::from_value(r.json()).unwrap();
    let manifest = s.federation.manifest().clone();

    let checked = check(&proof, &manifest, Some(&document)).unwrap();
    assert!(checked.signed_by_member);
    assert!(check(&proof, &manifest, None).is_ok(), "the hash alone is enough to check the record");
    assert!(matches!(check(&proof, &manifest, Some(b"another file")), Err(EvidenceError::OtherDocument)));
    let mut salted = proof.clone();
    salted.salt = "00".repeat(16);
    assert!(matches!(check(&salted, &manifest, Some(&document)), Err(EvidenceError::NoCommitment)));
    let mut tampered = proof.clone();
    let mut bytes = hex::decode(&tampered.record).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    tampered.record = hex::encode(bytes);
    assert!(matches!(check(&tampered, &manifest, Some(&document)), Err(EvidenceError::Record(_))));
    let elsewhere = Manifest::new("other", "2024-01".parse().unwrap(), manifest.founders.clone(), Policy::default());
    assert!(matches!(check(&proof, &elsewhere, Some(&document)), Err(EvidenceError::Record(_))), "another federation");
    // The proof holds the record, the salt and the hash: never the document or the case's text.
    let text = serde_json::to_string(&proof).unwrap();
    assert!(!text.contains("validator output") && !text.contains("Private notes"));

    // A document that is not among the case's evidence, and bad input.
    let other = blake3::hash(b"x").to_hex().to_string();
    let r = call(s, "POST", &uri, Some(MEMBER), Some(json!({ "document_blake3": other }))).await;
    assert_eq!((r.status, r.field()), (StatusCode::NOT_FOUND, "document_blake3".to_string()));
    let r = call(s, "POST", &uri, Some(MEMBER), Some(json!({ "document_blake3": "zz" }))).await;
    assert_eq!((r.status, r.field()), (StatusCode::UNPROCESSABLE_ENTITY, "document_blake3".to_string()));
    let r = call(s, "POST", &uri, Some(ANALYST), Some(json!({ "document_blake3": hash }))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn records_list_newest_first_and_say_where_each_summary_stands() {
    let n = node();
    let s = &n.state;
    let one = add_case(s, example_case()).await;
    let first = call(s, "POST", &format!("/api/v1/cases/{one}/publish"), Some(MEMBER), None).await.json();
    let second = call(s, "POST", &format!("/api/v1/cases/{one}/publish"), Some(MEMBER), None).await.json();
    let two = add_case(s, example_case()).await;
    let gone = call(s, "POST", &format!("/api/v1/cases/{two}/publish"), Some(MEMBER), None).await.json();
    call(s, "POST", &format!("/api/v1/cases/{two}/retract"), Some(MEMBER), Some(json!({"reason": "duplicate"}))).await;

    // Newest first, a page at a time with `before`: the reverse of arrival order.
    let oldest = call(s, "GET", "/api/v1/records?limit=500", Some(MEMBER), None).await.json();
    let oldest: Vec<u64> =
        oldest["records"].as_array().unwrap().iter().map(|r| r["arrival"].as_u64().unwrap()).collect();
    let (mut newest, mut before) = (Vec::new(), None::<u64>);
    loop {
        let uri = match before {
            Some(b) => format!("/api/v1/records?order=newest&limit=7&before={b}"),
            None => "/api/v1/records?order=newest&limit=7".to_string(),
        };
        let page = call(s, "GET", &uri, Some(MEMBER), None).await.json();
        newest.extend(page["records"].as_array().unwrap().iter().map(|r| r["arrival"].as_u64().unwrap()));
        match page["next"].as_u64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(newest, oldest.iter().rev().copied().collect::<Vec<_>>());

    let page = call(s, "GET", "/api/v1/records?order=newest&limit=500", Some(MEMBER), None).await.json();
    let status = |id: &Value| {
        page["records"].as_array().unwrap().iter().find(|r| r["id"] == *id).map(|r| r["status"].clone()).unwrap()
    };
    assert_eq!(status(&first["record"]), "amended");
    assert_eq!(status(&second["record"]), "live");
    assert_eq!(status(&gone["record"]), "retracted");
    assert_eq!(page["records"][0]["kind"], "retraction", "the newest first");
    assert!(page["records"][0].get("status").is_none(), "a retraction has no status of its own");
    assert_eq!(page["records"][0]["equivocating"], false);
    let r = call(s, "GET", "/api/v1/records?order=sideways", Some(MEMBER), None).await;
    assert_eq!((r.status, r.field()), (StatusCode::BAD_REQUEST, "order".to_string()));
}

#[tokio::test]
async fn equivocations_are_listed_with_their_evidence_and_flagged_in_the_records() {
    let n = node();
    let s = &n.state;
    let r = call(s, "GET", "/api/v1/members", Some(MEMBER), None).await.json();
    assert_eq!(r["equivocations"], json!([]));
    // Founder 2 signs a second, different record at its sequence 2.
    let key = SigningKey::from_bytes(&[2; 32]);
    let ctx = VerifyContext::for_manifest(s.federation.manifest());
    let chain = s.federation.store().chain(&signed::member_key(&key)).unwrap();
    let mut rng = Rng::new(77);
    let summary = sample::summary(&mut rng, "2025-05".parse().unwrap(), 1);
    let env = lantern_protocol::record::Envelope {
        format: lantern_protocol::WIRE_FORMAT,
        federation: ctx.federation,
        author: signed::member_key(&key),
        sequence: 2,
        previous: Some(chain[0].1),
        created: "2025-05".parse().unwrap(),
        body: lantern_protocol::record::Body::Summary(lantern_protocol::record::SummaryBody {
            case: lantern_protocol::CaseRef(rng.bytes()),
            supersedes: None,
            summary,
        }),
    };
    let twin = lantern_protocol::sign(&env, &key, &ctx).unwrap();
    s.federation.admit(&[twin.bytes().to_vec()]).unwrap();
    let r = call(s, "GET", "/api/v1/members", Some(MEMBER), None).await.json();
    let e = &r["equivocations"][0];
    assert_eq!(
        (e["author"].as_str().unwrap(), e["sequence"].as_u64()),
        (signed::member_key(&key).to_hex().as_str(), Some(2))
    );
    let mut records: Vec<String> =
        e["records"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    records.sort();
    let mut expected = vec![chain[1].1.to_hex(), twin.id().to_hex()];
    expected.sort();
    assert_eq!(records, expected, "both records at sequence 2 are the evidence");
    let page = call(s, "GET", "/api/v1/records?limit=500", Some(MEMBER), None).await.json();
    let flagged: Vec<&Value> =
        page["records"].as_array().unwrap().iter().filter(|r| r["equivocating"] == true).collect();
    assert_eq!(flagged.len(), 4, "every record of that author: its three and the twin");
}

#[tokio::test]
async fn the_node_says_which_token_asked() {
    let n = node();
    let member = call(&n.state, "GET", "/api/v1/node", Some(MEMBER), None).await.json();
    let analyst = call(&n.state, "GET", "/api/v1/node", Some(ANALYST), None).await.json();
    assert_eq!((member["caller"].as_str(), analyst["caller"].as_str()), (Some("member"), Some("analyst")));
}
