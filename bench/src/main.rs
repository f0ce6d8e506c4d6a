//! The helpers bench/run calls; see bench/README.md.

mod fill;
mod pgbvars;
mod push;
mod reads;
mod record;
mod replica;
mod report;
mod synth;
mod tlogbench;
mod verifybench;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "claimledger-bench", about = "bench/run's helpers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fill a fresh, migrated database with synthetic data through the ledger's batch append.
    Fill(fill::FillArgs),
    /// Time ledger::verify over the whole log against plain SHA-256 over the same bytes.
    VerifyBench(verifybench::VerifyArgs),
    /// The fixed values the (c) pgbench scripts bind, as name=value lines.
    PgbenchVars(pgbvars::PgbVarsArgs),
    /// Append one measurement (wrk or pgbench output) to the results file.
    Record(record::RecordArgs),
    /// Write the results as a markdown table and an SVG chart.
    Report(report::ReportArgs),
    /// Read every published fact check once (cold reads; fills the server's cache).
    ReadAll(reads::ReadAllArgs),
    /// Follow the change feed page by page to its end; one results line per pass.
    FeedReplay(reads::FeedArgs),
    /// Webhooks: local receivers, steady publishes, ack → delivery latency, a burst, signatures.
    Push(push::PushArgs),
    /// Many concurrent SSE streams of the change feed: publish → event latency, server memory.
    Stream(push::StreamArgs),
    /// Write, then poll /v1/log/checkpoint until a checkpoint covers the write.
    CheckpointLatency(tlogbench::CheckpointArgs),
    /// Reads through a streaming standby beside the primary, and how soon a write is readable there.
    Replica(replica::ReplicaArgs),
    /// Time the Merkle tree's integration over the whole log (in memory, and through the database, rolled back).
    TreeBench(tlogbench::TreeArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fill(a) => fill::run(a),
        Command::VerifyBench(a) => verifybench::run(a),
        Command::PgbenchVars(a) => pgbvars::run(a),
        Command::Record(a) => record::run(a),
        Command::Report(a) => report::run(a),
        Command::ReadAll(a) => reads::read_all(a),
        Command::FeedReplay(a) => reads::feed_replay(a),
        Command::Push(a) => push::push(a),
        Command::Stream(a) => push::stream(a),
        Command::CheckpointLatency(a) => tlogbench::checkpoint_latency(a),
        Command::TreeBench(a) => tlogbench::tree_bench(a),
        Command::Replica(a) => replica::run(a),
    };
    if let Err(e) = result {
        eprintln!("claimledger-bench: {e}");
        std::process::exit(1);
    }
}
