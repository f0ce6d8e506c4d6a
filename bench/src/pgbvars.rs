//! `pgbench-vars`: the values the (c) reference script binds where the
//! server binds what it computed in Rust — the append's canonical JSON split
//! around the timestamp, and the snapshot — for a representative draft
//! verdict, as `name=value` lines for pgbench's `-D`.

use claimledger::ledger::hash::{EntryHead, split_entry};
use uuid::Uuid;

use crate::synth::{self, Actors, Plan};

/// The reason the wrk PATCH bodies send too (bench/lua/verdict_patch.lua).
pub const REASON: &str = "benchmark edit";

#[derive(clap::Args, Debug)]
pub struct PgbVarsArgs {
    #[arg(long)]
    pub editor: Uuid,
    #[arg(long)]
    pub reviewer: Uuid,
    #[arg(long)]
    pub claims: u64,
    #[arg(long)]
    pub evidence: u64,
    #[arg(long)]
    pub verdicts: u64,
    #[arg(long)]
    pub revisions: u64,
}

pub fn run(a: PgbVarsArgs) -> Result<(), Box<dyn std::error::Error>> {
    let plan = Plan::new(a.claims, a.evidence, a.verdicts, a.revisions)?;
    let actors = Actors {
        editor: a.editor,
        reviewer: a.reviewer,
    };
    let n = plan.draft_pools().1.0;
    let (mut v, _) = synth::verdict(&plan, &actors, n, plan.versions(claimledger::model::EntityKind::Verdict, n));
    v.version += 1;
    v.headline = "Edited under load, thread 1 edit 1000".into();
    let snapshot = serde_json::to_value(&v)?;
    let split = split_entry(
        &EntryHead {
            entity_kind: "verdict",
            entity_id: v.id,
            entity_version: v.version,
            action: "update",
            actor_id: a.editor,
            reason: Some(REASON),
        },
        &snapshot,
    );
    println!("kind=verdict");
    println!("action=update");
    println!("reason={REASON}");
    println!("active=true");
    println!("before=\\x{}", hex(&split.before_time));
    println!("after=\\x{}", hex(&split.after_time));
    println!("snapshot={}", split.snapshot_text);
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
