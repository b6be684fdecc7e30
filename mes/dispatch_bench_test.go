package mes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// BenchmarkDispatch200Postgres is the dispatch screen of an operator over
// 200 open batches on Postgres, half released to the floor and half still
// planned: every permitted command of each judged for the operator.
func BenchmarkDispatch200Postgres(b *testing.B) {
	ctx := context.Background()
	pool, schema := pgtest.Pool(b)
	s, err := postgres.New(pool, &postgres.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	clock := mestest.NewClock(mestest.Now)
	env := mestest.NewOn(b, s, clock, nil).Plant()
	batch := mestest.Must[*mes.Model](b)(lifecycle.Batch())
	subjects := make([]mes.Subject, 200)
	for i := range subjects {
		subjects[i] = mes.Subject{Model: batch, Subject: fmt.Sprintf("batch-%03d", i)}
		if i%2 == 0 {
			if _, err := env.Engine.Execute(ctx, mes.Request{ID: fmt.Sprint("r-", i), Model: batch, Subject: subjects[i].Subject,
				Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Engine.Dispatch(ctx, "op-7", subjects); err != nil {
			b.Fatal(err)
		}
	}
}
