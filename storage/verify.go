package storage

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/audit"
)

// readPage is how many records Verify and Checkpoint read per ReadAll call.
const readPage = 10_000

// MaxReportedBreaks bounds Report.Breaks, so that a wholesale rewrite does
// not produce a report as large as the store.
const MaxReportedBreaks = 1000

// Report is the outcome of verifying a store.
type Report struct {
	Records  int64               // records read
	Streams  int                 // streams seen
	Position int64               // highest global position read
	Breaks   []*audit.BreakError // every break found, in the order found, at most MaxReportedBreaks
	Heads    []audit.Head        // stream heads as the records give them
	// Unattested counts the records without a valid attestation, when
	// attestations were checked (VerifyConfig.Attestation); each is also a
	// BreakUnattested in Breaks, as far as MaxReportedBreaks allows.
	Unattested int64
}

// VerifyConfig is what VerifyWith checks the records against, beyond their
// chains and the store's heads. Every field may be left zero.
type VerifyConfig struct {
	// Checkpoint, signed by one of Keys, is a trusted state of the store
	// (see Verify).
	Checkpoint *audit.Checkpoint
	Keys       *audit.Keys
	// Attestation holds the engine's attestation keys: every record must
	// then carry a valid attestation, and each that does not (written
	// around the engine) is a break of kind audit.BreakUnattested.
	Attestation *audit.Attested
}

// Verify reads every record of s in global order and checks every stream's
// chain. It first asks s for its stream heads (Heads) and checks that the
// records reach each of them, so that a record the store would give a
// stream read (and so the engine) but not the global read is reported
// (audit.BreakUnread) rather than trusted unseen.
//
// When cp is not nil, the records are also checked against it: cp must be
// signed by one of keys, every stream head it holds must still be there,
// and no record at or below its position may be one it does not hold
// (audit.BreakBackdated). Take cp from where the database's writers cannot
// change it (a Witness), not from the store alone: whoever can rewrite the
// records can also store a checkpoint of the rewrite, though not one signed
// by a trusted key, and can delete the newest checkpoint.
//
// It returns the report and, if anything is broken, an error: the first
// break (errors.As with *audit.BreakError, errors.Is with audit.ErrBroken),
// or an error matching audit.ErrBadSignature when cp is not signed by a key
// of keys. A failure to read the store is returned as it is, with a nil
// report.
func Verify(ctx context.Context, s Reader, cp *audit.Checkpoint, keys *audit.Keys) (*Report, error) {
	return VerifyWith(ctx, s, VerifyConfig{Checkpoint: cp, Keys: keys})
}

