//! The import rules between the modules of src/, checked by reading the
//! source. Every reference into the crate — `use crate::…` (plain, grouped,
//! nested, `self`, globs, renames), inline paths such as
//! `crate::ledger::head(…)` or `#[diesel(table_name = crate::db::schema::x)]`,
//! `$crate::…` in macros and `super::…` that climbs out of a layer — must
//! point at a module the file's layer may use. Comments, doc comments and
//! string literals do not count.

mod scan;

use std::collections::HashMap;
use std::path::Path;

use scan::{Target, references, strip, tokens};

/// The layers of src/ (a top directory or file) and what each may use,
/// besides itself and anything outside the crate: a module (`store`), or a
/// path inside one (`db::PgPool`: that item and what is under it). `*` is
/// anything. `… in #[diesel(table_name = …)]` allows the path only there.
const MAY_USE: &[(&str, &str)] = &[
    (
        "http/",
        "store, model, auth, config, error, tlog, telemetry, db::PgPool, db::PooledConn, db::Pooled, db::PgConn, db::with_pooled, db::notify, db::replica",
    ),
    ("store/", "ledger, db, model, error, tlog"),
    ("ledger/", "db, model, error, tlog"),
    ("db/", "model, error, config"),
    ("model/", "error, db::schema in #[diesel(table_name = …)]"),
    ("auth/", "model, error, config"),
    ("seed/", "store, model, error"),
    ("tlog/", ""),
    ("witness/", "tlog, error, config"),
    ("error.rs", ""),
    ("config.rs", "error, model"),
    ("cli.rs", "*"),
    ("app.rs", "*"),
    ("bootstrap.rs", "*"),
    ("main.rs", "*"),
    ("lib.rs", "*"),
    ("telemetry.rs", "*"),
    ("verify_remote.rs", "tlog, error, ledger::verify"),
];

/// Crates from outside that some layers may not use: (layers, crate — also
/// `<crate>_…`, allowed when the path ends with this item or "").
const MAY_NOT_USE_EXTERNAL: &[(&str, &str, &str)] = &[
    ("store/, ledger/, db/, model/, seed/, tlog/, error.rs", "actix", ""),
    ("http/", "diesel", "PgConnection"),
];

const TABLE_NAME_ONLY: &str = " in #[diesel(table_name = …)]";

#[test]
fn every_module_of_src_uses_only_what_its_layer_may() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    collect_rs_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 30, "read the sources: {files:?}");
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(f).unwrap())
        })
        .collect();
    let macros = exported_macros(&sources);
    let violations: Vec<String> = sources.iter().flat_map(|(rel, text)| check_file(rel, text, &macros)).collect();
    if !violations.is_empty() {
        panic!(
            "{} reference(s) in src/ cross a layer boundary (the rules: MAY_USE and MAY_NOT_USE_EXTERNAL in tests/it/layers.rs):\n  {}\n",
            violations.len(),
            violations.join("\n  ")
        );
    }
}

fn collect_rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

// ---------------------------------------------------------------- the rules

/// A file's layer: `http/` for src/http/…, `error.rs` for src/error.rs.
fn layer_of_file(rel: &str) -> String {
    match rel.split_once('/') {
        Some((dir, _)) => format!("{dir}/"),
        None => rel.to_string(),
    }
}

/// The layer a top-level module belongs to, if it is one of the table's.
fn layer_of_module(module: &str) -> Option<&'static str> {
    MAY_USE
        .iter()
        .map(|(layer, _)| *layer)
        .find(|layer| layer.trim_end_matches('/').trim_end_matches(".rs") == module)
}

