use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, Envelope, SummaryBody, VouchBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::*;

use super::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn manifest() -> Manifest {
    Manifest::new("t", "2026-01".parse().unwrap(), vec![signed::member_key(&key(1))], Policy::default())
}

fn open(dir: &Path) -> Store {
    Store::open(dir, &manifest()).unwrap()
}

/// `body` signed by `key(author)` as its record `seq`.
fn signed_body(author: u8, seq: u64, body: Body) -> VerifiedRecord {
    let ctx = VerifyContext::for_manifest(&manifest());
    let env = Envelope {
        format: WIRE_FORMAT,
        federation: ctx.federation,
        author: signed::member_key(&key(author)),
        sequence: seq,
        previous: (seq > 1).then_some(RecordId([seq as u8; 32])),
        created: "2026-02".parse().unwrap(),
        body,
    };
    sign(&env, &key(author), &ctx).unwrap()
}

/// A summary record by `key(author)` at `seq`; `variant` changes its content.
fn record(author: u8, seq: u64, variant: u64) -> VerifiedRecord {
    let mut rng = Rng::new(variant);
    let summary = sample::summary(&mut rng, "2024-01".parse().unwrap(), 12);
    signed_body(author, seq, Body::Summary(SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary }))
}

fn vouch(author: u8, seq: u64, target: u8, standing: bool) -> VerifiedRecord {
    let ctx = VerifyContext::for_manifest(&manifest());
    let member = signed::member_key(&key(target));
    let body = if standing { Body::Vouch(VouchBody { member }) } else { Body::VouchWithdrawal(VouchBody { member }) };
    let env = Envelope {
        format: WIRE_FORMAT,
        federation: ctx.federation,
        author: signed::member_key(&key(author)),
        sequence: seq,
        previous: (seq > 1).then_some(RecordId([0; 32])),
        created: "2026-02".parse().unwrap(),
        body,
    };
    sign(&env, &key(author), &ctx).unwrap()
}

#[test]
fn ingesting_the_same_record_twice_is_a_reported_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let r = record(1, 1, 1);
    assert_eq!(store.ingest(r.bytes()).unwrap(), Ingested::Stored { id: r.id(), gap: None });
    assert_eq!(store.ingest(r.bytes()).unwrap(), Ingested::Duplicate { id: r.id() });
    assert_eq!(store.record_count(), 1);
    assert_eq!(store.records_after(None, 10).unwrap().len(), 1);
}

#[test]
fn never_stores_a_record_that_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut bytes = record(1, 1, 1).bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(store.ingest(&bytes), Err(StoreError::Record(RecordError::BadSignature))));
    let results = store.ingest_batch(&[bytes.clone(), record(1, 2, 2).bytes().to_vec()]).unwrap();
    assert!(results[0].is_err() && results[1].is_ok());
    assert_eq!(store.record_count(), 1);
}

#[test]
fn equivocation_keeps_both_records_and_flags_the_author() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (a, b) = (record(2, 1, 10), record(2, 1, 11));
    assert_ne!(a.id(), b.id());
    store.ingest(a.bytes()).unwrap();
    assert_eq!(store.ingest(b.bytes()).unwrap(), Ingested::Equivocation { id: b.id(), conflicting: vec![a.id()] });
    assert_eq!(store.record_count(), 2);
    assert_eq!(store.equivocators().unwrap(), vec![signed::member_key(&key(2))]);
    assert!(store.is_equivocator(&signed::member_key(&key(2))).unwrap());
    assert!(!store.is_equivocator(&signed::member_key(&key(1))).unwrap());
}

#[test]
fn equivocation_within_one_batch_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (a, b) = (record(2, 3, 10), record(2, 3, 11));
    let out = store.ingest_verified(vec![a.clone(), b.clone()]).unwrap();
    assert!(matches!(out[1], Ingested::Equivocation { .. }));
    assert_eq!(store.ids_at(&a.author(), 3).unwrap().len(), 2);
}

