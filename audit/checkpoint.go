package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/internal/canonjson"
)

// ErrBadSignature is returned when a checkpoint is not signed by the key it
// is checked against, or its content changed after signing.
var ErrBadSignature = errors.New("audit: checkpoint signature does not verify")

// Checkpoint commits to every stream head at a global position. Signed with
// an ed25519 key that the database does not hold, it lets a verifier detect
// a deleted stream, a truncated one, or one rewritten with recomputed hashes.
type Checkpoint struct {
	Position int64     // every record at or below it is covered
	Time     time.Time // when the checkpoint was made (system time, UTC)
	Heads    []Head    // one per stream, sorted by stream, versions > 0
	// KeyID names the key that signed it (see KeyID). It is a hint for
	// choosing among trusted keys and is not itself signed: naming another
	// key only makes verification fail.
	KeyID     string
	Signature []byte // ed25519 over SignedBytes
}

// checkpointDomain separates checkpoint signatures from any other use of the
// same key.
const checkpointDomain = "interlock/checkpoint/v1\n"

// NewCheckpoint returns an unsigned checkpoint of heads at position. The
// heads are copied and sorted; it is an error for a stream to appear twice or
// for a head to have a version below 1.
func NewCheckpoint(position int64, at time.Time, heads []Head) (*Checkpoint, error) {
	if position < 0 {
		return nil, fmt.Errorf("audit: checkpoint position %d is negative", position)
	}
	hs := slices.Clone(heads)
	slices.SortFunc(hs, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) })
	for i, h := range hs {
		if h.Stream == "" || h.Version < 1 {
			return nil, fmt.Errorf("audit: checkpoint head %q at version %d is not a stream head", h.Stream, h.Version)
		}
		if i > 0 && hs[i-1].Stream == h.Stream {
			return nil, fmt.Errorf("audit: checkpoint holds stream %q twice", h.Stream)
		}
	}
	return &Checkpoint{Position: position, Time: at.UTC().Truncate(TimePrecision), Heads: hs}, nil
}

// SignedBytes returns the bytes the signature covers: a domain string, then
// the canonical JSON {"heads":[{"hash":…,"stream":…,"version":…},…],
// "position":…,"time":…}.
func (c *Checkpoint) SignedBytes() ([]byte, error) {
	b := make([]byte, 0, 64+len(c.Heads)*110)
	b = append(b, checkpointDomain...)
	b = append(b, `{"heads":[`...)
	var err error
	for i, h := range c.Heads {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"hash":"`...)
		b = append(b, h.Hash.String()...)
		b = append(b, `","stream":`...)
		if b, err = canonjson.AppendString(b, h.Stream); err != nil {
			return nil, fmt.Errorf("audit: checkpoint: %w", err)
		}
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, h.Version, 10)
		b = append(b, '}')
	}
	b = append(b, `],"position":`...)
	b = strconv.AppendInt(b, c.Position, 10)
	b = append(b, `,"time":"`...)
	b = c.Time.UTC().AppendFormat(b, timeLayout)
	return append(b, `"}`...), nil
}

// Sign signs the checkpoint with key, replacing any earlier signature, and
// sets KeyID to the id of key's public half.
func (c *Checkpoint) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("audit: signing key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	msg, err := c.SignedBytes()
	if err != nil {
		return err
	}
	c.Signature = ed25519.Sign(key, msg)
	c.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	return nil
}

// Verify checks the signature against pub. It returns an error for which
// errors.Is(err, ErrBadSignature) is true when the checkpoint was not signed
// by pub's key or changed after signing.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("audit: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	msg, err := c.SignedBytes()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, c.Signature) {
		return ErrBadSignature
	}
	return nil
}
