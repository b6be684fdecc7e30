package main

import (
	"context"

	"github.com/interlock-mes/interlock/mes/route"
	"github.com/interlock-mes/interlock/review"
)

// batchRecordOf reads the batch record QA signs the release from
// (review.ReadBatchRecord): rep is the batch's review by exception, and
// the route is the version the batch's records bind, checked against its
// digest.
func (a *app) batchRecordOf(ctx context.Context, subject string, rep *review.Report) (*review.BatchRecord, error) {
	p := a.plant
	recs, err := p.engine.Records(ctx, subject)
	if err != nil {
		return nil, err
	}
	var rt *route.Route
	if v, err := p.routes.VerifyBinding(ctx, recs); err == nil {
		rt = v.Route
	}
	return review.ReadBatchRecord(ctx, p.store, rep, rt, reviewOptions(p))
}