#[test]
fn reports_gaps_in_an_authors_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let author = signed::member_key(&key(3));
    store.ingest(record(3, 1, 1).bytes()).unwrap();
    let out = store.ingest(record(3, 4, 4).bytes()).unwrap();
    assert_eq!(out, Ingested::Stored { id: out.id(), gap: Some(Gap { author, from: 2, to: 3 }) });
    assert_eq!(store.gaps(&author).unwrap(), vec![Gap { author, from: 2, to: 3 }]);
    // A batch that fills the gap in order reports nothing missing.
    let out = store.ingest_verified(vec![record(3, 2, 2), record(3, 3, 3)]).unwrap();
    assert!(out.iter().all(|o| matches!(o, Ingested::Stored { gap: None, .. })), "{out:?}");
    assert!(store.gaps(&author).unwrap().is_empty());
}

#[test]
fn records_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let r = record(1, 1, 1);
    {
        let store = open(dir.path());
        store.ingest(r.bytes()).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.record_bytes(&r.id()).unwrap().as_deref(), Some(r.bytes()));
    assert!(store.contains(&r.id()).unwrap());
    assert_eq!(store.record_ids(), vec![r.id()]);
    // The id index and the held sequences are loaded at open: duplicates, equivocation and
    // gaps are still seen.
    assert_eq!(store.ingest(r.bytes()).unwrap(), Ingested::Duplicate { id: r.id() });
    assert!(matches!(store.ingest(record(1, 1, 9).bytes()).unwrap(), Ingested::Equivocation { .. }));
    let out = store.ingest(record(1, 3, 3).bytes()).unwrap();
    assert!(matches!(out, Ingested::Stored { gap: Some(Gap { from: 2, to: 2, .. }), .. }), "{out:?}");
    // Arrival numbers continue after a restart instead of overwriting.
    store.ingest(record(1, 2, 2).bytes()).unwrap();
    let listed = store.records_after(None, 10).unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed.windows(2).all(|w| w[0].arrival < w[1].arrival));
    assert_eq!(store.record_count(), 4);
}

#[test]
fn refuses_a_store_of_the_older_layout() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.ingest(record(1, 1, 1).bytes()).unwrap();
        // What a layout-1 store looks like: records, and no layout mark.
        store.meta.remove("layout").unwrap();
        store.flush().unwrap();
    }
    assert!(matches!(Store::open(dir.path(), &manifest()), Err(StoreError::OldLayout)));
}

#[test]
fn refuses_to_open_with_another_federations_manifest() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let other =
        Manifest::new("other", "2026-01".parse().unwrap(), vec![signed::member_key(&key(9))], Policy::default());
    assert!(matches!(Store::open(dir.path(), &other), Err(StoreError::WrongFederation { .. })));
}

#[test]
fn latest_vouch_or_withdrawal_wins_whatever_the_arrival_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.ingest(vouch(1, 2, 5, false).bytes()).unwrap();
    store.ingest(vouch(1, 1, 5, true).bytes()).unwrap();
    assert_eq!(store.vouches().unwrap(), vec![(signed::member_key(&key(5)), signed::member_key(&key(1)), false)]);
}

#[test]
fn own_records_form_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let me = key(1);
    let body = |m| Body::Vouch(VouchBody { member: signed::member_key(&key(m)) });
    let a = store.append_own(&me, "2026-03".parse().unwrap(), body(4), Some(7)).unwrap();
    let b = store.append_own(&me, "2026-03".parse().unwrap(), body(5), Some(7)).unwrap();
    assert_eq!((a.sequence(), b.sequence()), (1, 2));
    assert_eq!(b.envelope().previous, Some(a.id()));
    assert_eq!(store.published_for(7).unwrap(), vec![a.id(), b.id()]);
    assert_eq!(store.chain(&a.author()).unwrap(), vec![(1, a.id()), (2, b.id())]);
}

