//! Push (issue 16), measured from the outside as a subscriber sees it.
//!
//! `push`: local HTTP receivers (loopback; the server runs with
//! CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE=true) subscribed through
//! `POST /v1/webhooks`, verdicts published at a steady rate (each submitted
//! beforehand, so the timed request is the publish alone), and for every
//! (receiver, publish) the time from the publish's acknowledgement (its
//! response, carrying `Log-Seq`) to the delivery whose `data.seq` is that
//! `Log-Seq`. Then a burst: one subscription is replayed from before the
//! first publish, and its receiver counts how fast the server pushes events
//! that are all due at once. Every delivery's Standard Webhooks signature is
//! checked with the subscription's secret.
//!
//! `stream`: many concurrent `GET /v1/factchecks/stream` connections; once
//! all are open, a few publishes, and for each (stream, publish) the time
//! from the acknowledgement to the stream's event whose `id:` (a feed
//! cursor) is that `Log-Seq`; the server's VmHWM / VmRSS with the streams
//! open (from /proc).
//!
//! The publisher and the receivers share one process and one clock
//! (`Instant`). A delivery can reach its receiver before the publisher has
//! read the acknowledgement (the server pushes as soon as the change is
//! sequenced); such pairs count as 0 ms and are reported (`before_ack`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use claimledger::model::paging::FeedCursor;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::synth::{KIND_VERDICT, id};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(clap::Args, Debug)]
pub struct PushArgs {
    /// The server, e.g. http://127.0.0.1:8080. Tokens come from the
    /// environment: BENCH_ADMIN_TOKEN, BENCH_EDITOR_TOKEN (submits),
    /// BENCH_REVIEWER_TOKEN (publishes).
    #[arg(long)]
    pub base: String,
    /// Draft verdicts lo..=hi (synthetic numbers, bench/src/synth.rs) this
    /// step may submit and publish; no other phase may use them.
    #[arg(long)]
    pub lo: u64,
    #[arg(long)]
    pub hi: u64,
    /// Receivers, one subscription each.
    #[arg(long, default_value_t = 10)]
    pub subscribers: usize,
    /// Publishes per second, on a fixed schedule (a slow answer does not delay the next).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long to publish.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// How long to wait for the last deliveries (steady phase and burst).
    #[arg(long, default_value_t = 120.0)]
    pub drain_seconds: f64,
}

#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    /// The server. Tokens: BENCH_EDITOR_TOKEN, BENCH_REVIEWER_TOKEN.
    #[arg(long)]
    pub base: String,
    /// Draft verdicts lo..=hi this step may submit and publish.
    #[arg(long)]
    pub lo: u64,
    #[arg(long)]
    pub hi: u64,
    /// Concurrent streams.
    #[arg(long, default_value_t = 1000)]
    pub streams: usize,
    /// Publishes once every stream is open, one every --interval-ms.
    #[arg(long, default_value_t = 5)]
    pub events: usize,
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// The server's pid, for its VmHWM / VmRSS with the streams open.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// How long the streams may take to open, and the events to arrive.
    #[arg(long, default_value_t = 60.0)]
    pub wait_seconds: f64,
}

fn token(name: &str) -> Res<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn runtime() -> Res<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Percentile p of sorted values (nearest rank), 0 when empty.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// From arrivals (who, seq, when), the first per (who, seq) of an
/// acknowledged seq: its time after the acknowledgement in ms, sorted, and
/// how many came before the publisher had read the answer (counted as 0).
fn since_ack(ack_of: &HashMap<i64, Instant>, arrivals: impl IntoIterator<Item = (usize, i64, Instant)>) -> (Vec<f64>, u64) {
    let mut first: HashMap<(usize, i64), Instant> = HashMap::new();
    for (who, q, at) in arrivals {
        if ack_of.contains_key(&q) {
            let e = first.entry((who, q)).or_insert(at);
            *e = (*e).min(at);
        }
    }
    let before_ack = first.iter().filter(|((_, q), at)| **at < ack_of[q]).count() as u64;
    let lat = sorted(
        first
            .iter()
            .map(|((_, q), at)| ms(at.saturating_duration_since(ack_of[q])))
            .collect(),
    );
    (lat, before_ack)
}

