package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/correction"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// correcting is a batch whose completion recorded a weight (evidence) and
// a container count (data), on an engine that signs, under a policy that
// needs a QA approval for every correction.
type correcting struct {
	*signing
	cm *correction.Model
}

const (
	correctedBatch = "batch-B42"
	completedAt    = 2 // the version of the batch's completion
)

func newCorrecting(t *testing.T, s storage.Store) *correcting {
	t.Helper()
	ctx := context.Background()
	sg := newSigning(t, s, "op-7", "op-9", "qa-3", "qa-4", "qa-5", "sup-1")
	for _, p := range []struct{ id, role string }{{"sup-1", "supervisor"}, {"qa-4", "qa"}, {"qa-5", "qa"}} {
		sg.facts.run("person", event.PersonStream(p.id), mes.CmdRegister, map[string]string{"name": "Person " + p.id})
		sg.facts.run("person", event.PersonStream(p.id), mes.CmdGrantRole, map[string]string{"role": p.role})
	}
	cm := must[*correction.Model](t)(correction.NewModel(correction.Policy{
		Roles: []string{"supervisor", "operator", "qa"}, RequireApproval: true,
		ApproverRoles: []string{"qa"}, ReviewerRoles: []string{"qa"},
	}))
	m := dispenseModel(t)
	if _, err := sg.e.Execute(ctx, startReq(m, "start", "op-7")); err != nil {
		t.Fatalf("start: %v", err)
	}
	if _, err := sg.e.Execute(ctx, mes.Request{ID: "complete", Model: m, Subject: correctedBatch, Command: mes.CmdComplete, Actor: "op-7",
		Evidence: []gate.Evidence{weight(t, "12.61", gate.SourceDevice, true)}, Data: json.RawMessage(`{"containers":3}`)}); err != nil {
		t.Fatalf("complete: %v", err)
	}
	return &correcting{signing: sg, cm: cm}
}

func kg(tb testing.TB, v string) correction.RecordedValue {
	return correction.Measured(decimalOf(tb, v), "kg")
}

func approvedBy(user string) []mes.Sign {
	return []mes.Sign{{Meaning: "approved", Challenge: full(user)}}
}

// correct asks to correct the batch's record at version.
func (c *correcting) correct(id string, version int64, name string, v correction.RecordedValue, actor string, sigs []mes.Sign) correction.Correction {
	return correction.Correction{ID: id, Model: c.cm, Subject: correctedBatch, Corrects: version, Name: name, New: v,
		Reason: "transcription error, checked against the printout", Actor: actor, Signatures: sigs}
}

