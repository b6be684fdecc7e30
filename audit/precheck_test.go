package audit

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// TestPrecheckMatchesAdd is the property behind parallel verification:
// records prechecked concurrently, out of order, then added in order with
// AddPrechecked give exactly the breaks Add gives, for random chains,
// attested or not, tampered at random (content, attestation, order,
// deletion, duplication, chaining), with and without a checkpoint.
func TestPrecheckMatchesAdd(t *testing.T) {
	t.Parallel()
	a := mustAttester(t, "engine-2026", attestKeyA)
	keys, err := NewAttested(a)
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		recs := buildChain(t, rapid.IntRange(1, 40).Draw(rt, "n"), "a", "b", "c")
		if rapid.Bool().Draw(rt, "attested") {
			recs = attested(t, a, recs)
		}
		var cp *Checkpoint
		if rapid.Bool().Draw(rt, "checkpoint") {
			cp, _ = signedCheckpoint(t, recs[:rapid.IntRange(1, len(recs)).Draw(rt, "checkpointed")])
		}
		recs = tamper(rt, recs, 4, true)
		check := rapid.Bool().Draw(rt, "check attestation")
		sequential, parallel := NewVerifier(cp), NewVerifier(cp)
		if check {
			sequential.Attestation(keys)
			parallel.Attestation(keys)
		}
		var want []error
		for i := range recs {
			want = append(want, sequential.Add(&recs[i]))
		}
		pre := make([]Prechecked, len(recs))
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				var buf []byte
				for i := len(recs) - 1 - w; i >= 0; i -= 3 {
					pre[i], buf = parallel.Precheck(buf, &recs[i])
				}
			})
		}
		wg.Wait()
		var got []error
		for i := range recs {
			got = append(got, parallel.AddPrechecked(&recs[i], &pre[i]))
		}
		if diff := cmp.Diff(errorStrings(want), errorStrings(got)); diff != "" {
			rt.Fatalf("breaks (-Add +Precheck):\n%s", diff)
		}
		if diff := cmp.Diff(sequential.Finish(), parallel.Finish()); diff != "" {
			rt.Fatalf("Finish (-Add +Precheck):\n%s", diff)
		}
		if sequential.Count() != parallel.Count() || sequential.Position() != parallel.Position() {
			rt.Fatalf("count %d/%d, position %d/%d", sequential.Count(), parallel.Count(), sequential.Position(), parallel.Position())
		}
	})
}

func errorStrings(errs []error) []string {
	out := make([]string, len(errs))
	for i, err := range errs {
		if err != nil {
			out[i] = err.Error()
		}
	}
	return out
}