/// Waits until `done()` or `secs` have passed; whether it is done.
async fn wait_until(secs: f64, done: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A write's acknowledgement: when its response was read, and its `Log-Seq`.
#[derive(Debug, Clone, Copy)]
struct Ack {
    sent: Instant,
    at: Instant,
    seq: i64,
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Res<Api> {
        Ok(Api {
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).no_proxy().build()?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// Submits a draft for review; false when it is not a draft (409).
    async fn submit(&self, token: &str, n: u64) -> Result<bool, String> {
        let url = format!("{}/v1/verdicts/{}/submit", self.base, id(KIND_VERDICT, n));
        let r = self.http.post(&url).bearer_auth(token).send().await.map_err(|e| e.to_string())?;
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        match status.as_u16() {
            200 => Ok(true),
            409 => Ok(false),
            _ => Err(format!("POST {url}: {status}: {body}")),
        }
    }

    async fn publish(&self, token: &str, n: u64) -> Result<Ack, String> {
        let url = format!("{}/v1/verdicts/{}/publish", self.base, id(KIND_VERDICT, n));
        let sent = Instant::now();
        let r = self.http.post(&url).bearer_auth(token).send().await.map_err(|e| e.to_string())?;
        let status = r.status();
        let seq = r
            .headers()
            .get("log-seq")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let body = r.bytes().await.map_err(|e| e.to_string())?;
        let at = Instant::now();
        match (status.is_success(), seq) {
            (true, Some(seq)) => Ok(Ack { sent, at, seq }),
            (true, None) => Err(format!("POST {url}: {status} without Log-Seq")),
            _ => Err(format!("POST {url}: {status}: {}", String::from_utf8_lossy(&body))),
        }
    }

    /// Creates a subscription; (id, signing key).
    async fn subscribe(&self, token: &str, url: &str, r: usize) -> Res<(String, Vec<u8>)> {
        let resp = self
            .http
            .post(format!("{}/v1/webhooks", self.base))
            .bearer_auth(token)
            .json(&json!({"url": url, "description": format!("bench receiver {r}")}))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            return Err(format!("POST /v1/webhooks: {status}: {body}").into());
        }
        let hook = body["id"].as_str().ok_or("no id in the created subscription")?.to_string();
        let secret = body["secret"]
            .as_str()
            .and_then(|s| s.strip_prefix("whsec_"))
            .ok_or("no whsec_ secret in the created subscription")?;
        Ok((hook, STANDARD.decode(secret)?))
    }

    async fn replay(&self, token: &str, hook: &str, from: i64) -> Res<()> {
        let resp = self
            .http
            .post(format!(
                "{}/v1/webhooks/{hook}/replay?from_cursor={}",
                self.base,
                FeedCursor(from).token()
            ))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("replay: {status}: {}", resp.text().await.unwrap_or_default()).into());
        }
        Ok(())
    }

    async fn unsubscribe(&self, token: &str, hook: &str) -> Res<()> {
        let resp = self
            .http
            .delete(format!("{}/v1/webhooks/{hook}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("DELETE /v1/webhooks/{hook}: {status}").into());
        }
        Ok(())
    }
}

/// Submits drafts from `pool` (8 at a time) until `want` are in review;
/// their numbers, in order. A verdict that is no longer a draft is skipped.
async fn submit_drafts(api: &Arc<Api>, token: &str, pool: &mut std::ops::RangeInclusive<u64>, want: usize) -> Res<Vec<u64>> {
    let mut ready = vec![];
    while ready.len() < want {
        let batch: Vec<u64> = pool.by_ref().take((want - ready.len()).min(8)).collect();
        if batch.is_empty() {
            return Err(format!("only {} of {want} draft verdicts could be submitted for review", ready.len()).into());
        }
        let mut set = JoinSet::new();
        for n in batch {
            let (api, token) = (api.clone(), token.to_string());
            set.spawn(async move { (n, api.submit(&token, n).await) });
        }
        while let Some(done) = set.join_next().await {
            let (n, ok) = done?;
            if ok? {
                ready.push(n);
            }
        }
    }
    ready.sort_unstable();
    Ok(ready)
}

// ------------------------------------------------------------------ receivers

/// One request a receiver took.
struct Delivery {
    receiver: usize,
    at: Instant,
    seq: Option<i64>,
    message_id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

struct Inbox {
    deliveries: Mutex<Vec<Delivery>>,
    /// The highest `data.seq` each receiver has taken (deliveries to one
    /// subscription come in log order).
    max_seq: Vec<AtomicI64>,
}

impl Inbox {
    fn new(receivers: usize) -> Inbox {
        Inbox {
            deliveries: Mutex::new(vec![]),
            max_seq: (0..receivers).map(|_| AtomicI64::new(0)).collect(),
        }
    }

    /// What was received so far; starts afresh.
    fn take(&self) -> Vec<Delivery> {
        let mut d = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        for m in &self.max_seq {
            m.store(0, Ordering::Release);
        }
        std::mem::take(&mut *d)
    }

    fn reached(&self, r: usize, seq: i64) -> bool {
        self.max_seq[r].load(Ordering::Acquire) >= seq
    }
}

async fn serve(listener: TcpListener, r: usize, inbox: Arc<Inbox>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let inbox = inbox.clone();
        tokio::spawn(async move {
            let _ = connection(stream, r, &inbox).await;
        });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// HTTP/1.1 keep-alive: each request (with a Content-Length body) is
/// taken, timed and answered 204 at once.
async fn connection(mut s: TcpStream, r: usize, inbox: &Inbox) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let (mut len, mut message_id, mut timestamp, mut signature) = (0usize, String::new(), String::new(), String::new());
        for line in head.split("\r\n").skip(1) {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "webhook-id" => message_id = v,
                "webhook-timestamp" => timestamp = v,
                "webhook-signature" => signature = v,
                _ => {}
            }
        }
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let at = Instant::now();
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await?;
        let seq = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["data"]["seq"].as_i64());
        let mut d = inbox.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = seq {
            inbox.max_seq[r].fetch_max(q, Ordering::AcqRel);
        }
        d.push(Delivery {
            receiver: r,
            at,
            seq,
            message_id,
            timestamp,
            signature,
            body,
        });
    }
}

