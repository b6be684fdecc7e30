package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage"
)

// DefaultMaxBodyBytes is the MaxBodyBytes of a Config that leaves it zero:
// room for a command with its evidence and data, which the store bounds
// at storage.MaxPayloadBytes and storage.MaxEvidenceBytes anyway.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxSubjects is the MaxSubjects of a Config that leaves it zero.
const DefaultMaxSubjects = 500

// headerKey is the header that carries a command's id.
const headerKey = "Idempotency-Key"

// MaxKeyBytes bounds the Idempotency-Key header; a longer key answers 400.
const MaxKeyBytes = 255

// Config configures a Handler. Authenticate and Models are required.
type Config struct {
	// Authenticate names the actor of a request, from whatever the
	// integrator trusts: a session, a bearer token, a client certificate.
	// An error or an empty actor answers 401 and runs nothing; the
	// error's text is logged, not shown. Required.
	Authenticate func(*http.Request) (actor string, err error)
	// Challenge is the WWW-Authenticate header a 401 carries, naming the
	// scheme Authenticate accepts. Default: "Bearer".
	Challenge string
	// Models are the models commands and reads name by name and version.
	// A request that names no version gets the version the subject runs
	// (the one its records name), or the latest for a subject that runs
	// none yet. Required.
	Models *mes.Registry
	// Graph is the lot graph the genealogy routes read; it is brought up
	// to date with the store (Graph.Update) before every read. Nil: the
	// genealogy routes answer 404.
	Graph *genealogy.Graph
	// Export configures the EPCIS documents of the genealogy routes. May
	// be nil.
	Export *genealogy.ExportConfig
	// Review configures the review report (the seal key that verifies
	// signatures, the attestation keys). May be nil.
	Review *review.Options
	// CheckpointKeys are the keys whose checkpoints verification trusts.
	// Nil: verification checks the chains and the heads, without a
	// checkpoint.
	CheckpointKeys *audit.Keys
	// Checkpoint returns the checkpoint to verify against: the newest one
	// a witness outside the database holds (see storage.Witness). Nil:
	// the newest one in the store signed by one of CheckpointKeys
	// (storage.Reader.LatestCheckpoint). An error matching
	// storage.ErrNotFound means there is none yet.
	Checkpoint func(context.Context) (*audit.Checkpoint, error)
	// Attestation holds the engine's attestation keys: verification then
	// names every record written around the engine. May be nil.
	Attestation *audit.Attested
	// MaxBodyBytes bounds a request's body; a larger one answers 413.
	// Default: DefaultMaxBodyBytes. It must not be negative.
	MaxBodyBytes int64
	// MaxSubjects bounds the subjects of one dispatch query. Default:
	// DefaultMaxSubjects. It must not be negative.
	MaxSubjects int
	// RetryAfter is what a 503 tells the client to wait before sending
	// the request again. Default: one second; it is sent in whole seconds
	// and must not be negative.
	RetryAfter time.Duration
	// Authorize is the integrator's coarse gate on routes (only QA may
	// sign an audit review, only planners may dispatch): it is called
	// with the authenticated actor and the route's operation, after
	// Authenticate and before anything else runs, and an error refuses
	// the request with 403 (TypeForbidden) and records nothing. The
	// error's text is logged, not shown. The engine's gates still apply
	// to every command an authorised caller sends. Nil: every
	// authenticated caller may call every route.
	Authorize func(r *http.Request, actor string, op Operation) error
	// Logger receives one line per request at Info (method, operation,
	// status, duration, actor and Idempotency-Key; never a body, a
	// header's credentials or a query), failures of the service (500s)
	// at Error and failed authentications and authorisations at Debug.
	// Default: silent.
	Logger *slog.Logger
	// Clock times requests for the log. Default: time.Now.
	Clock interlock.Clock
}

func (c *Config) now() time.Time { return c.Clock() }

// Handler is the HTTP front door: an http.Handler over an engine and the
// store it writes, whose routes the package documentation lists. It is
// safe for concurrent use.
type Handler struct {
	engine   *mes.Engine
	store    storage.Reader
	cfg      Config
	exporter *genealogy.Exporter
	mux      *http.ServeMux
	routes   []route
}