func (c *correcting) load(t *testing.T) []audit.Record {
	t.Helper()
	recs, err := c.s.Load(context.Background(), correctedBatch, 1)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

var valueCmp = cmp.Options{
	cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

// TestCorrectWeight corrects a recorded weight twice and a data member once:
// every correction is a new record approved by another person, the original
// stays byte for byte, and the current value is the latest correction.
func TestCorrectWeight(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newCorrecting(t, s)
		before := c.load(t)

		out, err := correction.Correct(ctx, c.e, c.correct("corr-1", completedAt, "net-weight", kg(t, "12.51"), "sup-1", approvedBy("qa-3")))
		if err != nil {
			t.Fatalf("correct: %v", err)
		}
		if !out.Allowed || out.From != correction.Initial || out.To != correction.Corrected || len(out.Records) != 2 ||
			out.Records[0].Type != event.ValueCorrected || out.Records[1].Type != event.SignatureApplied {
			t.Fatalf("outcome %+v: want an allowed correction and its approval", out)
		}
		first := out.Records[0].Version
		var payload struct {
			Model string          `json:"model"`
			Step  string          `json:"step"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out.Records[0].Payload, &payload); err != nil {
			t.Fatal(err)
		}
		wantData := `{"corrects":2,"name":"net-weight","new":{"unit":"kg","value":"12.51"},"old":{"unit":"kg","value":"12.61"},` +
			`"reason":"transcription error, checked against the printout","source":"evidence"}`
		if payload.Model != correction.ModelName || payload.Step != correction.Step("corr-1") || string(payload.Data) != wantData {
			t.Errorf("payload %s\nwant model %q, step %q and data %s", out.Records[0].Payload, correction.ModelName, correction.Step("corr-1"), wantData)
		}

		// A correction of the correction corrects the current value; the
		// original performer may correct but another person approves.
		out, err = correction.Correct(ctx, c.e, c.correct("corr-2", first, "net-weight", kg(t, "12.52"), "op-7", approvedBy("qa-4")))
		if err != nil {
			t.Fatalf("correct the correction: %v", err)
		}
		second := out.Records[0].Version
		out, err = correction.Correct(ctx, c.e, c.correct("corr-3", completedAt, "containers", correction.JSONValue(json.RawMessage(`4`)), "sup-1", approvedBy("qa-3")))
		if err != nil {
			t.Fatalf("correct the data: %v", err)
		}
		third := out.Records[0].Version

		after := c.load(t)
		if diff := cmp.Diff(before, after[:len(before)]); diff != "" {
			t.Errorf("the records before the corrections changed (-before +after):\n%s", diff)
		}
		reason := "transcription error, checked against the printout"
		c1 := correction.Entry{Version: first, CommandID: "corr-1", Step: correction.Step("corr-1"), Actor: "sup-1", Time: now,
			Corrects: completedAt, Name: "net-weight", Source: correction.SourceEvidence, Original: kg(t, "12.61"),
			Old: kg(t, "12.61"), New: kg(t, "12.51"), Reason: reason, Approvers: []string{"qa-3"}}
		c2 := correction.Entry{Version: second, CommandID: "corr-2", Step: correction.Step("corr-2"), Actor: "op-7", Time: now,
			Corrects: completedAt, Supersedes: first, Name: "net-weight", Source: correction.SourceEvidence, Original: kg(t, "12.61"),
			Old: kg(t, "12.51"), New: kg(t, "12.52"), Reason: reason, Approvers: []string{"qa-4"}}
		c3 := correction.Entry{Version: third, CommandID: "corr-3", Step: correction.Step("corr-3"), Actor: "sup-1", Time: now,
			Corrects: completedAt, Name: "containers", Source: correction.SourceData, Original: correction.JSONValue(json.RawMessage(`3`)),
			Old: correction.JSONValue(json.RawMessage(`3`)), New: correction.JSONValue(json.RawMessage(`4`)), Reason: reason, Approvers: []string{"qa-3"}}
		want := []correction.CurrentValue{
			{Record: completedAt, Type: "batch.completed", Actor: "op-7", Source: correction.SourceEvidence, Name: "net-weight",
				Original: kg(t, "12.61"), Current: kg(t, "12.52"), Corrections: []correction.Entry{c1, c2}},
			{Record: completedAt, Type: "batch.completed", Actor: "op-7", Source: correction.SourceData, Name: "containers",
				Original: correction.JSONValue(json.RawMessage(`3`)), Current: correction.JSONValue(json.RawMessage(`4`)), Corrections: []correction.Entry{c3}},
		}
		got, err := correction.CurrentValues(after)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, valueCmp); diff != "" {
			t.Errorf("CurrentValues (-want +got):\n%s", diff)
		}
		unreviewed, err := correction.Unreviewed(after)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]correction.Entry{c1, c2, c3}, unreviewed, valueCmp); diff != "" {
			t.Errorf("UnreviewedCorrections (-want +got):\n%s", diff)
		}
		for _, check := range mes.VerifySignatures(after, c.pub) {
			if check.Err != nil {
				t.Errorf("signature v%d: %v", check.Record.Version, check.Err)
			}
		}
		// Resubmitting a correction replays it: one effect, one record.
		again, err := correction.Correct(ctx, c.e, c.correct("corr-1", completedAt, "net-weight", kg(t, "12.51"), "sup-1", approvedBy("qa-3")))
		if err != nil || !again.Replayed || again.Records[0].Version != first {
			t.Errorf("resubmitted correction: %+v, %v; want a replay of v%d", again, err, first)
		}
		if n := len(c.load(t)); n != len(after) {
			t.Errorf("the replay appended %d records", n-len(after))
		}
	})
}

// TestCorrectDenials: each correction that may not be made is denied, the
// denied attempt is recorded with its code, and no value changes.
func TestCorrectDenials(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newCorrecting(t, s)
		// v3: a denied attempt; v4, v5: a correction by qa-4 and its approval.
		if _, err := c.e.Execute(ctx, mes.Request{ID: "complete-again", Model: dispenseModel(t), Subject: correctedBatch,
			Command: mes.CmdComplete, Actor: "op-7"}); !errors.Is(err, mes.ErrDenied) {
			t.Fatalf("completing twice: %v; want a denial", err)
		}
		if _, err := correction.Correct(ctx, c.e, c.correct("corr-1", completedAt, "net-weight", kg(t, "12.51"), "qa-4", approvedBy("qa-3"))); err != nil {
			t.Fatalf("correct: %v", err)
		}
		const denied, correctionAt, approval = 3, 4, 5
		session := signature.Challenge{Session: "a-session", Secret: signature.NewSecret(testSecret)}
		self := mes.CodeSignatureSelf
		cases := []struct {
			name   string
			modify func(*correction.Correction)
			want   []gate.Code
		}{
			{"no reason", func(x *correction.Correction) { x.Reason = "" }, []gate.Code{correction.CodeNoReason}},
			{"a blank reason", func(x *correction.Correction) { x.Reason = " \t" }, []gate.Code{correction.CodeNoReason}},
			{"no approval", func(x *correction.Correction) { x.Signatures = nil }, []gate.Code{mes.CodeSignatureMissing}},
			{"self-approval", func(x *correction.Correction) { x.Actor, x.Signatures = "qa-5", approvedBy("qa-5") }, []gate.Code{self}},
			{"approval by who recorded the value", func(x *correction.Correction) { x.Signatures = approvedBy("op-7") }, []gate.Code{self}},
			{"approval by an earlier corrector of the value", func(x *correction.Correction) { x.Signatures = approvedBy("qa-4") }, []gate.Code{self}},
			{"approver the plant does not know", func(x *correction.Correction) { x.Signatures = approvedBy("op-9") }, []gate.Code{mes.CodeSignerUnknown}},
			{"approver not named", func(x *correction.Correction) { x.Signatures = []mes.Sign{{Meaning: "approved", Challenge: session}} },
				[]gate.Code{correction.CodeApproverUnnamed}},
			{"corrector without a role", func(x *correction.Correction) { x.Actor = "op-9" }, []gate.Code{gate.CodeRoleMissing}},
			{"unknown original version", func(x *correction.Correction) { x.Corrects = 99 }, []gate.Code{correction.CodeUnknownRecord}},
			{"version zero", func(x *correction.Correction) { x.Corrects = 0 }, []gate.Code{correction.CodeUnknownRecord}},
			{"a denied attempt", func(x *correction.Correction) { x.Corrects = denied }, []gate.Code{correction.CodeNotCorrectable}},
			{"a signature", func(x *correction.Correction) { x.Corrects = approval }, []gate.Code{correction.CodeNotCorrectable}},
			{"a value the record does not hold", func(x *correction.Correction) { x.Name = "tare" }, []gate.Code{correction.CodeUnknownValue}},
			{"data for a measured value", func(x *correction.Correction) { x.New = correction.JSONValue(json.RawMessage(`12.5`)) }, []gate.Code{correction.CodeUnknownValue}},
			{"another value through its correction", func(x *correction.Correction) {
				x.Corrects, x.Name, x.New = correctionAt, "containers", correction.JSONValue(json.RawMessage(`4`))
			}, []gate.Code{correction.CodeUnknownValue}},
			{"the current value again", func(x *correction.Correction) { x.New = kg(t, "12.510") }, []gate.Code{correction.CodeUnchanged}},
			{"no reason, no role, no such record", func(x *correction.Correction) { x.Reason, x.Actor, x.Corrects = "", "op-9", 99 },
				[]gate.Code{gate.CodeRoleMissing, correction.CodeUnknownRecord, correction.CodeNoReason}},
		}
		for i, tc := range cases {
			before := c.load(t)
			values, err := correction.CurrentValues(before)
			if err != nil {
				t.Fatal(err)
			}
			req := c.correct("denied-"+string(rune('a'+i)), completedAt, "net-weight", kg(t, "12.55"), "sup-1", approvedBy("qa-3"))
			tc.modify(&req)
			out, err := correction.Correct(ctx, c.e, req)
			var de *mes.DeniedError
			if !errors.As(err, &de) || out == nil || out.Allowed {
				t.Errorf("%s: %+v, %v; want a denial with %s", tc.name, out, err, tc.want)
				continue
			}
			var codes []gate.Code
			for _, r := range de.Reasons {
				codes = append(codes, r.Code)
			}
			if diff := cmp.Diff(tc.want, codes); diff != "" {
				t.Errorf("%s: reasons %+v; codes (-want +got):\n%s", tc.name, de.Reasons, diff)
			}
			after := c.load(t)
			if len(after) != len(before)+1 || after[len(before)].Type != event.Denied || !strings.Contains(string(after[len(before)].Payload), string(tc.want[0])) {
				t.Errorf("%s: the record gained %d records, last %s; want one denied attempt with %s", tc.name, len(after)-len(before), after[len(after)-1].Payload, tc.want)
			}
			got, err := correction.CurrentValues(after)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(values, got, valueCmp); diff != "" {
				t.Errorf("%s: the values changed (-before +after):\n%s", tc.name, diff)
			}
		}
	})
}

// TestCorrectionReview: a correction is unreviewed until someone other than
// the corrector reviews it with a signature; then it no longer blocks
// release, and it cannot be reviewed twice.
func TestCorrectionReview(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		c := newCorrecting(t, s)
		out, err := correction.Correct(ctx, c.e, c.correct("corr-1", completedAt, "net-weight", kg(t, "12.51"), "qa-4", approvedBy("qa-3")))
		if err != nil {
			t.Fatalf("correct: %v", err)
		}
		corr := out.Records[0].Version
		// op-9 is known to the plant, with no role.
		c.facts.run("person", event.PersonStream("op-9"), mes.CmdRegister, map[string]string{"name": "Otto Outsider"})
		review := func(id string, version int64, signer string) correction.Review {
			r := correction.Review{ID: id, Model: c.cm, Subject: correctedBatch, Reviews: version, Actor: signer}
			if signer != "" {
				r.Signatures = []mes.Sign{{Meaning: "reviewed", Challenge: full(signer)}}
			}
			return r
		}
		for _, tc := range []struct {
			name string
			req  correction.Review
			want gate.Code
		}{
			{"by the corrector", review("rev-self", corr, "qa-4"), mes.CodeSignatureSelf},
			{"by someone without a reviewer role", review("rev-role", corr, "op-9"), mes.CodeSignatureRole},
			{"without a signature", correction.Review{ID: "rev-none", Model: c.cm, Subject: correctedBatch, Reviews: corr, Actor: "qa-5"}, mes.CodeSignatureMissing},
		} {
			_, err := correction.ReviewCorrection(ctx, c.e, tc.req)
			var de *mes.DeniedError
			if !errors.As(err, &de) || !hasCode(de.Reasons, tc.want) {
				t.Errorf("review %s: %v; want a denial with %s", tc.name, err, tc.want)
			}
		}
		if u, err := correction.Unreviewed(c.load(t)); err != nil || len(u) != 1 || u[0].Version != corr {
			t.Fatalf("UnreviewedCorrections = %+v, %v; want the correction v%d", u, err, corr)
		}

		out, err = correction.ReviewCorrection(ctx, c.e, review("rev-1", corr, "qa-5"))
		if err != nil {
			t.Fatalf("review: %v", err)
		}
		if !out.Allowed || out.To != correction.Reviewed || len(out.Records) != 2 || out.Records[0].Type != event.CorrectionReviewed || out.Records[1].Type != event.SignatureApplied {
			t.Fatalf("review outcome %+v: want the review and its signature", out)
		}
		var p struct {
			Step string          `json:"step"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out.Records[0].Payload, &p); err != nil || p.Step != correction.Step("corr-1") || string(p.Data) != `{"reviews":`+itoa(corr)+`}` {
			t.Errorf("review payload %s, %v; want step %s and data {\"reviews\":%d}", out.Records[0].Payload, err, correction.Step("corr-1"), corr)
		}
		recs := c.load(t)
		all, err := correction.List(recs)
		if err != nil || len(all) != 1 || all[0].Review != out.Records[0].Version || !all[0].Reviewed() ||
			!cmp.Equal(all[0].Reviewers, []string{"qa-5"}) || !cmp.Equal(all[0].Approvers, []string{"qa-3"}) {
			t.Errorf("CorrectionsOf = %+v, %v; want the correction reviewed by qa-5 at v%d", all, err, out.Records[0].Version)
		}
		if u, err := correction.Unreviewed(recs); err != nil || len(u) != 0 {
			t.Errorf("UnreviewedCorrections = %+v, %v; want none", u, err)
		}

		if _, err := correction.ReviewCorrection(ctx, c.e, review("rev-2", corr, "qa-3")); !errors.Is(err, mes.ErrIllegalTransition) {
			t.Errorf("second review: %v; want it denied as illegal", err)
		}
		n := len(c.load(t))
		if _, err := correction.ReviewCorrection(ctx, c.e, review("rev-3", completedAt, "qa-5")); !errors.Is(err, correction.ErrNotCorrection) {
			t.Errorf("review of the completion: %v; want ErrNotACorrection", err)
		}
		if got := len(c.load(t)); got != n {
			t.Errorf("reviewing a record that is no correction appended %d records", got-n)
		}
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestCorrectionModelNotExecutedDirectly: the correction model run with
// Execute is denied, so no correction escapes Correct's checks.
func TestCorrectionModelNotExecutedDirectly(t *testing.T) {
	t.Parallel()
	c := newCorrecting(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	ctx := context.Background()
	_, err := c.e.Execute(ctx, mes.Request{ID: "direct", Model: c.cm.Model(), Subject: correctedBatch, Step: correction.Step("direct"),
		Command: correction.CmdCorrect, Actor: "sup-1", Data: json.RawMessage(`{"corrects":2,"name":"net-weight","new":{"unit":"kg","value":"1"},"source":"evidence"}`),
		Signatures: approvedBy("qa-3")})
	var de *mes.DeniedError
	if !errors.As(err, &de) || !hasCode(de.Reasons, correction.CodeDirect) {
		t.Fatalf("direct correction: %v; want a denial with %s", err, correction.CodeDirect)
	}
	out, err := correction.Correct(ctx, c.e, c.correct("corr-1", completedAt, "net-weight", kg(t, "12.51"), "sup-1", approvedBy("qa-3")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.e.Execute(ctx, mes.Request{ID: "direct-review", Model: c.cm.Model(), Subject: correctedBatch, Step: correction.Step("corr-1"),
		Command: correction.CmdReview, Actor: "qa-5", Data: json.RawMessage(`{"reviews":` + itoa(out.Records[0].Version) + `}`),
		Signatures: []mes.Sign{{Meaning: "reviewed", Challenge: full("qa-5")}}})
	if !errors.As(err, &de) || !hasCode(de.Reasons, correction.CodeDirect) {
		t.Fatalf("direct review: %v; want a denial with %s", err, correction.CodeDirect)
	}
}

// TestCorrectInvalid: a malformed correction is an error and leaves no
// record.
func TestCorrectInvalid(t *testing.T) {
	t.Parallel()
	c := newCorrecting(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	ctx := context.Background()
	n := len(c.load(t))
	for name, modify := range map[string]func(*correction.Correction){
		"no ID":                  func(x *correction.Correction) { x.ID = "" },
		"no model":               func(x *correction.Correction) { x.Model = nil },
		"no subject":             func(x *correction.Correction) { x.Subject = "" },
		"no actor":               func(x *correction.Correction) { x.Actor = "" },
		"no name":                func(x *correction.Correction) { x.Name = "" },
		"no new value":           func(x *correction.Correction) { x.New = correction.RecordedValue{} },
		"a measurement and JSON": func(x *correction.Correction) { x.New.JSON = json.RawMessage(`1`) },
		"JSON that is not JSON":  func(x *correction.Correction) { x.New = correction.JSONValue(json.RawMessage(`{`)) },
	} {
		req := c.correct("bad", completedAt, "net-weight", kg(t, "12.51"), "sup-1", approvedBy("qa-3"))
		modify(&req)
		if _, err := correction.Correct(ctx, c.e, req); !errors.Is(err, correction.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalidCorrection", name, err)
		}
	}
	for name, r := range map[string]correction.Review{
		"no ID":    {Model: c.cm, Subject: correctedBatch, Reviews: 3, Actor: "qa-5"},
		"no model": {ID: "r", Subject: correctedBatch, Reviews: 3, Actor: "qa-5"},
		"no actor": {ID: "r", Model: c.cm, Subject: correctedBatch, Reviews: 3},
	} {
		if _, err := correction.ReviewCorrection(ctx, c.e, r); !errors.Is(err, correction.ErrInvalid) {
			t.Errorf("review with %s: %v; want ErrInvalidCorrection", name, err)
		}
	}
	if got := len(c.load(t)); got != n {
		t.Errorf("malformed requests appended %d records", got-n)
	}
}

// TestCorrectionPolicyProblems: a policy's problems are all reported.
func TestCorrectionPolicyProblems(t *testing.T) {
	t.Parallel()
	_, err := correction.NewModel(correction.Policy{RequireApproval: true, ReviewerRoles: []string{""}})
	var de *mes.DefinitionError
	if !errors.As(err, &de) || !errors.Is(err, mes.ErrDefinition) {
		t.Fatalf("error %v; want a *DefinitionError", err)
	}
	want := []string{"Roles names no role", "ApproverRoles names no role", "ReviewerRoles holds an empty role"}
	if diff := cmp.Diff(want, de.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	_, err = correction.NewModel(correction.Policy{Roles: []string{"operator"}, ApproverRoles: []string{"qa"}, ReviewerRoles: []string{"qa"}})
	if !errors.As(err, &de) || !cmp.Equal(de.Problems, []string{"ApproverRoles are given but RequireApproval is not set"}) {
		t.Errorf("approver roles without approval: %v", err)
	}
}