// VerifyWith is Verify with every check cfg asks for; see VerifyConfig.
func VerifyWith(ctx context.Context, s Reader, cfg VerifyConfig) (*Report, error) {
	cp := cfg.Checkpoint
	if cp != nil {
		if err := cfg.Keys.Verify(cp); err != nil {
			return nil, err
		}
	}
	heads, err := s.Heads(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	v := audit.NewVerifier(cp)
	if cfg.Attestation != nil {
		v.Attestation(cfg.Attestation)
	}
	for _, h := range heads {
		v.Expect(h)
	}
	rep := &Report{}
	note := func(err error) {
		if err == nil {
			return
		}
		var be *audit.BreakError
		if !errors.As(err, &be) {
			return
		}
		if be.Kind == audit.BreakUnattested {
			rep.Unattested++
		}
		if len(rep.Breaks) < MaxReportedBreaks {
			rep.Breaks = append(rep.Breaks, be)
		}
	}
	add := func(r *audit.Record) { note(v.Add(r)) }
	if workers := runtime.GOMAXPROCS(0); workers > 1 {
		// Hashing and attestation checks, most of the work, need nothing
		// but the record: they run on every core, a batch at a time while
		// the next one is read, and the verifier then takes each batch in
		// order.
		p := newPipeline(v, note, workers)
		err := scanAll(ctx, s, p.add)
		// Even after an error: no precheck may outlive the call.
		p.finish()
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	} else if err := scanAll(ctx, s, add); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for _, b := range v.Finish() {
		note(b)
	}
	rep.Records, rep.Position, rep.Heads = v.Count(), v.Position(), v.Heads()
	rep.Streams = len(rep.Heads)
	if len(rep.Breaks) > 0 {
		return rep, rep.Breaks[0]
	}
	return rep, nil
}

// Checkpoint verifies every stream of s, then makes a checkpoint of their
// heads at the highest position read, signs it with key, saves it in s,
// hands it to every witness in turn and returns it. A broken chain is never
// signed: the break is returned instead. When a witness fails, the
// checkpoint is saved in s but the error is returned: the checkpoint is
// only as good as its copy outside the database.
func Checkpoint(ctx context.Context, s Store, key ed25519.PrivateKey, now time.Time, witnesses ...Witness) (*audit.Checkpoint, error) {
	rep, err := Verify(ctx, s, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := audit.NewCheckpoint(rep.Position, now, rep.Heads)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := cp.Sign(key); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := s.SaveCheckpoint(ctx, cp); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	for i, w := range witnesses {
		if err := w.Witness(ctx, cp); err != nil {
			return cp, fmt.Errorf("checkpoint at %d saved, but witness %d failed: %w", cp.Position, i, err)
		}
	}
	return cp, nil
}

// A Witness keeps signed checkpoints where the writers of the database
// cannot change them: a file on another machine, a write-once bucket, a
// transparency log, a second organisation. The newest checkpoint must live
// outside the database, because anyone who can rewrite the records can
// also delete the checkpoints stored beside them and so make a rewrite of
// everything since an older checkpoint look untouched (a signature proves
// who made a checkpoint, not that it is the newest). Verify against the
// witness's newest checkpoint.
type Witness interface {
	// Witness records cp, which is signed. It returns once cp is kept
	// durably; a witness that has a checkpoint at a higher position must
	// refuse cp.
	Witness(ctx context.Context, cp *audit.Checkpoint) error
}

// scanAll visits every record of s in global order: with Scan when s is a
// Scanner, through ReadAll a page at a time otherwise.
func scanAll(ctx context.Context, s Reader, fn func(*audit.Record)) error {
	if sc, ok := s.(Scanner); ok {
		return sc.Scan(ctx, 0, func(r *audit.Record) error {
			fn(r)
			return nil
		})
	}
	return scanPages(ctx, s, fn)
}

// verifyBatch is how many records a batch of a parallel verification
// holds.
const verifyBatch = 512

// pipeline feeds records to a verifier a batch at a time: each record is
// copied (a Scanner may reuse what it hands over); a full batch is
// prechecked (hashed, its attestations checked) on every core while the
// batch before it is added in order and the next one fills.
type pipeline struct {
	v        *audit.Verifier
	note     func(error)
	cur      *batch   // filling
	inflight *batch   // being prechecked, or nil
	free     []*batch // emptied, for reuse
	bufs     [][]byte // one scratch buffer per worker
}

// batch is records copied for precheck, and what precheck found.
type batch struct {
	recs  []audit.Record
	pre   []audit.Prechecked
	data  []byte       // the copied payloads and evidence
	links []audit.Link // the copied links
	done  sync.WaitGroup
}

func newPipeline(v *audit.Verifier, note func(error), workers int) *pipeline {
	return &pipeline{v: v, note: note, cur: newBatch(), bufs: make([][]byte, workers)}
}

func newBatch() *batch {
	return &batch{recs: make([]audit.Record, 0, verifyBatch), data: make([]byte, 0, verifyBatch*512)}
}

func (p *pipeline) add(r *audit.Record) {
	b := p.cur
	c := *r
	start := len(b.data)
	b.data = append(b.data, r.Payload...)
	b.data = append(b.data, r.Evidence...)
	data := b.data[start:len(b.data):len(b.data)]
	c.Payload, c.Evidence = data[:len(r.Payload):len(r.Payload)], data[len(r.Payload):]
	if r.Payload == nil {
		c.Payload = nil
	}
	if r.Evidence == nil {
		c.Evidence = nil
	}
	if r.Links != nil {
		start := len(b.links)
		b.links = append(b.links, r.Links...)
		c.Links = b.links[start:len(b.links):len(b.links)]
	}
	b.recs = append(b.recs, c)
	if len(b.recs) == verifyBatch {
		p.submit()
	}
}

// submit starts the precheck of the filled batch on every core, once the
// batch before it is prechecked, and adds that one in order while the
// filled one is prechecked.
func (p *pipeline) submit() {
	prev := p.inflight
	if prev != nil {
		prev.done.Wait()
	}
	p.inflight = nil
	if b := p.cur; len(b.recs) > 0 {
		b.pre = slices.Grow(b.pre[:0], len(b.recs))[:len(b.recs)]
		n := len(b.recs)
		chunk := (n + len(p.bufs) - 1) / len(p.bufs)
		for w := range p.bufs {
			lo, hi := w*chunk, min(n, (w+1)*chunk)
			if lo >= hi {
				break
			}
			b.done.Go(func() {
				buf := p.bufs[w]
				for i := lo; i < hi; i++ {
					b.pre[i], buf = p.v.Precheck(buf, &b.recs[i])
				}
				p.bufs[w] = buf
			})
		}
		p.inflight = b
		if k := len(p.free); k > 0 {
			p.cur, p.free = p.free[k-1], p.free[:k-1]
		} else {
			p.cur = newBatch()
		}
	}
	if prev != nil {
		p.addAll(prev)
		p.free = append(p.free, prev)
	}
}

// addAll adds b, prechecked, in order, and empties it.
func (p *pipeline) addAll(b *batch) {
	for i := range b.recs {
		p.note(p.v.AddPrechecked(&b.recs[i], &b.pre[i]))
	}
	clear(b.recs)
	b.recs, b.data, b.links = b.recs[:0], b.data[:0], b.links[:0]
}

// finish adds every record still in the pipeline.
func (p *pipeline) finish() {
	p.submit() // the filled batch, if any, and the one before it
	p.submit() // the last one
}

// scanPages visits every record of s through ReadAll, a page at a time.
func scanPages(ctx context.Context, s Reader, fn func(*audit.Record)) error {
	var after int64
	for {
		recs, err := s.ReadAll(ctx, after, readPage)
		if err != nil {
			return err
		}
		for i := range recs {
			fn(&recs[i])
		}
		if len(recs) < readPage {
			return nil
		}
		after = recs[len(recs)-1].Position
	}
}
