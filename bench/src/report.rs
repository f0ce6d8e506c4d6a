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

    writeln!(
        md,
        "| hot path | server: req/s | p50 ms | p99 ms | reference | ref: /s | p50 ms | p99 ms | ratio | target | |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|")?;
    let rows: [(&str, &str, &str, &str, Option<f64>); 5] = [
        ("a", "reference", "(a) `GET /v1/factchecks/{id}`", "pgbench, its SQL", Some(0.5)),
        ("b", "reference", "(b) `GET /v1/factchecks?q=`", "pgbench, its SQL", Some(0.8)),
        (
            "c",
            "reference",
            "(c) `PATCH /v1/verdicts/{id}`",
            "pgbench, same statements",
            Some(0.85),
        ),
        (
            "c",
            "reference_nochain",
            "(c) `PATCH /v1/verdicts/{id}`",
            "pgbench, same minus the append",
            None,
        ),
        (
            "c-chain",
            "",
            "(c) what the chain costs",
            "same statements ÷ without the append",
            None,
        ),
    ];
    for (phase, side, label, reference, target) in rows {
        if phase == "c-chain" {
            if let (Some(with), Some(without)) = (results.load("c", "reference", c), results.load("c", "reference_nochain", c)) {
                let (w, wo) = (f(with, "rps").unwrap_or(0.0), f(without, "rps").unwrap_or(0.0));
                writeln!(
                    md,
                    "| {label} | | | | {reference} | {} vs {} | {} vs {} | {} vs {} | {:.2} | info | |",
                    num(w),
                    num(wo),
                    ms(f(with, "p50_ms")),
                    ms(f(without, "p50_ms")),
                    ms(f(with, "p99_ms")),
                    ms(f(without, "p99_ms")),
                    w / wo.max(1e-9)
                )?;
            }
            continue;
        }
        if let Some(reason) = results.skipped(phase) {
            writeln!(
                md,
                "| {label} | {reason} | | | {reference} | | | | | ≥ {} | not available |",
                target.unwrap_or(0.0)
            )?;
            continue;
        }
        let (Some(s), Some(r)) = (results.load(phase, "server", c), results.load(phase, side, c)) else {
            continue;
        };
        let (sr, rr) = (f(s, "rps").unwrap_or(0.0), f(r, "rps").unwrap_or(0.0));
        let ratio = sr / rr.max(1e-9);
        let (target_text, ok) = match (phase, target) {
            ("c", Some(t)) => (format!("≥ {t} and ≥ 1,000/s"), Some(ratio >= t && sr >= 1000.0 && s["errors"] == 0)),
            (_, Some(t)) => (format!("≥ {t}"), Some(ratio >= t && s["errors"] == 0)),
            (_, None) => ("info".into(), None),
        };
        writeln!(
            md,
            "| {label} | {}{} | {} | {} | {reference} | {}{} | {} | {} | {:.2} | {target_text} | {} |",
            num(sr),
            errors_note(s),
            ms(f(s, "p50_ms")),
            ms(f(s, "p99_ms")),
            num(rr),
            errors_note(r),
            ms(f(r, "p50_ms")),
            ms(f(r, "p99_ms")),
            ratio,
            mark(ok)
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
    if let Some(v) = results.kind("verify") {
        let per = f(v, "verify_per_sec").unwrap_or(0.0);
        let sha = f(v, "sha256_per_sec").unwrap_or(0.0);
        writeln!(
            md,
            "| (e) log verification (`ledger::verify`, {} revisions) | {} rev/s | plain SHA-256 over the same bytes: {} rev/s ({:.0} MiB/s) | {:.3} | ≥ 200,000 rev/s | {} |",
            v["revisions"],
            num(per),
            num(sha),
            f(v, "sha256_mib_per_sec").unwrap_or(0.0),
            per / sha.max(1e-9),
            mark(Some(per >= 200_000.0))
        )?;
        writeln!(
            md,
            "| (e) its parts, timed apart | reading rows {} rev/s · RFC 8785 {} rev/s · SHA-256 {} rev/s | | | | |",
            num(f(v, "fetch_per_sec").unwrap_or(0.0)),
            num(f(v, "jcs_per_sec").unwrap_or(0.0)),
            num(sha)
        )?;
    }
    if let Some(v) = results.kind("fill") {
        let per = f(v, "per_sec").unwrap_or(0.0);
        writeln!(
            md,
            "| fill through `ledger::append_batch` ({} revisions in {:.1} s) | {} rev/s | | | ≥ 20,000 rev/s | {} |",
            v["revisions"],
            f(v, "seconds").unwrap_or(0.0),
            num(per),
            mark(Some(per >= 20_000.0))
        )?;
    }
    if let Some(v) = results.kind("memory") {
        let mib = f(v, "vmhwm_kib").unwrap_or(0.0) / 1024.0;
        writeln!(
            md,
            "| server peak memory (VmHWM after all load phases) | {mib:.1} MiB | | | < 150 MiB | {} |",
            mark(Some(mib < 150.0))
        )?;
    }
    writeln!(md)?;

    for (phase, title, with_nochain) in [
        ("a", "(a) `GET /v1/factchecks/{id}` by concurrency", false),
        ("c", "(c) `PATCH /v1/verdicts/{id}` by concurrency", true),
    ] {
        let cs = results.concurrencies(phase);
        if cs.is_empty() {
            continue;
        }
        writeln!(md, "{title}:\n")?;
        let extra = if with_nochain { " no chain: /s | p99 ms |" } else { "" };
        writeln!(
            md,
            "| concurrency | server: req/s | p50 ms | p99 ms | reference: /s | p50 ms | p99 ms | ratio |{extra}"
        )?;
        writeln!(
            md,
            "|---:|---:|---:|---:|---:|---:|---:|---:|{}",
            if with_nochain { "---:|---:|" } else { "" }
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
                line.push_str(&format!(" {} | {} |", g(n, "rps").map_or("–".into(), num), ms(g(n, "p99_ms"))));
            }
            writeln!(md, "{line}")?;
        }
        writeln!(md)?;
    }
    // The public page beside the JSON it renders from (issue 17).
    let cs = results.concurrencies("a");
    if cs.iter().any(|&c| results.load("a", "page", c).is_some()) {
        writeln!(md, "(a) the page `GET /factchecks/{{id}}` beside the JSON `GET /v1/factchecks/{{id}}`:\n")?;
        writeln!(md, "| concurrency | page: req/s | p50 ms | p99 ms | JSON: req/s | p50 ms | p99 ms | page ÷ JSON |")?;
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

type Series<'a> = (&'a str, &'a str, &'a str, RGBColor);

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
    ];
    let specs: [(&str, &[Series], &str); 4] = [
        ("(a) GET /v1/factchecks/{id}: throughput", &a, "rps"),
        ("(a) GET /v1/factchecks/{id}: p99 latency", &a, "p99_ms"),
        ("(c) PATCH /v1/verdicts/{id}: throughput", &cseries, "rps"),
        ("(c) PATCH /v1/verdicts/{id}: p99 latency", &cseries, "p99_ms"),
    ];
    for (area, (title, series, key)) in panels.iter().zip(specs) {
        let points: Vec<(String, RGBColor, Vec<(f64, f64)>)> = series
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
