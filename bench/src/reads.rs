//! HTTP readers that wrk cannot be: `read-all` reads every published fact
//! check exactly once (the cold reads of a fresh server, and the way to fill
//! its cache before reading its memory), and `feed-replay` follows the
//! change feed page by page to its end, as a downstream site catching up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::synth::{KIND_CLAIM, id};

#[derive(clap::Args, Debug)]
pub struct ReadAllArgs {
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub base: String,
    /// Claims 1..=N have a published fact check (bench/run's manifest).
    #[arg(long)]
    pub published: u64,
    /// Connections (one thread each); claim n goes to connection n mod C.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u64,
}

#[derive(clap::Args, Debug)]
pub struct FeedArgs {
    #[arg(long)]
    pub base: String,
    /// Items per page (the API allows 1–100).
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
    /// Replays, one after another: the first reads a page the server has
    /// not built yet, later ones what it kept in memory.
    #[arg(long, default_value_t = 2)]
    pub passes: u32,
}

fn client() -> Result<reqwest::blocking::Client, reqwest::Error> {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build()
}

/// Prints one `JSON {...}` line in the shape of bench/lua/common.lua's, so
/// `record --wrk` reads it like a wrk run.
pub fn read_all(args: ReadAllArgs) -> Result<(), Box<dyn std::error::Error>> {
    // One thread of async clients: the load generator shares the machine's
    // two cores with the server, and a blocking client per connection (a
    // thread and a runtime each) would cost more than the reads it measures.
    let c = args.concurrency.max(1);
    let non2xx = Arc::new(AtomicU64::new(0));
    let socket_errors = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let latencies: Vec<u64> = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..c {
            let (http, base) = (http.clone(), args.base.clone());
            let (non2xx, socket_errors) = (non2xx.clone(), socket_errors.clone());
            let published = args.published;
            tasks.spawn(async move {
                let mut lat = vec![];
                for n in (1..=published).filter(|n| n % c == t) {
                    let url = format!("{base}/v1/factchecks/{}", id(KIND_CLAIM, n));
                    let t0 = Instant::now();
                    match http.get(&url).send().await {
                        Ok(r) => {
                            let ok = r.status().is_success();
                            match r.bytes().await {
                                Ok(_) if ok => {}
                                Ok(_) => {
                                    non2xx.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(_) => {
                                    socket_errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        Err(_) => {
                            socket_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    lat.push(t0.elapsed().as_micros() as u64);
                }
                lat
            });
        }
        let mut all = vec![];
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(l) => all.extend(l),
                Err(_) => eprintln!("read-all: a reader failed"),
            }
        }
        all
    });
    let duration = started.elapsed();
    if latencies.is_empty() {
        return Err("read-all: no request was made (no published fact checks?)".into());
    }
    let mut sorted = latencies.clone();
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1];
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    let summary = json!({
        "requests": sorted.len(),
        "duration_us": duration.as_micros() as u64,
        "non2xx": non2xx.load(Ordering::Relaxed),
        "socket_errors": socket_errors.load(Ordering::Relaxed),
        "p50_us": pct(0.50), "p90_us": pct(0.90), "p99_us": pct(0.99),
        "max_us": sorted.last().copied().unwrap_or(0), "mean_us": mean,
    });
    println!("JSON {summary}");
    Ok(())
}

/// Prints one results line (kind=feed) per pass.
pub fn feed_replay(args: FeedArgs) -> Result<(), Box<dyn std::error::Error>> {
    let http = client()?;
    for pass in 1..=args.passes {
        let (mut items, mut pages, mut bytes) = (0u64, 0u64, 0u64);
        let mut after: Option<String> = None;
        let started = Instant::now();
        loop {
            let mut url = format!("{}/v1/factchecks/feed?limit={}", args.base, args.limit);
            if let Some(a) = &after {
                url.push_str(&format!("&after={a}"));
            }
            let response = http.get(&url).send()?;
            let status = response.status();
            let body = response.bytes()?;
            if !status.is_success() {
                return Err(format!("GET {url}: {status}: {}", String::from_utf8_lossy(&body)).into());
            }
            bytes += body.len() as u64;
            pages += 1;
            let page: Value = serde_json::from_slice(&body)?;
            items += page["items"].as_array().map_or(0, Vec::len) as u64;
            let next = page["next_cursor"].as_str().map(str::to_string);
            if page["caught_up"] == true || next.is_none() || next == after {
                break;
            }
            after = next;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({
                "kind": "feed", "pass": pass, "items": items, "pages": pages, "bytes": bytes,
                "page_limit": args.limit, "seconds": secs,
                "items_per_sec": items as f64 / secs.max(1e-9),
                "pages_per_sec": pages as f64 / secs.max(1e-9),
                // store::factchecks::feed: a read-only transaction of two
                // SELECTs (how far the feed is derived; the page's items),
                // whatever the page size; a page the server keeps costs none.
                "statements_per_page": 2,
            })
        );
    }
    Ok(())
}
