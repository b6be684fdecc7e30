package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// verificationBody is the verification of the whole record.
type verificationBody struct {
	// OK: every chain verifies, reaches its head, agrees with the
	// checkpoint and, with attestation keys, every record is attested.
	OK       bool  `json:"ok"`
	Records  int64 `json:"records"`
	Streams  int   `json:"streams"`
	Position int64 `json:"position"`
	// Checkpoint is the newest checkpoint, verified against when a
	// trusted key signed it; nil when there is none.
	Checkpoint *checkpointBody `json:"checkpoint"`
	Attested   bool            `json:"attested"` // attestations were checked
	Unattested int64           `json:"unattested"`
	// Breaks are every break found, by stream and then version.
	Breaks []breakBody `json:"breaks"`
	// Truncated: there were more breaks than storage.MaxReportedBreaks.
	Truncated bool `json:"truncated"`
	// Failure is the first thing found wrong, as a sentence: the first
	// break, or a checkpoint whose signature does not verify.
	Failure string `json:"failure,omitempty"`
}

type checkpointBody struct {
	Position int64     `json:"position"`
	Time     time.Time `json:"time"`
	KeyID    string    `json:"key_id"`
	// Trusted: the checkpoint is signed by one of the trusted keys; if
	// not, the chains were verified without it and the answer is not OK.
	Trusted bool `json:"trusted"`
}

type breakBody struct {
	Stream   string `json:"stream"`
	Version  int64  `json:"version"`
	Position int64  `json:"position"`
	Kind     string `json:"kind"`
	Want     string `json:"want"`
	Got      string `json:"got"`
}

// verify checks every chain of the store against the newest trusted
// checkpoint (Config.Checkpoint). A broken record is the answer, not a
// failure: it is 200 with ok false.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, _ string) *problem {
	ctx := r.Context()
	cfg := storage.VerifyConfig{Keys: h.cfg.CheckpointKeys, Attestation: h.cfg.Attestation}
	var cp *audit.Checkpoint
	var err error
	switch {
	case h.cfg.Checkpoint != nil:
		cp, err = h.cfg.Checkpoint(ctx)
	case h.cfg.CheckpointKeys != nil:
		cp, err = h.store.LatestCheckpoint(ctx, h.cfg.CheckpointKeys)
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return h.internal(r, err)
	}
	if cp != nil && cfg.Keys == nil {
		return h.internal(r, errors.New("httpapi: a checkpoint to verify against and no Config.CheckpointKeys to trust it by"))
	}
	// A checkpoint no trusted key signed proves nothing: the chains are
	// verified without it, and the answer says so.
	var untrusted error
	if cp != nil {
		if untrusted = cfg.Keys.Verify(cp); untrusted == nil {
			cfg.Checkpoint = cp
		}
	}
	rep, verr := storage.VerifyWith(ctx, h.store, cfg)
	if rep == nil {
		return h.answer(r, verr)
	}
	verr = cmp.Or(untrusted, verr)
	out := &verificationBody{OK: verr == nil && len(rep.Breaks) == 0, Records: rep.Records, Streams: rep.Streams, Position: rep.Position,
		Attested: h.cfg.Attestation != nil, Unattested: rep.Unattested, Breaks: []breakBody{},
		Truncated: len(rep.Breaks) >= storage.MaxReportedBreaks}
	if verr != nil {
		out.Failure = verr.Error()
	}
	if cp != nil {
		out.Checkpoint = &checkpointBody{Position: cp.Position, Time: cp.Time, KeyID: cp.KeyID, Trusted: untrusted == nil}
	}
	for _, b := range rep.Breaks {
		out.Breaks = append(out.Breaks, breakBody{Stream: b.Stream, Version: b.Version, Position: b.Position, Kind: string(b.Kind), Want: b.Want, Got: b.Got})
	}
	slices.SortStableFunc(out.Breaks, func(a, b breakBody) int {
		return cmp.Or(cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Version, b.Version))
	})
	return ok(w, out)
}
