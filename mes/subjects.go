package mes

import (
	"context"
	"fmt"
	"sync"

	"github.com/interlock-mes/interlock/audit"
)

// Bounds of the subject cache: how many records it holds in all, and the
// longest stream it keeps. A subject it does not hold is read from the
// store.
const (
	maxSubjectRecords = 1 << 17
	maxSubjectStream  = 1 << 14
)

// subjects keeps the records of recently used subjects, so that a command
// on a subject this engine wrote last needs no read: the append's expected
// version asserts that nothing was appended meanwhile, and when something
// was the command runs again on the records read from the store.
//
// A subject's records are one slice that only grows: a snapshot handed to a
// command is a prefix of it, limited in capacity, and later appends write
// only beyond every snapshot. All changes are made under mu.
type subjects struct {
	mu    sync.Mutex
	m     map[string][]audit.Record
	total int
}

func newSubjects() *subjects { return &subjects{m: map[string][]audit.Record{}} }

// get returns a snapshot of subject's cached records.
func (c *subjects) get(subject string) ([]audit.Record, bool) {
	c.mu.Lock()
	recs, ok := c.m[subject]
	c.mu.Unlock()
	return recs[:len(recs):len(recs)], ok
}

// has reports whether subject's records are cached.
func (c *subjects) has(subject string) bool {
	c.mu.Lock()
	_, ok := c.m[subject]
	c.mu.Unlock()
	return ok
}

// extend appends recs, the records of subject from version from, to the
// cached ones when they continue them; otherwise the subject is dropped, or
// cached anew when from is 1. recs must be a copy made for the cache
// (cloneRecords), which it may keep as it is.
func (c *subjects) extend(subject string, from int64, recs []audit.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[subject]
	drop := func() {
		if ok {
			delete(c.m, subject)
			c.total -= len(old)
		}
	}
	switch {
	case ok && int64(len(old))+1 == from:
	case from == 1:
		drop()
		old, ok = nil, false
	default:
		drop()
		return
	}
	if len(old)+len(recs) > maxSubjectStream {
		drop()
		return
	}
	for c.total+len(recs) > maxSubjectRecords {
		evicted := false
		for k, v := range c.m {
			if k != subject {
				delete(c.m, k)
				c.total -= len(v)
				evicted = true
				break
			}
		}
		if !evicted {
			break
		}
	}
	if old == nil {
		c.m[subject] = recs // the caller's copy, made for the cache
	} else {
		c.m[subject] = append(old, recs...)
	}
	c.total += len(recs)
}

// subjectRecords returns the records of subject: the cached ones, or, when
// fresh is set or none are cached, what the store holds (reading only what
// follows the cached records).
func (e *Engine) subjectRecords(ctx context.Context, subject string, fresh bool) ([]audit.Record, error) {
	cached, ok := e.subjects.get(subject)
	if ok && !fresh {
		return cached, nil
	}
	from := int64(len(cached)) + 1
	delta, err := e.store.Load(ctx, subject, from)
	if err != nil {
		return nil, fmt.Errorf("mes: load %s: %w", subject, err)
	}
	if len(delta) == 0 {
		// A subject without records is not cached: the command about to
		// run appends to it (its record or its denial), and remember
		// caches what it wrote.
		return cached, nil
	}
	e.subjects.extend(subject, from, cloneRecords(delta))
	if from == 1 {
		return delta, nil
	}
	return append(cached, delta...), nil
}

// remember adds the records of an append this engine made to the cached
// streams they continue: the subject's, and those of any other subject it
// wrote (a marker on a batch written with an exception's transition).
func (e *Engine) remember(subject string, recs []audit.Record) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].Stream == recs[i].Stream {
			j++
		}
		stream := recs[i].Stream
		if stream == subject || e.subjects.has(stream) {
			e.subjects.extend(stream, recs[i].Version, cloneRecords(recs[i:j]))
		}
		i = j
	}
}

// cloneRecords copies records so that the cache shares no bytes with a
// caller: payloads, evidence and links.
func cloneRecords(recs []audit.Record) []audit.Record {
	out := make([]audit.Record, len(recs))
	size := 0
	for i := range recs {
		size += len(recs[i].Payload) + len(recs[i].Evidence)
	}
	buf := make([]byte, 0, size)
	for i, r := range recs {
		out[i] = r
		start := len(buf)
		buf = append(buf, r.Payload...)
		out[i].Payload = buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = append(buf, r.Evidence...)
		out[i].Evidence = buf[start:len(buf):len(buf)]
		if r.Links != nil {
			out[i].Links = append([]audit.Link(nil), r.Links...)
		}
	}
	return out
}
