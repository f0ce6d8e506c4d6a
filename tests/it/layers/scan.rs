//! Reading Rust source for the layer check: comments and literals blanked
//! out, tokens, `use` trees, and the paths that lead into the crate or out of it.

/// Where a path points: into the crate (the module path after `crate`), or outside.
#[derive(Debug, PartialEq)]
pub(super) enum Target {
    Crate(Vec<String>),
    External(Vec<String>),
}

#[derive(Debug)]
pub(super) struct Reference {
    pub(super) line: usize,
    pub(super) target: Target,
    /// The path is `table_name = <path>` inside an attribute.
    pub(super) in_table_name: bool,
}

/// The source with comments, string literals and char literals blanked out
/// (newlines kept, so that line numbers stay right).
pub(super) fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let n = c.len();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < n {
        // Line comments, doc comments included.
        if c[i] == '/' && at(i + 1) == '/' {
            while i < n && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        // Block comments, nested.
        if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < n {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            continue;
        }
        // Raw strings: r"…", r#"…"#, br"…", cr#"…"#.
        if c[i] == 'r' {
            let prefix_ok = i == 0 || !is_ident(c[i - 1]) || ((c[i - 1] == 'b' || c[i - 1] == 'c') && (i < 2 || !is_ident(c[i - 2])));
            let mut j = i + 1;
            while at(j) == '#' {
                j += 1;
            }
            if prefix_ok && at(j) == '"' {
                let hashes = j - i - 1;
                out.push(' ');
                for _ in 0..hashes + 1 {
                    out.push(' ');
                }
                i = j + 1;
                while i < n {
                    if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        for _ in 0..hashes + 1 {
                            out.push(' ');
                        }
                        i += hashes + 1;
                        break;
                    }
                    blank(&mut out, c[i]);
                    i += 1;
                }
                continue;
            }
        }
        // Strings (and b"…", c"…": the prefix stays an identifier).
        if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < n {
                if c[i] == '\\' {
                    out.push(' ');
                    blank(&mut out, at(i + 1));
                    i += 2;
                    continue;
                }
                if c[i] == '"' {
                    out.push(' ');
                    i += 1;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
            continue;
        }
        // Char literals ('x', '\n', '\u{1F600}', '"'); otherwise a lifetime.
        if c[i] == '\'' {
            let len = if at(i + 1) == '\\' {
                (i + 3..n.min(i + 14)).find(|j| c[*j] == '\'').map(|j| j - i + 1)
            } else if at(i + 2) == '\'' {
                Some(3)
            } else {
                None
            };
            if let Some(len) = len {
                for k in 0..len {
                    blank(&mut out, c[i + k]);
                }
                i += len;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) text: String,
    pub(super) line: usize,
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Identifiers, `::`, and single punctuation characters; numbers are dropped.
pub(super) fn tokens(stripped: &str) -> Vec<Token> {
    let c: Vec<char> = stripped.chars().collect();
    let mut out = vec![];
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Token {
                text: c[start..i].iter().collect(),
                line,
            });
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Token { text: "::".into(), line });
            i += 2;
        } else {
            out.push(Token {
                text: ch.to_string(),
                line,
            });
            i += 1;
        }
    }
    // Sentinels, so that looking ahead never runs off the end.
    for _ in 0..4 {
        out.push(Token { text: ";".into(), line });
    }
    out
}

/// The leaves of the use tree starting at `i`, each with the line it is on;
/// returns the index after the tree.
fn use_tree(toks: &[Token], mut i: usize, prefix: Vec<String>, out: &mut Vec<(Vec<String>, usize)>) -> usize {
    let mut path = prefix;
    let line = toks[i].line;
    if toks[i].text == "::" {
        i += 1;
    }
    loop {
        let t = toks[i].text.as_str();
        if t == "{" {
            i += 1;
            while toks[i].text != "}" && toks[i].text != ";" {
                i = use_tree(toks, i, path.clone(), out);
                if toks[i].text == "," {
                    i += 1;
                }
            }
            return if toks[i].text == "}" { i + 1 } else { i };
        } else if t == "*" {
            path.push("*".into());
            out.push((path, line));
            return i + 1;
        } else if t == "$" {
            i += 1;
        } else if is_ident(t) {
            path.push(t.to_string());
            i += 1;
            if toks[i].text == "::" {
                i += 1;
                continue;
            }
            if toks[i].text == "as" {
                i += 2;
            }
            if path.last().is_some_and(|s| s == "self") && path.len() > 1 {
                path.pop();
            }
            out.push((path, line));
            return i;
        } else {
            return i;
        }
    }
}