#[test]
fn private_case_ids_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let case = crate::case::PrivateCase::from_toml(
        "title = \"x\"\nregistry = \"ARIN\"\ncategories = [\"fee or billing dispute\"]\nopened = \"2024-01-02\"\n",
    )
    .unwrap();
    let a = store.insert_case(&case).unwrap();
    let b = store.insert_case(&case).unwrap();
    let mut edited = case.clone();
    edited.title = "edited".into();
    store.update_case(a, &edited).unwrap();
    assert_eq!(store.case(a).unwrap().title, "edited");
    assert!(matches!(store.update_case(99, &edited), Err(StoreError::NoSuchCase(99))));
    store.delete_case(b).unwrap();
    let c = store.insert_case(&case).unwrap();
    assert_eq!((a, b, c), (1, 2, 3));
    assert!(matches!(store.case(b), Err(StoreError::NoSuchCase(2))));
}

#[test]
fn paging_by_arrival_visits_every_record_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first: Vec<Vec<u8>> = (1..=5).map(|s| record(4, s, s).bytes().to_vec()).collect();
    store.ingest_batch(&first).unwrap();
    store.ingest(record(4, 6, 6).bytes()).unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.records_after(after, 2).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.arrival);
        seen.extend(page.iter().map(|r| r.record.signed().unwrap().sequence));
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
    drop(store);
    assert_eq!(open(dir.path()).record_count(), 6, "count survives a restart");
}

// ---- purges ----

fn purge(author: u8, seq: u64, targets: &[&VerifiedRecord]) -> VerifiedRecord {
    let mut targets: Vec<RecordId> = targets.iter().map(|r| r.id()).collect();
    targets.sort();
    let reason = lantern_protocol::vocab::PurgeReason::IdentifyingInformation;
    signed_body(author, seq, Body::Purge(lantern_protocol::record::PurgeBody { targets, reason }))
}

/// Every byte the store's files hold, for asserting that some bytes are not there.
fn narrative_of(r: &VerifiedRecord) -> String {
    match &r.envelope().body {
        Body::Summary(b) => b.summary.narrative.clone(),
        _ => unreachable!("summaries only"),
    }
}

fn listed(store: &Store) -> Vec<RecordId> {
    store.records_after(None, 100).unwrap().into_iter().map(|r| r.id).collect()
}

#[test]
fn a_purge_deletes_the_bytes_of_its_authors_summaries_and_keeps_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (a, b, other) = (record(1, 1, 1), record(1, 2, 2), record(2, 1, 3));
    store.ingest_batch(&[a.bytes(), b.bytes(), other.bytes()]).unwrap();
    let p = purge(1, 3, &[&a]);
    assert!(matches!(store.ingest(p.bytes()).unwrap(), Ingested::Stored { .. }));

    assert_eq!(store.record_bytes(&a.id()).unwrap(), None, "the bytes are gone");
    assert!(store.contains(&a.id()).unwrap(), "the id stays, so reconciliation never fetches it again");
    assert!(store.record_ids().contains(&a.id()));
    assert_eq!(store.purge_of(&a.id()).unwrap(), Some(p.id()));
    assert_eq!(listed(&store), vec![b.id(), other.id(), p.id()], "listing and export skip it");
    assert_eq!(store.record_bytes(&b.id()).unwrap().as_deref(), Some(b.bytes()), "neighbours in its block are intact");
    assert_eq!(store.gaps(&a.author()).unwrap(), vec![], "the chain link stays");
    let case = match &a.envelope().body {
        Body::Summary(s) => s.case,
        _ => unreachable!(),
    };
    assert_eq!(
        store.take_withdrawn(),
        vec![Withdrawal { by: crate::store::By::Member(a.author()), case, purge: p.id() }]
    );
    assert_eq!(store.ingest(a.bytes()).unwrap(), Ingested::Duplicate { id: a.id() }, "offered again: held");
    assert_eq!(store.record_bytes(&a.id()).unwrap(), None);

    // After a restart: the same, and the figures still learn the withdrawal.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.record_bytes(&a.id()).unwrap(), None);
    assert!(store.contains(&a.id()).unwrap());
    assert_eq!(store.withdrawals().unwrap().len(), 1);
    assert_eq!(store.record_count(), 4);
    assert_eq!(store.record_bytes(&b.id()).unwrap().as_deref(), Some(b.bytes()));
    // Reopening rewrote the store: the log no longer holds the old block either.
    drop(store);
    let needle = narrative_of(&a);
    for file in walk(dir.path()) {
        assert!(!contains(&std::fs::read(&file).unwrap(), needle.as_bytes()), "{} holds it", file.display());
    }
    let store = open(dir.path());
    assert_eq!(listed(&store), vec![b.id(), other.id(), p.id()]);
}

