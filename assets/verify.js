// claimledger: check, in the reader's browser, that the revisions behind a
// fact check are in the log the server signed. No third-party requests:
// this file, /v1/factchecks/{id}/proof and /v1/log/key, all same-origin.
//
// For each revision of the proof it recomputes entry_hash = SHA-256(JCS(entry))
// (RFC 8785; the entry is the eight hashed fields of the export line), checks
// the RFC 9162 inclusion proof of the leaf SHA-256(0x00 ‖ entry_hash) up to
// the checkpoint's root, and checks the checkpoint's Ed25519 signature (C2SP
// signed-note) with the log's verifier key. It says "Verified" or what failed.
"use strict";
(function () {
  var ENTRY_FIELDS = ["entity_kind", "entity_id", "entity_version", "action", "actor_id", "reason", "recorded_at", "snapshot"];
  var enc = new TextEncoder();

  function Failure(message) { this.message = message; }

  function fail(message) { throw new Failure(message); }

  // RFC 8785 JSON Canonicalization Scheme. ECMAScript's number and string
  // serialisation is the one JCS specifies; object keys sort by UTF-16 code units.
  function jcs(v) {
    if (v === null || typeof v === "boolean") return JSON.stringify(v);
    if (typeof v === "number") {
      if (!isFinite(v)) fail("the entry holds a number JSON cannot represent");
      return JSON.stringify(v);
    }
    if (typeof v === "string") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(jcs).join(",") + "]";
    if (typeof v === "object") {
      return "{" + Object.keys(v).sort().map(function (k) { return JSON.stringify(k) + ":" + jcs(v[k]); }).join(",") + "}";
    }
    fail("the entry holds a value JSON cannot represent");
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  function concat() {
    var n = 0, i;
    for (i = 0; i < arguments.length; i++) n += arguments[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function fromBase64(text, what) {
    try {
      var s = atob(text), out = new Uint8Array(s.length);
      for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
      return out;
    } catch (e) { fail(what + " is not base64"); }
  }

  // A 32-byte hash given as lowercase hex (as in the export) or base64.
  function hashBytes(text, what) {
    if (typeof text !== "string") fail(what + " is missing");
    if (/^[0-9a-f]{64}$/.test(text)) {
      var out = new Uint8Array(32);
      for (var i = 0; i < 32; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
      return out;
    }
    var b = fromBase64(text, what);
    if (b.length !== 32) fail(what + " is not a 32-byte hash");
    return b;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // vkey: name+hex(keyID)+base64(0x01 ‖ Ed25519 public key).
  function parseVkey(text) {
    // The name has no "+"; base64 may.
    var m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(text.trim());
    if (!m) fail("the log's verifier key is malformed");
    var parts = m.slice(1);
    var key = fromBase64(parts[2], "the verifier key");
    if (key.length !== 33 || key[0] !== 1) fail("the log's verifier key is not an Ed25519 key");
    return sha256(concat(enc.encode(parts[0] + "\n"), key)).then(function (h) {
      if (hex(h.slice(0, 4)) !== parts[1]) fail("the log's verifier key has a wrong key ID");
      return { name: parts[0], id: parts[1], pub: key.slice(1) };
    });
  }

  // C2SP signed note: text, a blank line, lines "— name base64(keyID ‖ signature)".
  function parseNote(note) {
    var split = note.lastIndexOf("\n\n");
    if (split < 0) fail("the checkpoint is not a signed note");
    var text = note.slice(0, split + 1);
    var sigs = note.slice(split + 2).split("\n").filter(function (l) { return l.length > 0; }).map(function (line) {
      var m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) fail("the checkpoint has a malformed signature line");
      var raw = fromBase64(m[2], "a checkpoint signature");
      if (raw.length < 5) fail("the checkpoint has a short signature");
      return { name: m[1], id: hex(raw.slice(0, 4)), sig: raw.slice(4) };
    });
    var lines = text.split("\n");
    if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) fail("the checkpoint's body is malformed");
    return { text: text, origin: lines[0], size: Number(lines[1]), root: hashBytes(lines[2], "the checkpoint's root"), sigs: sigs };
  }

  function checkSignature(cp, key) {
    var sig = cp.sigs.filter(function (s) { return s.name === key.name && s.id === key.id; })[0];
    if (!sig) fail("the checkpoint is not signed by the log's key " + key.name);
    if (sig.sig.length !== 64) fail("the checkpoint's signature is not an Ed25519 signature");
    return crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]).then(null, function () {
      fail("this browser cannot check Ed25519 signatures (WebCrypto Ed25519 is missing); use the offline check");
    }).then(function (k) {
      return crypto.subtle.verify({ name: "Ed25519" }, k, sig.sig, enc.encode(cp.text));
    }).then(function (ok) {
      if (!ok) fail("the checkpoint's signature does not verify with the log's key");
    });
  }

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or null.
  function inclusionRoot(index, size, leaf, path) {
    if (index >= size) return Promise.resolve(null);
    var fn = index, sn = size - 1, r = Promise.resolve(leaf), one = new Uint8Array([1]);
    var steps = path.map(function (p) {
      return function (acc) {
        if (sn === 0) return null;
        var next;
        if (fn % 2 === 1 || fn === sn) {
          next = sha256(concat(one, p, acc));
          if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
        } else {
          next = sha256(concat(one, acc, p));
        }
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
        return next;
      };
    });
    steps.forEach(function (step) { r = r.then(function (acc) { return acc === null ? null : step(acc); }); });
    return r.then(function (root) { return sn === 0 ? root : null; });
  }

  function checkRevision(rev, cp) {
    var e = rev.entry || {};
    var name = "revision " + rev.seq;
    if (e.seq !== rev.seq) fail(name + ": the entry is for seq " + e.seq);
    var entry = {};
    ENTRY_FIELDS.forEach(function (f) {
      if (!(f in e)) fail(name + ": the entry has no " + f);
      entry[f] = e[f];
    });
    var stated = hashBytes(rev.entry_hash, name + "'s entry_hash");
    if (typeof e.entry_hash === "string" && !equal(hashBytes(e.entry_hash, name + "'s entry_hash"), stated)) {
      fail(name + ": the entry's entry_hash differs from the proof's");
    }
    var inc = rev.inclusion || {};
    if (inc.leaf_index !== rev.seq - 1) fail(name + ": the proof is for leaf " + inc.leaf_index + ", not " + (rev.seq - 1));
    if (inc.tree_size !== cp.size) fail(name + ": the proof is for a tree of " + inc.tree_size + ", not the checkpoint's " + cp.size);
    return sha256(enc.encode(jcs(entry))).then(function (h) {
      if (!equal(h, stated)) {
        fail(name + " (" + e.entity_kind + " " + e.entity_id + " v" + e.entity_version + "): its content does not hash to its entry_hash — the entry was altered");
      }
      return sha256(concat(new Uint8Array([0]), h));
    }).then(function (leaf) {
      var path = (inc.hashes || []).map(function (p, i) { return hashBytes(p, name + "'s proof hash " + i); });
      return inclusionRoot(inc.leaf_index, inc.tree_size, leaf, path);
    }).then(function (root) {
      if (root === null || !equal(root, cp.root)) fail(name + ": its inclusion proof does not lead to the checkpoint's root");
    });
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (r) {
      if (r.status === 404) fail(url + " is not available on this server (no proof yet)");
      if (!r.ok) fail(url + " answered " + r.status);
      return r.json();
    });
  }

  function getText(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      if (r.status === 404) fail(url + " is not available on this server (no checkpoint yet)");
      if (!r.ok) fail(url + " answered " + r.status);
      return r.text();
    });
  }

  // Checks the proof of the fact check of `claimId` that this page (revision
  // `pageSeq`) reflects. Resolves to a summary; rejects with a Failure.
  function verify(claimId, pageSeq) {
    if (!window.crypto || !crypto.subtle) return Promise.reject(new Failure("this browser has no WebCrypto (open the page over https)"));
    return Promise.all([getJson("/v1/factchecks/" + encodeURIComponent(claimId) + "/proof"), getText("/v1/log/key")]).then(function (got) {
      var proof = got[0], vkey = got[1];
      if (!proof || typeof proof.checkpoint !== "string" || !Array.isArray(proof.revisions)) fail("the proof is malformed");
      if (proof.revisions.length === 0) fail("the proof names no revision");
      var cp = parseNote(proof.checkpoint);
      return parseVkey(vkey).then(function (key) {
        if (proof.key_name && proof.key_name !== key.name) fail("the proof names the key " + proof.key_name + ", the log's is " + key.name);
        return checkSignature(cp, key);
      }).then(function () {
        var seqs = proof.revisions.map(function (r) { return r.seq; });
        if (seqs.indexOf(pageSeq) < 0) fail("the proof does not include revision " + pageSeq + ", which this page reflects (reload the page: the fact check may have changed)");
        return proof.revisions.reduce(function (p, rev) { return p.then(function () { return checkRevision(rev, cp); }); }, Promise.resolve());
      }).then(function () {
        return "Verified: the " + proof.revisions.length + " revision" + (proof.revisions.length === 1 ? "" : "s") +
          " behind this fact check (up to revision " + pageSeq + ") are in the log's checkpoint of " + cp.size +
          " revisions, signed by " + cp.origin + ".";
      });
    });
  }

  function start() {
    var block = document.getElementById("log"), button = document.getElementById("verify"), out = document.getElementById("verify-result");
    if (!block || !button || !out) return;
    var claimId = block.getAttribute("data-claim-id"), pageSeq = Number(block.getAttribute("data-seq"));
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      out.className = "";
      out.removeAttribute("data-outcome");
      out.textContent = "Checking…";
      verify(claimId, pageSeq).then(function (summary) {
        out.className = "ok";
        out.setAttribute("data-outcome", "verified");
        out.textContent = summary;
      }, function (e) {
        out.className = "failed";
        out.setAttribute("data-outcome", "failed");
        out.textContent = "Failed: " + (e instanceof Failure ? e.message : "the check could not run (" + e + ")");
      }).then(function () { button.disabled = false; });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
