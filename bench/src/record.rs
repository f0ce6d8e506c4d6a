//! `record`: turns one measurement's raw output (wrk's summary line from
//! bench/lua/common.lua, or pgbench's report and per-transaction logs) into
//! one JSON line of the results file, with the context bench/run passes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    /// The results file (JSON lines) to append to.
    #[arg(long)]
    pub results: PathBuf,
    /// wrk's output (with the `JSON {...}` line our Lua scripts print).
    #[arg(long, conflicts_with = "pgbench")]
    pub wrk: Option<PathBuf>,
    /// pgbench's output.
    #[arg(long, requires = "pgbench_log")]
    pub pgbench: Option<PathBuf>,
    /// pgbench's --log-prefix: every file starting with it is read.
    #[arg(long)]
    pub pgbench_log: Option<PathBuf>,
    /// Two scrapes of the server's /metrics, before and after a load phase:
    /// the sequencer's revisions and batches in between (with --seconds).
    #[arg(long, num_args = 2, value_names = ["BEFORE", "AFTER"])]
    pub metrics: Option<Vec<PathBuf>>,
    /// The time between the two scrapes, for --metrics.
    #[arg(long, default_value_t = 0.0)]
    pub seconds: f64,
    /// Extra fields, key=value (numbers stay numbers). Repeatable.
    #[arg(long = "set", value_parser = parse_kv)]
    pub set: Vec<(String, String)>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected key=value, got {s}"))
}

fn value(v: &str) -> Value {
    if let Ok(n) = v.parse::<i64>() {
        return json!(n);
    }
    if let Ok(f) = v.parse::<f64>()
        && f.is_finite()
    {
        return json!(f);
    }
    json!(v)
}

pub fn run(args: RecordArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut rec = Map::new();
    for (k, v) in &args.set {
        rec.insert(k.clone(), value(v));
    }
    if let Some(path) = &args.wrk {
        for (k, v) in wrk(path)? {
            rec.insert(k, v);
        }
    }
    if let (Some(out), Some(prefix)) = (&args.pgbench, &args.pgbench_log) {
        for (k, v) in pgbench(out, prefix)? {
            rec.insert(k, v);
        }
    }
    if let Some(files) = &args.metrics {
        for (k, v) in sequencer(&files[0], &files[1], args.seconds)? {
            rec.insert(k, v);
        }
    }
    let rec = Value::Object(rec);
    let line = serde_json::to_string(&rec)?;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&args.results)?;
    writeln!(f, "{line}")?;
    let get = |k: &str| rec.get(k).and_then(Value::as_f64);
    if let (Some(per), Some(mean)) = (get("revisions_per_sec"), get("mean_batch")) {
        println!(
            "{per:.0} revisions/s in {} batches, mean {mean:.1}, p50 ≤ {}, max ≤ {}",
            get("batches").unwrap_or(0.0),
            get("p50_batch").unwrap_or(0.0),
            get("max_batch").unwrap_or(0.0)
        );
    }
    if let (Some(rps), Some(p50), Some(p99)) = (get("rps"), get("p50_ms"), get("p99_ms")) {
        println!(
            "{rps:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms, errors {}",
            get("errors").unwrap_or(0.0)
        );
    }
    Ok(())
}

fn wrk(path: &Path) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("JSON "))
        .ok_or_else(|| format!("{}: no JSON summary line from wrk:\n{text}", path.display()))?;
    let raw: Value = serde_json::from_str(line)?;
    let num = |k: &str| raw.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let requests = num("requests");
    let secs = num("duration_us") / 1e6;
    let mut m = Map::new();
    m.insert("tool".into(), json!("wrk"));
    m.insert("requests".into(), json!(requests as u64));
    m.insert("seconds".into(), json!(secs));
    // Only successful responses count as throughput.
    let errors = num("non2xx") + num("socket_errors");
    m.insert("errors".into(), json!(errors as u64));
    m.insert("rps".into(), json!((requests - num("non2xx")).max(0.0) / secs.max(1e-9)));
    m.insert("p50_ms".into(), json!(num("p50_us") / 1000.0));
    m.insert("p90_ms".into(), json!(num("p90_us") / 1000.0));
    m.insert("p99_ms".into(), json!(num("p99_us") / 1000.0));
    m.insert("max_ms".into(), json!(num("max_us") / 1000.0));
    Ok(m)
}

