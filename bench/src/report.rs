//! `report`: the results file (JSON lines written by bench/run) as a
//! markdown section and an SVG chart. The section replaces what lies between
//! the `results:begin` / `results:end` markers of the output file, so notes
//! written around it survive a re-run.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use plotters::prelude::*;
use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[arg(long)]
    pub results: PathBuf,
    /// The markdown file to write (its results section is replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// The SVG chart to write.
    #[arg(long)]
    pub svg: PathBuf,
    /// How the markdown links the chart.
    #[arg(long, default_value = "bench/chart.svg")]
    pub svg_link: String,
}

const BEGIN: &str = "<!-- results:begin (written by bench/run; edits inside are lost) -->";
const END: &str = "<!-- results:end -->";

/// v1's numbers at full scale, before
/// the derived public set and the sequencer, which issues 15 and 19 set
/// targets against: search at concurrency 16 (issue 15), and one writer's
/// p50 (bench/results.jsonl of commit fcab635).
const V1_SEARCH_RPS: f64 = 64.0;
const V1_SINGLE_WRITER_P50_MS: f64 = 1.60;

struct Results(Vec<Value>);

impl Results {
    fn kind(&self, kind: &str) -> Option<&Value> {
        self.0.iter().rev().find(|v| v["kind"] == kind)
    }

    fn load(&self, phase: &str, side: &str, concurrency: i64) -> Option<&Value> {
        self.0
            .iter()
            .rev()
            .find(|v| v["kind"] == "load" && v["phase"] == phase && v["side"] == side && v["concurrency"] == concurrency)
    }

    fn skipped(&self, phase: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|v| v["kind"] == "skipped" && v["phase"] == phase)
            .map(|v| v["reason"].as_str().unwrap_or("skipped").to_string())
    }

    fn concurrencies(&self, phase: &str) -> Vec<i64> {
        let set: BTreeSet<i64> = self
            .0
            .iter()
            .filter(|v| v["kind"] == "load" && v["phase"] == phase)
            .filter_map(|v| v["concurrency"].as_i64())
            .collect();
        set.into_iter().collect()
    }
}

fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn num(x: f64) -> String {
    if x >= 100.0 {
        let s = format!("{:.0}", x);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn ms(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.2}"))
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "n/a",
    }
}

fn errors_note(v: &Value) -> String {
    match v.get("errors").and_then(Value::as_u64) {
        Some(0) | None => String::new(),
        Some(n) => format!(" ({n} errors)"),
    }
}