// route is one pattern of the handler, such as "POST /dispatch".
type route struct {
	pattern string
	op      Operation
	handle  func(w http.ResponseWriter, r *http.Request, actor string) *problem
	public  bool // served without authentication
	// query are the query parameters the route takes, as the OpenAPI
	// document declares them; any other is refused.
	query []queryParam
}

var _ http.Handler = (*Handler)(nil)

// New returns a handler that runs commands through engine and reads
// store, the store engine writes (given as a Reader, so that the handler
// cannot write it). It returns an error matching interlock.ErrInvalid that
// names every field of cfg that is missing or not valid.
func New(engine *mes.Engine, store storage.Reader, cfg *Config) (*Handler, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("httpapi: %w", interlock.NewInvalid(fmt.Sprintf(format, args...))))
	}
	if engine == nil {
		bad("no engine")
	}
	if store == nil {
		bad("no store")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Authenticate == nil {
		bad("Config.Authenticate is required")
	}
	if c.Models == nil {
		bad("Config.Models is required")
	}
	if c.MaxBodyBytes < 0 {
		bad("Config.MaxBodyBytes is negative")
	}
	if c.MaxSubjects < 0 {
		bad("Config.MaxSubjects is negative")
	}
	if c.RetryAfter < 0 {
		bad("Config.RetryAfter is negative")
	}
	h := &Handler{engine: engine, store: store}
	if c.Graph != nil {
		x, err := genealogy.NewExporter(c.Graph, c.Export)
		if err != nil {
			bad("Config.Export: %v", err)
		}
		h.exporter = x
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxSubjects == 0 {
		c.MaxSubjects = DefaultMaxSubjects
	}
	if c.Challenge == "" {
		c.Challenge = "Bearer"
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	h.cfg = c
	h.routes = []route{
		{pattern: "POST /subjects/{subject}/commands", op: OpExecute, handle: h.execute},
		{pattern: "POST /subjects/{subject}/checks", op: OpCheck, handle: h.check},
		{pattern: "GET /subjects/{subject}/state", op: OpState, handle: h.state},
		{pattern: "GET /subjects/{subject}/records", op: OpSubjectRecords, handle: h.subjectRecords},
		{pattern: "POST /dispatch", op: OpDispatch, handle: h.dispatch},
		{pattern: "GET /genealogy/{node}/backward", op: OpBackward, handle: h.backward},
		{pattern: "GET /genealogy/{node}/forward", op: OpForward, handle: h.forward},
		{pattern: "GET /genealogy/{node}/recall", op: OpRecall, handle: h.recall},
		{pattern: "GET /genealogy/{node}/epcis", op: OpEPCIS, handle: h.epcis},
		{pattern: "GET /genealogy/{node}/export", op: OpExport, handle: h.export},
		{pattern: "GET /genealogy/epcis", op: OpEPCISRange, handle: h.epcisRange},
		{pattern: "GET /batches/{batch}/review", op: OpReview, handle: h.review},
		{pattern: "GET /records", op: OpRecords, handle: h.records},
		{pattern: "GET /audit/trail", op: OpAuditTrail, handle: h.auditTrail},
		{pattern: "POST /audit/reviews", op: OpAuditReview, handle: h.auditReview},
		{pattern: "GET /verification", op: OpVerify, handle: h.verify},
		{pattern: "GET /openapi.json", op: OpOpenAPI, handle: serveOpenAPI, public: true},
	}
	params, err := queryParams()
	if err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	for i := range h.routes {
		rt := &h.routes[i]
		rt.query = params[rt.op]
		h.mux.Handle(rt.pattern, h.wrap(*rt))
	}
	return h, nil
}

// ServeHTTP answers r. A path no route has answers 404, and a method the
// path's routes do not take answers 405 with Allow, both as problems.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	start := h.cfg.now()
	lw := &logWriter{ResponseWriter: w}
	defer func() { h.logRequest(r, lw, "", "", start) }()
	// The mux answers an unknown path or method itself, in plain text:
	// let it decide which, and answer with a problem instead.
	rec := &statusRecorder{header: http.Header{}}
	h.mux.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		p := newProblem(http.StatusMethodNotAllowed, TypeMethod, fmt.Sprintf("%s is not a method of %s", r.Method, r.URL.Path))
		p.allow = rec.header.Get("Allow")
		h.send(lw, p)
		return
	}
	h.send(lw, newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no route %s", r.URL.Path)))
}

// statusRecorder keeps the status and headers the mux would send.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }

// logWriter keeps the status a response was sent with, for the request
// log.
type logWriter struct {
	http.ResponseWriter
	status int
}

func (l *logWriter) WriteHeader(status int) {
	if l.status == 0 {
		l.status = status
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *logWriter) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	return l.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

// logRequest writes the request log's line for r. It names what a
// request was, never what it carried: no body, no query (a query may
// name a person), no credentials.
func (h *Handler) logRequest(r *http.Request, w *logWriter, op Operation, actor string, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("operation", string(op)),
		slog.Int("status", status),
		slog.Duration("duration", h.cfg.now().Sub(start)),
	}
	if actor != "" {
		attrs = append(attrs, slog.String("actor", actor))
	}
	if key := r.Header.Get(headerKey); key != "" && len(key) <= MaxKeyBytes && (op == OpExecute || op == OpAuditReview) {
		attrs = append(attrs, slog.String("command", key))
	}
	h.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "httpapi: request", attrs...)
}

