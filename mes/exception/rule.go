package exception

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// Rule turns a denied attempt into an exception: when the denial carries
// one of Codes, Service.Apply opens an exception on the attempt's
// subject (and step) with the attempt's evidence as context, the denied
// record as its cause, and Consequence.
type Rule struct {
	// Name prefixes the ids of the exceptions the rule opens:
	// "<Name>-<command id of the denied attempt>". Required.
	Name string
	// Codes are the denial codes the rule answers. At least one.
	Codes []gate.Code
	// Kind of the exceptions opened. Default KindDeviation.
	Kind string
	// Consequence of the exceptions opened. Default ConsequenceNone.
	Consequence Consequence
}

// OutOfTolerance is the rule that opens a deviation for a measured value
// outside its limits (gate.CodeBelowLowerLimit, gate.CodeAboveUpperLimit),
// with consequence c: ConsequenceHold holds the batch, ConsequenceBlock
// blocks the step.
func OutOfTolerance(c Consequence) Rule {
	return Rule{Name: "oot", Codes: []gate.Code{gate.CodeBelowLowerLimit, gate.CodeAboveUpperLimit}, Kind: KindDeviation, Consequence: c}
}

// Apply applies rule to the result of running req (out and err, as
// Engine.Execute returned them). When err is a denial carrying a code of
// the rule, it opens the exception "<rule.Name>-<req.ID>" by req.Actor
// (whose attempt gave rise to it; the opening records source "rule"), and
// returns what Open returns. When the rule does not apply it returns nil
// and no error: nothing is recorded. Applying a rule again to the same
// denied attempt opens nothing new.
func (x *Service) Apply(ctx context.Context, rule Rule, req mes.Request, out *mes.Outcome, err error) (*Opened, error) {
	var problems []string
	if rule.Name == "" {
		problems = append(problems, "the rule has no name")
	}
	if len(rule.Codes) == 0 {
		problems = append(problems, "the rule answers no code")
	}
	if len(problems) > 0 {
		return nil, &InputError{What: "rule", Problems: problems}
	}
	var de *mes.DeniedError
	if !errors.As(err, &de) {
		return nil, nil
	}
	var matched []gate.Reason
	for _, r := range de.Reasons {
		if slices.Contains(rule.Codes, r.Code) {
			matched = append(matched, r)
		}
	}
	if len(matched) == 0 {
		return nil, nil
	}
	msgs := make([]string, len(matched))
	for i, r := range matched {
		msgs[i] = r.Message
	}
	details, merr := json.Marshal(struct {
		Rule    string        `json:"rule"`
		Command mes.Command   `json:"command"`
		Reasons []gate.Reason `json:"reasons"`
	}{rule.Name, req.Command, matched})
	if merr != nil {
		return nil, fmt.Errorf("exception: encode rule %s: %w", rule.Name, merr)
	}
	id := rule.Name + "-" + req.ID
	return x.Open(ctx, By{CommandID: "open-" + id, Actor: req.Actor}, Deviation{
		ID: id, Kind: rule.Kind, Summary: fmt.Sprintf("%s of %s denied: %s", req.Command, req.Scope(), strings.Join(msgs, "; ")),
		Subject: req.Subject, Step: req.Step, Source: SourceRule, Consequence: rule.Consequence,
		Cause: causeOf(out), Evidence: req.Evidence, Refs: req.Refs, Details: details,
	})
}

// causeOf names the denied attempt of out, when out holds one.
func causeOf(out *mes.Outcome) *event.RecordRef {
	if out == nil || len(out.Records) == 0 || out.Records[0].Type != event.Denied {
		return nil
	}
	r := out.Records[0]
	return &event.RecordRef{Stream: r.Stream, Version: r.Version}
}