fn pgbench(out: &Path, prefix: &Path) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(out)?;
    let tps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("{}: no tps line from pgbench:\n{text}", out.display()))?;
    let failed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("number of failed transactions: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    // Per-transaction logs: client_id transaction_no time_us script_no epoch epoch_us …
    let dir = prefix.parent().unwrap_or(Path::new("."));
    let stem = prefix.file_name().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let mut lat: Vec<u64> = vec![];
    let mut failed_in_log = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(&stem) {
            continue;
        }
        for line in std::fs::read_to_string(entry.path())?.lines() {
            match line.split_whitespace().nth(2).map(str::parse::<u64>) {
                Some(Ok(us)) => lat.push(us),
                Some(Err(_)) => failed_in_log += 1,
                None => {}
            }
        }
    }
    if lat.is_empty() {
        return Err(format!("no pgbench transaction logs under {}", prefix.display()).into());
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1] as f64 / 1000.0;
    let mut m = Map::new();
    m.insert("tool".into(), json!("pgbench"));
    m.insert("requests".into(), json!(lat.len()));
    m.insert("errors".into(), json!(failed.max(failed_in_log)));
    m.insert("rps".into(), json!(tps));
    m.insert("p50_ms".into(), json!(pct(0.50)));
    m.insert("p90_ms".into(), json!(pct(0.90)));
    m.insert("p99_ms".into(), json!(pct(0.99)));
    m.insert("max_ms".into(), json!(*lat.last().unwrap_or(&0) as f64 / 1000.0));
    Ok(m)
}

/// The sequencer's metrics (src/store/sequencer.rs) in a Prometheus text scrape:
/// the revisions and batches counters, and the batch-size histogram's
/// cumulative buckets (upper bound, count).
struct Scrape {
    revisions: f64,
    batches: f64,
    buckets: Vec<(f64, f64)>,
}

fn scrape(path: &Path) -> Result<Scrape, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut s = Scrape {
        revisions: 0.0,
        batches: 0.0,
        buckets: vec![],
    };
    let mut found = false;
    for line in text.lines() {
        let Some((name, v)) = line.rsplit_once(' ') else { continue };
        let Ok(v) = v.parse::<f64>() else { continue };
        if name == "claimledger_sequencer_revisions_total" {
            s.revisions = v;
            found = true;
        } else if name == "claimledger_sequencer_batches_total" {
            s.batches = v;
        } else if let Some(le) = name
            .strip_prefix("claimledger_sequencer_batch_revisions_bucket{le=\"")
            .and_then(|r| r.strip_suffix("\"}"))
        {
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse()? };
            s.buckets.push((le, v));
        }
    }
    if !found {
        return Err(format!(
            "{}: no claimledger_sequencer_revisions_total (is this the server's /metrics?)",
            path.display()
        )
        .into());
    }
    Ok(s)
}

fn sequencer(before: &Path, after: &Path, seconds: f64) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let (b, a) = (scrape(before)?, scrape(after)?);
    let revisions = a.revisions - b.revisions;
    let batches = a.batches - b.batches;
    // Per-bucket counts in between, cumulative; a size is reported as its
    // bucket's upper bound.
    let delta: Vec<(f64, f64)> = a
        .buckets
        .iter()
        .map(|(le, n)| (*le, n - b.buckets.iter().find(|(l, _)| l == le).map_or(0.0, |x| x.1)))
        .collect();
    let quantile = |q: f64| {
        let want = (batches * q).ceil().max(1.0);
        delta.iter().find(|(_, n)| *n >= want).map(|(le, _)| *le)
    };
    let bound = |x: Option<f64>| x.filter(|v| v.is_finite()).map_or(json!(null), |v| json!(v));
    let mut m = Map::new();
    m.insert("revisions".into(), json!(revisions));
    m.insert("batches".into(), json!(batches));
    m.insert("seconds".into(), json!(seconds));
    m.insert("revisions_per_sec".into(), json!(revisions / seconds.max(1e-9)));
    m.insert("mean_batch".into(), json!(if batches > 0.0 { revisions / batches } else { 0.0 }));
    m.insert("p50_batch".into(), bound(if batches > 0.0 { quantile(0.5) } else { None }));
    m.insert("max_batch".into(), bound(if batches > 0.0 { quantile(1.0) } else { None }));
    Ok(m)
}
