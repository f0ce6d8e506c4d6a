#!/usr/bin/env python3
"""Claim matching on the labelled paraphrases: precision@1 and recall@5.

    bench/matching.py BASE_URL TOKEN [--json]

BASE_URL is a running claimledger seeded with seed_articles/ (e.g. `claimledger
serve` on an empty database seeds it), TOKEN a bearer token of any staff role
(`claimledger token --username NAME`). Stdlib only; reads
tests/matching/paraphrases.json and seed_articles/claims.json from this
checkout.

Measures (the same as tests/it/matching.rs):
- precision@1: of the paraphrases labelled with a claim, the share whose first
  result is that claim;
- recall@5: the share whose claim is among the first five;
- null false alarms: of the paraphrases labelled null (they repeat no claim),
  the share whose first result scores >= 0.5, the score at which POST
  /v1/claims offers a likely duplicate. Null entries never count in the two
  measures above.
GET /v1/claims/similar is measured on every labelled paraphrase;
GET /v1/factchecks/match on those whose claim has a published fact check (the
rest count as null for it).
"""

import json
import sys
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFERED_AT = 0.5


def get(base, path, token=None, **query):
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)


def every(base, path, token=None):
    items, cursor = [], None
    while True:
        query = {"limit": 100}
        if cursor:
            query["cursor"] = cursor
        page = get(base, path, token, **query)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def measure(rows):
    """rows: (expected id or None, [(id, score), ...])"""
    labelled = [(e, r) for e, r in rows if e is not None]
    nulls = [r for e, r in rows if e is None]
    first = sum(1 for e, r in labelled if r and r[0][0] == e)
    in_five = sum(1 for e, r in labelled if e in [i for i, _ in r[:5]])
    alarms = sum(1 for r in nulls if r and r[0][1] >= OFFERED_AT)
    n = len(labelled)
    return {
        "labelled": n,
        "precision_at_1": round(first / n, 3) if n else None,
        "recall_at_5": round(in_five / n, 3) if n else None,
        "nulls": len(nulls),
        "null_false_alarms": alarms,
    }


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    base, token = args
    fixture = json.loads((ROOT / "seed_articles/claims.json").read_text(encoding="utf-8"))
    paraphrases = json.loads((ROOT / "tests/matching/paraphrases.json").read_text(encoding="utf-8"))
    names = {c["key"]: c["name"] for c in fixture["claimants"]}

    # Claim keys to ids, by statement and claimant.
    recorded = {(c["statement"], c["claimant"]): c["id"] for c in every(base, "/v1/claims", token)}
    ids = {}
    for c in fixture["claims"]:
        found = recorded.get((c["statement"], names[c["claimant"]]))
        if found is None:
            print(f"bench/matching.py: claim '{c['key']}' is not on the server; is it seeded with seed_articles/?", file=sys.stderr)
            return 1
        ids[c["key"]] = found
    published = {f["claim"]["id"] for f in every(base, "/v1/factchecks")}

    similar, matched = [], []
    for p in paraphrases:
        expected = ids[p["claim_key"]] if p["claim_key"] else None
        staff = get(base, "/v1/claims/similar", token, text=p["text"], limit=5)["items"]
        similar.append((expected, [(i["claim"]["id"], i["score"]) for i in staff]))
        public = get(base, "/v1/factchecks/match", None, text=p["text"], limit=5)["items"]
        matched.append((expected if expected in published else None,
                        [(i["factcheck"]["claim"]["id"], i["score"]) for i in public]))

    result = {"paraphrases": len(paraphrases), "similar": measure(similar), "match": measure(matched)}
    if "--json" in argv:
        print(json.dumps(result))
    else:
        for what, m in (("GET /v1/claims/similar", result["similar"]), ("GET /v1/factchecks/match", result["match"])):
            print(f"{what}: precision@1 {m['precision_at_1']}, recall@5 {m['recall_at_5']} "
                  f"({m['labelled']} labelled), null false alarms {m['null_false_alarms']}/{m['nulls']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
