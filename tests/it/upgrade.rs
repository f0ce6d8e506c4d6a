//! Upgrading a version-1 database to the editorial model (issue 18): the
//! seed as version 1 recorded it (kept as an export) is restored as it
//! stood — its log byte for byte, its projections from the log — and the
//! service's upgrade records claimant records and appearance kinds through
//! the log, rewriting nothing.

use std::collections::HashMap;
use std::time::Duration;

use claimledger::model::{Appearance, Article, Claim, EntityKind, Evidence, RevisionRecord, Verdict};
use claimledger::store::import::Import;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

use crate::harness::TestDb;

const V1_EXPORT: &str = include_str!("fixtures/v1-seed-export.ndjson");

/// The v1 log restored: every revision as exported, the head, and each
/// entity's projection row from its newest snapshot. The log is restored
/// where a database of then kept it, as `jsonb` (the schema before
/// migration 12, whose down.sql this runs), and migrated since.
fn restore_v1(conn: &mut PgConnection) -> Vec<RevisionRecord> {
    use diesel_migrations::MigrationHarness;
    let reverted = conn.revert_last_migration(claimledger::db::MIGRATIONS).unwrap();
    assert_eq!(reverted.to_string(), "20261208000012", "migration 12 (snapshot_text) was reverted");
    let records: Vec<RevisionRecord> = V1_EXPORT
        .split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut newest: HashMap<uuid::Uuid, &RevisionRecord> = HashMap::new();
    for r in &records {
        newest.insert(r.entity_id, r);
    }
    let mut batch = Import::default();
    for r in newest.values() {
        let s = r.snapshot.clone();
        match r.entity_kind {
            EntityKind::Editor => {
                let roles: Vec<String> = serde_json::from_value(s["roles"].clone()).unwrap();
                diesel::sql_query(
                    "INSERT INTO editors (id, version, username, display_name, roles, active) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind::<diesel::sql_types::Uuid, _>(r.entity_id)
                .bind::<diesel::sql_types::Integer, _>(r.entity_version)
                .bind::<diesel::sql_types::Text, _>(s["username"].as_str().unwrap())
                .bind::<diesel::sql_types::Text, _>(s["display_name"].as_str().unwrap())
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(roles)
                .bind::<diesel::sql_types::Bool, _>(s["active"].as_bool().unwrap())
                .execute(conn)
                .unwrap();
            }
            EntityKind::Article => batch.articles.push(serde_json::from_value::<Article>(s).unwrap()),
            EntityKind::Claim => batch.claims.push(serde_json::from_value::<Claim>(s).unwrap()),
            EntityKind::Appearance => batch.appearances.push(serde_json::from_value::<Appearance>(s).unwrap()),
            EntityKind::Evidence => batch.evidence.push(serde_json::from_value::<Evidence>(s).unwrap()),
            EntityKind::Verdict => batch.verdicts.push(serde_json::from_value::<Verdict>(s).unwrap()),
            other => panic!("version 1 had no {other}"),
        }
    }
    // Projections first (the revisions' actors must exist), then the log
    // itself, exactly as exported.
    conn.transaction(|c| claimledger::store::import::import(c, &batch).map(|_| ()))
        .unwrap();
    for r in &records {
        diesel::sql_query(
            "INSERT INTO revisions (seq, entity_kind, entity_id, entity_version, action, actor_id, reason, recorded_at, snapshot, entry_hash, chain_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::jsonb, decode($10, 'hex'), decode($11, 'hex'))",
        )
        .bind::<diesel::sql_types::BigInt, _>(r.seq)
        .bind::<diesel::sql_types::Text, _>(r.entity_kind.as_str())
        .bind::<diesel::sql_types::Uuid, _>(r.entity_id)
        .bind::<diesel::sql_types::Integer, _>(r.entity_version)
        .bind::<diesel::sql_types::Text, _>(r.action.as_str())
        .bind::<diesel::sql_types::Uuid, _>(r.actor_id)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(r.reason.clone())
        .bind::<diesel::sql_types::Text, _>(&r.recorded_at)
        .bind::<diesel::sql_types::Text, _>(r.snapshot.to_string())
        .bind::<diesel::sql_types::Text, _>(&r.entry_hash)
        .bind::<diesel::sql_types::Text, _>(&r.chain_hash)
        .execute(conn)
        .unwrap();
    }
    let last = records.last().unwrap();
    conn.batch_execute(&format!(
        "UPDATE log_head SET seq = {}, chain_hash = decode('{}', 'hex'), recorded_at = '{}'",
        last.seq, last.chain_hash, last.recorded_at
    ))
    .unwrap();
    let applied = conn.run_pending_migrations(claimledger::db::MIGRATIONS).unwrap();
    assert_eq!(applied.len(), 1);
    // The import recorded the rows' creations as a pending group: dropped,
    // the log restored above is the truth for those rows.
    conn.batch_execute("DELETE FROM pending_revisions").unwrap();
    records
}

/// The log's first revisions, exported now, are the v1 export, field for field.
fn assert_exported_as_v1(conn: &mut PgConnection, v1: &[RevisionRecord]) {
    let exported = claimledger::store::log::batch(conn, 0, v1.len() as i64, 10_000).unwrap();
    assert_eq!(exported.len(), v1.len());
    for (old, now) in v1.iter().zip(&exported) {
        assert_eq!(
            serde_json::to_value(old).unwrap(),
            serde_json::to_value(RevisionRecord::from(now)).unwrap()
        );
    }
}

#[test]
fn a_version_1_database_is_brought_to_the_editorial_model_through_the_log() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let v1 = restore_v1(&mut conn);
    let before = claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(before.ok, "the v1 log verifies as restored: {before:?}");

    let upgraded = claimledger::store::upgrade::editorial_model(&mut conn).unwrap();
    assert_eq!(upgraded.claims, 32);
    assert_eq!(upgraded.appearances, 49);
    claimledger::store::sequencer::settle(&mut conn, Duration::from_secs(120)).unwrap();
    // A second run finds nothing to do.
    assert_eq!(claimledger::store::upgrade::editorial_model(&mut conn).unwrap(), Default::default());

    // Nothing recorded was rewritten: the v1 revisions are still there, byte
    // for byte, and the log verifies end to end.
    let report = claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    let head = claimledger::ledger::head(&mut conn).unwrap().seq;
    assert!(head > v1.len() as i64);
    assert_exported_as_v1(&mut conn, &v1);
    // Every claim names a claimant record, which the log holds; the
    // projections match the log again.
    let unnamed: i64 = claimledger::db::schema::claims::table
        .filter(claimledger::db::schema::claims::claimant_id.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unnamed, 0);
    let state = claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap();
    assert!(state.ok, "{}", serde_json::to_string(&state).unwrap());
    // The record's kind was inferred once and the revision says so.
    let putin: Value = {
        let c = claimledger::db::schema::claimants::table
            .filter(claimledger::db::schema::claimants::name.eq("Vladimir Putin"))
            .select(claimledger::model::Claimant::as_select())
            .first(&mut conn)
            .unwrap();
        serde_json::to_value(c).unwrap()
    };
    assert_eq!(putin["kind"], "person");
    let why: Option<String> = claimledger::db::schema::revisions::table
        .filter(claimledger::db::schema::revisions::entity_kind.eq("claimant"))
        .select(claimledger::db::schema::revisions::reason)
        .first(&mut conn)
        .unwrap();
    assert!(why.unwrap().contains("inferred from the name"));
    // The public set is derived from the whole log, upgrade included.
    let public: i64 = claimledger::db::schema::public_factchecks::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(public, 16, "the v1 seed's published fact checks");
}

