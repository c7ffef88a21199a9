//! The web UI in headless Chromium (WebDriver, Debian's chromium-driver) against a real
//! `lantern run` process: publish a case through the UI, then find it in Browse and in the
//! dashboard's figures. Screenshots go to `target/tmp/ui-*.png`.
//!
//! Needs `chromium` and `chromedriver` (scripts/install-test-deps.sh installs them).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use fantoccini::{Client, ClientBuilder, Locator};
use lantern_node::patterns::noise;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::vocab::{Category, Registry};
use lantern_protocol::{Month, VerifyContext};
use lantern_tests::process::{run, terminate, wait_api};
use lantern_tests::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver on a free loopback port, once it answers.
fn chromedriver() -> (Driver, String) {
    let port = free_port();
    let child = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (install it with scripts/install-test-deps.sh)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + WAIT;
    while http::request("GET", &format!("{url}/status"), None, None).map_or(true, |r| r.status != 200) {
        assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Driver(child), url)
}

async fn browser(driver: &str) -> Client {
    let mut caps = serde_json::Map::new();
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": binary, "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session")
}

/// Other founders, each with one summary in RIPE NCC × transfer delayed last month: more than
/// the largest noise plus k, so the cell is shown whatever the noise.
const FOUNDERS: u8 = noise::MAX as u8 + K + 1;
const K: u8 = 2;

/// A node whose federation (k = [`K`]) has [`FOUNDERS`] other founders with a summary each in
/// the watched cell. The federation id is random, so the figure's noise is too: with six
/// founders at k = 5 a low draw held the cell back one run in ten.
fn node_with_sample_data(dir: &Path) -> Month {
    let others: Vec<SigningKey> = (0..FOUNDERS).map(|i| SigningKey::from_bytes(&[i + 10; 32])).collect();
    let k = K.to_string();
    let init = ["--org-type", "ISP", "--region", "Europe"];
    let fed = founded_federation(dir, "browser-test", &others, &init, &["--k", &k]);
    let manifest = fed.manifest().clone();
    let ctx = VerifyContext::for_manifest(&manifest);
    let last_month = Month::from_index(lantern_node::this_month().index() - 1).unwrap();
    let mut rng = Rng::new(3);
    let mut records = Vec::new();
    for key in &others {
        let summaries: Vec<_> = (0..1)
            .map(|_| {
                let mut s = sample::summary(&mut rng, last_month, 1);
                s.registry = Registry::RipeNcc;
                s.categories = vec![Category::TransferDelayed];
                s
            })
            .collect();
        records.extend(sample::signed_chain(key, &ctx, summaries, &mut rng).iter().map(|r| r.bytes().to_vec()));
    }
    assert!(fed.admit(&records).unwrap().iter().all(Result::is_ok));
    last_month
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("waiting for `{css}`: {e}"))
}

