package storage

import (
	"context"
	"fmt"

	"github.com/interlock-mes/interlock/audit"
)

// PageLoader is implemented by a Reader that can load part of a stream
// without reading the rest of it: both stores of this module are. Use
// LoadPage, which falls back to Load for a Reader that is not.
type PageLoader interface {
	// LoadPage returns at most limit records of stream from version from
	// on, in version order: Load's first limit records. It returns a
	// *ValidationError for from below 1 or limit below 1.
	LoadPage(ctx context.Context, stream string, from int64, limit int) ([]audit.Record, error)
}

// LoadPage returns at most limit records of stream from version from on,
// with r's own LoadPage when r is a PageLoader, and otherwise with Load,
// trimmed. It returns a *ValidationError for from below 1 or limit below
// 1.
func LoadPage(ctx context.Context, r Reader, stream string, from int64, limit int) ([]audit.Record, error) {
	if limit < 1 {
		return nil, &ValidationError{Field: "limit", Reason: fmt.Sprintf("%d is below 1", limit)}
	}
	if pl, ok := r.(PageLoader); ok {
		return pl.LoadPage(ctx, stream, from, limit)
	}
	recs, err := r.Load(ctx, stream, from)
	if err != nil {
		return nil, err
	}
	if len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}
