package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestSignAuditReview: a QA reviewer's review of the denied attempts on a
// batch is recorded through the engine on its own stream, signed
// "reviewed"; its data holds the bounded query and the SHA-256 of the CSV
// it returned, which a later check reproduces however many records follow.
func TestSignAuditReview(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		ctx := context.Background()
		p := newPlant(t, s, c)
		p.exceptional("B-EXC")
		model := must[*mes.Model](t)(AuditModel("qa"))
		q := Query{Subjects: []string{"B-EXC"}, Types: []string{event.Denied}}
		sr, err := SignAuditReview(ctx, p.e, s, AuditReview{ID: "AR-1", Model: model, Actor: "qa-3", Query: q,
			Comment: "both denials were followed up", Sign: sign("qa-3", "", "trail read in full")})
		if err != nil {
			t.Fatalf("SignAuditReview: %v", err)
		}
		sum := sha256.Sum256(sr.CSV)
		if sr.Digest != hex.EncodeToString(sum[:]) || len(sr.Trail.Records) != 2 || len(readCSV(t, sr.CSV)) != 3 {
			t.Fatalf("review: digest %s, %d records; want the CSV's digest over the two denied attempts", sr.Digest, len(sr.Trail.Records))
		}
		recs, err := s.Load(ctx, AuditStream("AR-1"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0].Type != event.AuditReviewed || recs[0].Actor != "qa-3" || recs[1].Type != event.SignatureApplied {
			t.Fatalf("review stream %v; want the review and its signature", types(recs))
		}
		var payload struct {
			Model string     `json:"model"`
			To    string     `json:"to"`
			Data  reviewData `json:"data"`
		}
		if err := json.Unmarshal(recs[0].Payload, &payload); err != nil {
			t.Fatal(err)
		}
		want := reviewData{Query: sr.Trail.Query, Records: 2, CSVSHA256: sr.Digest, Comment: "both denials were followed up"}
		if diff := cmp.Diff(want, payload.Data); diff != "" || payload.To != string(AuditReviewed) {
			t.Errorf("recorded review (-want +got):\n%s\nstate %q", diff, payload.To)
		}
		if payload.Data.Query.Through == 0 || payload.Data.Query.Through >= recs[0].Position {
			t.Errorf("recorded query through %d; want the trail's end before the review (%d)", payload.Data.Query.Through, recs[0].Position)
		}
		checks := mes.VerifySignatures(recs, p.pub)
		if len(checks) != 1 || checks[0].Err != nil || checks[0].Signature.Manifestation.Meaning != "reviewed" ||
			checks[0].Signature.Manifestation.PrintedName != "Quentin QA" {
			t.Fatalf("signature %+v; want QA's valid signature meaning reviewed", checks)
		}

		// More records, even more denials on the batch, do not change
		// what the review covered.
		p.deny(mes.Request{ID: "late-denial", Model: p.weigh, Subject: "B-EXC", Step: "S10", Command: mes.CmdStart, Actor: "op-9",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}})
		trail, err := CheckAuditReview(ctx, s, recs[0])
		if err != nil || len(trail.Records) != 2 {
			t.Errorf("CheckAuditReview after more records: %v", err)
		}

		// Submitted again, the review is the recorded one.
		again, err := SignAuditReview(ctx, p.e, s, AuditReview{ID: "AR-1", Model: model, Actor: "qa-3", Query: q, Sign: sign("qa-3", "", "")})
		if err != nil || !again.Outcome.Replayed || again.Digest != sr.Digest || !bytes.Equal(again.CSV, sr.CSV) {
			t.Errorf("replayed review: %v; want the recorded review and the same CSV", err)
		}

		// A signer without the reviewer role is denied, on the record.
		denied, err := SignAuditReview(ctx, p.e, s, AuditReview{ID: "AR-2", Model: model, Actor: "op-7", Query: q, Sign: sign("op-7", "", "")})
		var de *mes.DeniedError
		if !errors.As(err, &de) || de.Reasons[0].Code != mes.CodeSignatureRole || denied == nil || denied.Outcome.Allowed {
			t.Fatalf("review signed by an operator: %v; want it denied with %s", err, mes.CodeSignatureRole)
		}
		if recs, _ := s.Load(ctx, AuditStream("AR-2"), 1); len(recs) != 1 || recs[0].Type != event.Denied {
			t.Errorf("the denied review left %v; want one denied attempt", types(recs))
		}
	})
}

func types(recs []audit.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Type)
	}
	return out
}

// changed serves a store's trail with one record's payload altered, as a
// rewrite of the database would leave it.
type changed struct {
	storage.Store
	position int64
}

func (c changed) ReadAll(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	recs, err := c.Store.ReadAll(ctx, after, limit)
	for i := range recs {
		if recs[i].Position == c.position {
			recs[i].Payload = bytes.Replace(bytes.Clone(recs[i].Payload), []byte("role.missing"), []byte("role.granted"), 1)
		}
	}
	return recs, err
}

// TestCheckAuditReviewDetectsChange: a record the review covered, changed
// afterwards, makes the check fail with both digests; a record that is not
// a review is refused.
func TestCheckAuditReviewDetectsChange(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	inj := p.exceptional("B-EXC")
	ctx := context.Background()
	sr, err := SignAuditReview(ctx, p.e, s, AuditReview{ID: "AR-1", Model: must[*mes.Model](t)(AuditModel()), Actor: "qa-3",
		Query: Query{Types: []string{event.Denied}}, Sign: sign("qa-3", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	review := sr.Outcome.Records[0]
	_, err = CheckAuditReview(ctx, changed{Store: s, position: inj[0].record.Position}, review)
	var dm *DigestMismatchError
	if !errors.As(err, &dm) || !errors.Is(err, ErrDigestMismatch) || dm.Recorded != sr.Digest || dm.Found == sr.Digest || dm.Records != dm.Now {
		t.Fatalf("check over a changed record: %v; want a digest mismatch naming both digests", err)
	}
	if _, err := CheckAuditReview(ctx, s, inj[0].record); err == nil {
		t.Error("a denied attempt was accepted as a review")
	}
}

// TestSignAuditReviewInput: malformed requests record nothing.
func TestSignAuditReviewInput(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	ctx := context.Background()
	model := must[*mes.Model](t)(AuditModel("qa"))
	for name, r := range map[string]AuditReview{
		"no id":         {Model: model, Actor: "qa-3"},
		"no model":      {ID: "AR-1", Actor: "qa-3"},
		"another model": {ID: "AR-1", Model: p.batch, Actor: "qa-3"},
		"no actor":      {ID: "AR-1", Model: model},
		"bad query":     {ID: "AR-1", Model: model, Actor: "qa-3", Query: Query{Actors: []string{""}}},
	} {
		if _, err := SignAuditReview(ctx, p.e, s, r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if recs, _ := s.Load(ctx, AuditStream("AR-1"), 1); len(recs) != 0 {
		t.Errorf("malformed reviews recorded %v", types(recs))
	}
	if _, err := AuditModel("qa", ""); err == nil {
		t.Error("AuditModel with an empty role: no error")
	}
}