#[test]
fn a_purge_that_arrives_first_keeps_its_target_off_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = record(1, 1, 7);
    let p = purge(1, 2, &[&a]);
    store.ingest(p.bytes()).unwrap();
    assert!(store.purge_names(&a.id()).unwrap());
    assert!(!store.record_ids().contains(&a.id()), "a claim alone does not count as holding the record");
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.ingest(a.bytes()).unwrap(), Ingested::Purged { id: a.id() });
    assert_eq!(store.record_bytes(&a.id()).unwrap(), None);
    assert!(store.contains(&a.id()).unwrap());
    assert_eq!(listed(&store), vec![p.id()]);
    assert_eq!(store.take_withdrawn().len(), 1);
    store.flush().unwrap();
    drop(store);
    let needle = narrative_of(&a);
    assert!(!needle.is_empty());
    for file in walk(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, needle.as_bytes()), "{} holds the purged narrative", file.display());
    }
}

#[test]
fn a_purge_and_its_target_in_one_batch_store_only_the_id() {
    let a = record(1, 1, 8);
    let p = purge(1, 2, &[&a]);
    for order in [[p.bytes(), a.bytes()], [a.bytes(), p.bytes()]] {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path());
        let out = s.ingest_batch(&order).unwrap();
        assert!(out.iter().any(|o| *o == Ok(Ingested::Purged { id: a.id() })), "{out:?}");
        assert_eq!(s.record_bytes(&a.id()).unwrap(), None);
        assert_eq!(listed(&s), vec![p.id()]);
    }
}

#[test]
fn a_purge_cannot_touch_another_members_records_or_other_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let theirs = record(2, 1, 9);
    let own_vouch = vouch(1, 1, 5, true);
    // Claimed before the target arrives, and after.
    let early = purge(1, 2, &[&theirs]);
    store.ingest(early.bytes()).unwrap();
    assert!(matches!(store.ingest(theirs.bytes()).unwrap(), Ingested::Stored { .. }));
    let late = purge(1, 3, &[&theirs, &own_vouch]);
    store.ingest(own_vouch.bytes()).unwrap();
    store.ingest(late.bytes()).unwrap();
    assert_eq!(store.record_bytes(&theirs.id()).unwrap().as_deref(), Some(theirs.bytes()));
    assert_eq!(store.record_bytes(&own_vouch.id()).unwrap().as_deref(), Some(own_vouch.bytes()));
    assert!(!store.purge_names(&theirs.id()).unwrap(), "the refused claim is dropped");
    assert!(store.take_withdrawn().is_empty());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn summary_body(variant: u64) -> Body {
    let mut rng = Rng::new(variant);
    let summary = sample::summary(&mut rng, "2024-01".parse().unwrap(), 12);
    Body::Summary(SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary })
}

#[test]
fn a_node_never_signs_over_a_gap_in_its_own_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Holds its own records 1 and 3 (2 is elsewhere): signing 4 now would fork nothing, but
    // it cannot know 3 is the head, and a store holding 1 only would sign a second 2.
    store.ingest_verified(vec![record(1, 1, 1), record(1, 3, 3)]).unwrap();
    let err = store.append_own(&key(1), "2026-03".parse().unwrap(), summary_body(9), None).unwrap_err();
    assert!(matches!(err, StoreError::OwnChainIncomplete { held: 2, head: 3 }), "{err}");
    assert!(err.is_own_chain_behind());
    store.ingest_verified(vec![record(1, 2, 2)]).unwrap();
    let next = store.append_own(&key(1), "2026-03".parse().unwrap(), summary_body(9), None).unwrap();
    assert_eq!(next.sequence(), 4);
}

