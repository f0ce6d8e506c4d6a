//! Reads through a streaming standby (issue 15), on a cluster of its own: a
//! private primary (the service's own cluster code), seeded by a server,
//! and a standby made with `pg_basebackup -R` on its own port. Two servers
//! on that primary, one with `CLAIMLEDGER_REPLICA_URL`: the same audit read
//! at concurrency C against each (the standby's throughput beside the
//! primary's), then writes one after another, each timed from its
//! acknowledgement (`Log-Seq`) until the standby has replayed that seq.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use claimledger::db::cluster::LocalCluster;
use diesel::prelude::*;
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(clap::Args, Debug)]
pub struct ReplicaArgs {
    /// The server binary (target/release/claimledger).
    #[arg(long)]
    pub bin: PathBuf,
    /// A directory for the two clusters and the servers' data (removed after).
    #[arg(long)]
    pub root: PathBuf,
    /// Seconds of read load against each server.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    #[arg(long, default_value_t = 16)]
    pub concurrency: u64,
    /// Writes timed until the standby has replayed them.
    #[arg(long, default_value_t = 200)]
    pub writes: u64,
}

const SECRET: &str = "bench-replica-secret-0123456789abcdef0123456789";

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(bin: &Path, data_dir: &Path, url: &str, replica: Option<&str>) -> Res<Server> {
        let port = free_port()?;
        let mut c = Command::new(bin);
        c.arg("serve")
            .env("DATABASE_URL", url)
            .env("CLAIMLEDGER_BIND", format!("127.0.0.1:{port}"))
            .env("CLAIMLEDGER_DATA_DIR", data_dir)
            .env("CLAIMLEDGER_JWT_SECRET", SECRET)
            // Seeded (bench/run turns seeding off for its own server).
            .env("CLAIMLEDGER_SEED_ON_EMPTY", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(r) = replica {
            c.env("CLAIMLEDGER_REPLICA_URL", r);
        }
        let server = Server {
            child: c.spawn()?,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::blocking::Client::new();
        let started = Instant::now();
        while !http
            .get(format!("{}/readyz", server.base))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            if started.elapsed() > Duration::from_secs(120) {
                return Err("a server did not become ready in 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    fn reads(&self, target: &str) -> f64 {
        let prefix = format!("claimledger_reads_total{{target=\"{target}\"}}");
        reqwest::blocking::get(format!("{}/metrics", self.base))
            .and_then(|r| r.text())
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with(&prefix))
                    .and_then(|l| l.split_whitespace().last())
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(bin: &Path, url: &str, data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Res<String> {
    use std::io::Write;
    let mut c = Command::new(bin);
    c.args(args)
        .env("DATABASE_URL", url)
        .env("CLAIMLEDGER_DATA_DIR", data_dir)
        .env("CLAIMLEDGER_JWT_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn()?;
    if let Some(text) = stdin {
        child.stdin.take().ok_or("no stdin")?.write_all(text.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("claimledger {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// `GET path` with the token from C threads for `seconds`: requests/s,
/// p50 and p99 in ms, and how many answers were not 200.
fn load(base: &str, path: &str, token: &str, c: u64, seconds: u64) -> Res<(f64, f64, f64, u64)> {
    let stop = AtomicBool::new(false);
    let bad = AtomicU64::new(0);
    let url = format!("{base}{path}");
    let started = Instant::now();
    let mut lat: Vec<f64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..c)
            .map(|_| {
                let (stop, bad, url) = (&stop, &bad, &url);
                s.spawn(move || {
                    let http = reqwest::blocking::Client::new();
                    let mut lat = vec![];
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        let ok = http
                            .get(url)
                            .bearer_auth(token)
                            .send()
                            .and_then(|r| {
                                let ok = r.status().is_success();
                                r.bytes().map(|_| ok)
                            })
                            .unwrap_or(false);
                        if !ok {
                            bad.fetch_add(1, Ordering::Relaxed);
                        }
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    lat
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        threads.into_iter().flat_map(|t| t.join().unwrap_or_default()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Ok((
        lat.len() as f64 / elapsed,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        bad.load(Ordering::Relaxed),
    ))
}

pub fn run(args: ReplicaArgs) -> Res<()> {
    let root = &args.root;
    let primary = LocalCluster::ensure_started(&root.join("primary"))?;
    let result = measure(&args, &primary);
    let _ = primary.stop();
    let _ = std::fs::remove_dir_all(root);
    let line = result?;
    println!("{line}");
    Ok(())
}

fn measure(args: &ReplicaArgs, primary: &LocalCluster) -> Res<Value> {
    let root = &args.root;
    let url = primary.url("claimledger");
    // The first server migrates and seeds the primary.
    let plain = Server::start(&args.bin, &root.join("plain"), &url, None)?;
    cli(
        &args.bin,
        &url,
        &root.join("plain"),
        &[
            "editor",
            "add",
            "--username",
            "bench-replica",
            "--roles",
            "editor,auditor",
            "--password-stdin",
        ],
        Some("bench-replica-password-1234"),
    )?;
    let token = cli(
        &args.bin,
        &url,
        &root.join("plain"),
        &["token", "--username", "bench-replica"],
        None,
    )?;

    let standby = primary.standby(&root.join("standby"))?;
    let replica_url = standby.url("claimledger");
    let routed = Server::start(&args.bin, &root.join("routed"), &url, Some(&replica_url))?;

    // An audit read that goes to the database every time (a page of the log).
    let path = "/v1/revisions?limit=20";
    let http = reqwest::blocking::Client::new();
    let probe = http.get(format!("{}{path}", routed.base)).bearer_auth(&token).send()?;
    if !probe.status().is_success() {
        return Err(format!("GET {path} answered {}", probe.status()).into());
    }
    // Wait until the standby serves (it has replayed what this server wrote).
    let started = Instant::now();
    while routed.reads("replica") < 1.0 {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the standby never served a read".into());
        }
        http.get(format!("{}{path}", routed.base)).bearer_auth(&token).send()?;
        std::thread::sleep(Duration::from_millis(50));
    }
    let primary_load = load(&plain.base, path, &token, args.concurrency, args.seconds)?;
    let (replica_before, primary_before) = (routed.reads("replica"), routed.reads("primary"));
    let replica_load = load(&routed.base, path, &token, args.concurrency, args.seconds)?;
    let on_replica = routed.reads("replica") - replica_before;
    let on_primary = routed.reads("primary") - primary_before;

    // Writes through the routed server (they go to the primary), each timed
    // from its acknowledgement until the standby's log head reaches its seq.
    let claims: Value = http
        .get(format!("{}/v1/claims?limit=1", routed.base))
        .bearer_auth(&token)
        .send()?
        .json()?;
    let claim = claims["items"][0]["id"].as_str().ok_or("no claim to edit")?.to_string();
    let mut etag = http
        .get(format!("{}/v1/claims/{claim}", routed.base))
        .bearer_auth(&token)
        .send()?
        .headers()
        .get("etag")
        .ok_or("no ETag")?
        .to_str()?
        .to_string();
    let mut standby_conn = claimledger::db::connect(&replica_url)?;
    let mut lags = vec![];
    for n in 0..args.writes {
        let r = http
            .patch(format!("{}/v1/claims/{claim}", routed.base))
            .bearer_auth(&token)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", &etag)
            .body(json!({"tags": ["bench", format!("replica-{n}")]}).to_string())
            .send()?;
        let acked = Instant::now();
        if r.status() != 200 {
            return Err(format!("PATCH answered {}: {}", r.status(), r.text().unwrap_or_default()).into());
        }
        etag = r.headers().get("etag").ok_or("no ETag")?.to_str()?.to_string();
        let seq: i64 = r.headers().get("log-seq").ok_or("no Log-Seq")?.to_str()?.parse()?;
        loop {
            let replayed: i64 = diesel::sql_query("SELECT seq FROM log_head")
                .get_result::<Head>(&mut standby_conn)
                .map(|h| h.seq)?;
            if replayed >= seq {
                break;
            }
            if acked.elapsed() > Duration::from_secs(10) {
                return Err(format!("the standby did not replay seq {seq} in 10 s").into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        lags.push(acked.elapsed().as_secs_f64() * 1000.0);
    }
    lags.sort_by(f64::total_cmp);
    drop(routed);
    drop(plain);
    drop(standby);
    Ok(json!({
        "kind": "replica",
        "path": path,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "standby_rps": replica_load.0, "standby_p50_ms": replica_load.1, "standby_p99_ms": replica_load.2, "standby_errors": replica_load.3,
        "read_on_standby": on_replica, "read_on_primary": on_primary,
        "primary_rps": primary_load.0, "primary_p50_ms": primary_load.1, "primary_p99_ms": primary_load.2, "primary_errors": primary_load.3,
        "writes": args.writes,
        "readable_p50_ms": pct(&lags, 0.5), "readable_p99_ms": pct(&lags, 0.99), "readable_max_ms": lags.last().copied().unwrap_or(0.0),
    }))
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
}
