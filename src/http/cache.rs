//! Public reads served from memory: each published fact check (its JSON;
//! apart, for those a page or a ClaimReview was asked of, the aggregate
//! pages render from and the ClaimReview) and each list page,
//! already serialized with its ETag, so `If-None-Match` is answered without
//! the database. The log drives it: the listener's notices invalidate
//! exactly the fact checks that changed (and every list page, since any
//! change may move any page), before a write that caused them is
//! acknowledged. While notices may be lost (the listener is reconnecting)
//! nothing is kept. Memory is bounded (`CLAIMLEDGER_CACHE_MAX_MB`): the
//! oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::counter::Counter;
use uuid::Uuid;

use crate::db::notify::{LogEvent, LogWatch};
use crate::db::{PgPool, with_pooled};
use crate::model::factcheck::FactCheck;
use crate::store;

/// A published fact check's JSON, ready to serve.
#[derive(Debug)]
pub struct CachedFactCheck {
    /// The log position it reflects.
    pub seq: i64,
    pub json: actix_web::web::Bytes,
}

/// What pages and ClaimReview render from, kept apart from the JSON: most
/// readers want only the JSON, and the aggregate is the larger part.
#[derive(Debug)]
pub struct CachedDetail {
    pub seq: i64,
    pub factcheck: Arc<FactCheck>,
    pub claimreview: actix_web::web::Bytes,
    /// The stored aggregate's size: what this roughly costs in memory.
    pub aggregate_bytes: usize,
}

/// A list page (or anything else keyed by its request), ready to serve.
#[derive(Debug)]
pub struct CachedPage {
    pub etag: String,
    pub body: actix_web::web::Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    FactCheck(Uuid),
    Detail(Uuid),
    /// A fact check's rendered HTML page.
    FactCheckPage(Uuid),
    Page(String),
    /// What can never change (a full page of a claim's history, a claim as
    /// of a past seq): kept until evicted, never invalidated.
    Immutable(String),
}

#[derive(Debug)]
enum Entry {
    /// None: known not to be public (a 404 served from memory).
    FactCheck(Option<Arc<CachedFactCheck>>),
    Detail(Arc<CachedDetail>),
    Page(Arc<CachedPage>),
}

impl Entry {
    fn size(&self) -> usize {
        256 + match self {
            Entry::FactCheck(Some(f)) => f.json.len(),
            // Parsed structs take about twice their JSON text.
            Entry::Detail(d) => 2 * d.aggregate_bytes + d.claimreview.len(),
            Entry::FactCheck(None) => 0,
            Entry::Page(p) => p.body.len() + p.etag.len(),
        }
    }

    /// The same entry, its bodies copied into allocations of their own
    /// length: a body serialized into a growing buffer holds up to twice its
    /// length, which [`Entry::size`] (and so the budget) would not see.
    fn compact(self) -> Entry {
        let copy = |b: &actix_web::web::Bytes| actix_web::web::Bytes::copy_from_slice(b);
        match self {
            Entry::FactCheck(Some(f)) => Entry::FactCheck(Some(Arc::new(CachedFactCheck {
                seq: f.seq,
                json: copy(&f.json),
            }))),
            Entry::FactCheck(None) => Entry::FactCheck(None),
            Entry::Detail(d) => Entry::Detail(Arc::new(CachedDetail {
                seq: d.seq,
                factcheck: d.factcheck.clone(),
                claimreview: copy(&d.claimreview),
                aggregate_bytes: d.aggregate_bytes,
            })),
            Entry::Page(p) => Entry::Page(Arc::new(CachedPage {
                etag: p.etag.clone(),
                body: copy(&p.body),
            })),
        }
    }
}

#[derive(Default)]
struct Store {
    entries: HashMap<Key, Entry>,
    /// Insertion order of the public entries, for eviction (keys removed
    /// since may linger).
    order: VecDeque<Key>,
    bytes: usize,
    /// What can never change (audit reads: history pages, claims as of a
    /// seq) and the public entries each have half the budget, and each may
    /// use what the other leaves: past the budget, the side holding more
    /// than its half gives way, oldest first. An auditor reading through the
    /// log cannot push the public fact checks below half the budget, nor a
    /// burst of public pages the audit pages.
    immutable_order: VecDeque<Key>,
    immutable_bytes: usize,
}

