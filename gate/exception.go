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
	return openExceptions("no-open-exception", CodeExceptionOpen, "is open on", func(Exception) bool { return true })
}

// NoBlockingException returns a gate that passes unless an exception open
// on the attempt's subject blocks or holds it (Exception.Consequence is
// ConsequenceBlock or ConsequenceHold): the work an exception stops cannot
// go on before the subject is blocked or held, even if that transition is
// still to be recorded. An exception without consequence, or whose record
// does not say, lets it pass. It fails with one CodeExceptionBlocks reason
// per such exception, or with CodeSubjectMissing or CodeSubjectUnknown.
// Its reasons are named "no-blocking-exception".
func NoBlockingException() (Gate, error) {
	return openExceptions("no-blocking-exception", CodeExceptionBlocks, "blocks", func(x Exception) bool {
		return x.Consequence == ConsequenceBlock || x.Consequence == ConsequenceHold
	})
}

// openExceptions is the gate named name that fails with code for each
// open exception that counts, saying it verb the subject.
func openExceptions(name string, code Code, verb string, counts func(Exception) bool) (Gate, error) {
	return builtin(name, func(ctx context.Context, a *Attempt, f Facts) (Verdict, error) {
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
			if !counts(x) {
				continue
			}
			kind := x.Kind
			if kind == "" {
				kind = "exception"
			}
			if x.Summary != "" {
				fs.add(code, "%s %s %s %s: %s", kind, x.ID, verb, a.Subject, x.Summary)
			} else {
				fs.add(code, "%s %s %s %s", kind, x.ID, verb, a.Subject)
			}
		}
		return fs.verdict(), nil
	}), nil
}