/// Standard Webhooks: one of the `v1,<base64>` signatures is HMAC-SHA256
/// over `id.timestamp.body` with the secret.
fn signed(key: &[u8], d: &Delivery) -> bool {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(d.message_id.as_bytes());
    mac.update(b".");
    mac.update(d.timestamp.as_bytes());
    mac.update(b".");
    mac.update(&d.body);
    let want = STANDARD.encode(mac.finalize().into_bytes());
    d.signature.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|s| s == want)
}

pub fn push(args: PushArgs) -> Res<()> {
    runtime()?.block_on(push_async(args))
}

async fn push_async(args: PushArgs) -> Res<()> {
    let (admin, editor, reviewer) = (
        token("BENCH_ADMIN_TOKEN")?,
        token("BENCH_EDITOR_TOKEN")?,
        token("BENCH_REVIEWER_TOKEN")?,
    );
    if args.rate <= 0.0 || args.subscribers == 0 {
        return Err("--rate and --subscribers must be positive".into());
    }
    let api = Arc::new(Api::new(&args.base)?);
    let publishes = (args.rate * args.seconds).round().max(1.0) as usize;

    // Receivers and their subscriptions.
    let inbox = Arc::new(Inbox::new(args.subscribers));
    let mut hooks: Vec<(String, Vec<u8>)> = vec![];
    let mut servers = vec![];
    for r in 0..args.subscribers {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        servers.push(tokio::spawn(serve(listener, r, inbox.clone())));
        hooks.push(api.subscribe(&admin, &format!("http://127.0.0.1:{port}/hook/{r}"), r).await?);
    }
    let result = measure_push(&args, &api, &inbox, &hooks, publishes, &editor, &reviewer, &admin).await;
    for (hook, _) in &hooks {
        if let Err(e) = api.unsubscribe(&admin, hook).await {
            eprintln!("push: {e}");
        }
    }
    for s in servers {
        s.abort();
    }
    let line = result?;
    println!("{line}");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure_push(
    args: &PushArgs,
    api: &Arc<Api>,
    inbox: &Arc<Inbox>,
    hooks: &[(String, Vec<u8>)],
    publishes: usize,
    editor: &str,
    reviewer: &str,
    admin: &str,
) -> Res<Value> {
    let subs = hooks.len();
    let drafts = submit_drafts(api, editor, &mut (args.lo..=args.hi), publishes).await?;
    // Submits change no fact check; anything delivered until now is not ours.
    tokio::time::sleep(Duration::from_millis(300)).await;
    inbox.take();

    // The steady phase: publish i is sent at start + i / rate.
    let start = tokio::time::Instant::now();
    let mut set = JoinSet::new();
    for (i, &n) in drafts.iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / args.rate)).await;
        let (api, reviewer) = (api.clone(), reviewer.to_string());
        set.spawn(async move { api.publish(&reviewer, n).await });
    }
    let (mut acks, mut publish_errors, mut first_error) = (vec![], 0u64, None);
    while let Some(done) = set.join_next().await {
        match done? {
            Ok(a) => acks.push(a),
            Err(e) => {
                publish_errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = &first_error {
        eprintln!("push: {publish_errors} publishes failed; the first: {e}");
    }
    if acks.is_empty() {
        return Err("push: no publish succeeded".into());
    }
    let last_seq = acks.iter().map(|a| a.seq).max().unwrap_or(0);
    let first_seq = acks.iter().map(|a| a.seq).min().unwrap_or(0);
    let drained = wait_until(args.drain_seconds, || (0..subs).all(|r| inbox.reached(r, last_seq))).await;
    let steady = inbox.take();

    // Acknowledgement → arrival of the event whose data.seq is the Log-Seq,
    // first arrival per (receiver, publish).
    let ack_of: HashMap<i64, Instant> = acks.iter().map(|a| (a.seq, a.at)).collect();
    let (lat, before_ack) = since_ack(&ack_of, steady.iter().filter_map(|d| d.seq.map(|q| (d.receiver, q, d.at))));
    let publish_lat = sorted(acks.iter().map(|a| ms(a.at - a.sent)).collect());
    // The rate the publishes were sent at: intervals between the first and the last send.
    let sends = (acks.iter().map(|a| a.sent).min(), acks.iter().map(|a| a.sent).max());
    let achieved_rate = match sends {
        (Some(a), Some(b)) if b > a => (acks.len() - 1) as f64 / (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let missing = (acks.len() * subs).saturating_sub(lat.len());
    let span = |ds: &[&Delivery]| -> f64 {
        match (ds.iter().map(|d| d.at).min(), ds.iter().map(|d| d.at).max()) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => 0.0,
        }
    };
    let all: Vec<&Delivery> = steady.iter().collect();
    let steady_span = span(&all);

    // The burst: subscription 0 replayed from before the first publish; its
    // receiver takes every event of the steady phase again, all due at once.
    let from = first_seq - 2;
    let want: HashSet<i64> = steady
        .iter()
        .filter(|d| d.receiver == 0)
        .filter_map(|d| d.seq)
        .filter(|q| *q > from)
        .collect();
    let burst_last = want.iter().copied().max().unwrap_or(last_seq);
    let replay_at = Instant::now();
    api.replay(admin, &hooks[0].0, from).await?;
    let burst_drained = wait_until(args.drain_seconds, || inbox.reached(0, burst_last)).await;
    let burst = inbox.take();
    let burst0: Vec<&Delivery> = burst.iter().filter(|d| d.receiver == 0).collect();
    let burst_seqs: HashSet<i64> = burst0.iter().filter_map(|d| d.seq).filter(|q| want.contains(q)).collect();
    // The rate from the first delivery to the last (the worker notices a
    // replay at its next round: that wait is burst_first_ms, apart).
    let (burst_start, burst_end) = (burst0.iter().map(|d| d.at).min(), burst0.iter().map(|d| d.at).max());
    let burst_secs = match (burst_start, burst_end) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    let burst_first_ms = burst_start.map_or(0.0, |f| ms(f.saturating_duration_since(replay_at)));

    let bad_signatures = steady
        .iter()
        .chain(burst.iter())
        .filter(|d| !signed(&hooks[d.receiver].1, d))
        .count();
    let deliveries = steady.len();
    Ok(json!({
        "kind": "push",
        "subscribers": subs,
        "rate": args.rate,
        "seconds": args.seconds,
        "publishes": acks.len(),
        "publish_errors": publish_errors,
        "achieved_rate": achieved_rate,
        "publish_p50_ms": pct(&publish_lat, 0.50),
        "publish_p99_ms": pct(&publish_lat, 0.99),
        "deliveries": deliveries,
        "events_per_publish": deliveries as f64 / (acks.len() * subs) as f64,
        "pairs": lat.len(),
        "missing": missing,
        "drained": drained,
        "before_ack": before_ack,
        "p50_ms": pct(&lat, 0.50),
        "p99_ms": pct(&lat, 0.99),
        "max_ms": lat.last().copied().unwrap_or(0.0),
        "steady_deliveries_per_sec": deliveries as f64 / steady_span.max(1e-9),
        "burst_events": want.len(),
        "burst_delivered": burst_seqs.len(),
        "burst_deliveries": burst0.len(),
        "burst_seconds": burst_secs,
        "burst_first_ms": burst_first_ms,
        "burst_per_sec": burst0.len().saturating_sub(1) as f64 / burst_secs.max(1e-9),
        "burst_drained": burst_drained,
        "bad_signatures": bad_signatures,
        "checked_signatures": steady.len() + burst.len(),
    }))
}

// ------------------------------------------------------------------ SSE

/// The server's VmHWM and VmRSS (KiB), from /proc.
fn memory(pid: Option<u32>) -> (Option<u64>, Option<u64>) {
    let Some(text) = pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok()) else {
        return (None, None);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

struct Streams {
    connected: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    /// (stream, feed seq, when its event was read).
    events: Mutex<Vec<(usize, i64, Instant)>>,
}

async fn one_stream(http: reqwest::Client, url: String, s: usize, st: Arc<Streams>) {
    let fail = |why: String| {
        st.failed.fetch_add(1, Ordering::AcqRel);
        st.first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(why);
    };
    let mut resp = match http.get(&url).header("accept", "text/event-stream").send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return fail(format!("GET {url}: {}", r.status())),
        Err(e) => return fail(format!("GET {url}: {e}")),
    };
    st.connected.fetch_add(1, Ordering::AcqRel);
    let (mut buf, mut seq): (Vec<u8>, Option<i64>) = (vec![], None);
    while let Ok(Some(chunk)) = resp.chunk().await {
        let at = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if let Some(q) = seq.take() {
                    st.events.lock().unwrap_or_else(|e| e.into_inner()).push((s, q, at));
                }
            } else if let Some(cursor) = line.strip_prefix("id:") {
                seq = FeedCursor::parse(cursor.trim()).ok().map(|c| c.0);
            }
        }
    }
}

pub fn stream(args: StreamArgs) -> Res<()> {
    runtime()?.block_on(stream_async(args))
}

async fn stream_async(args: StreamArgs) -> Res<()> {
    let (editor, reviewer) = (token("BENCH_EDITOR_TOKEN")?, token("BENCH_REVIEWER_TOKEN")?);
    let api = Arc::new(Api::new(&args.base)?);
    let drafts = submit_drafts(&api, &editor, &mut (args.lo..=args.hi), args.events).await?;
    let (_, rss_before) = memory(args.server_pid);

    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?;
    let url = format!("{}/v1/factchecks/stream", api.base);
    let st = Arc::new(Streams {
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        first_error: Mutex::new(None),
        events: Mutex::new(vec![]),
    });
    let opening = Instant::now();
    let mut tasks = JoinSet::new();
    for s in 0..args.streams {
        tasks.spawn(one_stream(http.clone(), url.clone(), s, st.clone()));
    }
    let n = args.streams;
    wait_until(args.wait_seconds, || {
        st.connected.load(Ordering::Acquire) + st.failed.load(Ordering::Acquire) >= n
    })
    .await;
    let connect_secs = opening.elapsed().as_secs_f64();
    let connected = st.connected.load(Ordering::Acquire);
    if let Some(e) = st.first_error.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        eprintln!("stream: {} of {n} streams failed; the first: {e}", n - connected);
    }
    if connected == 0 {
        return Err("stream: no stream opened".into());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (hwm_open, rss_open) = memory(args.server_pid);

    let mut acks = vec![];
    for (i, &d) in drafts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
        acks.push(api.publish(&reviewer, d).await?);
    }
    let ack_of: HashMap<i64, Instant> = acks.iter().map(|a| (a.seq, a.at)).collect();
    let want = connected * acks.len();
    let count = || {
        let ev = st.events.lock().unwrap_or_else(|e| e.into_inner());
        ev.iter()
            .filter(|(_, q, _)| ack_of.contains_key(q))
            .map(|(s, q, _)| (*s, *q))
            .collect::<HashSet<_>>()
            .len()
    };
    let drained = wait_until(args.wait_seconds, || count() >= want).await;
    let (hwm_after, rss_after) = memory(args.server_pid);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}

    let events = std::mem::take(&mut *st.events.lock().unwrap_or_else(|e| e.into_inner()));
    let (lat, before_ack) = since_ack(&ack_of, events);
    println!(
        "{}",
        json!({
            "kind": "stream",
            "streams": args.streams,
            "connected": connected,
            "connect_seconds": connect_secs,
            "events": acks.len(),
            "pairs": lat.len(),
            "missing": want.saturating_sub(lat.len()),
            "drained": drained,
            "before_ack": before_ack,
            "p50_ms": pct(&lat, 0.50),
            "p99_ms": pct(&lat, 0.99),
            "max_ms": lat.last().copied().unwrap_or(0.0),
            "vmrss_before_kib": rss_before,
            "vmhwm_kib": hwm_open.max(hwm_after),
            "vmrss_kib": rss_open,
            "vmrss_after_kib": rss_after,
        })
    );
    Ok(())
}