impl Store {
    fn remove(&mut self, key: &Key) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= e.size();
            if matches!(key, Key::Immutable(_)) {
                self.immutable_bytes -= e.size();
            }
        }
    }

    /// Keeps `entry` (its [`Entry::size`] is `size`) and evicts, oldest
    /// first, until the store fits `max_bytes`: from the immutable entries
    /// while they hold more than half of it, else from the public ones.
    /// Returns how many were evicted.
    fn insert(&mut self, key: Key, entry: Entry, size: usize, max_bytes: usize) -> u64 {
        self.remove(&key);
        self.bytes += size;
        if matches!(key, Key::Immutable(_)) {
            self.immutable_bytes += size;
            self.immutable_order.push_back(key.clone());
        } else {
            self.order.push_back(key.clone());
        }
        self.entries.insert(key, entry);
        let mut evicted = 0;
        while self.bytes > max_bytes {
            let audit_gives_way = self.immutable_bytes > max_bytes / 2;
            if !(self.evict_oldest(audit_gives_way) || self.evict_oldest(!audit_gives_way)) {
                break;
            }
            evicted += 1;
        }
        // Keys of entries removed since stay in the orders; keep them bounded.
        let bound = 4 * self.entries.len() + 1024;
        if self.order.len() > bound {
            self.order.retain(|k| self.entries.contains_key(k));
        }
        if self.immutable_order.len() > bound {
            self.immutable_order.retain(|k| self.entries.contains_key(k));
        }
        evicted
    }

    /// Removes the oldest entry still held, of the immutable ones or of
    /// the public ones; false when none is left.
    fn evict_oldest(&mut self, immutable: bool) -> bool {
        loop {
            let order = if immutable { &mut self.immutable_order } else { &mut self.order };
            let Some(old) = order.pop_front() else { return false };
            if self.entries.contains_key(&old) {
                self.remove(&old);
                return true;
            }
        }
    }

    fn clear_pages(&mut self) {
        let pages: Vec<Key> = self.entries.keys().filter(|k| matches!(k, Key::Page(_))).cloned().collect();
        for k in pages {
            self.remove(&k);
        }
    }
}

/// Counters for /metrics.
#[derive(Default, Debug, Clone)]
pub struct CacheCounters {
    pub hits: Counter,
    pub misses: Counter,
    pub invalidations: Counter,
    pub evictions: Counter,
}

pub struct PublicCache {
    store: Mutex<Store>,
    max_bytes: usize,
    /// Moves on every invalidation: a value read before it moved may be
    /// stale, and is served but not kept.
    generation: AtomicU64,
    log: Arc<LogWatch>,
    pub counters: CacheCounters,
}

/// How many fact checks the fill reads a statement.
const FILL_BATCH: i64 = 1_000;
/// How long the fill waits for the log listener.
const FILL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where a read started, for [`PublicCache::keep`].
#[derive(Clone, Copy, Debug)]
pub struct ReadStart(u64);

impl PublicCache {
    /// A cache fed by `log`'s notices.
    pub fn new(max_bytes: usize, log: Arc<LogWatch>) -> Arc<Self> {
        let cache = Arc::new(PublicCache {
            store: Mutex::default(),
            max_bytes,
            generation: AtomicU64::new(0),
            log: log.clone(),
            counters: CacheCounters::default(),
        });
        let weak = Arc::downgrade(&cache);
        log.on_event(move |event| {
            if let Some(cache) = weak.upgrade() {
                cache.apply(event);
            }
        });
        cache
    }

    fn apply(&self, event: &LogEvent) {
        match event {
            LogEvent::Changed(ids) => {
                self.generation.fetch_add(1, Ordering::AcqRel);
                let mut s = self.store.lock().expect("cache");
                for id in ids {
                    s.remove(&Key::FactCheck(*id));
                    s.remove(&Key::Detail(*id));
                    s.remove(&Key::FactCheckPage(*id));
                }
                s.clear_pages();
                self.counters.invalidations.inc_by(ids.len() as u64);
            }
            LogEvent::ChangedAll => {
                self.generation.fetch_add(1, Ordering::AcqRel);
                let mut s = self.store.lock().expect("cache");
                let n = s.entries.len() as u64;
                *s = Store::default();
                self.counters.invalidations.inc_by(n);
            }
            LogEvent::AccountsChanged | LogEvent::Head(_) => {}
        }
    }

    /// Call before reading what may be kept.
    pub fn read_start(&self) -> ReadStart {
        ReadStart(self.generation.load(Ordering::Acquire))
    }

