//! `fill`: the synthetic data set, written the way a bulk import would write
//! it — projection rows in multi-row INSERTs, and their revisions through
//! `ledger::append_batch` (many revisions under one head lock), a chunk per
//! transaction. A second thread prepares the next chunk (rows and
//! snapshots) while the current one is written.
//!
//! Creates go first, claim by claim (a claim, its appearance, evidence and
//! verdicts); then the updates in rounds (every entity's 2nd version, then
//! every 3rd, …), so one claim's revisions are spread over the log as they
//! would be in a newsroom's. The projection row of an entity is its last
//! version; every snapshot is `serde_json::to_value` of the row struct, as
//! `store::record` writes it, so `claimledger verify --state` holds.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Instant;

use claimledger::db::schema::{appearances, articles, claims, editors, evidence, verdicts};
use claimledger::ledger::{NewRevision, append_batch};
use claimledger::model::{Action, Appearance, Article, Claim, EntityKind, Evidence, Verdict};
use claimledger::store;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::synth::{self, Actors, Articles, Plan};

#[derive(clap::Args, Debug)]
pub struct FillArgs {
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 20_000)]
    pub claims: u64,
    #[arg(long, default_value_t = 100_000)]
    pub evidence: u64,
    #[arg(long, default_value_t = 50_000)]
    pub verdicts: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub revisions: u64,
    /// Claims per transaction while creating.
    #[arg(long, default_value_t = 500)]
    pub chunk_claims: u64,
    /// Revisions per transaction while updating.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// The account that writes (role editor) and the one that publishes (reviewer).
    #[arg(long, default_value = "bench-editor")]
    pub editor: String,
    #[arg(long, default_value = "bench-reviewer")]
    pub reviewer: String,
    /// Where to write what bench/run needs to know (shell variables).
    #[arg(long)]
    pub manifest: PathBuf,
}

#[derive(Default)]
struct Chunk {
    articles: Vec<Article>,
    claims: Vec<Claim>,
    appearances: Vec<Appearance>,
    evidence: Vec<Evidence>,
    verdicts: Vec<Verdict>,
    revisions: Vec<NewRevision<'static>>,
}

fn rev<T: serde::Serialize>(kind: EntityKind, row: &T, id: Uuid, version: i32, action: Action, actor: Uuid) -> NewRevision<'static> {
    NewRevision {
        kind,
        entity_id: id,
        entity_version: version,
        action,
        actor_id: actor,
        reason: match action {
            Action::Supersede => Some("superseded by a newer verdict"),
            Action::Update => Some("synthetic edit"),
            _ => None,
        },
        snapshot: serde_json::to_value(row).expect("rows serialize"),
    }
}

