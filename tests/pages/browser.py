#!/usr/bin/env python3
"""The public pages in a real browser (Debian's chromium, driven over the
DevTools protocol): the DOM of each page, links that resolve, quotes
highlighted at their stored offsets, the 404 page of a withdrawn fact check,
exactly one ClaimReview per fact-check page equal to the API's, no request
to another origin, no CSP violation, axe-core (serious or critical
violations fail), screenshots at desktop and phone widths, and the "Verify"
control: against the server's own proof endpoint when it has one (then a
revision is tampered in the database and the page must say "failed" naming
it), and always against the DESIGN §8 proof contract, with proofs built here
(Merkle tree and Ed25519 checkpoint from the real log export) and served to
the page by the browser's request interception — valid, with an altered
entry, and with a bad signature.

Usage: browser.py BASE_URL ADMIN_PASSWORD ARTIFACT_DIR [DATABASE_URL]
"""
import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE, PASSWORD, ARTIFACTS = sys.argv[1], sys.argv[2], sys.argv[3]
DATABASE_URL = sys.argv[4] if len(sys.argv) > 4 else None
AXE = os.environ.get("AXE_JS")
failures = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


# ---------------------------------------------------------------- HTTP


def http(method, path, body=None, token=None, accept=None):
    req = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    if accept:
        req.add_header("accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(path, token=None):
    status, body = http("GET", path, token=token)
    assert status == 200, f"GET {path}: {status} {body[:300]!r}"
    return json.loads(body)


# ---------------------------------------------------------------- CDP


class Page:
    """One page target over the DevTools protocol."""

    def __init__(self, ws):
        self.ws, self.next_id, self.pending, self.events, self.handlers = ws, 0, {}, [], {}

    async def pump(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                self.pending.pop(msg["id"]).set_result(msg)
            elif "method" in msg:
                self.events.append(msg)
                handler = self.handlers.get(msg["method"])
                if handler:
                    asyncio.ensure_future(handler(msg["params"]))

    async def send(self, method, **params):
        self.next_id += 1
        fut = asyncio.get_event_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        msg = await asyncio.wait_for(fut, 60)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg["result"]

    async def eval(self, expression):
        r = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def goto(self, path):
        self.events.clear()
        await self.send("Page.navigate", url=BASE + path)
        deadline = time.time() + 30
        while time.time() < deadline:
            if any(e["method"] == "Page.loadEventFired" for e in self.events):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{path} did not load")

    def status_of(self, path):
        for e in self.events:
            if e["method"] == "Network.responseReceived" and e["params"]["response"]["url"] == BASE + path:
                return e["params"]["response"]["status"]
        return None

    async def wait_for(self, expression, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = await self.eval(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        return None

    async def screenshot(self, name):
        for label, width, height, mobile in (("desktop", 1280, 900, False), ("phone", 390, 844, True)):
            await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
            shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            with open(os.path.join(ARTIFACTS, f"{name}-{label}.png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        await self.send("Emulation.clearDeviceMetricsOverride")

    async def axe(self, name):
        if not AXE:
            check(False, f"{name}: axe-core is there to run")
            return
        with open(AXE) as f:
            await self.eval(f.read() + "\n;true")
        result = await self.eval(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length})))"
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        check(not bad, f"{name}: no serious or critical accessibility violation {bad if bad else ''}")
        for v in result:
            if v not in bad:
                print(f"       (axe, {v['impact']}: {v['id']} — {v['help']})")

    def foreign_requests(self):
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent" and not e["params"]["request"]["url"].startswith(BASE)
        ]

    def csp_violations(self):
        return [
            e["params"]["entry"]["text"]
            for e in self.events
            if e["method"] == "Log.entryAdded" and "Content Security Policy" in e["params"]["entry"].get("text", "")
        ]


async def visit(page, path, name):
    await page.goto(path)
    check(page.foreign_requests() == [], f"{name}: no request to another origin {page.foreign_requests()}")
    check(page.csp_violations() == [], f"{name}: no Content-Security-Policy violation {page.csp_violations()}")


# ------------------------------------------------------- the proof contract


def leaf_hash(entry_hash):
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    """RFC 9162 §2.1.1 Merkle tree hash of leaf hashes."""
    n = len(leaves)
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 9162 §2.1.3.1 inclusion proof of leaf m."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


class ContractLog:
    """A checkpoint over the real export, signed with a key made here."""

    NAME = "pages-test.claimledger.example/log"

    def __init__(self, export_lines):
        self.lines = export_lines
        self.leaves = [leaf_hash(bytes.fromhex(l["entry_hash"])) for l in export_lines]
        self.key = Ed25519PrivateKey.generate()
        pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key_id = hashlib.sha256(self.NAME.encode() + b"\n\x01" + pub).digest()[:4]
        self.key_id = key_id
        encoded = base64.b64encode(b"\x01" + pub).decode()
        self.vkey = f"{self.NAME}+{key_id.hex()}+{encoded}"
        size = len(self.leaves)
        body = f"{self.NAME}\n{size}\n{base64.b64encode(mth(self.leaves)).decode()}\n"
        sig = self.key.sign(body.encode())
        self.checkpoint = body + "\n" + f"\u2014 {self.NAME} {base64.b64encode(key_id + sig).decode()}\n"

    def proof(self, seqs):
        size = len(self.leaves)
        return {
            "checkpoint": self.checkpoint,
            "key_name": self.NAME,
            "revisions": [
                {
                    "entry": dict(self.lines[s - 1]),
                    "seq": s,
                    "entry_hash": self.lines[s - 1]["entry_hash"],
                    "inclusion": {
                        "leaf_index": s - 1,
                        "tree_size": size,
                        "hashes": [base64.b64encode(h).decode() for h in path(s - 1, self.leaves)],
                    },
                }
                for s in seqs
            ],
        }


async def serve_proof(page, proof, vkey):
    """Answer the page's proof and key requests with these (the browser's request interception)."""

    async def paused(params):
        url = params["request"]["url"]
        if url.endswith("/proof"):
            body, ctype = json.dumps(proof).encode(), "application/json"
        elif url.endswith("/v1/log/key"):
            body, ctype = vkey.encode(), "text/plain; charset=utf-8"
        else:
            await page.send("Fetch.continueRequest", requestId=params["requestId"])
            return
        await page.send(
            "Fetch.fulfillRequest",
            requestId=params["requestId"],
            responseCode=200,
            responseHeaders=[{"name": "content-type", "value": ctype}],
            body=base64.b64encode(body).decode(),
        )

    page.handlers["Fetch.requestPaused"] = paused
    await page.send("Fetch.enable", patterns=[{"urlPattern": "*/proof*"}, {"urlPattern": "*/v1/log/key*"}])


async def click_verify(page):
    await page.eval("document.getElementById('verify-result').removeAttribute('data-outcome'); document.getElementById('verify').click(); true")
    outcome = await page.wait_for("document.getElementById('verify-result').getAttribute('data-outcome')", 30)
    text = await page.eval("document.getElementById('verify-result').textContent")
    return outcome, text


# ---------------------------------------------------------------- the run


async def run(ws_url):
    async with websockets.connect(ws_url, max_size=64 * 1024 * 1024) as ws:
        page = Page(ws)
        pump = asyncio.ensure_future(page.pump())
        for domain in ("Page", "Runtime", "Network", "Log"):
            await page.send(f"{domain}.enable")

        token = json.loads(http("POST", "/v1/auth/token", {"username": "admin", "password": PASSWORD})[1])["access_token"]
        listed = get_json("/v1/factchecks?limit=100")["items"]
        check(len(listed) >= 2, f"the seeded fact checks are published ({len(listed)})")

        # The home page.
        print("== /")
        await visit(page, "/", "home")
        check(await page.eval("document.documentElement.lang") == "en", "home: lang=en")
        n = await page.eval("document.querySelectorAll('ol.factchecks > li').length")
        check(n == min(20, len(listed)), f"home: lists the newest fact checks ({n})")
        hrefs = await page.eval("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
        for href in sorted(set(h for h in hrefs if h.startswith("/"))):
            status, _ = http("GET", href.split("#")[0])
            check(status == 200, f"home: link {href} resolves ({status})")
        label = await page.eval("document.querySelector('label[for=q]').textContent")
        check(label == "Search", "home: the search box is labelled")
        await page.axe("home")
        await page.screenshot("home")

        # A fact check quoted from an article, with cited evidence.
        fc = next(f for f in listed if f["claim"]["appearances"] and f["verdict"]["evidence"])
        cid = fc["claim"]["id"]
        print(f"== /factchecks/{cid}")
        await visit(page, f"/factchecks/{cid}", "fact check")
        check(page.status_of(f"/factchecks/{cid}") == 200, "fact check: 200")
        check(await page.eval("document.querySelector('h1').textContent") == fc["verdict"]["headline"], "fact check: the headline")
        check(await page.eval("document.getElementById('rating').textContent") == fc["verdict"]["rating_label"], "fact check: the rating's label")
        blocks = await page.eval("[...document.querySelectorAll('script[type=\"application/ld+json\"]')].map(s => s.textContent)")
        check(len(blocks) == 1, f"fact check: exactly one ClaimReview ({len(blocks)})")
        in_page = json.loads(blocks[0])
        api = json.loads(http("GET", f"/v1/factchecks/{cid}/claimreview")[1])
        check(in_page == api, "fact check: the page's ClaimReview equals the API's")
        check(in_page.get("@context") == "https://schema.org" and in_page.get("@type") == "ClaimReview", "fact check: JSON-LD with schema.org context and @type")
        check(in_page.get("url") == await page.eval("document.querySelector('link[rel=canonical]').href"), "fact check: ClaimReview url is the canonical page")
        quotes = await page.eval("[...document.querySelectorAll('section.evidence blockquote')].map(b => b.textContent)")
        cited = [e["selector"]["exact"] for e in fc["verdict"]["evidence"] if e.get("selector")]
        check(all(q in quotes for q in cited), "fact check: each cited evidence quote is shown")
        hrefs = await page.eval("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
        for href in sorted(set(h for h in hrefs if h.startswith("/"))):
            status, body = http("GET", href.split("#")[0])
            ok = status == 200 and ("#" not in href or f'id="{href.split("#")[1]}"' in body.decode())
            check(ok, f"fact check: link {href} resolves, to its anchor ({status})")
        await page.axe("fact check")
        await page.screenshot("factcheck")

        # The article page: highlights at the stored offsets.
        appearance = fc["claim"]["appearances"][0]
        aid = appearance["article"]["id"]
        print(f"== /articles/{aid}")
        await visit(page, f"/articles/{aid}", "article")
        for a in fc["claim"]["appearances"]:
            if a["article"]["id"] != aid:
                continue
            ref = "a-" + a["id"]
            got = await page.eval(
                f"""(() => {{
                  const marks = [...document.querySelectorAll('mark[data-refs~="{ref}"]')];
                  if (!marks.length) return null;
                  const body = document.querySelector('.article-body');
                  const range = document.createRange();
                  range.setStart(body, 0);
                  range.setEndBefore(marks[0]);
                  return {{text: marks.map(m => m.textContent).join(''), start: [...range.toString()].length,
                           href: marks[0].querySelector('a').getAttribute('href')}};
                }})()"""
            )
            check(got is not None and got["text"] == a["selector"]["exact"], f"article: {ref} highlights its exact quote")
            check(got is not None and got["start"] == a["position"]["start"], f"article: {ref} starts at code point {a['position']['start']} ({got and got['start']})")
            check(got is not None and got["href"] == f"/factchecks/{cid}", f"article: {ref} links to its fact check")
        await page.axe("article")
        await page.screenshot("article")

        print("== /log")
        await visit(page, "/log", "log")
        check(await page.eval("document.querySelector('h1').textContent") == "The log", "log: the page")
        await page.axe("log")
        await page.screenshot("log")

        # Verify, against the contract, with proofs built here.
        print("== Verify (the DESIGN §8 proof contract, served by interception)")
        export = [json.loads(l) for l in http("GET", "/v1/log/export", token=token)[1].split(b"\n") if l.strip()]
        log = ContractLog(export)
        await visit(page, f"/factchecks/{cid}", "fact check")
        seq = int(await page.eval("document.getElementById('log').dataset.seq"))
        shown = {cid, fc["verdict"]["id"]} | {a["id"] for a in fc["claim"]["appearances"]} | {e["id"] for e in fc["verdict"]["evidence"]}
        seqs = sorted(l["seq"] for l in export if l["entity_id"] in shown)
        check(seq in seqs, f"the page's revision {seq} is one of the fact check's")
        await serve_proof(page, log.proof(seqs), log.vkey)
        await visit(page, f"/factchecks/{cid}", "fact check")
        check(await page.eval("!document.getElementById('verify').hidden"), "verify: the control is shown when scripts run")
        outcome, text = await click_verify(page)
        check(outcome == "verified" and text.startswith("Verified"), f"verify: a valid proof says verified ({text})")
        await page.screenshot("verify-verified")
        tampered = log.proof(seqs)
        victim = tampered["revisions"][-1]
        victim["entry"]["snapshot"] = dict(victim["entry"]["snapshot"], tampered=True)
        await serve_proof(page, tampered, log.vkey)
        outcome, text = await click_verify(page)
        check(outcome == "failed" and f"revision {victim['seq']}" in text and "altered" in text, f"verify: an altered entry fails, naming it ({text})")
        await page.screenshot("verify-failed")
        bad_sig = log.proof(seqs)
        bad_sig["checkpoint"] = bad_sig["checkpoint"].replace(f"\n{len(export)}\n", f"\n{len(export) + 1}\n", 1)
        await serve_proof(page, bad_sig, log.vkey)
        outcome, text = await click_verify(page)
        check(outcome == "failed" and "signature" in text, f"verify: a checkpoint that was not signed fails ({text})")
        other = ContractLog(export)
        await serve_proof(page, log.proof(seqs), other.vkey)
        outcome, text = await click_verify(page)
        check(outcome == "failed", f"verify: another key fails ({text})")
        await page.send("Fetch.disable")
        page.handlers.pop("Fetch.requestPaused", None)

        # Verify, against this server's own proof endpoint.
        print("== Verify (this server's proof endpoint)")
        status, _ = http("GET", "/v1/log/checkpoint")
        if status == 404:
            print("  SKIP the server has no /v1/log/checkpoint yet (the transparency work is not merged): "
                  "the real-endpoint and database-tamper checks did not run", flush=True)
        else:
            await visit(page, f"/factchecks/{cid}", "fact check")
            outcome, text = await click_verify(page)
            check(outcome == "verified", f"verify: the server's own proof verifies ({text})")
            if DATABASE_URL:
                subprocess.run(
                    ["psql", DATABASE_URL, "-v", "ON_ERROR_STOP=1", "-qc",
                     "ALTER TABLE revisions DISABLE TRIGGER ALL; "
                     f"UPDATE revisions SET snapshot = jsonb_set(snapshot::jsonb, '{{tampered}}', 'true')::text WHERE seq = {seq}; "
                     "ALTER TABLE revisions ENABLE TRIGGER ALL;"],
                    check=True,
                )
                await visit(page, f"/factchecks/{cid}", "fact check")
                outcome, text = await click_verify(page)
                check(outcome == "failed" and f"revision {seq}" in text, f"verify: with revision {seq} tampered in the database it fails, naming it ({text})")
            else:
                print("  SKIP no DATABASE_URL: the database-tamper check did not run")

        # A withdrawn fact check is a 404 page (last: it changes the data).
        print("== a withdrawn fact check")
        gone = listed[-1]
        status, body = http("POST", f"/v1/verdicts/{gone['verdict']['id']}/withdraw", {"reason": "browser test"}, token=token)
        check(status == 200, f"withdrawn ({status} {body[:200]!r})")
        gid = gone["claim"]["id"]
        await visit(page, f"/factchecks/{gid}", "withdrawn")
        check(page.status_of(f"/factchecks/{gid}") == 404, "withdrawn: 404")
        check(await page.eval("document.querySelector('h1').textContent") == "Not found", "withdrawn: the 404 page")
        check(gone["verdict"]["headline"] not in await page.eval("document.body.textContent"), "withdrawn: its headline is gone")
        await page.axe("404")
        await page.screenshot("not-found")
        pump.cancel()


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="claimledger-chromium.")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    browser = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            time.sleep(0.1)
        port = open(port_file).read().split("\n")[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        asyncio.run(run(ws_url))
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print(f"\nall browser checks passed; screenshots in {ARTIFACTS}")


if __name__ == "__main__":
    main()