#[test]
fn a_wiped_or_rolled_back_store_signs_only_after_catching_up_with_what_it_signed() {
    let data = tempfile::tempdir().unwrap();
    let head = || own_head::HeadFile::new(data.path().join("own-chain"));
    let month = || "2026-03".parse::<Month>().unwrap();
    let signed: Vec<VerifiedRecord> = {
        let store = open(&data.path().join("store"));
        store.keep_own_head_in(head());
        (0..3).map(|i| store.append_own(&key(1), month(), summary_body(i), None).unwrap()).collect()
    };
    assert_eq!(head().read().unwrap(), Some(own_head::OwnHead { signed: 3, confirmed: true }));
    // The store is wiped; the head file beside it is not.
    std::fs::remove_dir_all(data.path().join("store")).unwrap();
    let store = open(&data.path().join("store"));
    store.keep_own_head_in(head());
    let err = store.append_own(&key(1), month(), summary_body(7), None).unwrap_err();
    assert!(matches!(err, StoreError::OwnChainBehind { held: 0, signed: 3, .. }), "{err}");
    assert!(err.to_string().contains("own-chain"), "names the file: {err}");
    // Catch-up brings two of its three records back: still behind.
    store.ingest_verified(signed[..2].to_vec()).unwrap();
    assert!(store.append_own(&key(1), month(), summary_body(7), None).unwrap_err().is_own_chain_behind());
    store.ingest_verified(signed[2..].to_vec()).unwrap();
    assert_eq!(store.append_own(&key(1), month(), summary_body(7), None).unwrap().sequence(), 4);
    assert!(store.equivocators().unwrap().is_empty());
}

#[test]
fn a_restored_store_signs_again_once_a_catch_up_confirmed_its_chain() {
    let data = tempfile::tempdir().unwrap();
    let head = own_head::HeadFile::new(data.path().join("own-chain"));
    head.write(own_head::OwnHead { signed: 0, confirmed: false }).unwrap();
    let store = open(&data.path().join("store"));
    store.keep_own_head_in(head.clone());
    let month = "2026-03".parse::<Month>().unwrap();
    let err = store.append_own(&key(1), month, summary_body(1), None).unwrap_err();
    assert!(matches!(err, StoreError::OwnChainUnconfirmed), "{err}");
    // The catch-up brought the record it signed after the backup was taken.
    store.ingest_verified(vec![record(1, 1, 1)]).unwrap();
    store.confirm_own_chain(&signed::member_key(&key(1))).unwrap();
    assert_eq!(head.read().unwrap(), Some(own_head::OwnHead { signed: 1, confirmed: true }));
    assert_eq!(store.append_own(&key(1), month, summary_body(2), None).unwrap().sequence(), 2);
}

#[test]
fn an_unfinished_snapshot_left_by_a_failed_open_does_not_stop_the_store_opening() {
    let dir = tempfile::tempdir().unwrap();
    let r = record(1, 1, 1);
    {
        let store = open(dir.path());
        store.ingest_verified(vec![r.clone()]).unwrap();
        store.flush().unwrap();
    }
    // What opening on a full disk leaves: an empty snapshot that was never renamed whole.
    let snapshot = dir.path().join("snap.7FFFFFFFFFFFFFFF.generating");
    std::fs::write(&snapshot, b"").unwrap();
    let store = Store::open(dir.path(), &manifest()).expect("the store opens");
    assert!(store.contains(&r.id()).unwrap(), "what was stored is still held");
    assert!(!snapshot.exists());
}

