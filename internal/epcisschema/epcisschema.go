// Package epcisschema validates EPCIS 2.0 JSON documents against GS1's
// official schema (EPCIS-JSON-Schema.json, kept here as published with
// EPCIS 2.0), for the tests of every package that writes one.
package epcisschema

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed EPCIS-JSON-Schema.json
var schemaJSON []byte

// Schema is the compiled EPCIS 2.0 JSON schema.
type Schema struct{ s *jsonschema.Schema }

// New compiles the schema with its formats asserted (draft-07 asserts uri
// and date-time). GS1's own examples name their documents by JSON-LD blank
// nodes ("_:document1"), which are not URIs; with strict false a blank
// node is also accepted where a uri is asked for. Interlock's own exports
// must pass strict.
func New(strict bool) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	const id = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if !strict {
		c.RegisterFormat(&jsonschema.Format{Name: "uri", Validate: func(v any) error {
			s, _ := v.(string)
			if strings.HasPrefix(s, "_:") {
				return nil
			}
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				return fmt.Errorf("%q is not an absolute URI", s)
			}
			return nil
		}})
	}
	c.UseRegexpEngine(lookaheadEngine)
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, err
	}
	return &Schema{s: s}, nil
}

// Validate returns nil when doc is a valid EPCIS document, else what is
// wrong with it.
func (s *Schema) Validate(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.s.Validate(v)
}

// notPrefix matches strings that do not start with a match of re.
type notPrefix struct {
	src string
	re  *regexp.Regexp
}

func (n notPrefix) String() string            { return n.src }
func (n notPrefix) MatchString(s string) bool { return !n.re.MatchString(s) }

// lookaheadEngine is Go's regexp plus the one ECMA construct the EPCIS
// schema uses that RE2 lacks: a whole pattern ^(?!(X)), "does not start
// with X", used to keep GS1's own vocabulary out of user extensions.
func lookaheadEngine(src string) (jsonschema.Regexp, error) {
	if inner, ok := strings.CutPrefix(src, "^(?!("); ok {
		if inner, ok := strings.CutSuffix(inner, "))"); ok {
			re, err := regexp.Compile("^(?:" + inner + ")")
			if err != nil {
				return nil, err
			}
			return notPrefix{src: src, re: re}, nil
		}
	}
	return regexp.Compile(src)
}
