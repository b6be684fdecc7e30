package httpapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openapi []byte

// OpenAPI returns the OpenAPI 3.1 document of the handler's routes, the
// one GET /openapi.json serves: every route, request body, response body
// and status. Each call returns a new copy.
func OpenAPI() []byte {
	return append([]byte(nil), openapi...)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ string) *problem {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(openapi)
	return nil
}
