package signature

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret shows wherever it might be printed or logged.
const redacted = "[REDACTED]"

// Secret is the private component of a signature credential (a password).
// It never prints: String, GoString, Format, MarshalJSON, MarshalText and
// LogValue all yield "[REDACTED]", so a secret that reaches a log line, an
// error message or an event payload by mistake does not leak.
type Secret struct {
	b []byte
}

// NewSecret wraps s. The bytes are copied.
func NewSecret(s string) Secret { return Secret{b: []byte(s)} }

// Bytes returns a copy of the secret's bytes, for an Authenticator that must
// pass it on (to a directory server, say). Overwrite the copy when done.
func (s Secret) Bytes() []byte { return append([]byte(nil), s.b...) }

// Len returns the secret's length in bytes.
func (s Secret) Len() int { return len(s.b) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// String returns "[REDACTED]".
func (Secret) String() string { return redacted }

// GoString returns "[REDACTED]", so %#v does not print the bytes either.
func (Secret) GoString() string { return redacted }

// Format prints "[REDACTED]" for every verb, including %x and %d.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[REDACTED]".
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue returns "[REDACTED]" for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
