//! Reads through a real streaming standby (issue 15): a private primary, a
//! standby made with `pg_basebackup -R`, started on its own port; public
//! and audit reads go to it while it keeps up, to the primary when it falls
//! behind (replay paused) or goes down, and `min_seq` is always honoured.

use std::path::Path;
use std::time::{Duration, Instant};

use claimledger::db::cluster::LocalCluster;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app_with};

fn reads(app: &TestApp, target: &str) -> f64 {
    let metrics = app.get("/metrics").text().unwrap();
    let prefix = format!("claimledger_reads_total{{target=\"{target}\"}}");
    metrics
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn sql(url: &str, statement: &str) {
    use diesel::connection::SimpleConnection;
    claimledger::db::connect(url).unwrap().batch_execute(statement).unwrap();
}

#[test]
fn reads_go_to_a_standby_that_keeps_up_and_to_the_primary_otherwise() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("replica-{}", uuid::Uuid::new_v4().simple()));
    let primary = LocalCluster::ensure_started(&root.join("primary")).unwrap();
    let url = primary.url("claimledger");
    claimledger::db::migrate(&mut claimledger::db::connect(&url).unwrap()).unwrap();
    let standby = primary.standby(&root.join("standby")).unwrap();
    let replica_url = standby.url("claimledger");
    let app = spawn_app_with(|c| {
        c.database_url = Some(url.clone());
        c.replica_url = Some(replica_url.clone());
        c.replica_max_lag = Duration::from_millis(1_000);
    });
    let f = app.fixture();
    let v = app.created(
        &f.editor,
        &format!("/v1/claims/{}/verdicts", f.claim_id),
        &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [f.evidence_id]}),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.created(&f.editor, &format!("/v1/verdicts/{v}/submit"), &json!({}));
    app.created(&f.reviewer, &format!("/v1/verdicts/{v}/publish"), &json!({}));
    let auditor = app.token("aud", &[claimledger::model::Role::Auditor]);

    // Routing: once the standby has replayed this server's writes, public
    // and audit reads go to it.
    let started = Instant::now();
    loop {
        let before = reads(&app, "replica");
        assert_eq!(app.get("/v1/factchecks?limit=5").status(), 200);
        assert_eq!(app.get_as(&auditor, "/v1/revisions?limit=5").status(), 200);
        if reads(&app, "replica") >= before + 2.0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the standby never served a read");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Lag: replay paused, the standby falls behind; past the allowed lag,
    // reads go to the primary, and what they return is current.
    sql(&replica_url, "SELECT pg_wal_replay_pause()");
    let fc = format!("/v1/factchecks/{}", f.claim_id);
    let etag = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).headers()["etag"].clone();
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", f.claim_id),
        Some(etag.to_str().unwrap()),
        &json!({"statement": "Edited while the standby is paused."}),
    );
    assert_eq!(r.status(), 200);
    let seq: i64 = r.headers()["log-seq"].to_str().unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_millis(1_300));
    let (primary_before, replica_before) = (reads(&app, "primary"), reads(&app, "replica"));
    let body: Value = app.get(&format!("{fc}?min_seq={seq}")).json().unwrap();
    assert_eq!(body["claim"]["statement"], "Edited while the standby is paused.");
    let list = app.get("/v1/factchecks");
    assert_eq!(list.status(), 200);
    assert!(reads(&app, "primary") >= primary_before + 1.0, "a lagging standby is skipped");
    assert_eq!(reads(&app, "replica"), replica_before, "nothing read from the paused standby");
    sql(&replica_url, "SELECT pg_wal_replay_resume()");

    // Failover: the standby down, every read still answers, from the primary.
    standby.stop();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        assert_eq!(app.get(&fc).status(), 200);
        assert_eq!(app.get_as(&auditor, "/v1/revisions?limit=5").status(), 200);
    }
    let metrics = app.get("/metrics").text().unwrap();
    assert!(metrics.contains("claimledger_replica_replayed_seq -1"), "{metrics}");
    drop(app);
    drop(standby);
    let _ = primary.stop();
    let _ = std::fs::remove_dir_all(&root);
}