/// A path a layer may use (split on `::`), and whether its sub-paths are
/// included.
type Uses = (Vec<&'static str>, bool);

/// What `layer` may use: None for anything.
fn allowed(layer: &str) -> Option<Option<Vec<Uses>>> {
    let (_, list) = MAY_USE.iter().find(|(l, _)| *l == layer)?;
    if list.trim() == "*" {
        return Some(None);
    }
    Some(Some(
        list.split(", ")
            .filter(|e| !e.is_empty())
            .map(|entry| {
                let (path, table_name_only) = match entry.strip_suffix(TABLE_NAME_ONLY) {
                    Some(p) => (p, true),
                    None => (entry, false),
                };
                (path.split("::").collect(), table_name_only)
            })
            .collect(),
    ))
}

/// The file's module path: src/http/claims.rs → [http, claims].
fn module_of_file(rel: &str) -> Vec<String> {
    let without = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = without.split('/').map(String::from).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The violations of one file, as "src/<file>:<line>: <message>".
fn check_file(rel: &str, source: &str, macros: &HashMap<String, String>) -> Vec<String> {
    let layer = layer_of_file(rel);
    let rules = match allowed(&layer) {
        Some(rules) => rules,
        None => return vec![format!("src/{rel}: the layer {layer} has no rule in MAY_USE")],
    };
    let mut out = vec![];
    for r in references(&module_of_file(rel), source) {
        match &r.target {
            Target::Crate(path) => {
                let Some(rules) = &rules else { continue };
                let Some(first) = path.first() else { continue };
                // A macro exported at the crate root belongs to the layer that defines it.
                let (target_layer, shown): (String, Vec<String>) = match layer_of_module(first) {
                    Some(l) => (l.to_string(), path.clone()),
                    None => match macros.get(first) {
                        Some(l) => (l.clone(), vec![format!("{first}! (a macro of {l})")]),
                        None => ("lib.rs".to_string(), vec![format!("{first} (an item of the crate root)")]),
                    },
                };
                if target_layer == layer {
                    continue;
                }
                let module_path: Vec<&str> = match layer_of_module(first) {
                    Some(_) => path.iter().map(String::as_str).collect(),
                    None => vec![target_layer.trim_end_matches('/').trim_end_matches(".rs")],
                };
                let ok = rules.iter().any(|(entry, table_name_only)| {
                    module_path.len() >= entry.len() && module_path[..entry.len()] == entry[..] && (!table_name_only || r.in_table_name)
                });
                if !ok {
                    let listed = MAY_USE.iter().find(|(l, _)| *l == layer).unwrap().1;
                    let listed = if listed.is_empty() { "nothing of the crate" } else { listed };
                    out.push(format!(
                        "src/{rel}:{}: {layer} → crate::{} ({layer} may use: {listed})",
                        r.line,
                        shown.join("::"),
                    ));
                }
            }
            Target::External(path) => {
                for (layers, krate, except) in MAY_NOT_USE_EXTERNAL {
                    if !layers.split(", ").any(|l| l == layer) {
                        continue;
                    }
                    let first = &path[0];
                    let is_it = first == krate || first.starts_with(&format!("{krate}_"));
                    let excepted = !except.is_empty() && path.last().is_some_and(|l| l == except);
                    if is_it && !excepted {
                        let but = if except.is_empty() {
                            String::new()
                        } else {
                            format!(" except {except}")
                        };
                        out.push(format!(
                            "src/{rel}:{}: {layer} → {} (no {krate} in {layer}{but})",
                            r.line,
                            path.join("::")
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Macros exported at the crate root (`#[macro_export] macro_rules! name`), by the layer defining them.
fn exported_macros(sources: &[(String, String)]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (rel, text) in sources {
        let toks = tokens(&strip(text));
        for i in 0..toks.len() {
            if toks[i].text == "macro_export"
                && let Some(j) = (i..toks.len().min(i + 40)).find(|j| toks[*j].text == "macro_rules")
                && toks.get(j + 1).is_some_and(|t| t.text == "!")
                && let Some(name) = toks.get(j + 2)
            {
                out.insert(name.text.clone(), layer_of_file(rel));
            }
        }
    }
    out
}

// ------------------------------------------------------ the checker's tests

fn crate_refs(rel: &str, source: &str) -> Vec<(usize, String)> {
    references(&module_of_file(rel), source)
        .into_iter()
        .filter_map(|r| match r.target {
            Target::Crate(p) => Some((r.line, p.join("::"))),
            Target::External(_) => None,
        })
        .collect()
}

#[test]
fn the_checker_reads_grouped_and_nested_use_trees() {
    let source = "use crate::{model::Role, store::{self, claims::{get, list as all}}, db::schema::*};\n\
                  use crate::error::AppResult;\n";
    assert_eq!(
        crate_refs("ledger/x.rs", source),
        vec![
            (1, "model::Role".to_string()),
            (1, "store".into()),
            (1, "store::claims::get".into()),
            (1, "store::claims::list".into()),
            (1, "db::schema::*".into()),
            (2, "error::AppResult".into()),
        ]
    );
    let found = check_file("ledger/x.rs", source, &HashMap::new());
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found.iter().all(|v| v.starts_with("src/ledger/x.rs:1: ledger/ → crate::store")),
        "{found:#?}"
    );
}

#[test]
fn the_checker_finds_inline_paths_with_their_line() {
    let source = "fn f(conn: &mut C) -> i64 {\n    let h = crate::ledger::head(conn).unwrap();\n    h.seq\n}\n";
    assert_eq!(
        check_file("model/x.rs", source, &HashMap::new()),
        vec!["src/model/x.rs:2: model/ → crate::ledger::head (model/ may use: error, db::schema in #[diesel(table_name = …)])"]
    );
}

#[test]
fn the_checker_ignores_comments_and_strings_that_mention_modules() {
    let source = r####"
//! Reads the log through crate::ledger (a doc comment).
/// See `crate::ledger::head`.
// use crate::ledger;
/* crate::store::claims /* nested: crate::ledger */ still a comment crate::db */
fn f() -> &'static str {
    let _c = '"';
    let _s = "use crate::ledger::head; crate::store";
    let _r = r#"crate::ledger "quoted" crate::store"#;
    let _b = b"crate::ledger";
    "crate::ledger"
}
"####;
    assert_eq!(crate_refs("model/x.rs", source), vec![]);
    assert_eq!(check_file("model/x.rs", source, &HashMap::new()), Vec::<String>::new());
}

#[test]
fn the_checker_resolves_super_and_dollar_crate_and_inline_modules() {
    // `super` from a layer's mod.rs is the crate root: this reaches into store.
    assert_eq!(
        crate_refs("model/mod.rs", "use super::store::claims;"),
        vec![(1, "store::claims".into())]
    );
    // Inside `mod tests`, `super` is the file's own module.
    assert_eq!(
        crate_refs("model/claim.rs", "fn a() {}\nmod tests {\n    use super::*;\n}\nuse super::fields;"),
        vec![(3, "model::claim::*".into()), (5, "model::fields".into())]
    );
    // $crate in a macro is the crate.
    assert_eq!(
        crate_refs("model/fields.rs", "macro_rules! m { () => { $crate::error::AppError::x() } }"),
        vec![(1, "error::AppError::x".into())]
    );
    assert!(
        check_file(
            "model/fields.rs",
            "macro_rules! m { () => { $crate::store::x() } }",
            &HashMap::new()
        )[0]
        .contains("model/ → crate::store::x")
    );
}

#[test]
fn the_checker_allows_db_schema_in_model_only_as_a_table_name() {
    let derive = "#[derive(diesel::Queryable)]\n#[diesel(table_name = crate::db::schema::claims)]\npub struct Claim {}\n";
    assert_eq!(check_file("model/claim.rs", derive, &HashMap::new()), Vec::<String>::new());
    let query = "use crate::db::schema::claims;\nfn f() { let table_name = crate::db::schema::claims::table; }\n";
    let found = check_file("model/claim.rs", query, &HashMap::new());
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn the_checker_applies_the_external_crate_rules() {
    let found = check_file(
        "store/x.rs",
        "use actix_web::web;\nfn f() { actix_web::rt::spawn(); }\nuse diesel::prelude::*;",
        &HashMap::new(),
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("src/store/x.rs:1: store/ → actix_web::web (no actix in store/)"),
        "{found:#?}"
    );
    let found = check_file(
        "http/x.rs",
        "use diesel::pg::PgConnection;\nuse diesel::{PgConnection as C, prelude::*};\nuse crate::db::{PgPool, schema::claims};",
        &HashMap::new(),
    );
    assert_eq!(
        found,
        vec![
            "src/http/x.rs:2: http/ → diesel::prelude::* (no diesel in http/ except PgConnection)",
            "src/http/x.rs:3: http/ → crate::db::schema::claims (http/ may use: store, model, auth, config, error, tlog, telemetry, db::PgPool, db::PooledConn, db::Pooled, db::PgConn, db::with_pooled, db::notify, db::replica)",
        ]
    );
    // error.rs: nothing of the crate, and no actix.
    let found = check_file("error.rs", "use actix_web::HttpResponse;\nuse crate::model::Role;", &HashMap::new());
    assert_eq!(found.len(), 2, "{found:#?}");
    // The files that may use anything.
    assert_eq!(
        check_file("cli.rs", "use crate::db::schema::claims; use crate::http;", &HashMap::new()),
        Vec::<String>::new()
    );
}

#[test]
fn the_checker_knows_exported_macros_and_unknown_layers() {
    let macros = exported_macros(&[(
        "model/fields.rs".into(),
        "#[macro_export]\nmacro_rules! all_fields { () => {} }".into(),
    )]);
    assert_eq!(macros.get("all_fields").map(String::as_str), Some("model/"));
    assert_eq!(
        check_file("model/claim.rs", "use crate::all_fields;", &macros),
        Vec::<String>::new()
    );
    assert_eq!(
        check_file("auth/x.rs", "use crate::all_fields;", &macros),
        Vec::<String>::new(),
        "auth may use model"
    );
    assert_eq!(check_file("ledger/x.rs", "use crate::all_fields;", &macros).len(), 0);
    assert_eq!(check_file("tlog/x.rs", "use crate::all_fields;", &macros).len(), 1);
    assert_eq!(
        check_file("newthing/x.rs", "", &macros),
        vec!["src/newthing/x.rs: the layer newthing/ has no rule in MAY_USE"]
    );
}
