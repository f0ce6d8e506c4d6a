//! Push (issue 16): webhook subscriptions delivered to a real HTTP receiver
//! on 127.0.0.1, every delivery's Standard Webhooks signature checked here
//! with an HMAC of our own (the CI script `.ci/webhooks` checks them again
//! with the `standardwebhooks` PyPI package).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::harness::{Fixture, ServerProcess, TestApp, problem, spawn_app_with};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Plan = dyn Fn(usize) -> (u16, Duration) + Send + Sync;

/// A plain HTTP/1.1 receiver: answers each request as `plan` says (by the
/// request's number), records it, and tracks how many requests for one
/// webhook-id are in flight at once.
pub struct Receiver {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Got>>>,
    stop: Arc<AtomicBool>,
    pub max_in_flight_per_id: Arc<AtomicUsize>,
}

impl Receiver {
    pub fn start(plan: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let max_in_flight_per_id = Arc::new(AtomicUsize::new(0));
        let plan: Arc<Plan> = Arc::new(plan);
        let (g, s, m) = (got.clone(), stop.clone(), max_in_flight_per_id.clone());
        std::thread::spawn(move || {
            let count = Arc::new(AtomicUsize::new(0));
            let in_flight: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
            for conn in listener.incoming() {
                if s.load(Ordering::Acquire) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (g, plan, count, in_flight, m) = (g.clone(), plan.clone(), count.clone(), in_flight.clone(), m.clone());
                std::thread::spawn(move || serve(conn, &g, &*plan, &count, &in_flight, &m));
            }
        });
        Receiver {
            port,
            got,
            stop,
            max_in_flight_per_id,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The requests answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| (200..300).contains(&g.status))
            .cloned()
            .collect()
    }

