package gate

import (
	"context"
	"errors"
	"fmt"
)

// NoOpenException returns a gate that passes when no exception is open on
// the attempt's subject. It reads Facts.OpenExceptions and fails with one
// CodeExceptionOpen reason per open exception, so the record names each;
// or with CodeSubjectMissing or CodeSubjectUnknown. Its reasons are named
// "no-open-exception".
func NoOpenException() (Gate, error) {
	return builtin("no-open-exception", func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
		if f == nil {
			return Verdict{}, ErrNilFacts
		}
		if a.Subject == "" {
			return fail(CodeSubjectMissing, "the attempt names no subject whose exceptions could be checked"), nil
		}
		open, err := f.OpenExceptions(ctx, a.Subject)
		switch {
		case errors.Is(err, ErrUnknown):
			return fail(CodeSubjectUnknown, "%s is not known", a.Subject), nil
		case err != nil:
			return Verdict{}, fmt.Errorf("open exceptions of %s: %w", a.Subject, err)
		}
		var fs failures
		for _, x := range open {
			kind := x.Kind
			if kind == "" {
				kind = "exception"
			}
			if x.Summary != "" {
				fs.add(CodeExceptionOpen, "%s %s is open on %s: %s", kind, x.ID, a.Subject, x.Summary)
			} else {
				fs.add(CodeExceptionOpen, "%s %s is open on %s", kind, x.ID, a.Subject)
			}
		}
		return fs.verdict(), nil
	}), nil
}
