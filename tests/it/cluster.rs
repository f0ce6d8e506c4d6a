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

/// As root, PostgreSQL runs as the `postgres` OS user; a data directory in a
/// 0700 home (root's, on a fresh server) is out of that user's reach, so the
/// cluster keeps its data where that user can reach it.
#[test]
fn a_private_cluster_works_from_a_0700_directory_as_root() {
    use std::os::unix::fs::PermissionsExt;
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: only root runs the cluster as another OS user");
        return;
    }
    let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let root = home.join(".claimledger");
    let cluster = LocalCluster::ensure_started(&root).expect("the private cluster starts from a 0700 directory");
    assert!(cluster.started_here());
    assert!(
        !cluster.data_dir().starts_with(&home),
        "the data must live where the postgres user can reach it"
    );
    let mut conn = PgConnection::establish(&cluster.url("claimledger")).expect("connects with the generated password");
    assert!(db::migrate(&mut conn).unwrap() >= 1);
    drop(conn);
    let again = LocalCluster::ensure_started(&root).unwrap();
    assert!(!again.started_here(), "a second start finds it running");
    assert_eq!(again.data_dir(), cluster.data_dir());
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(cluster.data_dir().parent().unwrap());
    let _ = std::fs::remove_dir_all(&home);
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