#[test]
fn a_log_kept_as_jsonb_is_the_same_log_once_its_snapshots_are_text() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let v1 = restore_v1(&mut conn);

    // The same revisions, hashes and all: the log verifies, its export is
    // the v1 export, and the claim each entity named is found by key.
    let report = claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, v1.len() as u64);
    assert_exported_as_v1(&mut conn, &v1);
    use claimledger::db::schema::revisions::dsl as r;
    let named: Vec<(i64, Option<uuid::Uuid>)> = r::revisions.select((r::seq, r::claim_id)).order(r::seq).load(&mut conn).unwrap();
    let expected: Vec<(i64, Option<uuid::Uuid>)> = v1
        .iter()
        .map(|rec| {
            (
                rec.seq,
                rec.snapshot.get("claim_id").and_then(|c| c.as_str()).map(|c| c.parse().unwrap()),
            )
        })
        .collect();
    assert_eq!(named, expected);
    assert!(
        named.iter().filter(|(_, c)| c.is_some()).count() > 100,
        "appearances, evidence and verdicts name their claim"
    );
    // A claim's history, found through those keys, holds its evidence.
    let claim = expected.iter().find_map(|(_, c)| *c).unwrap();
    let history = claimledger::store::history::claim_history(&mut conn, claim, 0, 100).unwrap();
    assert!(history.iter().any(|h| h.entity_kind == EntityKind::Evidence), "{history:?}");
}