fn produce(plan: &Plan, actors: &Actors, args_chunk: u64, batch: usize, tx: SyncSender<Chunk>) {
    let arts = Articles::new(plan);
    let ed = actors.editor;
    let mut chunk = Chunk::default();
    for a in 1..=plan.articles {
        let art = arts.article(a);
        chunk.revisions.push(rev(EntityKind::Article, &art, art.id, 1, Action::Create, ed));
        chunk.articles.push(art);
    }
    if tx.send(std::mem::take(&mut chunk)).is_err() {
        return;
    }
    // Creates, a chunk of claims at a time.
    let mut c = 1;
    while c <= plan.claims {
        let end = (c + args_chunk).min(plan.claims + 1);
        for c in c..end {
            let first = synth::claim(c, 1);
            chunk
                .revisions
                .push(rev(EntityKind::Claim, &first, first.id, 1, Action::Create, ed));
            chunk.claims.push(synth::claim(c, plan.versions(EntityKind::Claim, c)));
            let app = synth::appearance(plan, &arts, c);
            chunk
                .revisions
                .push(rev(EntityKind::Appearance, &app, app.id, 1, Action::Create, ed));
            chunk.appearances.push(app);
            for e in plan.evidence_of_claim(c) {
                let first = synth::evidence(plan, &arts, e, 1);
                chunk
                    .revisions
                    .push(rev(EntityKind::Evidence, &first, first.id, 1, Action::Create, ed));
                chunk
                    .evidence
                    .push(synth::evidence(plan, &arts, e, plan.versions(EntityKind::Evidence, e)));
            }
            for n in plan.verdicts_of_claim(c) {
                let (first, action) = synth::verdict(plan, actors, n, 1);
                chunk.revisions.push(rev(EntityKind::Verdict, &first, first.id, 1, action, ed));
                chunk
                    .verdicts
                    .push(synth::verdict(plan, actors, n, plan.versions(EntityKind::Verdict, n)).0);
            }
        }
        if tx.send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
        c = end;
    }
    // Updates, in rounds: version r + 1 of every entity that has one.
    for r in 1.. {
        let mut any = false;
        for g in 0..plan.updatable() {
            let (kind, n) = plan.entity(g);
            if plan.versions(kind, n) <= r {
                continue;
            }
            any = true;
            let v = r + 1;
            let revision = match kind {
                EntityKind::Claim => {
                    let row = synth::claim(n, v);
                    rev(kind, &row, row.id, row.version, Action::Update, ed)
                }
                EntityKind::Evidence => {
                    let row = synth::evidence(plan, &arts, n, v);
                    rev(kind, &row, row.id, row.version, Action::Update, ed)
                }
                _ => {
                    let (row, action) = synth::verdict(plan, actors, n, v);
                    let actor = if matches!(action, Action::Publish | Action::Supersede) {
                        actors.reviewer
                    } else {
                        ed
                    };
                    rev(kind, &row, row.id, row.version, action, actor)
                }
            };
            chunk.revisions.push(revision);
            if chunk.revisions.len() >= batch && tx.send(std::mem::take(&mut chunk)).is_err() {
                return;
            }
        }
        if !any {
            break;
        }
    }
    if !chunk.revisions.is_empty() {
        let _ = tx.send(chunk);
    }
}

/// Rows per multi-row INSERT (at most 15 parameters a row, under 65,535).
const ROWS: usize = 1_000;