// wrap authenticates and authorises the caller of rt, sends the problem
// its handler returns, if any, and logs the request.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := h.cfg.now()
		w := &logWriter{ResponseWriter: rw}
		var actor string
		defer func() {
			// net/http would drop the connection of a handler that
			// panics; the client gets a problem instead.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.cfg.Logger.Error("httpapi: panic", "operation", string(rt.op), "panic", v)
				h.send(w, newProblem(http.StatusInternalServerError, TypeInternal, "the service failed; the failure is logged"))
			}
			h.logRequest(r, w, rt.op, actor, start)
		}()
		if !rt.public {
			a, err := h.cfg.Authenticate(r)
			if err != nil || a == "" {
				h.cfg.Logger.Debug("httpapi: not authenticated", "operation", string(rt.op), "err", err)
				w.Header().Set("WWW-Authenticate", h.cfg.Challenge)
				h.send(w, newProblem(http.StatusUnauthorized, TypeUnauthenticated, "the request names no authenticated caller"))
				return
			}
			actor = a
			if h.cfg.Authorize != nil {
				if err := h.cfg.Authorize(r, actor, rt.op); err != nil {
					h.cfg.Logger.Debug("httpapi: not authorised", "operation", string(rt.op), "actor", actor, "err", err)
					h.send(w, newProblem(http.StatusForbidden, TypeForbidden,
						fmt.Sprintf("%s may not call %s", actor, rt.op)))
					return
				}
			}
		}
		if p := checkQuery(r, rt.query); p != nil {
			h.send(w, p)
			return
		}
		if p := rt.handle(w, r, actor); p != nil {
			h.send(w, p)
		}
	})
}

// answer turns err into a problem, logging a failure of the service.
func (h *Handler) answer(r *http.Request, err error) *problem {
	p, internal := fromError(err)
	if internal {
		h.cfg.Logger.Error("httpapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return p
}

// internal logs err, a failure of the service whatever it matches, and
// returns the problem that says so.
func (h *Handler) internal(r *http.Request, err error) *problem {
	h.cfg.Logger.Error("httpapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return newProblem(http.StatusInternalServerError, TypeInternal, "the service failed; the failure is logged")
}

func (h *Handler) send(w http.ResponseWriter, p *problem) {
	writeProblem(w, p, int(h.cfg.RetryAfter.Round(time.Second)/time.Second))
}

// ok sends v as a JSON response.
func ok(w http.ResponseWriter, v any) *problem {
	writeJSON(w, http.StatusOK, "application/json", v)
	return nil
}
