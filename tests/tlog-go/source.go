// Where the verifier reads a log from: a directory of static files laid out as the
// log's public paths, or the live server's /v1/log base URL. Plus the small parsers
// Go's x/mod does not have for C2SP formats (checkpoint body, tlog-proof, JSON proofs,
// cosignature/v1 verifier).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Source reads the log's public resources by their path under the log prefix.
type Source interface {
	// Get returns the resource at a C2SP path such as "checkpoint" or "tile/0/x001/234".
	Get(path string) ([]byte, error)
	// InclusionProof and ConsistencyProof return the JSON proofs of DESIGN §8.
	InclusionProof(seq, size int64) ([]byte, error)
	ConsistencyProof(from, to int64) ([]byte, error)
	// TlogProof returns a revision's c2sp.org/tlog-proof@v1 text.
	TlogProof(seq int64) ([]byte, error)
	Describe() string
}

type dirSource struct{ dir string }

func (d dirSource) Get(path string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(path)))
}
func (d dirSource) InclusionProof(seq, size int64) ([]byte, error) {
	return d.Get(fmt.Sprintf("proof/inclusion/%d-%d.json", seq, size))
}
func (d dirSource) ConsistencyProof(from, to int64) ([]byte, error) {
	return d.Get(fmt.Sprintf("proof/consistency/%d-%d.json", from, to))
}
func (d dirSource) TlogProof(seq int64) ([]byte, error) {
	return d.Get(fmt.Sprintf("tlog-proof/%d.tlog-proof", seq))
}
func (d dirSource) Describe() string { return "directory " + d.dir }

// httpSource reads the live API: base is e.g. http://127.0.0.1:8080/v1 (log paths under /log).
type httpSource struct{ base string }

func (h httpSource) fetch(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}
func (h httpSource) Get(path string) ([]byte, error) { return h.fetch(h.base + "/log/" + path) }
func (h httpSource) InclusionProof(seq, size int64) ([]byte, error) {
	return h.fetch(fmt.Sprintf("%s/log/proof/inclusion?seq=%d&size=%d", h.base, seq, size))
}
func (h httpSource) ConsistencyProof(from, to int64) ([]byte, error) {
	return h.fetch(fmt.Sprintf("%s/log/proof/consistency?from=%d&to=%d", h.base, from, to))
}
func (h httpSource) TlogProof(seq int64) ([]byte, error) {
	return h.fetch(fmt.Sprintf("%s/revisions/%d/tlog-proof", h.base, seq))
}
func (h httpSource) Describe() string { return "server " + h.base }

// tileReader adapts C2SP tile paths to Go's TileReader: Go's paths carry the tile
// height ("tile/8/L/N", "tile/8/data/N"); C2SP drops it ("tile/L/N", "tile/entries/N").
type tileReader struct {
	src   Source
	reads int
}

func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if strings.HasPrefix(p, "data/") {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

func (r *tileReader) Height() int { return 8 }
func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := r.src.Get(c2spPath(t))
		if err != nil {
			return nil, fmt.Errorf("tile %s (Go %s): %v", c2spPath(t), t.Path(), err)
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s: %d bytes, want %d", c2spPath(t), len(data), t.W*tlog.HashSize)
		}
		out[i] = data
		r.reads++
	}
	return out, nil
}
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// Checkpoint is a parsed c2sp.org/tlog-checkpoint body.
type Checkpoint struct {
	Origin string
	Tree   tlog.Tree
}

func parseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if !strings.HasSuffix(text, "\n") || len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("checkpoint body is not origin, size, root lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		return Checkpoint{}, fmt.Errorf("bad root hash %q: %v", lines[2], err)
	}
	return Checkpoint{Origin: lines[0], Tree: tlog.Tree{N: n, Hash: h}}, nil
}

// cosignatureV1 is a note.Verifier for c2sp.org/tlog-cosignature Ed25519 (type 0x04),
// written here from the spec: Go's x/mod knows only type 0x01.
type cosignatureV1 struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func newCosignatureVerifier(vkey string) (*cosignatureV1, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, fmt.Errorf("not a type 0x04 Ed25519 vkey")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		return nil, fmt.Errorf("vkey ID %s does not match its key (%08x)", parts[1], id)
	}
	return &cosignatureV1{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}, nil
}

func (c *cosignatureV1) Name() string    { return c.name }
func (c *cosignatureV1) KeyHash() uint32 { return c.hash }
func (c *cosignatureV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t == 0 || t >= 1<<63 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(c.key, signed, sig[8:])
}

// TlogProof is a parsed c2sp.org/tlog-proof@v1 file.
type TlogProof struct {
	Index      int64
	Proof      tlog.RecordProof
	Checkpoint []byte
}

func parseTlogProof(data []byte) (TlogProof, error) {
	var p TlogProof
	head, note, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return p, fmt.Errorf("no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return p, fmt.Errorf("bad header %q", lines[0])
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return p, fmt.Errorf("no index line")
	}
	idx, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil {
		return p, fmt.Errorf("bad index: %v", err)
	}
	p.Index = idx
	for _, l := range lines[1:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			return p, fmt.Errorf("bad proof hash %q", l)
		}
		p.Proof = append(p.Proof, h)
	}
	p.Checkpoint = note
	return p, nil
}

type inclusionJSON struct {
	Seq       int64    `json:"seq"`
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	Hashes    []string `json:"hashes"`
}

type consistencyJSON struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes []string `json:"hashes"`
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(list))
	for _, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("bad hash %q", s)
		}
		out = append(out, h)
	}
	return out, nil
}

func decodeJSON(data []byte, v interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	return dec.Decode(v)
}
