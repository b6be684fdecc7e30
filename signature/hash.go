package signature

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/interlock-mes/interlock"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of the argon2id password hash.
type Argon2Params struct {
	Time      uint32 // passes over memory; at least 1
	MemoryKiB uint32 // memory in KiB; at least 8 × Threads
	Threads   uint8  // lanes; at least 1
	SaltLen   uint32 // random salt per hash, bytes; 16..64
	KeyLen    uint32 // hash output, bytes; 16..64
}

// DefaultArgon2Params returns the second recommended option of RFC 9106 §4:
// t=3 passes, 64 MiB, 4 lanes, a 128-bit salt and a 256-bit tag. One hash
// takes roughly 50–150 ms on a current server core.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read back from a stored hash, so that a tampered
// credential row cannot make verification take hours or all the memory.
const (
	maxHashTime      = 64
	maxHashMemoryKiB = 4 << 20 // 4 GiB
)

// Validate reports the first parameter outside its range, naming it.
func (p Argon2Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxHashTime:
		return fmt.Errorf("argon2 Time %d is outside 1..%d", p.Time, maxHashTime)
	case p.Threads < 1:
		return errors.New("argon2 Threads is 0, want at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxHashMemoryKiB:
		return fmt.Errorf("argon2 MemoryKiB %d is outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxHashMemoryKiB)
	case p.SaltLen < 16 || p.SaltLen > 64:
		return fmt.Errorf("argon2 SaltLen %d is outside 16..64", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("argon2 KeyLen %d is outside 16..64", p.KeyLen)
	}
	return nil
}

// PasswordHash is a salted argon2id hash of a secret, with the parameters it
// was made with, so that hashes made under older parameters still verify.
type PasswordHash struct {
	Params Argon2Params
	Salt   []byte
	Key    []byte
}

// NewPasswordHash hashes secret under p with a fresh random salt from
// crypto/rand.
func NewPasswordHash(secret Secret, p Argon2Params) (PasswordHash, error) {
	if err := p.Validate(); err != nil {
		return PasswordHash{}, err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return PasswordHash{}, fmt.Errorf("salt: %w", err)
	}
	return PasswordHash{Params: p, Salt: salt, Key: derive(secret.b, salt, p)}, nil
}

func derive(secret, salt []byte, p Argon2Params) []byte {
	return argon2.IDKey(secret, salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// Matches reports whether secret hashes to h, comparing in constant time.
func (h PasswordHash) Matches(secret Secret) bool {
	if h.Params.Validate() != nil || len(h.Key) != int(h.Params.KeyLen) {
		return false
	}
	return subtle.ConstantTimeCompare(derive(secret.b, h.Salt, h.Params), h.Key) == 1
}

// String returns the hash in the PHC string format used by the reference
// argon2 implementation:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<key>
//
// with salt and key in unpadded standard base64. It reveals nothing that
// helps an attacker beyond what a stolen database row would.
func (h PasswordHash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.MemoryKiB, h.Params.Time, h.Params.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// ErrBadHash is returned by ParsePasswordHash for text that is not an
// argon2id hash in the form String writes.
var ErrBadHash = interlock.NewInvalid("signature: malformed password hash")

// ParsePasswordHash reads the form String writes. Only argon2id version 19
// with parameters that pass Validate is accepted; anything else, including a
// non-canonical spelling of the same hash, returns an error for which
// errors.Is(err, ErrBadHash) is true.
func ParsePasswordHash(s string) (PasswordHash, error) {
	h, err := parsePasswordHash(s)
	if err != nil {
		return PasswordHash{}, fmt.Errorf("%w: %w", ErrBadHash, err)
	}
	// One stored spelling per hash keeps comparisons and audits simple.
	if h.String() != s {
		return PasswordHash{}, fmt.Errorf("%w: not in canonical form", ErrBadHash)
	}
	return h, nil
}

func parsePasswordHash(s string) (PasswordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return PasswordHash{}, errors.New("want $argon2id$v=…$m=…,t=…,p=…$salt$key")
	}
	if parts[1] != "argon2id" {
		return PasswordHash{}, fmt.Errorf("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return PasswordHash{}, fmt.Errorf("version %q is not v=%d", parts[2], argon2.Version)
	}
	var p Argon2Params
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return PasswordHash{}, fmt.Errorf("parameters %q are not m=…,t=…,p=…", parts[3])
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return PasswordHash{}, fmt.Errorf("parameter %d is %q, want %s=…", i+1, params[i], name)
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(v, 10, bits)
		if err != nil {
			return PasswordHash{}, fmt.Errorf("parameter %s: %w", name, err)
		}
		switch name {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			p.Threads = uint8(n)
		}
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return PasswordHash{}, fmt.Errorf("salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return PasswordHash{}, fmt.Errorf("key: %w", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return PasswordHash{}, err
	}
	return PasswordHash{Params: p, Salt: salt, Key: key}, nil
}
