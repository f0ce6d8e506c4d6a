//! `fill`: the synthetic data set, written the way a bulk import writes it
//! — through `store::import` (projection rows by COPY, revisions as one
//! pending group per chunk), a chunk per transaction, then sequenced by the
//! same sequencer as every write (`store::sequencer::settle`). A second
//! thread prepares the next chunk (rows and snapshots) while the current
//! one is written.
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

use claimledger::db::schema::{claims, editors};
use claimledger::ledger::NewRevision;
use claimledger::model::{Action, EntityKind};
use claimledger::store;
use claimledger::store::import::Import;
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

type Chunk = Import;

fn rev<T: serde::Serialize>(kind: EntityKind, row: &T, id: Uuid, version: i32, action: Action, actor: Uuid) -> NewRevision {
    NewRevision {
        kind,
        entity_id: id,
        entity_version: version,
        action,
        actor_id: actor,
        reason: match action {
            Action::Supersede => Some("superseded by a newer verdict".to_string()),
            Action::Update => Some("synthetic edit".to_string()),
            _ => None,
        },
        snapshot: serde_json::to_value(row).expect("rows serialize"),
    }
}

fn produce(plan: &Plan, actors: &Actors, args_chunk: u64, batch: usize, tx: SyncSender<Chunk>) {
    let arts = Articles::new(plan);
    let ed = actors.editor;
    let mut chunk = Chunk::default();
    // The claimants' rows are written before the imports (claims refer to
    // them); their revisions come first in the log.
    for c in synth::claimants() {
        chunk.revisions.push(rev(EntityKind::Claimant, &c, c.id, 1, Action::Create, ed));
    }
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
    diesel::insert_into(claimledger::db::schema::claimants::table)
        .values(&synth::claimants())
        .execute(&mut conn)?;

    let (tx, rx) = sync_channel::<Chunk>(2);
    let started = Instant::now();
    let mut progress = Progress::new(plan.revisions, "fill");
    let mut written = 0u64;
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let producer = s.spawn(|| produce(&plan, &actors, args.chunk_claims, args.batch, tx));
        for chunk in rx {
            store::import::import(&mut conn, &chunk)?;
            written += chunk.revisions.len() as u64;
            progress.set(written);
        }
        producer.join().map_err(|_| "the producer thread panicked")?;
        Ok(())
    })?;
    progress.finish();
    let import_secs = started.elapsed().as_secs_f64();
    // The sequencer takes the pending groups: seqs, hashes, the public set.
    let sequencing = Instant::now();
    store::sequencer::settle(&mut conn, std::time::Duration::from_secs(3_600))?;
    let sequence_secs = sequencing.elapsed().as_secs_f64();
    let secs = started.elapsed().as_secs_f64();
    let head = claimledger::ledger::head(&mut conn)?;
    // The plan's revisions, and one creation per claimant record.
    let expected = plan.revisions + synth::claimants().len() as u64;
    if (head.seq - head_before) as u64 != expected || written != expected {
        return Err(format!(
            "wrote {written} revisions, the head moved by {}, expected {expected}",
            head.seq - head_before,
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
            "import_seconds": import_secs,
            "sequence_seconds": sequence_secs,
            "sequenced_per_sec": plan.revisions as f64 / sequence_secs,
        })
    );
    Ok(())
}