pub fn run(args: ReportArgs) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(&args.results)?;
    let results = Results(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?,
    );
    let config = results.kind("config").cloned().unwrap_or(Value::Null);
    let c = config["table_concurrency"].as_i64().unwrap_or(16);
    let mut md = String::new();
    writeln!(md, "{BEGIN}")?;
    if let Some(m) = results.kind("machine") {
        writeln!(
            md,
            "Run of {} on commit `{}`.\n",
            m["date"].as_str().unwrap_or("?"),
            m["git"].as_str().unwrap_or("?")
        )?;
        writeln!(md, "Command:\n\n```sh\n{}\n```\n", m["command"].as_str().unwrap_or("?"))?;
        writeln!(md, "| machine | |\n|---|---|")?;
        for (k, label) in [
            ("nproc", "nproc"),
            ("cpu", "CPU model"),
            ("memory", "memory"),
            ("postgres", "PostgreSQL"),
            ("kernel", "kernel"),
            ("wrk", "load generator"),
            ("database", "database"),
        ] {
            let v = &m[k];
            let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            writeln!(md, "| {label} | {s} |")?;
        }
        writeln!(md)?;
    }
    if !config.is_null() {
        writeln!(
            md,
            "Scale: {} claims, {} evidence, {} verdicts, {} revisions. Each load phase: {} s after a {} s warm-up; \
             the table at concurrency {c} (wrk connections = pgbench clients), the sweep at {}. Server: {} HTTP workers, \
             a pool of {} database connections.\n",
            config["claims"],
            config["evidence"],
            config["verdicts"],
            config["revisions"],
            config["duration"],
            config["warmup"],
            config["concurrencies"].as_str().unwrap_or("?"),
            config["workers"],
            config["pool"],
        )?;
    }

    // The references of this run: the database's and the HTTP stack's own limits.
    let select_ref = results.load("ref-select", "pgbench", c);
    let healthz = results.load("healthz", "server", c);
    writeln!(md, "| reference (concurrency {c}) | /s | p50 ms | p99 ms |\n|---|---:|---:|---:|")?;
    for (label, v) in [
        ("`pgbench -S -M prepared` on a standard pgbench database", select_ref),
        ("`GET /healthz` (wrk)", healthz),
        ("`pgbench -N -M prepared` on the same database", results.load("c", "pgbench_n", c)),
    ] {
        if let Some(v) = v {
            writeln!(
                md,
                "| {label} | {}{} | {} | {} |",
                num(f(v, "rps").unwrap_or(0.0)),
                errors_note(v),
                ms(f(v, "p50_ms")),
                ms(f(v, "p99_ms"))
            )?;
        }
    }
    writeln!(md)?;

    writeln!(
        md,
        "| hot path | server: req/s | p50 ms | p99 ms | reference | ref: /s | p50 ms | p99 ms | ratio | target | |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|")?;
    // (label, phase, reference (phase, side) or a fixed number, its label, target ratio)
    enum Ref<'a> {
        Load(&'a str, &'a str),
        Fixed(f64),
    }
    let rows: Vec<(&str, &str, Ref, &str, Option<f64>)> = vec![
        (
            "(a) `GET /v1/factchecks/{id}`, cache warm",
            "a",
            Ref::Load("ref-select", "pgbench"),
            "pgbench -S",
            Some(1.0),
        ),
        (
            "(a) `GET /v1/factchecks/{id}`, cache warm",
            "a",
            Ref::Load("a", "reference"),
            "pgbench, its one-lookup SQL",
            None,
        ),
        (
            "(a) with `If-None-Match` (304)",
            "a-inm",
            Ref::Load("ref-select", "pgbench"),
            "pgbench -S",
            Some(1.2),
        ),
        (
            "(a) cache cold: first read of each id, fresh server (memory filled from the derived table at start)",
            "a-cold",
            Ref::Load("a", "reference"),
            "pgbench, its one-lookup SQL",
            Some(1.0),
        ),
        (
            "(a) cache miss: first read of each id, fresh server with `CLAIMLEDGER_CACHE_FILL=false` (each read one indexed lookup)",
            "a-miss",
            Ref::Load("a", "reference"),
            "pgbench, its one-lookup SQL",
            None,
        ),
        (
            "(b) `GET /v1/factchecks?q=`",
            "b",
            Ref::Fixed(V1_SEARCH_RPS),
            "v1, as issue 15 states it",
            Some(10.0),
        ),
        (
            "(b) `GET /v1/factchecks?q=`",
            "b",
            Ref::Load("b", "reference"),
            "pgbench, its SQL",
            None,
        ),
        (
            "(c) `PATCH /v1/verdicts/{id}`",
            "c",
            Ref::Load("c", "pgbench_n"),
            "pgbench -N",
            Some(0.75),
        ),
        (
            "(c) `PATCH /v1/verdicts/{id}`",
            "c",
            Ref::Load("c", "reference"),
            "pgbench, same statements",
            None,
        ),
        (
            "(c) `PATCH /v1/verdicts/{id}`",
            "c",
            Ref::Load("c", "reference_nochain"),
            "pgbench, same minus the append",
            None,
        ),
    ];
    for (label, phase, reference, ref_label, target) in rows {
        let skip_phase = if phase.starts_with('a') { "a" } else { phase };
        if let Some(reason) = results.skipped(skip_phase) {
            writeln!(md, "| {label} | {reason} | | | {ref_label} | | | | | | not available |")?;
            continue;
        }
        let Some(s) = results.load(phase, "server", c) else {
            continue;
        };
        let r = match reference {
            Ref::Load(p, side) => results.load(p, side, c),
            Ref::Fixed(_) => None,
        };
        let rr = match (&reference, r) {
            (Ref::Fixed(x), _) => *x,
            (Ref::Load(..), Some(r)) => f(r, "rps").unwrap_or(0.0),
            (Ref::Load(..), None) => continue,
        };
        let sr = f(s, "rps").unwrap_or(0.0);
        let ratio = sr / rr.max(1e-9);
        let clean = s["errors"] == 0;
        let p99 = f(s, "p99_ms").unwrap_or(f64::MAX);
        let (target_text, ok) = match (phase, target) {
            ("c", Some(t)) => (
                format!("≥ {t}, ≥ 3,000/s, p99 ≤ 25 ms"),
                Some(ratio >= t && sr >= 3000.0 && p99 <= 25.0 && clean),
            ),
            (_, Some(t)) => (format!("≥ {t}"), Some(ratio >= t && clean)),
            (_, None) => ("info".into(), None),
        };
        let (rp50, rp99) = r.map_or(("–".into(), "–".into()), |r| (ms(f(r, "p50_ms")), ms(f(r, "p99_ms"))));
        writeln!(
            md,
            "| {label} | {}{} | {} | {} | {ref_label} | {}{} | {rp50} | {rp99} | {:.2} | {target_text} | {} |",
            num(sr),
            errors_note(s),
            ms(f(s, "p50_ms")),
            ms(f(s, "p99_ms")),
            num(rr),
            r.map_or(String::new(), errors_note),
            ratio,
            mark(ok)
        )?;
    }
    if let (Some(with), Some(without)) = (results.load("c", "reference", c), results.load("c", "reference_nochain", c)) {
        let (w, wo) = (f(with, "rps").unwrap_or(0.0), f(without, "rps").unwrap_or(0.0));
        writeln!(
            md,
            "| (c) what the log costs the same statements | | | | with ÷ without the append | {} vs {} | {} vs {} | {} vs {} | {:.2} | info | |",
            num(w),
            num(wo),
            ms(f(with, "p50_ms")),
            ms(f(without, "p50_ms")),
            ms(f(with, "p99_ms")),
            ms(f(without, "p99_ms")),
            w / wo.max(1e-9)
        )?;
    }
    if let Some(s) = results.load("c", "server", 1) {
        let p50 = f(s, "p50_ms").unwrap_or(f64::MAX);
        writeln!(
            md,
            "| (c) a single writer (concurrency 1) | {} | {} | {} | v1 p50 (bench run of fcab635) | | {V1_SINGLE_WRITER_P50_MS:.2} | | | p50 ≤ {:.2} ms | {} |",
            num(f(s, "rps").unwrap_or(0.0)),
            ms(Some(p50)),
            ms(f(s, "p99_ms")),
            V1_SINGLE_WRITER_P50_MS + 1.0,
            mark(Some(p50 <= V1_SINGLE_WRITER_P50_MS + 1.0 && s["errors"] == 0))
        )?;
    }
    for (phase, label) in [
        ("d-history", "(d) `GET /v1/claims/{id}/history`"),
        ("d-asof", "(d) `GET /v1/claims/{id}?at_seq=N`"),
    ] {
        for dc in results.concurrencies(phase) {
            let (Some(s), Some(r)) = (results.load(phase, "server", dc), results.load(phase, "reference", dc)) else {
                continue;
            };
            let label = if dc == c {
                label.to_string()
            } else {
                format!("{label} at concurrency {dc}")
            };
            let p99 = f(s, "p99_ms").unwrap_or(f64::MAX);
            writeln!(
                md,
                "| {label} | {}{} | {} | {} | pgbench, its SQL | {} | {} | {} | {:.2} | p99 < 5 ms | {} |",
                num(f(s, "rps").unwrap_or(0.0)),
                errors_note(s),
                ms(f(s, "p50_ms")),
                ms(Some(p99)),
                num(f(r, "rps").unwrap_or(0.0)),
                ms(f(r, "p50_ms")),
                ms(f(r, "p99_ms")),
                f(s, "rps").unwrap_or(0.0) / f(r, "rps").unwrap_or(1.0).max(1e-9),
                mark(Some(p99 < 5.0 && s["errors"] == 0))
            )?;
        }
    }
    writeln!(md)?;

    writeln!(md, "| other | measured | reference | ratio | target | |")?;
    writeln!(md, "|---|---:|---|---:|---|---|")?;
    for v in results.0.iter().filter(|v| v["kind"] == "feed") {
        let per = f(v, "items_per_sec").unwrap_or(0.0);
        let first = v["pass"] == 1;
        writeln!(
            md,
            "| feed replay, pass {} ({}): {} items in {} pages of ≤ {}, {} SQL statements a page built | {} items/s | | | {} | {} |",
            v["pass"],
            if first {
                "each page built by the server"
            } else {
                "pages the server kept"
            },
            v["items"],
            v["pages"],
            v["page_limit"],
            v["statements_per_page"],
            num(per),
            if first { "≥ 10,000 items/s" } else { "info" },
            if first { mark(Some(per >= 10_000.0)) } else { "" }
        )?;
    }
    if let Some(v) = results.kind("verify") {
        let per = f(v, "verify_per_sec").unwrap_or(0.0);
        let sha = f(v, "sha256_per_sec").unwrap_or(0.0);
        writeln!(
            md,
            "| (e) log verification (`ledger::verify`, {} revisions) | {} rev/s | plain SHA-256 over the same bytes: {} rev/s ({:.0} MiB/s) | {:.3} | ≥ 300,000 rev/s | {} |",
            v["revisions"],
            num(per),
            num(sha),
            f(v, "sha256_mib_per_sec").unwrap_or(0.0),
            per / sha.max(1e-9),
            mark(Some(per >= 300_000.0))
        )?;
        writeln!(
            md,
            "| (e) its parts, timed apart | reading rows {} rev/s · RFC 8785 {} rev/s · SHA-256 {} rev/s | | | | |",
            num(f(v, "fetch_per_sec").unwrap_or(0.0)),
            num(f(v, "jcs_per_sec").unwrap_or(0.0)),
            num(sha)
        )?;
        if let Some(r) = results.kind("verify_read_ref") {
            let read = f(r, "per_sec").unwrap_or(0.0);
            writeln!(
                md,
                "| (e) log verification against the database alone printing the same rows (binary `COPY … TO STDOUT` of the columns it reads, two psql connections over the two halves, output discarded: {} revisions in {:.2} s) | {} rev/s | {} rev/s | {:.3} | info | |",
                r["revisions"],
                f(r, "seconds").unwrap_or(0.0),
                num(per),
                num(read),
                per / read.max(1e-9)
            )?;
        }
    }
    if let Some(v) = results.kind("verify_cli") {
        writeln!(
            md,
            "| (e) `claimledger verify`, the whole process ({} revisions in {:.2} s) | {} rev/s | | | info | |",
            v["revisions"],
            f(v, "seconds").unwrap_or(0.0),
            num(f(v, "per_sec").unwrap_or(0.0))
        )?;
    }
    if let Some(v) = results.kind("fill") {
        let per = f(v, "per_sec").unwrap_or(0.0);
        writeln!(
            md,
            "| bulk fill through `ledger::append_batch` and the sequencer ({} revisions in {:.1} s; sequencing alone {} rev/s) | {} rev/s | | | ≥ 50,000 rev/s | {} |",
            v["revisions"],
            f(v, "seconds").unwrap_or(0.0),
            num(f(v, "sequenced_per_sec").unwrap_or(0.0)),
            num(per),
            mark(Some(per >= 50_000.0))
        )?;
    }
    if let Some(v) = results.kind("memory_cached") {
        let mib = f(v, "vmhwm_kib").unwrap_or(0.0) / 1024.0;
        writeln!(
            md,
            "| server peak memory with every published fact check read once ({} published; cache: {} entries, {:.1} MiB, {} evictions) | {mib:.1} MiB (VmHWM) | | | < 150 MiB | {} |",
            v["published"],
            v["cache_entries"],
            f(v, "cache_bytes").unwrap_or(0.0) / 1_048_576.0,
            v["cache_evictions"],
            mark(Some(mib < 150.0))
        )?;
    }
    if let Some(v) = results.kind("replica") {
        writeln!(
            md,
            "| reads through a streaming standby: `GET {}`, concurrency {} ({} answered by the standby, {} by the primary); the same read through the primary alone: {}/s, p50 {} ms, p99 {} ms | {}/s{}, p50 {} ms, p99 {} ms | | | info | |",
            v["path"].as_str().unwrap_or("?"),
            v["concurrency"],
            v["read_on_standby"],
            v["read_on_primary"],
            num(f(v, "primary_rps").unwrap_or(0.0)),
            ms(f(v, "primary_p50_ms")),
            ms(f(v, "primary_p99_ms")),
            num(f(v, "standby_rps").unwrap_or(0.0)),
            if v["standby_errors"] == 0 {
                String::new()
            } else {
                format!(" ({} errors)", v["standby_errors"])
            },
            ms(f(v, "standby_p50_ms")),
            ms(f(v, "standby_p99_ms")),
        )?;
        writeln!(
            md,
            "| a write readable on the standby: from its acknowledgement until the standby's log head reaches its seq ({} writes, one after another) | p50 {} ms, p99 {} ms, max {} ms | | | info | |",
            v["writes"],
            ms(f(v, "readable_p50_ms")),
            ms(f(v, "readable_p99_ms")),
            ms(f(v, "readable_max_ms")),
        )?;
    }
    if let Some(v) = results.kind("memory") {
        let mib = f(v, "vmhwm_kib").unwrap_or(0.0) / 1024.0;
        writeln!(
            md,
            "| server peak memory after all load phases | {mib:.1} MiB (VmHWM) | | | info | |"
        )?;
    }
    writeln!(md)?;

    transparency_and_push(&results, &mut md, c)?;

    let seq: Vec<&Value> = results.0.iter().filter(|v| v["kind"] == "sequencer").collect();
    if !seq.is_empty() {
        writeln!(
            md,
            "(c) the server's sequencer during each PATCH run (its `/metrics` before and after; batch sizes are histogram bucket bounds):\n"
        )?;
        writeln!(
            md,
            "| concurrency | PATCH/s | revisions/s | batches | mean batch | p50 batch ≤ | largest ≤ |"
        )?;
        writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|")?;
        for v in seq {
            let cc = v["concurrency"].as_i64().unwrap_or(0);
            let bound = |k: &str| f(v, k).map_or("–".into(), |x| format!("{x:.0}"));
            writeln!(
                md,
                "| {cc} | {} | {} | {:.0} | {:.1} | {} | {} |",
                results.load("c", "server", cc).and_then(|s| f(s, "rps")).map_or("–".into(), num),
                num(f(v, "revisions_per_sec").unwrap_or(0.0)),
                f(v, "batches").unwrap_or(0.0),
                f(v, "mean_batch").unwrap_or(0.0),
                bound("p50_batch"),
                bound("max_batch")
            )?;
        }
        writeln!(md)?;
    }

    for (phase, title, with_nochain) in [
        ("a", "(a) `GET /v1/factchecks/{id}` by concurrency", false),
        ("c", "(c) `PATCH /v1/verdicts/{id}` by concurrency", true),
    ] {
        let cs = results.concurrencies(phase);
        if cs.is_empty() {
            continue;
        }
        writeln!(md, "{title}:\n")?;
        let extra = if with_nochain {
            " no chain: /s | p99 ms | pgbench -N: /s | p99 ms |"
        } else {
            ""
        };
        writeln!(
            md,
            "| concurrency | server: req/s | p50 ms | p99 ms | reference: /s | p50 ms | p99 ms | ratio |{extra}"
        )?;
        writeln!(
            md,
            "|---:|---:|---:|---:|---:|---:|---:|---:|{}",
            if with_nochain { "---:|---:|---:|---:|" } else { "" }
        )?;
        for c in cs {
            let s = results.load(phase, "server", c);
            let r = results.load(phase, "reference", c);
            let n = results.load(phase, "reference_nochain", c);
            let g = |v: Option<&Value>, k: &str| v.and_then(|v| f(v, k));
            let mut line = format!(
                "| {c} | {} | {} | {} | {} | {} | {} | {} |",
                g(s, "rps").map_or("–".into(), num),
                ms(g(s, "p50_ms")),
                ms(g(s, "p99_ms")),
                g(r, "rps").map_or("–".into(), num),
                ms(g(r, "p50_ms")),
                ms(g(r, "p99_ms")),
                match (g(s, "rps"), g(r, "rps")) {
                    (Some(a), Some(b)) => format!("{:.2}", a / b.max(1e-9)),
                    _ => "–".into(),
                }
            );
            if with_nochain {
                let pn = results.load(phase, "pgbench_n", c);
                line.push_str(&format!(
                    " {} | {} | {} | {} |",
                    g(n, "rps").map_or("–".into(), num),
                    ms(g(n, "p99_ms")),
                    g(pn, "rps").map_or("–".into(), num),
                    ms(g(pn, "p99_ms"))
                ));
            }
            writeln!(md, "{line}")?;
        }
        writeln!(md)?;
    }
    // The public page beside the JSON it renders from (issue 17).
    let cs = results.concurrencies("a");
    if cs.iter().any(|&c| results.load("a", "page", c).is_some()) {
        writeln!(
            md,
            "(a) the page `GET /factchecks/{{id}}` beside the JSON `GET /v1/factchecks/{{id}}`:\n"
        )?;
        writeln!(
            md,
            "| concurrency | page: req/s | p50 ms | p99 ms | JSON: req/s | p50 ms | p99 ms | page ÷ JSON |"
        )?;
        writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for c in cs {
            let (p, j) = (results.load("a", "page", c), results.load("a", "server", c));
            let g = |v: Option<&Value>, k: &str| v.and_then(|v| f(v, k));
            writeln!(
                md,
                "| {c} | {} | {} | {} | {} | {} | {} | {} |",
                g(p, "rps").map_or("–".into(), num),
                ms(g(p, "p50_ms")),
                ms(g(p, "p99_ms")),
                g(j, "rps").map_or("–".into(), num),
                ms(g(j, "p50_ms")),
                ms(g(j, "p99_ms")),
                match (g(p, "rps"), g(j, "rps")) {
                    (Some(a), Some(b)) => format!("{:.2}", a / b.max(1e-9)),
                    _ => "–".into(),
                }
            )?;
        }
        writeln!(md)?;
    }
    writeln!(md, "![throughput and p99 against concurrency]({})\n", args.svg_link)?;
    writeln!(md, "{END}")?;

    let old = std::fs::read_to_string(&args.out).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &old[..b], md.trim_end(), &old[e + END.len()..]),
        _ => format!("# Benchmarks\n\n{md}"),
    };
    std::fs::write(&args.out, new)?;
    chart(&results, &args.svg)?;
    println!("wrote {} and {}", args.out.display(), args.svg.display());
    Ok(())
}

