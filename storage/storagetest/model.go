package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// testModel drives random appends, stale ones included, against the store
// and a deliberately simple reference model, and checks after every action
// that the store and the model agree.
func testModel(t *testing.T, newStore NewStore) {
	s := newStore(t)
	var run atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		// Each run uses its own stream names, so one store serves them all.
		m := &model{prefix: fmt.Sprintf("run%d/", run.Add(1)), streams: map[string][]string{}}
		rt.Repeat(map[string]func(*rapid.T){
			"append": func(rt *rapid.T) { m.append(rt, s) },
			"":       func(rt *rapid.T) { m.check(rt, s) },
		})
	})
}

type model struct {
	prefix  string
	streams map[string][]string // stream → payloads, in version order
	seq     int
}

var streamNames = []string{"a", "b", "c", "d"}

func (m *model) append(rt *rapid.T, s storage.Store) {
	ctx := context.Background()
	written := rapid.SliceOfNDistinct(rapid.SampledFrom(streamNames), 1, 3, rapid.ID).Draw(rt, "written")
	var req storage.AppendRequest
	stale := false
	var payloads [][]string
	for _, name := range written {
		stream := m.prefix + name
		v := int64(len(m.streams[stream]))
		if rapid.Bool().Draw(rt, "stale write") {
			v += int64(rapid.SampledFrom([]int{-1, 1, 2}).Draw(rt, "offset"))
			stale = true
		}
		n := rapid.IntRange(1, 3).Draw(rt, "events")
		var evs []storage.Event
		var ps []string
		for range n {
			m.seq++
			p := fmt.Sprintf(`{"seq":%d}`, m.seq)
			ps = append(ps, p)
			evs = append(evs, ev("tick", p))
		}
		payloads = append(payloads, ps)
		req.Streams = append(req.Streams, storage.StreamAppend{Stream: stream, ExpectedVersion: max(v, 0), Events: evs})
		if v < 0 {
			req.Streams[len(req.Streams)-1].ExpectedVersion = int64(len(m.streams[stream])) + 1
		}
	}
	for _, name := range streamNames {
		stream := m.prefix + name
		if slices.Contains(written, name) || !rapid.Bool().Draw(rt, "read "+name) {
			continue
		}
		v := int64(len(m.streams[stream]))
		if rapid.Bool().Draw(rt, "stale read") {
			v++
			stale = true
		}
		req.Reads = append(req.Reads, storage.StreamVersion{Stream: stream, Version: v})
	}
	res, err := s.Append(ctx, req)
	if stale {
		if !errors.Is(err, storage.ErrConflict) {
			rt.Fatalf("stale append: error = %v, want ErrConflict", err)
		}
		return
	}
	if err != nil {
		rt.Fatalf("append: %v", err)
	}
	i := 0
	for k, sa := range req.Streams {
		for _, p := range payloads[k] {
			r := res.Records[i]
			if r.Stream != sa.Stream || r.Version != int64(len(m.streams[sa.Stream]))+1 || string(r.Payload) != p {
				rt.Fatalf("record %d = %s v%d %s; want %s v%d %s", i, r.Stream, r.Version, r.Payload, sa.Stream, len(m.streams[sa.Stream])+1, p)
			}
			m.streams[sa.Stream] = append(m.streams[sa.Stream], p)
			i++
		}
	}
}

func (m *model) check(rt *rapid.T, s storage.Store) {
	ctx := context.Background()
	heads, err := s.Heads(ctx)
	if err != nil {
		rt.Fatal(err)
	}
	var mine []audit.Head
	for _, h := range heads {
		if strings.HasPrefix(h.Stream, m.prefix) {
			mine = append(mine, h)
		}
	}
	nonEmpty := 0
	for _, ps := range m.streams {
		if len(ps) > 0 {
			nonEmpty++
		}
	}
	if len(mine) != nonEmpty {
		rt.Fatalf("store has %d heads, model %d streams", len(mine), nonEmpty)
	}
	for _, h := range mine {
		recs, err := s.Load(ctx, h.Stream, 1)
		if err != nil {
			rt.Fatal(err)
		}
		want := m.streams[h.Stream]
		if len(recs) != len(want) || h.Version != int64(len(want)) {
			rt.Fatalf("stream %s: store has %d records (head %d), model %d", h.Stream, len(recs), h.Version, len(want))
		}
		for i, r := range recs {
			if string(r.Payload) != want[i] {
				rt.Fatalf("stream %s version %d: store %s, model %s", h.Stream, i+1, r.Payload, want[i])
			}
		}
		if err := audit.VerifyStream(recs); err != nil {
			rt.Fatalf("stream %s: %v", h.Stream, err)
		}
		if recs[len(recs)-1].Hash != h.Hash {
			rt.Fatalf("stream %s: head hash differs from the last record's", h.Stream)
		}
	}
}
