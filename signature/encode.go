package signature

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/internal/canonjson"
)

// ErrMalformed is returned by Decode for bytes that are not an encoded
// signature.
var ErrMalformed = interlock.NewInvalid("signature: malformed encoding")

// Encode returns the canonical JSON form of s, the object of SealedBytes
// with the seal added as a "seal" member in lower-case hex. It is what the
// engine stores beside the signed record; Decode reads it back.
func (s *Signature) Encode() ([]byte, error) {
	return s.appendBody(make([]byte, 0, 384+len(s.Manifestation.Reason)), true)
}

// MarshalJSON returns Encode's form, so a Signature can sit in an event
// payload.
func (s *Signature) MarshalJSON() ([]byte, error) { return s.Encode() }

// UnmarshalJSON decodes as Decode does.
func (s *Signature) UnmarshalJSON(b []byte) error {
	d, err := Decode(b)
	if err != nil {
		return err
	}
	*s = *d
	return nil
}

// wire mirrors Encode's form; pointers tell a missing member from an empty one.
type wire struct {
	Content       *string `json:"content"`
	Manifestation *struct {
		Meaning *string `json:"meaning"`
		Name    *string `json:"name"`
		Reason  *string `json:"reason"`
		Signer  *string `json:"signer"`
		Time    *string `json:"time"`
	} `json:"manifestation"`
	Record *struct {
		Key     *string      `json:"key"`
		Stream  *string      `json:"stream"`
		Version *json.Number `json:"version"`
	} `json:"record"`
	Seal *string `json:"seal"`
}

// Decode parses a signature written by Encode. Any JSON text whose canonical
// form is exactly what Encode would write for a well-formed signature is
// accepted; everything else — unknown or missing members, a digest or seal
// of the wrong length, upper-case hex, another time format, an invalid
// meaning or record reference — returns an error for which
// errors.Is(err, ErrMalformed) is true. Decode does not check the seal: that
// is Verify's job.
func Decode(b []byte) (*Signature, error) {
	canon, err := canonjson.Canonicalize(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s, err := w.signature()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	again, err := s.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(again, canon) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return s, nil
}

func (w *wire) signature() (*Signature, error) {
	m, r := w.Manifestation, w.Record
	switch {
	case w.Content == nil || m == nil || r == nil || w.Seal == nil:
		return nil, errors.New("missing member content, manifestation, record or seal")
	case m.Meaning == nil || m.Name == nil || m.Reason == nil || m.Signer == nil || m.Time == nil:
		return nil, errors.New("manifestation: missing member")
	case r.Key == nil || r.Stream == nil || r.Version == nil:
		return nil, errors.New("record: missing member")
	}
	var s Signature
	if len(*w.Content) != 2*len(s.Content) {
		return nil, fmt.Errorf("content digest has %d hex digits, want %d", len(*w.Content), 2*len(s.Content))
	}
	if _, err := hex.Decode(s.Content[:], []byte(*w.Content)); err != nil {
		return nil, fmt.Errorf("content digest: %w", err)
	}
	t, err := time.Parse(timeLayout, *m.Time)
	if err != nil {
		return nil, fmt.Errorf("time: %w", err)
	}
	v, err := strconv.ParseInt(string(*r.Version), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("record version: %w", err)
	}
	if s.Seal, err = hex.DecodeString(*w.Seal); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if len(s.Seal) != sealSize {
		return nil, fmt.Errorf("seal has %d bytes, want %d", len(s.Seal), sealSize)
	}
	s.Manifestation = Manifestation{
		SignerID:    *m.Signer,
		PrintedName: *m.Name,
		Time:        t.UTC(),
		Meaning:     Meaning(*m.Meaning),
		Reason:      *m.Reason,
	}
	s.Record = RecordRef{Stream: *r.Stream, Version: v, Key: *r.Key}
	if err := s.Manifestation.Validate(); err != nil {
		return nil, err
	}
	if err := s.Record.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}