async fn cell(c: &Client) -> (u64, u64) {
    let td = wait_css(c, r#"#heatmap td[data-registry="RIPE NCC"][data-category="transfer delayed"]"#).await;
    let num = |v: Option<String>| v.and_then(|v| v.parse().ok()).expect("a shown cell");
    (num(td.attr("data-operators").await.unwrap()), num(td.attr("data-cases").await.unwrap()))
}

/// The same figure as the API gives it to the UI.
fn api_cell(api: &str, token: &str) -> (u64, u64) {
    let m = http::get(&format!("{api}/api/v1/patterns/matrix"), Some(token)).json();
    let c = m["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["registry"] == "RIPE NCC" && c["category"] == "transfer delayed");
    let c = c.expect("the cell is listed");
    (c["operators"].as_u64().expect("shown"), c["cases"].as_u64().expect("shown"))
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join(format!("ui-{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_in_the_ui_then_find_it_in_browse_and_on_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let month = node_with_sample_data(&dir);
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap().trim().to_string();
    let analyst = ok(lantern(&dir, &["token", "analyst", "ana"])).trim().to_string();
    let (mut node, lines) = run(&dir, &[]);
    let api = wait_api(&lines);
    let (_driver, driver_url) = chromedriver();
    let c = browser(&driver_url).await;

    // Sign in.
    c.goto(&format!("{api}/")).await.unwrap();
    wait_css(&c, "#token").await.send_keys(&token).await.unwrap();
    c.find(Locator::Css("#signin-form button")).await.unwrap().click().await.unwrap();
    // Figures carry noise drawn from the cases they count: the UI shows the API's figure, and
    // the same cases always give the same figure.
    let before = cell(&c).await;
    assert_eq!(before, api_cell(&api, &token), "the founders' cases, before publishing");
    screenshot(&c, "dashboard-before").await;

    // Publish a case through the UI.
    c.goto(&format!("{api}/#/publish?case=new")).await.unwrap();
    let form = wait_css(&c, "#case-form").await;
    form.find(Locator::Css("input[name=title]")).await.unwrap().send_keys("Transfer stuck at the RIR").await.unwrap();
    form.find(Locator::Css("select[name=registry]")).await.unwrap().select_by_value("RIPE NCC").await.unwrap();
    form.find(Locator::Css(r#"input[name=categories][value="transfer delayed"]"#))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Date inputs take keys in the browser's locale; set the value directly.
    let opened = format!("{month}-05");
    c.execute("document.querySelector('input[name=opened]').value = arguments[0];", vec![json!(opened)]).await.unwrap();
    form.find(Locator::Css("textarea[name=resources]")).await.unwrap().send_keys("192.0.2.0/24").await.unwrap();
    form.find(Locator::Css("textarea[name=narrative]"))
        .await
        .unwrap()
        .send_keys("Our transfer request stalled for months. Contact noc@example.net for the paperwork.")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_css(&c, "#preview").await.click().await.unwrap();
    let mark = wait_css(&c, "#redaction-preview mark").await;
    assert_eq!(mark.attr("data-kind").await.unwrap().as_deref(), Some("email"));
    assert_eq!(mark.text().await.unwrap(), "noc@example.net");
    let published_text =
        c.find(Locator::Css("#redacted-text")).await.unwrap().prop("textContent").await.unwrap().unwrap();
    assert!(!published_text.contains("noc@example.net"), "{published_text}");
    screenshot(&c, "publish-preview").await;
    wait_css(&c, "#confirm-publish").await.click().await.unwrap();
    wait_css(&c, "#published").await;
    let link = c.find(Locator::LinkText("View it in Browse")).await.unwrap();
    let record = link.attr("href").await.unwrap().unwrap().rsplit('/').next().unwrap().to_string();

    // Browse lists it, and its detail is verified.
    c.goto(&format!("{api}/#/browse?registry=RIPE%20NCC")).await.unwrap();
    wait_css(&c, &format!("#records a[href='#/browse/{record}']")).await;
    let rows = c.find_all(Locator::Css("#records tbody tr")).await.unwrap().len();
    assert_eq!(rows, usize::from(FOUNDERS) + 1);
    // Newest first, with where it stands: the summary just published heads the list, live.
    let first = c.find(Locator::Css("#records tbody tr:first-child")).await.unwrap();
    let href = first.find(Locator::Css("a")).await.unwrap().attr("href").await.unwrap().unwrap_or_default();
    assert_eq!(href, format!("#/browse/{record}"), "the newest summary comes first");
    assert_eq!(first.find(Locator::Css(".status .badge")).await.unwrap().text().await.unwrap(), "live");
    screenshot(&c, "browse").await;
    c.goto(&format!("{api}/#/browse/{record}")).await.unwrap();
    let detail = wait_css(&c, "#record-detail").await.text().await.unwrap();
    assert!(detail.contains("✓ verified") && detail.contains("RIPE NCC"), "{detail}");
    assert!(!detail.contains("noc@example.net"));

    // The dashboard counts it: one more operator (this member) and one more case.
    c.goto(&format!("{api}/#/dashboard")).await.unwrap();
    c.refresh().await.unwrap();
    assert_eq!(cell(&c).await, api_cell(&api, &token));
    screenshot(&c, "dashboard-after").await;
    // Phone width: the page still renders its heatmap.
    c.set_window_size(390, 844).await.unwrap();
    c.refresh().await.unwrap();
    cell(&c).await;
    screenshot(&c, "dashboard-phone").await;
    c.set_window_size(1280, 900).await.unwrap();

    // Purge it: asked twice, then the case is purged, the record gone and the figure back.
    let cases = http::get(&format!("{api}/api/v1/cases"), Some(&token)).json();
    let case_id = cases[0]["id"].as_u64().expect("the case published above");
    c.goto(&format!("{api}/#/publish?case={case_id}")).await.unwrap();
    c.refresh().await.unwrap();
    wait_css(&c, "#purge").await.click().await.unwrap();
    wait_css(&c, "#purge-confirm").await;
    screenshot(&c, "purge-confirm").await;
    wait_css(&c, "#confirm-purge").await.click().await.unwrap();
    wait_css(&c, ".badge.purged").await;
    assert_eq!(http::get(&format!("{api}/api/v1/records/{record}"), Some(&token)).status, 410);
    c.goto(&format!("{api}/#/browse?registry=RIPE%20NCC")).await.unwrap();
    c.refresh().await.unwrap();
    wait_css(&c, "#records tbody tr").await;
    assert!(c.find(Locator::Css(&format!("#records a[href='#/browse/{record}']"))).await.is_err());
    c.goto(&format!("{api}/#/dashboard")).await.unwrap();
    c.refresh().await.unwrap();
    assert_eq!(cell(&c).await, before, "the purged case counts nowhere: the figure is the one before it");

    // Durations and co-occurrence have their cards too; the period field offers presets.
    wait_css(&c, "#durations").await;
    wait_css(&c, "#cooccurrence").await;
    assert!(c.find_all(Locator::Css("#period-presets option")).await.unwrap().len() >= 5);

    // Every card downloads what it shows: the matrix as CSV, as the API gives it.
    c.execute(
        "window.__blobs = []; const make = URL.createObjectURL; URL.createObjectURL = (b) => { window.__blobs.push(b); return make(b); };",
        vec![],
    )
    .await
    .unwrap();
    wait_css(&c, "#heatmap").await;
    c.find(Locator::Css("section[aria-labelledby=heat-title] button[data-download=csv]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let csv = loop {
        let text = c.execute("return window.__blobs.length ? window.__blobs[0].text() : null;", vec![]).await.unwrap();
        if let Some(text) = text.as_str() {
            break text.to_string();
        }
        assert!(Instant::now() < deadline, "no download");
        tokio::task::yield_now().await;
    };
    assert!(csv.starts_with("registry,category") && csv.contains("RIPE NCC,transfer delayed"), "{csv}");

    // A figure leads to what it counts: the cell's link opens Browse filtered the same way.
    let link = wait_css(&c, r#"#heatmap td[data-registry="RIPE NCC"][data-category="transfer delayed"] a"#).await;
    link.click().await.unwrap();
    wait_css(&c, "#records tbody tr a").await;
    let url = c.current_url().await.unwrap().to_string();
    assert!(url.contains("registry=RIPE+NCC") && url.contains("category=transfer+delayed"), "{url}");
    let categories = c.find_all(Locator::Css("#records tbody tr td:nth-child(3)")).await.unwrap();
    for td in categories {
        assert!(td.text().await.unwrap().contains("transfer delayed"));
    }

    // An analyst token: a menu of what it may use, and those pages work.
    c.find(Locator::Css("#signout")).await.unwrap().click().await.unwrap();
    wait_css(&c, "#token").await.send_keys(&analyst).await.unwrap();
    c.find(Locator::Css("#signin-form button")).await.unwrap().click().await.unwrap();
    // (Signed in where the member left off, Browse: not the analyst's.)
    wait_css(&c, "#member-only").await;
    c.goto(&format!("{api}/#/dashboard")).await.unwrap();
    cell(&c).await;
    for (page, shown) in
        [("dashboard", true), ("publish", false), ("browse", false), ("similar", false), ("node", true)]
    {
        let a = c.find(Locator::Css(&format!("nav a[data-page={page}]"))).await.unwrap();
        assert_eq!(a.is_displayed().await.unwrap(), shown, "menu entry {page} for an analyst");
    }
    assert!(c.find(Locator::Css("#heatmap td.cell a")).await.is_err(), "no links to member pages");
    c.goto(&format!("{api}/#/node")).await.unwrap();
    let node_card = wait_css(&c, "#node-analyst").await.text().await.unwrap();
    assert!(node_card.contains("k threshold") && !node_card.contains("Member key"), "{node_card}");
    c.goto(&format!("{api}/#/browse")).await.unwrap();
    wait_css(&c, "#member-only").await;
    screenshot(&c, "analyst-node").await;

    c.close().await.unwrap();
    terminate(&mut node);
}
