package gs1

import (
	"fmt"
	"strings"
)

// CheckPairs checks elements, the combined data of one item, against the
// pairing rules of the GS1 Barcode Syntax Dictionary: no AI may appear with
// one its entry excludes (such as (01) with (02)), and every AI needs the
// associations its entry requires (such as (10) with a (01), (02), (03),
// (8006) or (8026)). An AI is never excluded by itself. Elements with AIs
// unknown to the table are not checked here.
//
// The error is a *Error wrapping ErrPairing, whose AI is the element whose
// rule is broken and whose Reason names the other AIs.
func CheckPairs(elements []Element) error {
	return checkPairs(elements, true)
}

// checkPairs checks the ex= rules, and the req= rules when required.
func checkPairs(elems []Element, required bool) error {
	for _, e := range elems {
		def, ok := aiTable[e.AI]
		if !ok {
			continue
		}
		for _, pat := range def.ex {
			for _, o := range elems {
				if o.AI != e.AI && matchAI(pat, o.AI) {
					return &Error{AI: e.AI, Value: e.Value, Err: ErrPairing,
						Reason: fmt.Sprintf("(%s) may not appear with (%s)", e.AI, o.AI)}
				}
			}
		}
	}
	if !required {
		return nil
	}
	has := func(pat string) bool {
		for _, o := range elems {
			if matchAI(pat, o.AI) {
				return true
			}
		}
		return false
	}
	for _, e := range elems {
		def, ok := aiTable[e.AI]
		if !ok {
			continue
		}
	rules:
		for _, alts := range def.req {
			for _, group := range alts {
				all := true
				for _, pat := range group {
					all = all && has(pat)
				}
				if all {
					continue rules
				}
			}
			return &Error{AI: e.AI, Value: e.Value, Err: ErrPairing,
				Reason: fmt.Sprintf("(%s) needs %s", e.AI, describeReq(alts))}
		}
	}
	return nil
}

// describeReq writes alternatives as "(01) with (21), or (03) with (21)".
func describeReq(alts [][]string) string {
	parts := make([]string, len(alts))
	for i, g := range alts {
		ais := make([]string, len(g))
		for j, a := range g {
			ais[j] = "(" + a + ")"
		}
		parts[i] = strings.Join(ais, " with ")
	}
	switch len(parts) {
	case 1:
		return parts[0]
	case 2:
		return parts[0] + " or " + parts[1]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