#[test]
fn a_full_disk_is_named_and_marks_the_store_not_writable_until_a_write_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let full = StoreError::Db(sled::Error::Io(std::io::Error::from_raw_os_error(28)));
    assert!(full.is_disk_full());
    assert!(full.to_string().contains("the disk is full"), "{full}");
    assert!(!StoreError::NoSuchCase(1).is_disk_full());
    assert!(!store.writes_failing());
    store.note_write::<()>(&Err(full));
    assert!(store.writes_failing(), "readiness says the store takes no writes");
    // Space is back (this disk has some): the probe write succeeds and readiness returns.
    assert!(store.probe_writable());
    assert!(!store.writes_failing());
}

/// A store at `dir` holding three records of author 1, closed.
fn three_records(dir: &Path) -> Vec<VerifiedRecord> {
    let records: Vec<_> = (1..=3).map(|seq| record(1, seq, seq)).collect();
    let store = open(dir);
    store.ingest_verified(records.clone()).unwrap();
    store.flush().unwrap();
    records
}

#[test]
fn a_check_of_a_sound_store_reads_and_verifies_every_record() {
    let dir = tempfile::tempdir().unwrap();
    three_records(dir.path());
    let report = check::check(dir.path(), &manifest()).unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!((report.records, report.verified, report.purged), (3, 3, 0));
}

#[test]
fn a_check_names_a_record_whose_bytes_changed() {
    let dir = tempfile::tempdir().unwrap();
    three_records(dir.path());
    {
        let db = open_db(dir.path()).unwrap();
        let blocks = db.open_tree("blocks").unwrap();
        let (key, block) = blocks.first().unwrap().unwrap();
        let mut damaged = block.to_vec();
        let last = damaged.len() - 1;
        damaged[last] ^= 1; // the last signature byte of the last record
        blocks.insert(key, damaged).unwrap();
        db.flush().unwrap();
    }
    let report = check::check(dir.path(), &manifest()).unwrap();
    assert!(!report.is_sound());
    assert!(report.problems.iter().any(|p| p.contains("changed")), "{:?}", report.problems);
}

#[test]
fn a_check_names_records_the_index_and_the_log_disagree_on() {
    let dir = tempfile::tempdir().unwrap();
    three_records(dir.path());
    {
        // A torn write: the chain entries gone, the block kept.
        let db = open_db(dir.path()).unwrap();
        db.open_tree("chains").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let report = check::check(dir.path(), &manifest()).unwrap();
    assert_eq!(report.problems.iter().filter(|p| p.contains("not indexed")).count(), 3, "{:?}", report.problems);

    let dir = tempfile::tempdir().unwrap();
    three_records(dir.path());
    {
        // The other way: the block gone, the chain entries kept.
        let db = open_db(dir.path()).unwrap();
        db.open_tree("blocks").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let report = check::check(dir.path(), &manifest()).unwrap();
    assert!(report.problems.iter().any(|p| p.contains("3 indexed records are missing")), "{:?}", report.problems);
}

#[test]
fn a_check_counts_purged_slots_as_sound() {
    let dir = tempfile::tempdir().unwrap();
    let records = three_records(dir.path());
    {
        let store = open(dir.path());
        store.ingest_verified(vec![purge(1, 4, &[&records[0]])]).unwrap();
        store.flush().unwrap();
    }
    let report = check::check(dir.path(), &manifest()).unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!((report.records, report.purged), (3, 1), "the purge is a record, its target an empty slot");
}

#[test]
fn records_page_newest_first_as_they_do_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Two batches, so two blocks.
    store.ingest_verified((1..=3).map(|seq| record(1, seq, seq)).collect()).unwrap();
    store.ingest_verified((4..=5).map(|seq| record(1, seq, seq)).collect()).unwrap();
    let oldest: Vec<u64> = store.records_after(None, 100).unwrap().iter().map(|r| r.arrival).collect();
    let mut newest: Vec<u64> = Vec::new();
    let mut before = None;
    loop {
        let page = store.records_before(before, 2).unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.arrival);
        newest.extend(page.iter().map(|r| r.arrival));
    }
    assert_eq!(oldest.len(), 5);
    assert_eq!(newest, oldest.iter().rev().copied().collect::<Vec<_>>());
}