fn ms0(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| if x >= 100.0 { num(x) } else { format!("{x:.1}") })
}

fn mib(kib: Option<f64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.1}", k / 1024.0))
}

/// Issue 14 (inclusion proofs, tiles, checkpoint latency, tree integration)
/// and issue 16 (webhooks, SSE): one table, each number beside its target.
fn transparency_and_push(results: &Results, md: &mut String, c: i64) -> std::fmt::Result {
    let inclusion = results.load("t-inclusion", "server", c);
    let tile = results.load("t-tile", "server", c);
    let ckpt = results.kind("checkpoint_latency");
    let tree = results.kind("tree");
    let push = results.kind("push");
    let stream = results.kind("stream");
    if [inclusion, tile, ckpt, tree, push, stream].iter().all(Option::is_none) {
        return Ok(());
    }
    writeln!(md, "Transparency (issue 14) and push (issue 16):\n")?;
    writeln!(md, "| measurement | measured | target | |\n|---|---:|---|---|")?;
    let tree_size = results.kind("tlog_reads").map_or("?".into(), |v| v["tree_size"].to_string());
    let wrk_cell = |v: &Value| {
        format!(
            "{}/s{}, p50 {} ms, p99 {} ms",
            num(f(v, "rps").unwrap_or(0.0)),
            errors_note(v),
            ms(f(v, "p50_ms")),
            ms(f(v, "p99_ms"))
        )
    };
    if let Some(v) = inclusion {
        let p99 = f(v, "p99_ms").unwrap_or(f64::MAX);
        writeln!(
            md,
            "| `GET /v1/log/proof/inclusion?seq=N&size=M`, random N ≤ M = {tree_size} (the checkpoint's size; wrk, concurrency {c}) | {} | p99 < 5 ms | {} |",
            wrk_cell(v),
            mark(Some(p99 < 5.0 && v["errors"] == 0))
        )?;
    }
    if let Some(v) = tile {
        writeln!(
            md,
            "| `GET /v1/log/tile/0/{{N}}`, a random full tile (wrk, concurrency {c}) | {} | info | |",
            wrk_cell(v)
        )?;
    }
    if let Some(v) = ckpt {
        let p99 = f(v, "p99_ms").unwrap_or(f64::MAX);
        let timeouts = v["timeouts"].as_u64().unwrap_or(0);
        let load = results
            .load("ckpt-load", "server", v["load_concurrency"].as_i64().unwrap_or(c))
            .map_or(String::new(), |l| {
                format!(
                    ", during a `PATCH /v1/verdicts/{{id}}` load at concurrency {} of {}/s",
                    v["load_concurrency"],
                    num(f(l, "rps").unwrap_or(0.0))
                )
            });
        writeln!(
            md,
            "| checkpoint latency: a write's acknowledgement → `GET /v1/log/checkpoint` covers its `Log-Seq` ({} writes on a fixed schedule of {}/s, the checkpoint read every {} ms{load}; signing interval {} ms) | p50 {} ms, p99 {} ms, max {} ms{}{} | p99 ≤ 1,000 ms | {} |",
            v["writes"],
            v["rate"],
            v["poll_ms"],
            v["interval_ms"],
            ms0(f(v, "p50_ms")),
            ms0(f(v, "p99_ms")),
            ms0(f(v, "max_ms")),
            if timeouts > 0 {
                format!(" ({timeouts} never covered)")
            } else {
                String::new()
            },
            errors_note(v),
            mark(Some(p99 <= 1000.0 && timeouts == 0))
        )?;
    }
    if let Some(v) = tree {
        let per = f(v, "db_per_sec").unwrap_or(0.0);
        writeln!(
            md,
            "| Merkle tree integration through the database (`ledger::tree::catch_up_batch` from an empty tree, {} leaves in batches of {}: read the leaves, hash, write the tiles; rolled back) | {} leaves/s | ≥ 200,000 leaves/s | {} |",
            v["leaves"],
            v["db_batch"],
            num(per),
            mark(Some(per >= 200_000.0))
        )?;
        writeln!(
            md,
            "| its hashing alone, in memory (`tlog::Frontier`, batches of {}) | {} leaves/s | info | |",
            v["memory_batch"],
            num(f(v, "memory_per_sec").unwrap_or(0.0))
        )?;
    }
    if let Some(v) = push {
        let missing = v["missing"].as_u64().unwrap_or(0);
        let pairs = v["pairs"].as_u64().unwrap_or(0);
        writeln!(
            md,
            "| webhooks: a publish's acknowledgement → its delivery at each receiver ({} receivers; {} publishes at {}/s of {}/s asked, each answered in p50 {} ms / p99 {} ms{}; {} of {} (receiver, publish) pairs arrived, {} before the publisher read the answer) | p50 {} ms, p99 {} ms, max {} ms | every pair arrives | {} |",
            v["subscribers"],
            v["publishes"],
            num(f(v, "achieved_rate").unwrap_or(0.0)),
            num(f(v, "rate").unwrap_or(0.0)),
            ms(f(v, "publish_p50_ms")),
            ms(f(v, "publish_p99_ms")),
            match v["publish_errors"].as_u64() {
                Some(0) | None => String::new(),
                Some(n) => format!(", {n} failed"),
            },
            pairs,
            pairs + missing,
            v["before_ack"],
            ms0(f(v, "p50_ms")),
            ms0(f(v, "p99_ms")),
            ms0(f(v, "max_ms")),
            mark(Some(missing == 0 && v["publish_errors"] == 0))
        )?;
        writeln!(
            md,
            "| webhooks: deliveries in the steady phase, first to last ({} to all receivers, {:.2} per publish and receiver) | {} deliveries/s | info | |",
            v["deliveries"],
            f(v, "events_per_publish").unwrap_or(0.0),
            num(f(v, "steady_deliveries_per_sec").unwrap_or(0.0))
        )?;
        writeln!(
            md,
            "| webhooks: a burst to one fast receiver (a replay: {} events due at once, {} delivered; the first {} ms after the replay, the rate from the first to the last) | {} deliveries/s | info | |",
            v["burst_events"],
            v["burst_delivered"],
            ms0(f(v, "burst_first_ms")),
            num(f(v, "burst_per_sec").unwrap_or(0.0))
        )?;
        let bad = v["bad_signatures"].as_u64().unwrap_or(u64::MAX);
        writeln!(
            md,
            "| webhooks: deliveries whose Standard Webhooks signature does not verify with the secret (of {} checked) | {} | 0 | {} |",
            v["checked_signatures"],
            bad,
            mark(Some(bad == 0))
        )?;
    }
    if let Some(v) = stream {
        let missing = v["missing"].as_u64().unwrap_or(0);
        let pairs = v["pairs"].as_u64().unwrap_or(0);
        writeln!(
            md,
            "| SSE `GET /v1/factchecks/stream`: a publish's acknowledgement → its event on each stream ({} of {} streams open, in {:.2} s; {} publishes; {} of {} (stream, publish) pairs arrived, {} before the publisher read the answer) | p50 {} ms, p99 {} ms, max {} ms | every pair arrives | {} |",
            v["connected"],
            v["streams"],
            f(v, "connect_seconds").unwrap_or(0.0),
            v["events"],
            pairs,
            pairs + missing,
            v["before_ack"],
            ms0(f(v, "p50_ms")),
            ms0(f(v, "p99_ms")),
            ms0(f(v, "max_ms")),
            mark(Some(missing == 0 && v["connected"] == v["streams"]))
        )?;
        writeln!(
            md,
            "| SSE: server memory with {} streams open | VmRSS {} MiB (before they opened: {} MiB), VmHWM {} MiB | info | |",
            v["connected"],
            mib(f(v, "vmrss_kib")),
            mib(f(v, "vmrss_before_kib")),
            mib(f(v, "vmhwm_kib"))
        )?;
    }
    writeln!(md)
}