/// Writes one chunk; returns the time spent on projection rows and on the append.
fn write(conn: &mut PgConnection, chunk: &Chunk) -> claimledger::error::AppResult<(f64, f64)> {
    let started = Instant::now();
    for rows in chunk.articles.chunks(ROWS) {
        let values: Vec<_> = rows
            .iter()
            .map(|a| {
                (
                    articles::id.eq(a.id),
                    articles::version.eq(a.version),
                    articles::slug.eq(&a.slug),
                    articles::title.eq(&a.title),
                    articles::publisher.eq(&a.publisher),
                    articles::url.eq(&a.url),
                    articles::published_on.eq(a.published_on),
                    articles::language.eq(&a.language),
                    articles::body.eq(&a.body),
                    articles::body_sha256.eq(&a.body_sha256),
                    articles::created_at.eq(a.created_at),
                    articles::updated_at.eq(a.updated_at),
                )
            })
            .collect();
        diesel::insert_into(articles::table).values(values).execute(conn)?;
    }
    for rows in chunk.claims.chunks(ROWS) {
        let values: Vec<_> = rows
            .iter()
            .map(|c| {
                (
                    claims::id.eq(c.id),
                    claims::version.eq(c.version),
                    claims::statement.eq(&c.statement),
                    claims::claimant.eq(&c.claimant),
                    claims::claimed_on.eq(c.claimed_on),
                    claims::language.eq(&c.language),
                    claims::tags.eq(&c.tags),
                    claims::status.eq(&c.status),
                    claims::created_at.eq(c.created_at),
                    claims::updated_at.eq(c.updated_at),
                )
            })
            .collect();
        diesel::insert_into(claims::table).values(values).execute(conn)?;
    }
    for rows in chunk.appearances.chunks(ROWS) {
        let values: Vec<_> = rows
            .iter()
            .map(|a| {
                (
                    appearances::id.eq(a.id),
                    appearances::version.eq(a.version),
                    appearances::claim_id.eq(a.claim_id),
                    appearances::article_id.eq(a.article_id),
                    appearances::exact.eq(&a.exact),
                    appearances::prefix.eq(&a.prefix),
                    appearances::suffix.eq(&a.suffix),
                    appearances::start_pos.eq(a.start_pos),
                    appearances::end_pos.eq(a.end_pos),
                    appearances::status.eq(&a.status),
                    appearances::created_at.eq(a.created_at),
                    appearances::updated_at.eq(a.updated_at),
                )
            })
            .collect();
        diesel::insert_into(appearances::table).values(values).execute(conn)?;
    }
    for rows in chunk.evidence.chunks(ROWS) {
        let values: Vec<_> = rows
            .iter()
            .map(|e| {
                (
                    (
                        evidence::id.eq(e.id),
                        evidence::version.eq(e.version),
                        evidence::claim_id.eq(e.claim_id),
                        evidence::stance.eq(&e.stance),
                        evidence::summary.eq(&e.summary),
                        evidence::article_id.eq(e.article_id),
                        evidence::exact.eq(&e.exact),
                        evidence::prefix.eq(&e.prefix),
                    ),
                    (
                        evidence::suffix.eq(&e.suffix),
                        evidence::start_pos.eq(e.start_pos),
                        evidence::end_pos.eq(e.end_pos),
                        evidence::url.eq(&e.url),
                        evidence::title.eq(&e.title),
                        evidence::status.eq(&e.status),
                        evidence::created_at.eq(e.created_at),
                        evidence::updated_at.eq(e.updated_at),
                    ),
                )
            })
            .collect();
        diesel::insert_into(evidence::table).values(values).execute(conn)?;
    }
    for rows in chunk.verdicts.chunks(ROWS) {
        let values: Vec<_> = rows
            .iter()
            .map(|v| {
                (
                    (
                        verdicts::id.eq(v.id),
                        verdicts::version.eq(v.version),
                        verdicts::claim_id.eq(v.claim_id),
                        verdicts::rating.eq(&v.rating),
                        verdicts::headline.eq(&v.headline),
                        verdicts::summary.eq(&v.summary),
                        verdicts::evidence_ids.eq(&v.evidence_ids),
                        verdicts::status.eq(&v.status),
                    ),
                    (
                        verdicts::author_id.eq(v.author_id),
                        verdicts::reviewer_id.eq(v.reviewer_id),
                        verdicts::published_at.eq(v.published_at),
                        verdicts::superseded_at.eq(v.superseded_at),
                        verdicts::withdrawn_at.eq(v.withdrawn_at),
                        verdicts::created_at.eq(v.created_at),
                        verdicts::updated_at.eq(v.updated_at),
                    ),
                )
            })
            .collect();
        diesel::insert_into(verdicts::table).values(values).execute(conn)?;
    }
    let rows = started.elapsed().as_secs_f64();
    append_batch(conn, &chunk.revisions)?;
    Ok((rows, started.elapsed().as_secs_f64() - rows))
}

/// A bar on a terminal; a line every 10% otherwise (CI logs).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    next_line: u64,
    started: Instant,
    what: &'static str,
}

