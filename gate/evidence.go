package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// EvidencePresent returns a gate that passes when the attempt carries exactly
// one piece of evidence named name whose Identity equals the identity id
// gives: a scan of a specific lot, container, piece of equipment or badge.
// Identities are compared exactly; the engine normalises scans (such as GS1
// element strings) before it builds the attempt. The gate does not look at
// the evidence's Source: add RequireSource(name, SourceScanner) to refuse a
// typed identity. It fails with
// CodeEvidenceMissing, CodeEvidenceDuplicate, CodeEvidenceNoIdentity,
// CodeIdentityMismatch, or the codes of resolving id. Its reasons are named
// "evidence-present". It returns an error when name is empty, id is invalid,
// or id reads the evidence it is compared with.
func EvidencePresent(name string, id ID) (Gate, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("gate: EvidencePresent: name is empty"))
	}
	if err := id.validate(); err != nil {
		errs = append(errs, fmt.Errorf("gate: EvidencePresent: %w", err))
	}
	if id.kind == idEvidence && id.name == name {
		errs = append(errs, fmt.Errorf("gate: EvidencePresent: evidence %q is compared with itself", name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return builtin("evidence-present", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		want, r := id.resolve(a, "expected identity")
		if r != nil {
			return Fail(*r), nil
		}
		e, r := findEvidence(a, name)
		switch {
		case r != nil:
			return Fail(*r), nil
		case e.Identity == "":
			return fail(CodeEvidenceNoIdentity, "evidence %s carries no scanned identity; %s is expected", name, want), nil
		case e.Identity != want:
			return fail(CodeIdentityMismatch, "evidence %s identifies %s, not %s", name, e.Identity, want), nil
		}
		return Pass(), nil
	}), nil
}

// RequireSource returns a gate that passes when the attempt's one piece of
// evidence named name came from one of sources: RequireSource("net-weight",
// SourceDevice) refuses a typed weight. It fails with CodeEvidenceMissing,
// CodeEvidenceDuplicate or CodeSourceNotAllowed. Its reasons are named
// "require-source". It returns an error when name is empty, sources is
// empty, or a source is empty.
func RequireSource(name string, sources ...Source) (Gate, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("gate: RequireSource: name is empty"))
	}
	if len(sources) == 0 {
		errs = append(errs, errors.New("gate: RequireSource: no sources"))
	}
	if slices.Contains(sources, "") {
		errs = append(errs, errors.New("gate: RequireSource: a source is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sources = slices.Clone(sources)
	allowed := make([]string, len(sources))
	for i, s := range sources {
		allowed[i] = string(s)
	}
	return builtin("require-source", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		e, r := findEvidence(a, name)
		switch {
		case r != nil:
			return Fail(*r), nil
		case e.Source == "":
			return fail(CodeSourceNotAllowed, "evidence %s does not say where it came from; only %s is accepted",
				name, strings.Join(allowed, " or ")), nil
		case !slices.Contains(sources, e.Source):
			return fail(CodeSourceNotAllowed, "evidence %s came from %s; only %s is accepted",
				name, e.Source, strings.Join(allowed, " or ")), nil
		}
		return Pass(), nil
	}), nil
}

// RequireStable returns a gate that passes when the attempt's one piece of
// evidence named name was reported stable by its instrument. It fails with
// CodeEvidenceMissing, CodeEvidenceDuplicate or CodeUnstable. Its reasons are
// named "require-stable". It returns an error when name is empty.
func RequireStable(name string) (Gate, error) {
	if name == "" {
		return nil, errors.New("gate: RequireStable: name is empty")
	}
	return builtin("require-stable", func(_ context.Context, a *Attempt, _ Facts) (Verdict, error) {
		e, r := findEvidence(a, name)
		switch {
		case r != nil:
			return Fail(*r), nil
		case !e.Stable:
			if e.Instrument != "" {
				return fail(CodeUnstable, "evidence %s from instrument %s was not stable", name, e.Instrument), nil
			}
			return fail(CodeUnstable, "evidence %s was not reported stable", name), nil
		}
		return Pass(), nil
	}), nil
}
