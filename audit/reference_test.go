package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// referenceVerify is a deliberately simple verifier that shares no code with
// the real one: it encodes records with encoding/json and a map (whose keys
// encoding/json sorts), and walks the records with plain loops. The test
// data is ASCII, where that encoding and the canonical one agree.
func referenceVerify(recs []Record) *BreakError {
	lastVersion := map[string]int64{}
	lastHash := map[string][32]byte{}
	var lastPos int64
	for _, r := range recs {
		mk := func(kind BreakKind, version int64) *BreakError {
			return &BreakError{Stream: r.Stream, Version: version, Kind: kind}
		}
		if r.Position <= lastPos {
			return mk(BreakReordered, r.Version)
		}
		lastPos = r.Position
		wantVersion := lastVersion[r.Stream] + 1
		if r.Version < wantVersion {
			return mk(BreakReordered, r.Version)
		}
		if r.Version > wantVersion {
			return mk(BreakMissing, wantVersion)
		}
		prev, ok := lastHash[r.Stream]
		if !ok {
			prev = sha256.Sum256([]byte("interlock/audit/v1/genesis\x00" + r.Stream))
		}
		sum := sha256.Sum256(append(r.PrevHash[:], referenceEncode(r)...))
		if sum != r.Hash {
			return mk(BreakContentChanged, r.Version)
		}
		if r.PrevHash != prev {
			return mk(BreakHashMismatch, r.Version)
		}
		lastVersion[r.Stream], lastHash[r.Stream] = r.Version, r.Hash
	}
	return nil
}

func referenceEncode(r Record) []byte {
	links := []map[string]string{}
	for _, l := range r.Links {
		links = append(links, map[string]string{"from": l.From, "to": l.To, "kind": l.Kind})
	}
	raw := func(b []byte) json.RawMessage {
		if len(b) == 0 {
			return json.RawMessage("null")
		}
		return b
	}
	m := map[string]any{
		"stream":   r.Stream,
		"version":  r.Version,
		"type":     r.Type,
		"actor":    r.Actor,
		"time":     r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"payload":  raw(r.Payload),
		"evidence": raw(r.Evidence),
		"links":    links,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(fmt.Sprint("reference encoding: ", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
