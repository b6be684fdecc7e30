package signature

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPasswordHashMatches(t *testing.T) {
	t.Parallel()
	h, err := NewPasswordHash(NewSecret("s3cret-enough"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		secret string
		want   bool
	}{
		{"s3cret-enough", true},
		{"s3cret-enougH", false},
		{"s3cret-enough ", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := h.Matches(NewSecret(tt.secret)); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.secret, got, tt.want)
		}
	}
}

func TestPasswordHashSaltsDiffer(t *testing.T) {
	t.Parallel()
	a, err := NewPasswordHash(NewSecret("same secret"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewPasswordHash(NewSecret("same secret"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Salt, b.Salt) || bytes.Equal(a.Key, b.Key) {
		t.Errorf("two hashes of one secret share salt or key: %s and %s", a, b)
	}
}

func TestPasswordHashStringRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := NewPasswordHash(NewSecret("round trip"), cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	s := h.String()
	if !strings.HasPrefix(s, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("String() = %q, want the PHC argon2id prefix", s)
	}
	got, err := ParsePasswordHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Errorf("ParsePasswordHash(String()) (-want +got):\n%s", diff)
	}
	if !got.Matches(NewSecret("round trip")) {
		t.Error("parsed hash does not match its secret")
	}
}

func TestParsePasswordHashRejects(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	tests := []string{
		"",
		"argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=65,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "f",
	}
	for _, in := range tests {
		if _, err := ParsePasswordHash(in); !errors.Is(err, ErrBadHash) {
			t.Errorf("ParsePasswordHash(%q) = %v, want ErrBadHash", in, err)
		}
	}
}

func TestArgon2ParamsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Argon2Params
		ok   bool
	}{
		{"defaults", DefaultArgon2Params(), true},
		{"cheap", cheapParams, true},
		{"zero", Argon2Params{}, false},
		{"no time", Argon2Params{MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{"no threads", Argon2Params{Time: 1, MemoryKiB: 64, SaltLen: 16, KeyLen: 32}, false},
		{"memory below 8 per lane", Argon2Params{Time: 1, MemoryKiB: 31, Threads: 4, SaltLen: 16, KeyLen: 32}, false},
		{"short salt", Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 8, KeyLen: 32}, false},
		{"short key", Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 8}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func FuzzParsePasswordHash(f *testing.F) {
	h, err := NewPasswordHash(NewSecret("fuzz seed"), cheapParams)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.String())
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := ParsePasswordHash(in)
		if err != nil {
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("error %v does not match ErrBadHash", err)
			}
			return
		}
		if h.String() != in {
			t.Fatalf("String() = %q, want the input %q", h.String(), in)
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("accepted invalid parameters: %v", err)
		}
		if len(h.Salt) != int(h.Params.SaltLen) || len(h.Key) != int(h.Params.KeyLen) {
			t.Fatalf("lengths disagree with parameters: %+v", h)
		}
	})
}