type Series<'a> = (&'a str, &'a str, &'a str, RGBColor);

/// A series' label, colour and (concurrency, value) points.
type Points = (String, RGBColor, Vec<(f64, f64)>);

/// Four panels: throughput and p99 against concurrency, for (a) and (c).
fn chart(results: &Results, path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1100, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 2));
    let blue = RGBColor(31, 119, 180);
    let orange = RGBColor(255, 127, 14);
    let grey = RGBColor(120, 120, 120);
    let a: Vec<Series> = vec![
        ("a", "server", "server (wrk)", blue),
        ("a", "reference", "pgbench, same SQL", orange),
        ("a", "page", "the HTML page (wrk)", grey),
    ];
    let cseries: Vec<Series> = vec![
        ("c", "server", "server (wrk)", blue),
        ("c", "reference", "pgbench, same statements", orange),
        ("c", "reference_nochain", "pgbench, without the chain", grey),
        ("c", "pgbench_n", "pgbench -N (standard)", RGBColor(44, 160, 44)),
    ];
    let specs: [(&str, &[Series], &str); 4] = [
        ("(a) GET /v1/factchecks/{id}: throughput", &a, "rps"),
        ("(a) GET /v1/factchecks/{id}: p99 latency", &a, "p99_ms"),
        ("(c) PATCH /v1/verdicts/{id}: throughput", &cseries, "rps"),
        ("(c) PATCH /v1/verdicts/{id}: p99 latency", &cseries, "p99_ms"),
    ];
    for (area, (title, series, key)) in panels.iter().zip(specs) {
        let points: Vec<Points> = series
            .iter()
            .map(|(phase, side, label, color)| {
                let pts = results
                    .concurrencies(phase)
                    .into_iter()
                    .filter_map(|c| results.load(phase, side, c).and_then(|v| f(v, key)).map(|y| (c as f64, y)))
                    .collect();
                (label.to_string(), *color, pts)
            })
            .collect();
        let all: Vec<(f64, f64)> = points.iter().flat_map(|(_, _, p)| p.iter().copied()).collect();
        if all.is_empty() {
            continue;
        }
        let xmax = all.iter().map(|p| p.0).fold(1.0, f64::max) * 1.3;
        let ymin = all.iter().map(|p| p.1).fold(f64::MAX, f64::min).max(1e-3) / 1.5;
        let ymax = all.iter().map(|p| p.1).fold(0.0, f64::max) * 1.5;
        let ylabel = if key == "rps" { "per second (log)" } else { "p99 ms (log)" };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d((0.8f64..xmax).log_scale(), (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("concurrency (connections / clients)")
            .y_desc(ylabel)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| if *y >= 100.0 { format!("{y:.0}") } else { format!("{y:.2}") })
            .label_style(("sans-serif", 11))
            .draw()?;
        for (label, color, pts) in points {
            if pts.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 11))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
