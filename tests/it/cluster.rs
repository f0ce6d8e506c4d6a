//! The self-starting PostgreSQL that `serve` uses when DATABASE_URL is unset.

use claimledger::db::{self, cluster::LocalCluster};
use diesel::prelude::*;

#[test]
fn a_private_cluster_initialises_starts_migrates_and_stops() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{}", uuid::Uuid::new_v4().simple()));
    let cluster = LocalCluster::ensure_started(&root).expect("initdb and pg_ctl are installed");
    assert!(cluster.started_here());
    let mut conn = PgConnection::establish(&cluster.url("claimledger")).expect("connects with the generated password");
    assert!(db::migrate(&mut conn).unwrap() >= 1);
    db::check_ready(&mut conn).unwrap();
    drop(conn);

    // The password is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("pg-password")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "pg-password must not be readable by others");

    // A second start finds it running and reuses it.
    let again = LocalCluster::ensure_started(&root).unwrap();
    assert!(!again.started_here());
    assert_eq!(again.port(), cluster.port());

    cluster.stop().unwrap();
    assert!(PgConnection::establish(&cluster.url("claimledger")).is_err(), "stopped");
    let _ = std::fs::remove_dir_all(&root);
}