/// Where `path`, written in `module`, points; None for `self::…`/`Self::…` (the same module).
fn resolve(path: &[String], module: &[String]) -> Option<Target> {
    match path.first()?.as_str() {
        "crate" => Some(Target::Crate(path[1..].to_vec())),
        "super" => {
            let mut m = module.to_vec();
            let mut k = 0;
            while path.get(k).is_some_and(|s| s == "super") {
                m.pop()?;
                k += 1;
            }
            m.extend(path[k..].iter().cloned());
            Some(Target::Crate(m))
        }
        "self" | "Self" => None,
        _ => Some(Target::External(path.to_vec())),
    }
}

/// Every path of the source that leads somewhere: `use` trees and inline paths.
pub(super) fn references(file_module: &[String], source: &str) -> Vec<Reference> {
    let toks = tokens(&strip(source));
    // Attributes: #[…] and #![…], as token ranges.
    let mut attributes: Vec<(usize, usize)> = vec![];
    for i in 0..toks.len() {
        let open = match (toks[i].text.as_str(), toks.get(i + 1).map(|t| t.text.as_str())) {
            ("#", Some("[")) => i + 1,
            ("#", Some("!")) if toks.get(i + 2).is_some_and(|t| t.text == "[") => i + 2,
            _ => continue,
        };
        let mut depth = 0;
        for (j, t) in toks.iter().enumerate().skip(open) {
            match t.text.as_str() {
                "[" => depth += 1,
                "]" => {
                    depth -= 1;
                    if depth == 0 {
                        attributes.push((open, j));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let in_attribute = |i: usize| attributes.iter().any(|(a, b)| *a < i && i < *b);

    let mut out = vec![];
    let mut inline_modules: Vec<(String, usize)> = vec![];
    let mut depth = 0usize;
    let mut i = 0;
    let module_here =
        |inline: &[(String, usize)]| -> Vec<String> { file_module.iter().cloned().chain(inline.iter().map(|(m, _)| m.clone())).collect() };
    while i < toks.len() {
        let t = toks[i].text.as_str();
        if t == "{" {
            depth += 1;
            i += 1;
        } else if t == "}" {
            if inline_modules.last().is_some_and(|(_, d)| *d == depth) {
                inline_modules.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
        } else if t == "mod" && is_ident(&toks[i + 1].text) && toks[i + 2].text == "{" {
            inline_modules.push((toks[i + 1].text.clone(), depth + 1));
            i += 2;
        } else if t == "use" && (i == 0 || toks[i - 1].text != "::") {
            let mut leaves = vec![];
            let end = use_tree(&toks, i + 1, vec![], &mut leaves);
            let module = module_here(&inline_modules);
            for (path, line) in leaves {
                if let Some(target) = resolve(&path, &module) {
                    out.push(Reference {
                        line,
                        target,
                        in_table_name: false,
                    });
                }
            }
            i = end;
            while toks[i].text != ";" {
                i += 1;
            }
        } else if is_ident(t) && toks[i + 1].text == "::" && (i == 0 || toks[i - 1].text != "::") {
            let mut path = vec![t.to_string()];
            let mut j = i + 1;
            while toks[j].text == "::" && is_ident(&toks[j + 1].text) {
                path.push(toks[j + 1].text.clone());
                j += 2;
            }
            let in_table_name = i >= 2 && toks[i - 1].text == "=" && toks[i - 2].text == "table_name" && in_attribute(i);
            if let Some(target) = resolve(&path, &module_here(&inline_modules)) {
                out.push(Reference {
                    line: toks[i].line,
                    target,
                    in_table_name,
                });
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}
