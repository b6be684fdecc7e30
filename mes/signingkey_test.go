package mes_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// TestSigningKeyRotationOnTheTrail: the signing key in force is recorded
// once, however often the service starts, and each rotation adds one
// record, attested, listing the keys in order.
func TestSigningKeyRotationOnTheTrail(t *testing.T) {
	t.Parallel()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		keys := mestest.Attestation()
		trail := mestest.Must[*mes.AuthTrail](t)(mes.NewAuthTrail(s, keys))
		first := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		second := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		for i, c := range []struct {
			pub  ed25519.PublicKey
			want bool
		}{{first, true}, {first, false}, {second, true}, {second, false}} {
			got, err := trail.RecordSigningKey(ctx, c.pub, "admin")
			if err != nil || got != c.want {
				t.Fatalf("start %d: recorded %v, %v; want %v", i, got, err, c.want)
			}
		}
		recorded, err := mes.SigningKeys(ctx, s)
		if err != nil || len(recorded) != 2 || !bytes.Equal(recorded[0].Public, first) || !bytes.Equal(recorded[1].Public, second) ||
			recorded[1].By != "admin" {
			t.Fatalf("keys %+v, %v; want first then second", recorded, err)
		}
		if rep, err := storage.VerifyWith(ctx, s, storage.VerifyConfig{Attestation: keys}); err != nil || rep.Unattested != 0 {
			t.Errorf("the key records are not attested: %v", err)
		}
		if _, err := trail.RecordSigningKey(ctx, first[:5], "admin"); err == nil {
			t.Error("a short key: no error")
		}
	})
}
