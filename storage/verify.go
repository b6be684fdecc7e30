package storage

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
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
}

// Verify reads every record of s in global order and checks every stream's
// chain, and, when cp is not nil, checks the records against it: cp must be
// signed by pub, and every stream head it holds must still be there.
//
// It returns the report and, if anything is broken, an error: the first
// break (errors.As with *audit.BreakError, errors.Is with audit.ErrBroken),
// or an error matching audit.ErrBadSignature when cp is not signed by pub. A
// failure to read the store is returned as it is, with a nil report.
func Verify(ctx context.Context, s Reader, cp *audit.Checkpoint, pub ed25519.PublicKey) (*Report, error) {
	if cp != nil {
		if err := cp.Verify(pub); err != nil {
			return nil, err
		}
	}
	v := audit.NewVerifier(cp)
	rep := &Report{}
	note := func(err error) {
		if err == nil {
			return
		}
		var be *audit.BreakError
		if errors.As(err, &be) && len(rep.Breaks) < MaxReportedBreaks {
			rep.Breaks = append(rep.Breaks, be)
		}
	}
	if sc, ok := s.(Scanner); ok {
		err := sc.Scan(ctx, 0, func(r *audit.Record) error {
			note(v.Add(r))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	} else if err := scanPages(ctx, s, func(r *audit.Record) { note(v.Add(r)) }); err != nil {
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
// heads at the highest position read, signs it with key, saves it in s and
// returns it. A broken chain is never signed: the break is returned instead.
func Checkpoint(ctx context.Context, s Store, key ed25519.PrivateKey, now time.Time) (*audit.Checkpoint, error) {
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
	return cp, nil
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
