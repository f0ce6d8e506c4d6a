//! The live stream (issue 16): Server-Sent Events of the feed, resumable
//! with Last-Event-ID, read by a real client over HTTP.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TestApp, problem, spawn_app_with};
use crate::webhooks::{another_claim, feed, publish};

#[derive(Debug, Clone)]
struct Event {
    id: String,
    kind: String,
    data: Value,
}

/// Opens a stream (after `last_event_id`, if given).
fn open(app: &TestApp, last_event_id: Option<&str>) -> reqwest::blocking::Response {
    let mut req = app
        .client
        .get(app.url("/v1/factchecks/stream"))
        .header("origin", "https://example.org")
        .timeout(Duration::from_secs(60));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    r
}

/// Reads events from a response on a thread of its own; comments come as Err(text).
fn reader(response: reqwest::blocking::Response) -> mpsc::Receiver<Result<Event, String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(response);
        let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
        let mut line = String::new();
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end_matches('\n');
            if l.is_empty() {
                if !data.is_empty() {
                    let event = Event {
                        id: std::mem::take(&mut id),
                        kind: std::mem::take(&mut kind),
                        data: serde_json::from_str(&std::mem::take(&mut data)).unwrap(),
                    };
                    if tx.send(Ok(event)).is_err() {
                        return;
                    }
                }
            } else if let Some(c) = l.strip_prefix(':') {
                if tx.send(Err(c.trim().to_string())).is_err() {
                    return;
                }
            } else if let Some(v) = l.strip_prefix("id: ") {
                id = v.to_string();
            } else if let Some(v) = l.strip_prefix("event: ") {
                kind = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    });
    rx
}

fn connect(app: &TestApp, last_event_id: Option<&str>) -> mpsc::Receiver<Result<Event, String>> {
    let rx = reader(open(app, last_event_id));
    // The stream's first line is a comment: it is open.
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap_err(), "connected");
    rx
}

fn events(rx: &mpsc::Receiver<Result<Event, String>>, n: usize) -> Vec<Event> {
    let mut out = vec![];
    let until = Instant::now() + Duration::from_secs(30);
    while out.len() < n {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(e)) => out.push(e),
            Ok(Err(_comment)) => {}
            Err(_) => panic!("timed out after {} of {n} events: {out:?}", out.len()),
        }
    }
    out
}

#[test]
fn a_client_that_reconnects_with_last_event_id_while_writers_publish_ends_with_exactly_the_public_set() {
    let app = spawn_app_with(|_| {});
    let f = app.fixture();
    let first = connect(&app, None);
    let v1 = publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    let (c1, e1) = another_claim(&app, &f, 1, "en");
    publish(&app, &f, &c1, &e1, "true");
    let got = events(&first, 2);
    drop(first);
    // Disconnected: writers publish, correct and withdraw meanwhile.
    let (c2, e2) = another_claim(&app, &f, 2, "en");
    publish(&app, &f, &c2, &e2, "half_true");
    publish(&app, &f, &c1, &e1, "mostly_true");
    app.created(&f.reviewer, &format!("/v1/verdicts/{v1}/withdraw"), &json!({"reason": "retracted"}));
    let second = connect(&app, Some(&got[1].id));
    let (c3, e3) = another_claim(&app, &f, 3, "en");
    publish(&app, &f, &c3, &e3, "false");
    let rest = events(&second, 4);
    let all: Vec<Event> = got.into_iter().chain(rest).collect();
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no repeats: {ids:?}");
    assert!(
        all.iter()
            .all(|e| e.id == e.data["cursor"] && e.kind == format!("factcheck.{}", e.data["change"].as_str().unwrap()))
    );
    let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "factcheck.published",
            "factcheck.published",
            "factcheck.published",
            "factcheck.corrected",
            "factcheck.withdrawn",
            "factcheck.published"
        ]
    );
    // Apply as a downstream site would: upsert, delete on withdrawal.
    let mut public: BTreeMap<String, Value> = BTreeMap::new();
    for e in &all {
        let claim = e.data["claim_id"].as_str().unwrap().to_string();
        if e.data["change"] == "withdrawn" {
            public.remove(&claim);
        } else {
            public.insert(claim, e.data["factcheck"]["verdict"]["rating"].clone());
        }
    }
    let list: Value = app.get("/v1/factchecks?limit=100").json().unwrap();
    let served: BTreeMap<String, Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["claim"]["id"].as_str().unwrap().to_string(), i["verdict"]["rating"].clone()))
        .collect();
    assert_eq!(public, served, "the stream's changes make exactly the public set");
    // The feed's last item is the stream's last event.
    assert_eq!(feed(&app).last().unwrap().0, all.last().unwrap().id);
    assert!(!public.contains_key(&f.claim_id));
}

#[test]
fn heartbeats_keep_an_idle_stream_open_and_streams_beyond_the_limit_get_503() {
    let app = spawn_app_with(|c| {
        c.stream.max_clients = 1;
        c.stream.heartbeat = Duration::from_millis(200);
    });
    let rx = connect(&app, None);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap_err(), "ping");
    let r = app.get("/v1/factchecks/stream");
    assert_eq!(r.headers()["retry-after"], "2");
    problem(r, 503);
    let r = app
        .client
        .get(app.url("/v1/factchecks/stream"))
        .header("last-event-id", "not-a-cursor")
        .send()
        .unwrap();
    // Still full: the limit is checked after the cursor.
    let body = problem(r, 422);
    assert_eq!(body["errors"][0]["field"], "Last-Event-ID");
    drop(rx);
    // The slot frees once the client has gone (the server notices at its next write).
    let started = Instant::now();
    loop {
        let r = app
            .client
            .get(app.url("/v1/factchecks/stream"))
            .timeout(Duration::from_secs(2))
            .send()
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the slot was not freed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
