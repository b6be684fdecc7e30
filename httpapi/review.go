package httpapi

import (
	"bytes"
	"net/http"

	"github.com/interlock-mes/interlock/review"
)

// review sends the batch record reviewed by exception, as review.WriteJSON
// writes it: the same records always give the same bytes.
func (h *Handler) review(w http.ResponseWriter, r *http.Request, _ string) *problem {
	rep, err := review.Build(r.Context(), h.store, r.PathValue("batch"), h.cfg.Review)
	if err != nil {
		return h.answer(r, err)
	}
	var buf bytes.Buffer
	if err := review.WriteJSON(&buf, rep); err != nil {
		return h.internal(r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}
