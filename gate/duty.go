package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// DistinctActor returns a gate that enforces segregation of duties: it passes
// when the actor recorded none of the earlier events of types on the
// attempt's subject, so nobody verifies their own work or approves their own
// request. DistinctActor("step-completed") on a verify transition is the four
// eyes rule. It reads Facts.History and fails with one CodeSameActor reason
// per event type the actor recorded (naming the first such event); or with
// CodeActorMissing, CodeSubjectMissing or CodeSubjectUnknown. Its reasons are
// named "distinct-actor". It returns an error when types is empty or holds an
// empty type.
//
// It looks at the whole subject: if one actor may complete step S10 and
// verify S20 of the same batch, give each step's events their own type or
// subject.
func DistinctActor(types ...EventType) (Gate, error) {
	if len(types) == 0 {
		return nil, errors.New("gate: DistinctActor: no event types")
	}
	if slices.Contains(types, "") {
		return nil, errors.New("gate: DistinctActor: an event type is empty")
	}
	types = slices.Clone(types)
	return builtin("distinct-actor", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		if a.Actor == "" {
			return fail(CodeActorMissing, "the attempt names no actor, so it cannot be told apart from earlier ones"), nil
		}
		if a.Subject == "" {
			return fail(CodeSubjectMissing, "the attempt names no subject whose history could be checked"), nil
		}
		history, err := f.History(ctx, a.Subject)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodeSubjectUnknown, "%s is not known", a.Subject), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("history of %s: %w", a.Subject, err)
		}
		var fs failures
		for _, t := range types {
			i := slices.IndexFunc(history, func(e Event) bool { return e.Type == t && e.Actor == a.Actor })
			if i < 0 {
				continue
			}
			fs.add(CodeSameActor, "%s recorded %s on %s at %s, so another person must %s",
				a.Actor, t, a.Subject, formatTime(history[i].Time), commandName(a))
		}
		return fs.verdict(), nil
	}), nil
}