    pub fn wait_for(&self, what: &str, mut done: impl FnMut(&[Got]) -> bool) {
        let started = Instant::now();
        loop {
            if done(&self.delivered()) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; got {:?}",
                self.delivered().len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    mut conn: TcpStream,
    got: &Mutex<Vec<Got>>,
    plan: &Plan,
    count: &AtomicUsize,
    in_flight: &Mutex<HashMap<String, usize>>,
    max: &AtomicUsize,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let id = headers.get("webhook-id").cloned().unwrap_or_default();
    {
        let mut f = in_flight.lock().unwrap();
        let n = f.entry(id.clone()).or_default();
        *n += 1;
        max.fetch_max(*n, Ordering::AcqRel);
    }
    let n = count.fetch_add(1, Ordering::AcqRel);
    let (status, delay) = plan(n);
    std::thread::sleep(delay);
    got.lock().unwrap().push(Got {
        id: id.clone(),
        timestamp: headers.get("webhook-timestamp").cloned().unwrap_or_default(),
        signature: headers.get("webhook-signature").cloned().unwrap_or_default(),
        body,
        status,
    });
    *in_flight.lock().unwrap().get_mut(&id).unwrap() -= 1;
    let extra = if status == 503 { "Retry-After: 0\r\n" } else { "" };
    let _ = write!(conn, "HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
}

/// Whether one of the `v1,` signatures is HMAC-SHA256(key, id.timestamp.body),
/// the key being the base64 after `whsec_`, and the timestamp is fresh.
pub fn verifies(secret: &str, g: &Got) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", g.id, g.timestamp).as_bytes());
    mac.update(&g.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let ts: i64 = g.timestamp.parse().unwrap();
    (chrono::Utc::now().timestamp() - ts).abs() < 300 && g.signature.split(' ').any(|s| s == expected)
}

pub fn push_app() -> TestApp {
    spawn_app_with(|c| {
        c.webhooks.allow_private = true;
        c.webhooks.retry_schedule = vec![Duration::from_millis(50), Duration::from_millis(100)];
    })
}

pub fn admin(app: &TestApp) -> String {
    app.token("pushadmin", &[claimledger::model::Role::Admin])
}

pub fn subscribe(app: &TestApp, admin: &str, url: &str, extra: Value) -> (String, String) {
    let mut body = json!({"url": url, "description": "test receiver"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let w = app.created(admin, "/v1/webhooks", &body);
    let secret = w["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{w}");
    (w["id"].as_str().unwrap().to_string(), secret)
}

pub fn publish(app: &TestApp, f: &Fixture, claim: &str, evidence: &str, rating: &str) -> String {
    let v = app.created(
        &f.editor,
        &format!("/v1/claims/{claim}/verdicts"),
        &json!({"rating": rating, "headline": format!("Rated {rating}"), "summary": "s", "evidence_ids": [evidence]}),
    );
    let id = v["id"].as_str().unwrap().to_string();
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    app.created(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &json!({}));
    id
}

/// Another claim with evidence, ready for a verdict: (claim, evidence).
pub fn another_claim(app: &TestApp, f: &Fixture, n: usize, language: &str) -> (String, String) {
    let c = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": format!("Claim number {n} about munitions."), "claimant": "Someone Else", "claimant_kind": "person", "language": language, "tags": ["other"]}),
    );
    let claim = c["id"].as_str().unwrap().to_string();
    let e = app.created(
        &f.editor,
        &format!("/v1/claims/{claim}/evidence"),
        &json!({"stance": "refutes", "summary": "A report.", "url": format!("https://example.org/report/{n}"), "title": "Report"}),
    );
    (claim, e["id"].as_str().unwrap().to_string())
}

/// The feed's items: (cursor, change, claim_id).
pub fn feed(app: &TestApp) -> Vec<(String, String, String)> {
    let mut out = vec![];
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/factchecks/feed?limit=100&after={a}"),
            None => "/v1/factchecks/feed?limit=100".to_string(),
        };
        let page: Value = app.get(&path).json().unwrap();
        let items = page["items"].as_array().unwrap();
        for i in items {
            out.push((
                i["cursor"].as_str().unwrap().into(),
                i["change"].as_str().unwrap().into(),
                i["claim_id"].as_str().unwrap().into(),
            ));
        }
        if page["caught_up"] == true {
            return out;
        }
        after = Some(page["next_cursor"].as_str().unwrap().to_string());
    }
}

/// What the receiver got, as the feed spells it (first delivery of each event).
fn as_feed(got: &[Got]) -> Vec<(String, String, String)> {
    let mut seen = HashSet::new();
    got.iter()
        .filter(|g| g.json()["type"] != "webhook.test" && seen.insert(g.id.clone()))
        .map(|g| {
            let j = g.json();
            let change = j["type"].as_str().unwrap().trim_start_matches("factcheck.").to_string();
            (
                j["data"]["cursor"].as_str().unwrap().into(),
                change,
                j["data"]["claim_id"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn every_public_change_arrives_signed_in_log_order_exactly_the_feeds_items() {
    let app = push_app();
    let f = app.fixture();
    let admin = admin(&app);
    let receiver = Receiver::start(|_| (200, Duration::ZERO));
    let (id, secret) = subscribe(&app, &admin, &receiver.url(), json!({}));
    // Shown once: reads never carry it.
    let read: Value = app.get_as(&admin, &format!("/v1/webhooks/{id}")).json().unwrap();
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["status"], "active");

    publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    publish(&app, &f, &f.claim_id, &f.evidence_id, "mostly_false");
    let mut claims = vec![];
    for n in 0..3 {
        let (c, e) = another_claim(&app, &f, n, "en");
        publish(&app, &f, &c, &e, "true");
        claims.push(c);
    }
    let expected = feed(&app);
    assert_eq!(expected.len(), 5, "{expected:?}");
    assert_eq!(expected[1].1, "corrected");
    receiver.wait_for("every feed item", |got| as_feed(got).len() >= expected.len());
    let got = receiver.delivered();
    assert_eq!(as_feed(&got), expected, "the receiver got exactly the feed's items, in order");
    for g in &got {
        assert!(verifies(&secret, g), "signature of {}", g.id);
        let j = g.json();
        assert!(j["timestamp"].is_string() && j["data"]["seq"].is_i64(), "{j}");
        assert!(j["data"]["factcheck"]["verdict"]["rating"].is_string(), "{j}");
        assert!(g.body.len() < 20_000, "thin payloads");
    }
    // The deliveries log shows every attempt (each is recorded after the
    // receiver's answer, so the last may land just after it was received).
    let d = deliveries_once(&app, &admin, &id, |items| items.len() >= 5);
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{d}");
    assert!(
        items
            .iter()
            .all(|i| i["status_code"] == 200 && i["delivered"] == true && i["attempt"] == 1),
        "{d}"
    );
    // Every subscription change is a revision; the secret is not in the log.
    let log = app.log();
    assert!(log.iter().any(|(action, kind, ..)| action == "create" && kind == "webhook"));
    let export = app
        .get_as(&app.token("aud", &[claimledger::model::Role::Auditor]), "/v1/log/export")
        .text()
        .unwrap();
    assert!(!export.contains(secret.trim_start_matches("whsec_")), "the secret is never logged");
}

/// The deliveries list once `done` holds of its items (or after 10 s, for
/// the caller's assertion to say what is missing).
fn deliveries_once(app: &TestApp, admin: &str, id: &str, done: impl Fn(&Vec<Value>) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d: Value = app
            .get_as(admin, &format!("/v1/webhooks/{id}/deliveries?limit=100"))
            .json()
            .unwrap();
        if done(d["items"].as_array().unwrap()) || std::time::Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_receiver_answering_500_for_a_while_then_200_gets_everything_in_order() {
    let app = push_app();
    let f = app.fixture();
    let admin = admin(&app);
    // The first 6 requests fail (500, then 503 with Retry-After: 0).
    let receiver = Receiver::start(|n| {
        (
            if n < 3 {
                500
            } else if n < 6 {
                503
            } else {
                200
            },
            Duration::ZERO,
        )
    });
    let (id, secret) = subscribe(&app, &admin, &receiver.url(), json!({}));
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    for n in 0..3 {
        let (c, e) = another_claim(&app, &f, n, "en");
        publish(&app, &f, &c, &e, "half_true");
    }
    let expected = feed(&app);
    receiver.wait_for("everything after the outage", |got| as_feed(got).len() >= expected.len());
    let got = receiver.delivered();
    assert_eq!(as_feed(&got), expected);
    assert!(got.iter().all(|g| verifies(&secret, g)));
    let all = receiver.got.lock().unwrap().clone();
    assert!(all.len() >= expected.len() + 6);
    // The failed attempts were at the first event: a later one waited.
    let first_id = &all[0].id;
    assert!(all[..7].iter().all(|g| &g.id == first_id), "retries of the first event came first");
    let d = deliveries_once(&app, &admin, &id, |items| {
        items.iter().filter(|i| i["delivered"] == true).count() >= expected.len()
    });
    let items = d["items"].as_array().unwrap();
    let failed: Vec<&Value> = items.iter().filter(|i| i["delivered"] == false).collect();
    assert_eq!(failed.len(), 6, "{d}");
    assert!(failed.iter().all(|i| i["next_attempt_at"].is_string() && i["error"].is_string()));
    assert!(items.iter().any(|i| i["attempt"] == 7 && i["delivered"] == true), "{d}");
    let metrics = app.get("/metrics").text().unwrap();
    let line = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("claimledger_{name}{{webhook=\"{id}\"}}")))
            .map(str::to_string)
    };
    assert_eq!(
        line("webhook_failures").as_deref().and_then(|l| l.rsplit(' ').next()),
        Some("6"),
        "{metrics}"
    );
    assert_eq!(
        line("webhook_queue_depth").as_deref().and_then(|l| l.rsplit(' ').next()),
        Some("0"),
        "{metrics}"
    );
}

#[test]
fn filters_and_event_types_choose_what_a_subscriber_gets() {
    let app = push_app();
    let f = app.fixture();
    let admin = admin(&app);
    let receiver = Receiver::start(|_| (200, Duration::ZERO));
    let (_, secret) = subscribe(
        &app,
        &admin,
        &receiver.url(),
        json!({"filter": {"rating": "false", "language": "en"}}),
    );
    let only_withdrawals = Receiver::start(|_| (200, Duration::ZERO));
    let (wid, _) = subscribe(
        &app,
        &admin,
        &only_withdrawals.url(),
        json!({"event_types": ["factcheck.withdrawn"], "filter": {"claimant": "vladimir putin"}}),
    );
    let v = publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    let (c, e) = another_claim(&app, &f, 1, "de");
    publish(&app, &f, &c, &e, "false");
    let (c2, e2) = another_claim(&app, &f, 2, "en");
    publish(&app, &f, &c2, &e2, "true");
    app.created(&f.reviewer, &format!("/v1/verdicts/{v}/withdraw"), &json!({"reason": "retracted"}));
    receiver.wait_for("the matching events", |got| got.len() >= 2);
    only_withdrawals.wait_for("the withdrawal", |got| !got.is_empty());
    std::thread::sleep(Duration::from_millis(500));
    let got = receiver.delivered();
    let types: Vec<String> = got.iter().map(|g| g.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        types,
        ["factcheck.published", "factcheck.withdrawn"],
        "only Putin's English false claim"
    );
    assert!(
        got.iter()
            .all(|g| g.json()["data"]["claim_id"] == f.claim_id.as_str() && verifies(&secret, g))
    );
    assert!(got[1].json()["data"]["factcheck"].is_null());
    let w = only_withdrawals.delivered();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].json()["type"], "factcheck.withdrawn");
    // Replayed from the start, the unwanted items come before the wanted one
    // in one look: they are passed over, and the withdrawal is sent once more.
    let r = app.post_as(&admin, &format!("/v1/webhooks/{wid}/replay?from_cursor=Zi4w"), &json!({}));
    assert_eq!(r.status(), 202);
    only_withdrawals.wait_for("the replayed withdrawal", |got| got.len() >= 2);
    std::thread::sleep(Duration::from_millis(500));
    let w = only_withdrawals.delivered();
    assert_eq!(w.len(), 2, "sent once per replay, not again and again");
    assert_eq!(w[0].id, w[1].id);
}

#[test]
fn rotation_signs_with_both_secrets_pause_holds_events_and_410_disables_until_patched() {
    let app = push_app();
    let f = app.fixture();
    let admin = admin(&app);
    let gone = Arc::new(AtomicBool::new(false));
    let g = gone.clone();
    let receiver = Receiver::start(move |_| (if g.load(Ordering::Acquire) { 410 } else { 200 }, Duration::ZERO));
    let (id, old) = subscribe(&app, &admin, &receiver.url(), json!({}));
    let rotated = app.created(&admin, &format!("/v1/webhooks/{id}/rotate-secret"), &json!({}));
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    receiver.wait_for("one event", |got| got.len() == 1);
    let first = &receiver.delivered()[0];
    assert_eq!(
        first.signature.split(' ').count(),
        2,
        "old and new secret both sign during the grace period"
    );
    assert!(verifies(&old, first) && verifies(&new, first));

    // Test message: signed with the same keys, recorded, out of the event order.
    let t: Value = app.created(&admin, &format!("/v1/webhooks/{id}/test"), &json!({}));
    assert_eq!(t["delivered"], true, "{t}");
    assert!(
        receiver
            .delivered()
            .iter()
            .any(|g| g.json()["type"] == "webhook.test" && verifies(&new, g))
    );

    // Paused: events wait; resumed: they arrive.
    let etag = app.get_as(&admin, &format!("/v1/webhooks/{id}")).headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let r = app.patch_as(&admin, &format!("/v1/webhooks/{id}"), Some(&etag), &json!({"status": "paused"}));
    assert_eq!(r.status(), 200);
    let (c, e) = another_claim(&app, &f, 1, "en");
    publish(&app, &f, &c, &e, "true");
    std::thread::sleep(Duration::from_millis(600));
    let before = receiver.delivered().len();
    assert_eq!(before, 2, "nothing while paused");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = app.patch_as(&admin, &format!("/v1/webhooks/{id}"), Some(&etag), &json!({"status": "active"}));
    assert_eq!(r.status(), 200);
    receiver.wait_for("the held event", |got| got.len() == 3);

    // 410 Gone disables the subscription (a revision by the system).
    gone.store(true, Ordering::Release);
    let (c, e) = another_claim(&app, &f, 2, "en");
    publish(&app, &f, &c, &e, "true");
    let started = Instant::now();
    let w = loop {
        let w: Value = app.get_as(&admin, &format!("/v1/webhooks/{id}")).json().unwrap();
        if w["status"] == "disabled" || started.elapsed() > Duration::from_secs(20) {
            break w;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(w["status"], "disabled", "{w}");
    assert!(w["disabled_reason"].as_str().unwrap().contains("410"));
    // PATCH re-enables; delivery resumes where it stopped.
    gone.store(false, Ordering::Release);
    let etag = app.get_as(&admin, &format!("/v1/webhooks/{id}")).headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let r = app.patch_as(&admin, &format!("/v1/webhooks/{id}"), Some(&etag), &json!({"status": "active"}));
    assert_eq!(r.status(), 200);
    receiver.wait_for("the event that met 410", |got| as_feed(got).len() == 3);
    assert_eq!(as_feed(&receiver.delivered()), feed(&app));

    // Replay from the start: the same ids again, in order.
    let r = app.post_as(&admin, &format!("/v1/webhooks/{id}/replay?from_cursor={}", "Zi4w"), &json!({}));
    assert_eq!(r.status(), 202, "{}", r.text().unwrap());
    receiver.wait_for("the replay", |got| {
        got.iter().filter(|g| g.json()["type"] != "webhook.test").count() == 6
    });
    let ids: Vec<String> = receiver
        .delivered()
        .iter()
        .filter(|g| g.json()["type"] != "webhook.test")
        .map(|g| g.id.clone())
        .collect();
    assert_eq!(ids[..3], ids[3..], "replayed events keep their webhook-id");

    // DELETE deactivates; history stays.
    let r = app
        .client
        .delete(app.url(&format!("/v1/webhooks/{id}")))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let w: Value = app.get_as(&admin, &format!("/v1/webhooks/{id}")).json().unwrap();
    assert_eq!(w["status"], "deleted");
    let kinds: Vec<String> = app.log().into_iter().filter(|l| l.1 == "webhook").map(|l| l.0).collect();
    assert_eq!(
        kinds,
        ["create", "update", "update", "reactivate", "deactivate", "reactivate", "deactivate"]
    );
}

#[test]
fn private_targets_are_refused_without_the_development_flag_also_at_delivery() {
    let app = spawn_app_with(|c| c.webhooks.retry_schedule = vec![Duration::from_millis(50)]);
    let f = app.fixture();
    let admin = admin(&app);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "ftp://example.org/",
    ] {
        let body = problem(app.post_as(&admin, "/v1/webhooks", &json!({"url": url})), 422);
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
    }
    assert_eq!(app.count("webhooks"), 0);
    // Only admins subscribe.
    let r = app.post_as(&f.editor, "/v1/webhooks", &json!({"url": "https://example.org/hook"}));
    problem(r, 403);
    // A name that resolves to loopback (as if its DNS changed after it was
    // accepted) is refused when delivering, not just when subscribing.
    let receiver = Receiver::start(|_| (200, Duration::ZERO));
    let (id, _) = subscribe(&app, &admin, "https://example.org/hook", json!({}));
    let mut conn = app.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE webhooks SET url = 'http://localhost:{}/hook' WHERE id = '{id}'",
            receiver.port
        )),
        &mut conn,
    )
    .unwrap();
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    let started = Instant::now();
    let d = loop {
        let d: Value = app.get_as(&admin, &format!("/v1/webhooks/{id}/deliveries")).json().unwrap();
        if !d["items"].as_array().unwrap().is_empty() || started.elapsed() > Duration::from_secs(20) {
            break d;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let first = &d["items"][0];
    assert_eq!(first["delivered"], false, "{d}");
    assert!(first["error"].as_str().unwrap().contains("refused"), "{d}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.got.lock().unwrap().is_empty(), "nothing reached the loopback receiver");
}

#[test]
fn two_servers_never_deliver_one_event_twice_concurrently() {
    let app = push_app();
    let url = app.db.url.clone();
    let second = spawn_app_with(|c| {
        c.database_url = Some(url);
        c.webhooks.allow_private = true;
    });
    let f = app.fixture();
    let admin = admin(&app);
    let receiver = Receiver::start(|_| (200, Duration::from_millis(30)));
    let (_, secret) = subscribe(&app, &admin, &receiver.url(), json!({}));
    for n in 0..6 {
        let (c, e) = another_claim(if n % 2 == 0 { &app } else { &second }, &f, n, "en");
        publish(if n % 2 == 0 { &app } else { &second }, &f, &c, &e, "true");
    }
    let expected = feed(&app);
    receiver.wait_for("every event", |got| as_feed(got).len() >= expected.len());
    std::thread::sleep(Duration::from_millis(500));
    let got = receiver.delivered();
    assert_eq!(got.len(), expected.len(), "each event exactly once");
    assert_eq!(as_feed(&got), expected);
    assert!(got.iter().all(|g| verifies(&secret, g)));
    assert_eq!(receiver.max_in_flight_per_id.load(Ordering::Acquire), 1);
    drop(second);
}

#[test]
fn a_server_killed_mid_delivery_and_restarted_loses_nothing() {
    let db = crate::harness::TestDb::new();
    let env = [
        ("CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE", "true"),
        ("CLAIMLEDGER_WEBHOOKS_RETRY_MS", "50,100"),
    ];
    let server = ServerProcess::start(&db.url, &env);
    let client = reqwest::blocking::Client::new();
    // The app's helpers against the child process.
    let app = crate::harness::spawn_app_with(|c| {
        c.database_url = Some(db.url.clone());
        c.webhooks.worker = false;
        c.webhooks.allow_private = true;
    });
    let f = app.fixture();
    let admin = admin(&app);
    // Slow answers, so the kill lands while deliveries are in flight.
    let receiver = Receiver::start(|_| (200, Duration::from_millis(150)));
    let (_, secret) = subscribe(&app, &admin, &receiver.url(), json!({}));
    for n in 0..8 {
        let (c, e) = another_claim(&app, &f, n, "en");
        publish(&app, &f, &c, &e, "true");
    }
    receiver.wait_for("a first delivery", |got| !got.is_empty());
    server.signal("KILL");
    let mut server = server;
    let _ = server.child.wait();
    let before = receiver.delivered().len();
    let expected = feed(&app);
    assert!(before < expected.len(), "killed mid-delivery ({before} of {})", expected.len());
    let restarted = ServerProcess::start(&db.url, &env);
    receiver.wait_for("everything after the restart", |got| as_feed(got).len() >= expected.len());
    let got = receiver.delivered();
    assert_eq!(
        as_feed(&got),
        expected,
        "nothing lost, order kept (an event in flight may come twice, with its id)"
    );
    assert!(got.iter().all(|g| verifies(&secret, g)));
    let _ = client;
    drop(restarted);
    drop(server);
    drop(app);
}
