#!/usr/bin/env python3
"""Independent check of the seed fixture (stdlib only).

Reads articles.json, claims.json and SHA256SUMS next to this script (or in
the directory given as the first argument) and checks, without the Rust
loader's code:

- every text matches SHA256SUMS byte for byte;
- every appearance and evidence quote is found exactly once in its article
  (an occurrence counts when the text just before it ends with `prefix` and
  the text just after it starts with `suffix`), with offsets in code points;
- appearance quotes hold no line break;
- every key is unique (claimants, claims, evidence) and every reference
  resolves (claimant keys, article files, verdict evidence keys of the same
  claim), every claimant is used;
- every enum is one the model accepts (claimant kind, appearance kind,
  stance, rating, date precision), `original_language` only with
  `translated: true`, a date goes with a day/month/year precision and
  `unknown` with none; no unknown fields.

Prints the counts (claimants by kind, claims, appearances by kind and
translation, evidence by stance, verdicts by rating) and exits 1 on the
first list of problems.
"""

import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

CLAIMANT_KINDS = {"person", "organization"}
APPEARANCE_KINDS = {"direct_quote", "paraphrase", "report"}
STANCES = {"supports", "refutes", "context"}
RATINGS = {"true", "mostly_true", "half_true", "mostly_false", "false", "misleading", "missing_context", "unproven"}
PRECISIONS = {"day", "month", "year", "unknown"}
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

CLAIMANT_FIELDS = {"key", "name", "kind", "role", "same_as"}
CLAIM_FIELDS = {"key", "statement", "claimant", "claimed_on", "claimed_on_precision", "claimed_on_note",
                "language", "tags", "appearances", "evidence", "verdict"}
APPEARANCE_FIELDS = {"article", "exact", "prefix", "suffix", "kind", "translated", "original_language"}
EVIDENCE_FIELDS = {"key", "stance", "summary", "article", "exact", "prefix", "suffix"}
VERDICT_FIELDS = {"rating", "headline", "summary", "evidence"}


def occurrences(body, exact, prefix, suffix):
    """Code-point start offsets of the matching occurrences of `exact`."""
    found, start = [], body.find(exact)
    while start != -1:
        before, after = body[:start], body[start + len(exact):]
        if before.endswith(prefix or "") and after.startswith(suffix or ""):
            found.append(start)
        start = body.find(exact, start + 1)
    return found


