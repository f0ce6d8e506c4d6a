#!/usr/bin/env bash
# Cross-checks claimledger's transparency core against Go's golang.org/x/mod/sumdb,
# offline: builds tests/tlog-go with Debian's golang-go + golang-golang-x-mod-dev, has
# `cargo run --example tlog_static_log` write a log as static files, and lets Go verify
# the checkpoint (log signature + witness cosignature), tiles, entry bundles, inclusion and
# consistency proofs and tlog-proof files. Then keys both ways (Go keys in Rust, Rust keys
# in Go), and negative controls: tampered tiles, checkpoints and proofs must be refused.
#
#   tests/tlog-go/run.sh [WORKDIR]        (LEAVES=70123 by default)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d -t tlog-go.XXXXXX)}
leaves=${LEAVES:-70123}
mkdir -p "$work"

if ! command -v go >/dev/null; then
    echo "tests/tlog-go/run.sh: SKIPPED: no 'go' on PATH (apt-get install -y golang-go golang-golang-x-mod-dev)" >&2
    exit 2
fi
if [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb ]; then
    echo "tests/tlog-go/run.sh: SKIPPED: golang.org/x/mod missing (apt-get install -y golang-golang-x-mod-dev)" >&2
    exit 2
fi

step() { printf '\n== %s\n' "$*"; }
expect_fail() {
    local what=$1; shift
    if "$@" >"$work/neg.out" 2>&1; then
        echo "NEGATIVE CONTROL FAILED: Go accepted $what" >&2
        cat "$work/neg.out" >&2
        exit 1
    fi
    echo "refused as it should: $what — $(tail -1 "$work/neg.out")"
}

step "build the Go verifier (x/mod $(dpkg-query -W -f '${Version}' golang-golang-x-mod-dev 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3))"
(cd "$here" && GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$work/tlog-go" .)
go_tool="$work/tlog-go"

step "write a log of $leaves leaves with our code"
# `cargo test` builds the examples and the binary; the same command here is a
# no-op after it (a plain `cargo build` would compile a second feature set).
(cd "$repo" && cargo test --no-run --locked --quiet)
rust_tool="$repo/target/debug/examples/tlog_static_log"
claimledger="$repo/target/debug/claimledger"
rm -rf "$work/log"
"$rust_tool" write "$work/log" "$leaves"
log="$work/log"

step "Go verifies checkpoint, witness cosignature, tiles, bundles, proofs"
"$go_tool" verify -dir "$log" -vkey @"$log/log.vkey" -witness @"$log/witness.vkey" -seqs "$(cat "$log/seqs")"

step "keys: Go's note.GenerateKey key used by our code, and ours by Go"
rm -f "$work/go.key" "$work/go.key.pub"
"$go_tool" genkey -name go.example/key -out "$work/go.key" >/dev/null
printf 'signed by Rust with a key from Go note.GenerateKey\n' >"$work/text1"
"$rust_tool" sign "$work/go.key" "$work/text1" >"$work/rust-signed.note"
"$go_tool" open -vkey @"$work/go.key.pub" -in "$work/rust-signed.note"
printf 'signed by Go note.Sign\n' >"$work/text2"
"$go_tool" sign -key "$work/go.key" -in "$work/text2" >"$work/go-signed.note"
"$rust_tool" open "$work/go.key.pub" "$work/go-signed.note"
printf 'signed by Go with our generated log key\n' >"$work/text3"
"$go_tool" sign -key "$log/log.key" -in "$work/text3" >"$work/go-signed-our-key.note"
"$rust_tool" open "$log/log.vkey" "$work/go-signed-our-key.note"
cmp <("$go_tool" sign -key "$work/go.key" -in "$work/text1") "$work/rust-signed.note" &&
    echo "Go and Rust produce byte-identical signed notes with the same key"

step "a witness key from Go's note.GenerateKey, served by our witness vkey command"
rm -f "$work/other-witness.key" "$work/other-witness.key.pub"
"$go_tool" genkey -name witness.claimledger.example -out "$work/other-witness.key" >/dev/null
other_witness=$("$claimledger" witness vkey --key-file "$work/other-witness.key")
echo "cosigner vkey: $other_witness"

step "negative controls"
bad="$work/bad"
reset() { rm -rf "$bad"; cp -r "$log" "$bad"; }
flip() { # flip every bit of the byte at offset $2 of file $1
    local b
    b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
vargs=(-vkey @"$log/log.vkey" -witness @"$log/witness.vkey" -seqs "$(cat "$log/seqs")")
reset; flip "$bad/tile/0/000" 5
expect_fail "a tile with one changed byte" "$go_tool" verify -dir "$bad" "${vargs[@]}"
reset; flip "$bad/tile/entries/000" 9
expect_fail "an entry bundle with one changed byte" "$go_tool" verify -dir "$bad" "${vargs[@]}"
reset; sed -i '2s/.*/70000/' "$bad/checkpoint"
expect_fail "a checkpoint whose size was edited" "$go_tool" verify -dir "$bad" "${vargs[@]}"
reset
expect_fail "a checkpoint not cosigned by a required witness" "$go_tool" verify -dir "$bad" -vkey @"$log/log.vkey" -witness "$other_witness" -seqs 1
reset; f=$(ls "$bad"/proof/consistency/*.json | tail -1); json=$(cat "$f"); first=${json#*\"hashes\":[\"}; c=${first:0:1}
if [ "$c" = A ]; then n=B; else n=A; fi
printf '%s' "${json/\"hashes\":[\"$c/\"hashes\":[\"$n}" >"$f"
expect_fail "a consistency proof with a changed hash" "$go_tool" verify -dir "$bad" "${vargs[@]}"
reset; sed -i '3{s/^A/B/;t;s/^./A/}' "$bad/tlog-proof/2.tlog-proof"
expect_fail "a tlog-proof with a changed proof hash" "$go_tool" verify -dir "$bad" "${vargs[@]}"
reset; sed -i 's/"hashes":\["A/"hashes":["B/;t;s/"hashes":\["./"hashes":["A/' "$bad/proof/inclusion/256-$leaves.json"
expect_fail "an inclusion proof with a changed hash" "$go_tool" verify -dir "$bad" "${vargs[@]}"

printf '\nALL GO CROSS-CHECKS PASSED (work dir %s)\n' "$work"
