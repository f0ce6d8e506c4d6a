//! How a server learns what the log did: the sequencer announces each batch
//! with `NOTIFY` (sent on commit), one listener per server receives it
//! (`LISTEN`, on a connection of its own), and [`LogWatch`] hands it on —
//! the public documents that changed (to caches, first) and the groups
//! that got their seqs (to writers waiting to acknowledge), then the new
//! head (to readers waiting for `min_seq`). No request polls the database.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use uuid::Uuid;

pub const CHANNEL: &str = "claimledger_log";

/// A notification's payload stays under PostgreSQL's 8,000 bytes.
const MAX_PAYLOAD: usize = 7_800;

/// Groups remembered after they were sequenced, for a writer that starts
/// waiting after its group's notice went by.
const RECENT_GROUPS: usize = 100_000;

/// What a batch changed, as the sequencer announces it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchNotice {
    /// The claims whose public fact check changed (None: too many to list,
    /// treat every one as changed).
    pub claims: Option<Vec<Uuid>>,
    /// Whether an account (editor) changed: servers then forget the
    /// accounts they keep for reads.
    pub accounts: bool,
    /// Each group's last seq.
    pub groups: Vec<(i64, i64)>,
    /// The head after the batch.
    pub head: i64,
    /// When the batch was sequenced (its recorded_at), µs since the epoch.
    pub at_micros: i64,
}

/// What listeners (caches, streams) are told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// These public fact checks changed.
    Changed(Vec<Uuid>),
    /// Anything may have changed (too many to list, or notices were lost).
    ChangedAll,
    /// An account changed (deactivated, say): what was known of accounts
    /// is stale. (`ChangedAll` says so too.)
    AccountsChanged,
    /// The log reached this head; everything up to it is derived.
    Head(i64),
}

impl BatchNotice {
    /// The payloads of one batch, in the order they must be read: accounts
    /// and every changed claim before any group, and the head last.
    pub fn encode(&self) -> Vec<String> {
        let mut out = vec![];
        if self.accounts {
            out.push("e".to_string());
        }
        match &self.claims {
            None => out.push("c *".to_string()),
            Some(ids) => {
                let mut line = String::from("c");
                for id in ids {
                    if line.len() + 37 > MAX_PAYLOAD {
                        out.push(std::mem::replace(&mut line, String::from("c")));
                    }
                    line.push(' ');
                    line.push_str(&id.simple().to_string());
                }
                if line.len() > 1 {
                    out.push(line);
                }
            }
        }
        let mut line = String::from("g");
        for (grp, seq) in &self.groups {
            let item = format!(" {grp}:{seq}");
            if line.len() + item.len() > MAX_PAYLOAD {
                out.push(std::mem::replace(&mut line, String::from("g")));
            }
            line.push_str(&item);
        }
        out.push(line);
        out.push(format!("h {} {}", self.head, self.at_micros));
        out
    }
}

/// One payload, read back.
#[derive(Debug, PartialEq, Eq)]
enum Payload {
    Accounts,
    Claims(Option<Vec<Uuid>>),
    Groups(Vec<(i64, i64)>),
    Head(i64, i64),
}