def main(directory):
    problems = []

    def problem(where, what):
        problems.append(f"{where}: {what}")

    sums = {}
    for line in (directory / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            sums[name.strip().lstrip("*")] = digest
    for name, digest in sums.items():
        if hashlib.sha256((directory / name).read_bytes()).hexdigest() != digest:
            problem(f"SHA256SUMS {name}", "checksum does not match the file")

    articles = json.loads((directory / "articles.json").read_text(encoding="utf-8"))["articles"]
    bodies = {}
    for a in articles:
        if a["file"] not in sums:
            problem(f"articles.json {a['file']}", "not covered by SHA256SUMS")
        bodies[a["file"]] = (directory / a["file"]).read_bytes().decode("utf-8")

    fixture = json.loads((directory / "claims.json").read_text(encoding="utf-8"))
    if set(fixture) != {"claimants", "claims"}:
        problem("claims.json", f"top-level keys {sorted(fixture)}")

    def fields(where, entry, allowed, required):
        extra = set(entry) - allowed
        missing = required - set(entry)
        if extra:
            problem(where, f"unknown fields {sorted(extra)}")
        if missing:
            problem(where, f"missing fields {sorted(missing)}")

    def anchored(where, article, exact, prefix, suffix, one_line):
        if article not in bodies:
            problem(where, f"unknown article '{article}'")
            return
        if not exact:
            problem(where, "empty quote")
            return
        if one_line and "\n" in exact:
            problem(where, "an appearance quote holds a line break")
        hits = occurrences(bodies[article], exact, prefix, suffix)
        if len(hits) != 1:
            problem(where, f"quote found {len(hits)} times (need exactly 1): {exact[:60]!r}")

    claimants = {}
    for c in fixture.get("claimants", []):
        where = f"claimant '{c.get('key')}'"
        fields(where, c, CLAIMANT_FIELDS, {"key", "name", "kind"})
        if c.get("key") in claimants:
            problem(where, "duplicate key")
        if not KEY.match(c.get("key", "")):
            problem(where, "key is not kebab-case")
        if c.get("kind") not in CLAIMANT_KINDS:
            problem(where, f"kind {c.get('kind')!r}")
        claimants[c.get("key")] = c
    names = Counter(c["name"].lower() for c in claimants.values())
    for name, n in names.items():
        if n > 1:
            problem(f"claimant name '{name}'", "used by more than one record")

    used, claim_keys, evidence_keys = set(), set(), set()
    counts = {k: Counter() for k in ("appearance", "translated", "stance", "rating", "precision")}
    n_appearances = n_evidence = 0
    for c in fixture.get("claims", []):
        where = f"claim '{c.get('key')}'"
        fields(where, c, CLAIM_FIELDS, {"key", "statement", "claimant", "claimed_on_precision", "language", "appearances"})
        if c.get("key") in claim_keys:
            problem(where, "duplicate key")
        claim_keys.add(c.get("key"))
        if not KEY.match(c.get("key", "")):
            problem(where, "key is not kebab-case")
        if not 1 <= len(c.get("statement", "")) <= 300:
            problem(where, "statement must be 1-300 characters")
        if c.get("claimant") not in claimants:
            problem(where, f"unknown claimant '{c.get('claimant')}'")
        used.add(c.get("claimant"))
        precision, date = c.get("claimed_on_precision"), c.get("claimed_on")
        counts["precision"][precision] += 1
        if precision not in PRECISIONS:
            problem(where, f"claimed_on_precision {precision!r}")
        elif (date is None) != (precision == "unknown"):
            problem(where, "claimed_on and claimed_on_precision disagree")
        if date is not None:
            if not DATE.match(date):
                problem(where, f"claimed_on {date!r} is not YYYY-MM-DD")
            elif precision == "month" and not date.endswith("-01"):
                problem(where, "a month-precision date is stored as the first of the month")
            elif precision == "year" and not date.endswith("-01-01"):
                problem(where, "a year-precision date is stored as January 1")
        for t in c.get("tags", []):
            if not KEY.match(t):
                problem(where, f"tag {t!r} is not kebab-case")
        if not c.get("appearances"):
            problem(where, "no appearance")
        seen_spans = set()
        for i, a in enumerate(c.get("appearances", []), 1):
            w = f"{where} appearance {i} ({a.get('article')})"
            fields(w, a, APPEARANCE_FIELDS, {"article", "exact", "kind", "translated"})
            anchored(w, a.get("article"), a.get("exact"), a.get("prefix"), a.get("suffix"), True)
            span = (a.get("article"), a.get("exact"), a.get("prefix"), a.get("suffix"))
            if span in seen_spans:
                problem(w, "the same passage twice")
            seen_spans.add(span)
            if a.get("kind") not in APPEARANCE_KINDS:
                problem(w, f"kind {a.get('kind')!r}")
            if not isinstance(a.get("translated"), bool):
                problem(w, "translated must be true or false")
            if a.get("original_language") and not a.get("translated"):
                problem(w, "original_language only with translated: true")
            counts["appearance"][a.get("kind")] += 1
            counts["translated"][bool(a.get("translated"))] += 1
            n_appearances += 1
        own = set()
        for e in c.get("evidence", []):
            w = f"{where} evidence '{e.get('key')}'"
            fields(w, e, EVIDENCE_FIELDS, {"key", "stance", "summary", "article", "exact"})
            if e.get("key") in evidence_keys:
                problem(w, "duplicate evidence key")
            evidence_keys.add(e.get("key"))
            own.add(e.get("key"))
            if e.get("stance") not in STANCES:
                problem(w, f"stance {e.get('stance')!r}")
            if "-ctx-" in e.get("key", "") and e.get("stance") != "context":
                problem(w, "a key naming context ('-ctx-') with another stance")
            anchored(w, e.get("article"), e.get("exact"), e.get("prefix"), e.get("suffix"), False)
            counts["stance"][e.get("stance")] += 1
            n_evidence += 1
        v = c.get("verdict")
        if v is not None:
            w = f"{where} verdict"
            fields(w, v, VERDICT_FIELDS, VERDICT_FIELDS)
            if v.get("rating") not in RATINGS:
                problem(w, f"rating {v.get('rating')!r}")
            if not v.get("evidence"):
                problem(w, "a published verdict must cite evidence")
            for k in v.get("evidence", []):
                if k not in own:
                    problem(w, f"cites '{k}', which is not evidence of this claim")
            if not 1 <= len(v.get("headline", "")) <= 300:
                problem(w, "headline must be 1-300 characters")
            counts["rating"][v.get("rating")] += 1
    for key in claimants:
        if key not in used:
            problem(f"claimant '{key}'", "no claim names it")

    kinds = Counter(c["kind"] for c in claimants.values())
    print(f"articles: {len(bodies)}")
    print(f"claimants: {len(claimants)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print(f"claims: {len(claim_keys)} (claimed_on precision: {', '.join(f'{k} {n}' for k, n in sorted(counts['precision'].items()))})")
    print(f"appearances: {n_appearances} ({', '.join(f'{k} {n}' for k, n in sorted(counts['appearance'].items()))}; translated {counts['translated'][True]})")
    print(f"evidence: {n_evidence} ({', '.join(f'{k} {n}' for k, n in sorted(counts['stance'].items()))})")
    print(f"verdicts: {sum(counts['rating'].values())} ({', '.join(f'{k} {n}' for k, n in sorted(counts['rating'].items()))})")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    sys.exit(main(here))
