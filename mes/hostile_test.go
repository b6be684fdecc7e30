package mes_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// hostileData is a command's Data of about size bytes whose numbers each
// expand a hundredfold in canonical form: {"n":[1e1000,1e1000,…]}.
func hostileData(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"n":[1e1000`)
	for b.Len()+9 < size {
		b.WriteString(`,1e1000`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// TestHostileNumbersCostLittle: a 4 MiB command of numbers that would
// expand to gigabytes is refused as invalid input, and refusing it
// allocates less than ten times its size. (BenchmarkHostileNumbers
// measures the time.)
func TestHostileNumbersCostLittle(t *testing.T) {
	env := mestest.New(t, nil)
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	data := hostileData(4 << 20) // just under the raw limit: it is parsed
	req := mes.Request{ID: "h-1", Model: batch, Subject: "batch-H", Command: mes.CmdRelease, Actor: "op-7", Data: data}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := env.Engine.Execute(context.Background(), req)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, interlock.ErrInvalid) {
		t.Fatalf("Execute with %d bytes of hostile numbers: %v; want invalid input", len(data), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(10*len(data)) {
		t.Errorf("refusing %d bytes allocated %d bytes; want under ten times the input", len(data), grew)
	}
}

func BenchmarkHostileNumbers(b *testing.B) {
	env := mestest.New(b, nil)
	batch := mestest.Must[*mes.Model](b)(lifecycle.Batch())
	req := mes.Request{ID: "h-1", Model: batch, Subject: "batch-H", Command: mes.CmdRelease, Actor: "op-7", Data: hostileData(4 << 20)}
	if len(req.Data) > 4<<20 {
		b.Fatal("the input is over the raw limit and would be refused unread")
	}
	b.SetBytes(int64(len(req.Data)))
	for b.Loop() {
		if _, err := env.Engine.Execute(context.Background(), req); !errors.Is(err, interlock.ErrInvalid) {
			b.Fatal(err)
		}
	}
}