    fn hit_or_miss<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.inc();
        found
    }

    /// The fact check of `claim_id`, if in memory: Some(None) when it is
    /// known not to be public.
    pub fn factcheck(&self, claim_id: Uuid) -> Option<Option<Arc<CachedFactCheck>>> {
        let found = match self.store.lock().expect("cache").entries.get(&Key::FactCheck(claim_id)) {
            Some(Entry::FactCheck(f)) => Some(f.clone()),
            _ => None,
        };
        self.hit_or_miss(found)
    }

    /// The aggregate and ClaimReview of `claim_id`'s fact check, if in memory.
    pub fn detail(&self, claim_id: Uuid) -> Option<Arc<CachedDetail>> {
        let found = match self.store.lock().expect("cache").entries.get(&Key::Detail(claim_id)) {
            Some(Entry::Detail(d)) => Some(d.clone()),
            _ => None,
        };
        self.hit_or_miss(found)
    }

    pub fn factcheck_page(&self, claim_id: Uuid) -> Option<Arc<CachedPage>> {
        let found = match self.store.lock().expect("cache").entries.get(&Key::FactCheckPage(claim_id)) {
            Some(Entry::Page(p)) => Some(p.clone()),
            _ => None,
        };
        self.hit_or_miss(found)
    }

    pub fn keep_factcheck_page(&self, start: ReadStart, claim_id: Uuid, page: Arc<CachedPage>) {
        self.keep(start, Key::FactCheckPage(claim_id), Entry::Page(page));
    }

    pub fn page(&self, key: &str) -> Option<Arc<CachedPage>> {
        let found = match self.store.lock().expect("cache").entries.get(&Key::Page(key.to_string())) {
            Some(Entry::Page(p)) => Some(p.clone()),
            _ => None,
        };
        self.hit_or_miss(found)
    }

    /// Something that can never change, if in memory.
    pub fn immutable(&self, key: &str) -> Option<Arc<CachedPage>> {
        let found = match self.store.lock().expect("cache").entries.get(&Key::Immutable(key.to_string())) {
            Some(Entry::Page(p)) => Some(p.clone()),
            _ => None,
        };
        self.hit_or_miss(found)
    }

    /// Keeps what can never change: no read can have made it stale.
    pub fn keep_immutable(&self, key: String, page: Arc<CachedPage>) {
        let start = self.read_start();
        self.keep(start, Key::Immutable(key), Entry::Page(page));
    }

    pub fn keep_factcheck(&self, start: ReadStart, claim_id: Uuid, value: Option<Arc<CachedFactCheck>>) {
        self.keep(start, Key::FactCheck(claim_id), Entry::FactCheck(value));
    }

    pub fn keep_detail(&self, start: ReadStart, claim_id: Uuid, value: Arc<CachedDetail>) {
        self.keep(start, Key::Detail(claim_id), Entry::Detail(value));
    }

    pub fn keep_page(&self, start: ReadStart, key: String, page: Arc<CachedPage>) {
        self.keep(start, Key::Page(key), Entry::Page(page));
    }

    /// Keeps what was read since `start`, unless something changed
    /// meanwhile or notices may have been lost.
    fn keep(&self, start: ReadStart, key: Key, entry: Entry) {
        if !self.log.is_live() {
            return;
        }
        let size = entry.size();
        if size > self.max_bytes / 4 {
            return;
        }
        let entry = entry.compact();
        let mut s = self.store.lock().expect("cache");
        // Checked under the lock: an invalidation takes the same lock.
        if self.generation.load(Ordering::Acquire) != start.0 {
            return;
        }
        let evicted = s.insert(key, entry, size, self.max_bytes);
        self.counters.evictions.inc_by(evicted);
    }

    /// Fills memory with the newest published fact checks, up to half the
    /// budget (the rest is for pages, ClaimReview and what readers ask for
    /// later), so a fresh server's first read of each is served from memory.
    /// Runs once, on its own thread: it waits for the log listener (nothing
    /// is kept before notices flow), and a batch read while something
    /// changed is not kept, as for any read.
    pub fn fill(self: &Arc<Self>, pool: PgPool) {
        let cache = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("cache-fill".into()).spawn(move || {
            let started = std::time::Instant::now();
            let mut kept = 0usize;
            let mut after = None;
            loop {
                let Some(cache) = cache.upgrade() else { return };
                if !cache.log.is_live() {
                    if started.elapsed() > FILL_WAIT {
                        tracing::warn!("cache fill skipped: the log listener did not start");
                        return;
                    }
                    drop(cache);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                }
                if cache.size().1 >= cache.max_bytes / 2 {
                    break;
                }
                let start = cache.read_start();
                let rows = match with_pooled(&pool, |conn| store::factchecks::newest_documents(conn, after, FILL_BATCH)) {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "cache fill stopped");
                        return;
                    }
                };
                let Some(last) = rows.last() else { break };
                after = Some(last.position());
                let last_batch = rows.len() < FILL_BATCH as usize;
                for doc in rows {
                    let json = actix_web::web::Bytes::from(doc.body);
                    let seq = doc.seq;
                    cache.keep_factcheck(start, doc.claim_id, Some(Arc::new(CachedFactCheck { seq, json })));
                    kept += 1;
                }
                if last_batch {
                    break;
                }
            }
            tracing::info!(fact_checks = kept, ms = started.elapsed().as_millis() as u64, "cache filled");
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cache fill not started");
        }
    }

    /// Entries and bytes held now.
    pub fn size(&self) -> (usize, usize) {
        let s = self.store.lock().expect("cache");
        (s.entries.len(), s.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: usize) -> Entry {
        Entry::Page(Arc::new(CachedPage {
            etag: String::new(),
            body: actix_web::web::Bytes::from(vec![b'x'; bytes]),
        }))
    }

    fn factcheck(bytes: usize) -> Entry {
        Entry::FactCheck(Some(Arc::new(CachedFactCheck {
            seq: 1,
            json: actix_web::web::Bytes::from(vec![b'x'; bytes]),
        })))
    }

    #[test]
    fn audit_and_public_reads_each_keep_half_the_budget_and_borrow_what_the_other_leaves() {
        let max = 100_000;
        let mut store = Store::default();
        let held = |store: &Store| store.entries.values().map(Entry::size).sum::<usize>();
        let claims: Vec<Uuid> = (0..30).map(|_| Uuid::now_v7()).collect();
        for id in &claims {
            let e = factcheck(1_000);
            let size = e.size();
            assert_eq!(store.insert(Key::FactCheck(*id), e, size, max), 0);
        }
        // An auditor reads through the log: far more than the budget. The
        // audit pages take all the room the fact checks leave (more than
        // half), and none of the fact checks.
        let mut evicted = 0;
        for n in 0..500 {
            let e = page(1_000);
            let size = e.size();
            evicted += store.insert(Key::Immutable(format!("asof {n}")), e, size, max);
        }
        assert!(claims.iter().all(|id| store.entries.contains_key(&Key::FactCheck(*id))));
        assert!(store.bytes <= max);
        let public = store.bytes - store.immutable_bytes;
        assert!(store.immutable_bytes > max / 2 && store.immutable_bytes + 1_400 > max - public);
        assert!(evicted >= 430, "{evicted}");
        // The newest audit pages are the ones kept.
        assert!(store.entries.contains_key(&Key::Immutable("asof 499".into())));
        assert!(!store.entries.contains_key(&Key::Immutable("asof 0".into())));
        assert_eq!(held(&store), store.bytes);
        // Public reads take back the room past the audit pages' half, then
        // evict each other, oldest first: the audit pages keep their half.
        for n in 0..200 {
            let e = factcheck(1_000);
            let size = e.size();
            store.insert(Key::Page(format!("list {n}")), e, size, max);
        }
        assert!(store.bytes <= max);
        assert!(
            store.immutable_bytes <= max / 2 && store.immutable_bytes + 1_400 > max / 2,
            "{}",
            store.immutable_bytes
        );
        assert!(store.entries.contains_key(&Key::Immutable("asof 499".into())));
        assert!(!store.entries.contains_key(&Key::FactCheck(claims[0])));
        assert!(store.entries.contains_key(&Key::Page("list 199".into())));
        assert_eq!(held(&store), store.bytes);
    }

    #[test]
    fn a_kept_body_is_copied_out_of_the_buffer_it_was_serialized_into() {
        // A serialized body's buffer grows by doubling: this one holds 4 KiB for 3 bytes.
        let mut buffer = Vec::with_capacity(4096);
        buffer.extend_from_slice(b"{ }");
        let body = actix_web::web::Bytes::from(buffer);
        let page = Arc::new(CachedPage {
            etag: "\"1\"".into(),
            body: body.clone(),
        });
        let entry = Entry::Page(page);
        let size = entry.size();
        let Entry::Page(kept) = entry.compact() else {
            panic!("a page stays a page")
        };
        assert_eq!((kept.etag.as_str(), &kept.body[..]), ("\"1\"", &b"{ }"[..]));
        assert_ne!(kept.body.as_ptr(), body.as_ptr(), "the kept body has an allocation of its own");
        assert_eq!(Entry::Page(kept).size(), size);
    }
}