fn decode(payload: &str) -> Option<Payload> {
    let mut words = payload.split(' ');
    match words.next()? {
        "e" => Some(Payload::Accounts),
        "c" => {
            let rest: Vec<&str> = words.collect();
            if rest == ["*"] {
                return Some(Payload::Claims(None));
            }
            rest.iter()
                .map(|w| Uuid::try_parse(w).ok())
                .collect::<Option<Vec<_>>>()
                .map(|ids| Payload::Claims(Some(ids)))
        }
        "g" => words
            .map(|w| {
                let (g, s) = w.split_once(':')?;
                Some((g.parse().ok()?, s.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()
            .map(Payload::Groups),
        "h" => {
            let head = words.next()?.parse().ok()?;
            let at = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            Some(Payload::Head(head, at))
        }
        _ => None,
    }
}

type Listener = Box<dyn Fn(&LogEvent) + Send + Sync>;

#[derive(Default)]
struct Waiting {
    waiters: HashMap<i64, Vec<oneshot::Sender<i64>>>,
    recent: BTreeMap<i64, i64>,
}

/// A server's view of the log's progress, fed by its listener.
pub struct LogWatch {
    waiting: Mutex<Waiting>,
    listeners: Mutex<Vec<Listener>>,
    head: watch::Sender<i64>,
    /// Whether notices are arriving (the listener is connected and has
    /// caught up). While not, caches must not trust what they hold.
    live: AtomicBool,
    lag_ms: AtomicI64,
    sequencer_wake: (Mutex<bool>, Condvar),
    /// When each recent head was heard of, oldest first (for replica lag).
    heard: Mutex<std::collections::VecDeque<(i64, std::time::Instant)>>,
    /// The highest position this server acknowledged to a writer.
    acknowledged: AtomicI64,
}

impl Default for LogWatch {
    fn default() -> Self {
        LogWatch {
            waiting: Mutex::default(),
            listeners: Mutex::default(),
            head: watch::Sender::new(0),
            live: AtomicBool::new(false),
            lag_ms: AtomicI64::new(0),
            sequencer_wake: (Mutex::new(false), Condvar::new()),
            heard: Mutex::default(),
            acknowledged: AtomicI64::new(0),
        }
    }
}

impl LogWatch {
    /// Registers a listener for changes (called on the listener's thread,
    /// in order, before waiting writers are woken).
    pub fn on_event(&self, f: impl Fn(&LogEvent) + Send + Sync + 'static) {
        self.listeners.lock().expect("listeners").push(Box::new(f));
    }

    fn emit(&self, event: &LogEvent) {
        for l in self.listeners.lock().expect("listeners").iter() {
            l(event);
        }
    }

    /// The newest head this server has applied.
    pub fn head(&self) -> i64 {
        *self.head.borrow()
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Milliseconds between the last batch's commit and its notice here.
    pub fn lag_ms(&self) -> i64 {
        self.lag_ms.load(Ordering::Relaxed)
    }

    /// Waits until this server has applied `seq` (or `timeout` passes);
    /// returns whether it has.
    pub async fn reached(&self, seq: i64, timeout: Duration) -> bool {
        let mut rx = self.head.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|h| *h >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits for group `grp` to be sequenced; its last seq, or None when
    /// `timeout` passed or the listener lost track (the caller then asks
    /// the database).
    pub async fn sequenced(&self, grp: i64, timeout: Duration) -> Option<i64> {
        let rx = {
            let mut w = self.waiting.lock().expect("waiting");
            if let Some(seq) = w.recent.get(&grp) {
                return Some(*seq);
            }
            let (tx, rx) = oneshot::channel();
            w.waiters.entry(grp).or_default().push(tx);
            rx
        };
        let outcome = tokio::time::timeout(timeout, rx).await;
        if outcome.is_err() {
            let mut w = self.waiting.lock().expect("waiting");
            if let Some(list) = w.waiters.get_mut(&grp) {
                list.retain(|tx| !tx.is_closed());
                if list.is_empty() {
                    w.waiters.remove(&grp);
                }
            }
        }
        outcome.ok().and_then(Result::ok)
    }

    /// A writer was told its write is at `seq`: reads on this server must
    /// not show less.
    pub fn note_acknowledged(&self, seq: i64) {
        self.acknowledged.fetch_max(seq, Ordering::AcqRel);
    }

    pub fn acknowledged(&self) -> i64 {
        self.acknowledged.load(Ordering::Acquire)
    }

    /// How long ago this server heard of a head beyond `seq` (0 when `seq`
    /// is the newest it knows): how far a copy at `seq` is behind.
    pub fn behind_ms(&self, seq: i64) -> i64 {
        if seq >= self.head() {
            return 0;
        }
        let heard = self.heard.lock().expect("heard");
        heard
            .iter()
            .find(|(h, _)| *h > seq)
            .map_or(i64::MAX, |(_, at)| at.elapsed().as_millis() as i64)
    }

    fn record_head(&self, head: i64) {
        let mut heard = self.heard.lock().expect("heard");
        if heard.back().is_none_or(|(h, _)| *h < head) {
            heard.push_back((head, std::time::Instant::now()));
        }
        while heard.len() > 4_096 {
            heard.pop_front();
        }
    }

    /// Tells a sequencer in this process that there is work.
    pub fn wake_sequencer(&self) {
        let (lock, cvar) = &self.sequencer_wake;
        *lock.lock().expect("wake") = true;
        cvar.notify_one();
    }

    /// Waits for [`Self::wake_sequencer`] or `timeout`; true when woken.
    pub fn sequencer_sleep(&self, timeout: Duration) -> bool {
        let (lock, cvar) = &self.sequencer_wake;
        let guard = lock.lock().expect("wake");
        let (mut woken, _) = cvar.wait_timeout_while(guard, timeout, |w| !*w).expect("wake");
        std::mem::replace(&mut *woken, false)
    }

    fn apply(&self, payload: Payload) {
        match payload {
            Payload::Accounts => self.emit(&LogEvent::AccountsChanged),
            Payload::Claims(Some(ids)) => self.emit(&LogEvent::Changed(ids)),
            Payload::Claims(None) => self.emit(&LogEvent::ChangedAll),
            Payload::Groups(groups) => {
                let mut w = self.waiting.lock().expect("waiting");
                for (grp, seq) in groups {
                    if let Some(list) = w.waiters.remove(&grp) {
                        for tx in list {
                            let _ = tx.send(seq);
                        }
                    }
                    w.recent.insert(grp, seq);
                }
                while w.recent.len() > RECENT_GROUPS {
                    w.recent.pop_first();
                }
            }
            Payload::Head(head, at_micros) => {
                if at_micros > 0 {
                    let lag = (chrono::Utc::now().timestamp_micros() - at_micros) / 1000;
                    self.lag_ms.store(lag.max(0), Ordering::Relaxed);
                }
                self.emit(&LogEvent::Head(head));
                self.record_head(head);
                self.head.send_if_modified(|h| {
                    let moved = head > *h;
                    *h = (*h).max(head);
                    moved
                });
            }
        }
    }

    /// Notices were (or may have been) lost: caches drop everything,
    /// waiting writers ask the database, and `head` is the head as read now.
    fn resync(&self, head: i64) {
        self.emit(&LogEvent::ChangedAll);
        self.waiting.lock().expect("waiting").waiters.clear();
        self.emit(&LogEvent::Head(head));
        self.head.send_if_modified(|h| {
            let moved = head > *h;
            *h = (*h).max(head);
            moved
        });
    }

    /// Starts this server's listener on a thread of its own: LISTEN on a
    /// dedicated connection, reconnecting (and resyncing) when it is lost,
    /// until `stop` is set.
    pub fn listen(self: &Arc<Self>, database_url: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        let watch = self.clone();
        std::thread::Builder::new()
            .name("log-listener".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(watch.listen_loop(database_url, stop));
            })
            .expect("spawn the log listener")
    }

    async fn listen_loop(self: Arc<Self>, url: String, stop: Arc<AtomicBool>) {
        let mut backoff = Duration::from_millis(50);
        while !stop.load(Ordering::Acquire) {
            match self.listen_once(&url, &stop).await {
                Ok(()) => backoff = Duration::from_millis(50),
                Err(e) => {
                    if self.live.swap(false, Ordering::AcqRel) {
                        tracing::warn!(error = %e, "lost the log listener's connection; caches dropped until it is back");
                    }
                    self.emit(&LogEvent::ChangedAll);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        self.live.store(false, Ordering::Release);
    }

    async fn listen_once(&self, url: &str, stop: &AtomicBool) -> Result<(), tokio_postgres::Error> {
        use futures_util::StreamExt;
        let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        let _ = tx.send(Ok(n.payload().to_string()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        // Listening before reading the head: nothing after it is missed.
        let head: i64 = client.query_one("SELECT seq FROM log_head", &[]).await?.get(0);
        self.resync(head);
        self.live.store(true, Ordering::Release);
        let result = loop {
            if stop.load(Ordering::Acquire) {
                break Ok(());
            }
            match tokio::time::timeout(Duration::from_millis(250), rx.recv()).await {
                Err(_) => continue,
                Ok(None) => break client.simple_query("SELECT 1").await.map(|_| ()),
                Ok(Some(Err(e))) => break Err(e),
                Ok(Some(Ok(payload))) => match decode(&payload) {
                    Some(p) => self.apply(p),
                    None => tracing::warn!(payload = %payload, "an unreadable log notice"),
                },
            }
        };
        pump.abort();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_encode_claims_first_and_the_head_last_and_read_back() {
        let ids: Vec<Uuid> = (0..500).map(Uuid::from_u128).collect();
        let groups: Vec<(i64, i64)> = (0..2_000).map(|i| (i + 10, i + 1_000)).collect();
        let notice = BatchNotice {
            claims: Some(ids.clone()),
            accounts: true,
            groups: groups.clone(),
            head: 2_999,
            at_micros: 7,
        };
        let payloads = notice.encode();
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD), "payloads fit");
        assert!(payloads.len() > 3, "long lists are split");
        let decoded: Vec<Payload> = payloads.iter().map(|p| decode(p).unwrap()).collect();
        assert_eq!(decoded.first(), Some(&Payload::Accounts), "accounts first");
        let (mut got_ids, mut got_groups, mut heads) = (vec![], vec![], vec![]);
        let mut seen_group = false;
        for p in decoded {
            match p {
                Payload::Accounts => assert!(!seen_group && got_ids.is_empty(), "accounts come first"),
                Payload::Claims(Some(c)) => {
                    assert!(!seen_group, "claims come before groups");
                    got_ids.extend(c);
                }
                Payload::Groups(g) => {
                    seen_group = true;
                    got_groups.extend(g);
                }
                Payload::Head(h, _) => heads.push(h),
                Payload::Claims(None) => panic!("listed"),
            }
        }
        assert_eq!((got_ids, got_groups, heads), (ids, groups, vec![2_999]));
        let all = BatchNotice {
            claims: None,
            accounts: false,
            groups: vec![],
            head: 3,
            at_micros: 9,
        }
        .encode();
        assert_eq!(all, ["c *", "g", "h 3 9"]);
        assert_eq!(decode("x 1"), None);
        assert_eq!(decode("g 1:x"), None);
    }

    #[tokio::test]
    async fn a_writer_waiting_for_its_group_is_woken_with_its_seq_even_if_it_came_late() {
        let watch = Arc::new(LogWatch::default());
        let w = watch.clone();
        let waiting = tokio::spawn(async move { w.sequenced(7, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        watch.apply(Payload::Groups(vec![(7, 42), (8, 43)]));
        assert_eq!(waiting.await.unwrap(), Some(42));
        // Group 8 was announced before anyone waited for it.
        assert_eq!(watch.sequenced(8, Duration::from_millis(10)).await, Some(43));
        assert_eq!(watch.sequenced(9, Duration::from_millis(10)).await, None);
        watch.apply(Payload::Head(43, 0));
        assert!(watch.reached(43, Duration::from_millis(10)).await);
        assert!(!watch.reached(44, Duration::from_millis(10)).await);
    }
}