impl Progress {
    pub fn new(total: u64, what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(what);
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            next_line: 0,
            started: Instant::now(),
            what,
        }
    }

    pub fn set(&mut self, done: u64) {
        self.done = done;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if done >= self.next_line => {
                let secs = self.started.elapsed().as_secs_f64();
                eprintln!(
                    "  {}: {done}/{} ({:.0}%, {:.0}/s)",
                    self.what,
                    self.total,
                    100.0 * done as f64 / self.total.max(1) as f64,
                    done as f64 / secs.max(1e-9)
                );
                self.next_line = done + self.total.div_ceil(10).max(1);
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn run(args: FillArgs) -> Result<(), Box<dyn std::error::Error>> {
    let plan = Plan::new(args.claims, args.evidence, args.verdicts, args.revisions)?;
    let mut conn = PgConnection::establish(&args.database_url)?;
    let account = |conn: &mut PgConnection, name: &str| -> Result<Uuid, Box<dyn std::error::Error>> {
        editors::table
            .filter(editors::username.eq(name))
            .select(editors::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| format!("no account '{name}': create it first (claimledger editor add)").into())
    };
    let actors = Actors {
        editor: account(&mut conn, &args.editor)?,
        reviewer: account(&mut conn, &args.reviewer)?,
    };
    let existing: i64 = claims::table.count().get_result(&mut conn)?;
    if existing > 0 {
        return Err("the database already holds claims: fill a fresh one".into());
    }
    let head_before = claimledger::ledger::head(&mut conn)?.seq;

    let (tx, rx) = sync_channel::<Chunk>(2);
    let started = Instant::now();
    let mut progress = Progress::new(plan.revisions, "fill");
    let mut written = 0u64;
    let (mut rows_secs, mut append_secs, mut commit_secs) = (0.0, 0.0, 0.0);
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let producer = s.spawn(|| produce(&plan, &actors, args.chunk_claims, args.batch, tx));
        for chunk in rx {
            let t = Instant::now();
            let (r, a) = store::transaction(&mut conn, |c| write(c, &chunk))?;
            rows_secs += r;
            append_secs += a;
            commit_secs += t.elapsed().as_secs_f64() - r - a;
            written += chunk.revisions.len() as u64;
            progress.set(written);
        }
        producer.join().map_err(|_| "the producer thread panicked")?;
        Ok(())
    })?;
    progress.finish();
    let secs = started.elapsed().as_secs_f64();
    let head = claimledger::ledger::head(&mut conn)?;
    if (head.seq - head_before) as u64 != plan.revisions || written != plan.revisions {
        return Err(format!(
            "wrote {written} revisions, the head moved by {}, expected {}",
            head.seq - head_before,
            plan.revisions
        )
        .into());
    }

    let ((s_lo, s_hi), (r_lo, r_hi)) = plan.draft_pools();
    let manifest = [
        ("BENCH_CLAIMS", plan.claims.to_string()),
        ("BENCH_EVIDENCE", plan.evidence.to_string()),
        ("BENCH_VERDICTS", plan.verdicts.to_string()),
        ("BENCH_REVISIONS", plan.revisions.to_string()),
        ("BENCH_HEAD_SEQ", head.seq.to_string()),
        ("BENCH_PUBLISHED_CLAIMS", plan.published_claims.to_string()),
        ("BENCH_SERVER_DRAFTS_LO", s_lo.to_string()),
        ("BENCH_SERVER_DRAFTS_HI", s_hi.to_string()),
        ("BENCH_REF_DRAFTS_LO", r_lo.to_string()),
        ("BENCH_REF_DRAFTS_HI", r_hi.to_string()),
        ("BENCH_SEARCH_TERMS", synth::SEARCH_TERMS.join(",")),
        ("BENCH_EDITOR_ID", actors.editor.to_string()),
        ("BENCH_REVIEWER_ID", actors.reviewer.to_string()),
        ("BENCH_FILL_SECONDS", format!("{secs:.3}")),
    ];
    let text: String = manifest.iter().map(|(k, v)| format!("{k}='{v}'\n")).collect();
    std::fs::write(&args.manifest, text)?;
    println!(
        "{}",
        json!({
            "kind": "fill",
            "revisions": plan.revisions,
            "seconds": secs,
            "per_sec": plan.revisions as f64 / secs,
            "claims": plan.claims, "evidence": plan.evidence, "verdicts": plan.verdicts,
            "articles": plan.articles, "appearances": plan.claims,
            "published_claims": plan.published_claims,
            "projection_rows_seconds": rows_secs,
            "append_batch_seconds": append_secs,
            "begin_commit_seconds": commit_secs,
        })
    );
    Ok(())
}
