//! The harness's binary answers as bench/run calls it. Having an
//! integration test also makes `cargo test --no-run` build the binary
//! itself (target/<profile>/claimledger-bench), which `bench/run --smoke`
//! then uses without compiling anything again.

use std::process::Command;

#[test]
fn help_lists_every_subcommand_bench_run_calls() {
    let out = Command::new(env!("CARGO_BIN_EXE_claimledger-bench"))
        .arg("--help")
        .output()
        .expect("run claimledger-bench");
    assert!(out.status.success(), "--help failed: {}", String::from_utf8_lossy(&out.stderr));
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "fill",
        "verify-bench",
        "pgbench-vars",
        "record",
        "report",
        "read-all",
        "feed-replay",
        "push",
        "stream",
        "checkpoint-latency",
        "tree-bench",
    ] {
        assert!(help.contains(sub), "no {sub} in:\n{help}");
    }
}

#[test]
fn record_reads_the_sequencer_metrics_between_two_scrapes() {
    let dir = std::env::temp_dir().join(format!("claimledger-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scrape = |revisions: u64, batches: u64, buckets: &[(&str, u64)]| {
        let mut s = format!(
            "# TYPE claimledger_sequencer_revisions counter\nclaimledger_sequencer_revisions_total {revisions}\nclaimledger_sequencer_batches_total {batches}\n"
        );
        for (le, n) in buckets {
            s.push_str(&format!("claimledger_sequencer_batch_revisions_bucket{{le=\"{le}\"}} {n}\n"));
        }
        s
    };
    let (before, after, results) = (dir.join("before"), dir.join("after"), dir.join("results.jsonl"));
    std::fs::write(&before, scrape(100, 10, &[("1.0", 5), ("2.0", 8), ("4.0", 10), ("+Inf", 10)])).unwrap();
    // 30 more revisions in 10 more batches: 2 of size 1, 3 of ≤ 2, 5 of ≤ 4.
    std::fs::write(&after, scrape(130, 20, &[("1.0", 7), ("2.0", 13), ("4.0", 20), ("+Inf", 20)])).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_claimledger-bench"))
        .args(["record", "--results"])
        .arg(&results)
        .arg("--metrics")
        .args([&before, &after])
        .args(["--seconds", "2", "--set", "kind=sequencer"])
        .status()
        .expect("run record");
    assert!(status.success());
    let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&results).unwrap().trim()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(line["kind"], "sequencer");
    assert_eq!(line["revisions"], 30.0);
    assert_eq!(line["batches"], 10.0);
    assert_eq!(line["revisions_per_sec"], 15.0);
    assert_eq!(line["mean_batch"], 3.0);
    assert_eq!(line["p50_batch"], 2.0); // the 5th of 10 batches is in the ≤ 2 bucket
    assert_eq!(line["max_batch"], 4.0);
}
