package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/interlock-mes/interlock/httpapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// session is one browser's: its CSRF token and, once signed in, who it is.
type session struct {
	actor   string
	csrf    string
	expires time.Time
}

// sessionLife is how long a session lasts: a shift and a half.
const sessionLife = 12 * time.Hour

// app serves the pages and, under /api/, the engine's JSON front door.
type app struct {
	plant *plant
	live  *liveScale // nil without a scale
	plc   *livePLC   // nil without the simulated PLC
	// scanner is barcode scanner SCN-1; nil without one (lots are then
	// typed only).
	scanner *liveScanner
	log     *slog.Logger
	pages   map[string]*template.Template
	mux     *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session
}

const sessionCookie = "interlock_session"

func newApp(p *plant, live *liveScale, log *slog.Logger) (*app, error) {
	a := &app{plant: p, live: live, log: log, sessions: map[string]*session{}, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	funcs := template.FuncMap{"personName": personName, "pathID": pathID, "exceptionLink": exceptionLink}
	for _, name := range []string{"signin", "dispatch", "step", "review", "lot", "audit", "error", "exceptions", "exception", "handover", "equipment", "task"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		a.pages[name] = t
	}
	api, err := httpapi.New(p.engine, p.store, &httpapi.Config{
		Authenticate: func(r *http.Request) (string, error) {
			if s := a.session(r); s != nil && s.actor != "" {
				return s.actor, nil
			}
			return "", errors.New("not signed in")
		},
		Challenge: "Cookie", Models: p.registry, Graph: p.graph, Attestation: p.attestation,
		Review: reviewOptions(p), CheckpointKeys: p.checkpointKeys, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	// The API takes JSON bodies only (a form cannot send one across
	// sites without a preflight), so the session cookie is enough there.
	a.mux.Handle("/api/", http.StripPrefix("/api", api))
	a.mux.HandleFunc("GET /signin", a.signinPage)
	a.mux.HandleFunc("POST /signin", a.form(a.signin))
	a.mux.HandleFunc("POST /signout", a.form(a.signout))
	a.mux.HandleFunc("GET /{$}", a.signedIn(a.dispatchPage))
	a.mux.HandleFunc("GET /batches/{batch}/steps/{step}", a.signedIn(a.stepPage))
	a.mux.HandleFunc("POST /batches/{batch}/steps/{step}", a.form(a.signedIn(a.stepPost)))
	a.mux.HandleFunc("GET /batches/{batch}/review", a.signedIn(a.reviewPage))
	a.mux.HandleFunc("GET /batches/{batch}/review/report", a.signedIn(a.reviewReport))
	a.mux.HandleFunc("POST /batches/{batch}/release", a.form(a.signedIn(a.releasePost)))
	a.mux.HandleFunc("POST /batches/{batch}/complete", a.form(a.signedIn(a.completePost)))
	a.mux.HandleFunc("GET /lots/{lot}", a.signedIn(a.lotPage))
	a.mux.HandleFunc("GET /lots/{lot}/graph.svg", a.signedIn(a.lotGraph))
	a.mux.HandleFunc("GET /audit", a.signedIn(a.auditPage))
	a.mux.HandleFunc("GET /exceptions", a.signedIn(a.exceptionsPage))
	a.mux.HandleFunc("POST /exceptions", a.form(a.signedIn(a.openPost)))
	a.mux.HandleFunc("GET /exceptions/{id}", a.signedIn(a.exceptionPage))
	a.mux.HandleFunc("POST /exceptions/{id}", a.form(a.signedIn(a.exceptionPost)))
	a.mux.HandleFunc("POST /lots/{lot}/hold", a.form(a.signedIn(a.lotHoldPost)))
	a.mux.HandleFunc("GET /equipment", a.signedIn(a.equipmentPage))
	a.mux.HandleFunc("POST /equipment/{id}/return", a.form(a.signedIn(a.returnPost)))
	a.mux.HandleFunc("POST /plc/simulator", a.form(a.signedIn(a.plcSimulate)))
	a.mux.HandleFunc("GET /handover", a.signedIn(a.handoverPage))
	a.mux.HandleFunc("POST /handover", a.form(a.signedIn(a.handoverPost)))
	a.mux.HandleFunc("GET /scale", a.signedIn(a.scaleJSON))
	a.mux.HandleFunc("POST /scale/simulator", a.form(a.signedIn(a.simulate)))
	a.mux.HandleFunc("POST /scanner/simulator", a.form(a.signedIn(a.simulateScan)))
	a.mux.Handle("GET /static/", http.FileServerFS(staticFS))
	return a, nil
}

// ServeHTTP sets the security headers every answer carries, then routes.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The review report is the review package's page, with its own
	// stylesheet inline; nothing else needs inline styles or any script
	// from elsewhere.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
		"script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// session returns r's session, or nil.
func (a *app) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s != nil && time.Now().After(s.expires) {
		delete(a.sessions, c.Value)
		return nil
	}
	return s
}

// ensureSession returns r's session, starting an anonymous one (with a
// CSRF token for the sign-in form) when it has none.
func (a *app) ensureSession(w http.ResponseWriter, r *http.Request) *session {
	if s := a.session(r); s != nil {
		return s
	}
	s := &session{csrf: randomToken()}
	a.setSession(w, s)
	return s
}

func (a *app) setSession(w http.ResponseWriter, s *session) {
	id := randomToken()
	now := time.Now()
	s.expires = now.Add(sessionLife)
	a.mu.Lock()
	for k, old := range a.sessions { // forget the expired ones
		if now.After(old.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(sessionLife / time.Second)})
}

// form refuses a form post whose csrf field is not its session's token.
func (a *app) form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s := a.session(r)
		got := r.PostFormValue("csrf")
		if s == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
			http.Error(w, "forbidden: the form's CSRF token is missing or not this session's; reload the page", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// actorKey carries the signed-in person in a request's context.
type actorKey struct{}

// signedIn sends a browser that is not signed in to the sign-in page. The
// actor comes from the session, never from a form.
func (a *app) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := a.session(r)
		if s == nil || s.actor == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, s)))
	}
}

func current(r *http.Request) *session {
	s, _ := r.Context().Value(actorKey{}).(*session)
	return s
}

// page is what every template gets besides its own data.
type page struct {
	Title string
	Actor string
	CSRF  string
	Data  any
}

func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := page{Title: title, Data: data}
	if s := current(r); s != nil {
		p.Actor, p.CSRF = s.actor, s.csrf
	} else if s := a.session(r); s != nil {
		p.CSRF = s.csrf
	}
	var b strings.Builder
	if err := a.pages[name].Execute(&b, p); err != nil {
		a.log.Error("render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, errNotFound) {
		status = http.StatusNotFound
	} else {
		a.log.Error("page", "path", r.URL.Path, "err", err)
	}
	a.render(w, r, status, "error", "Error", err.Error())
}

func (a *app) signinPage(w http.ResponseWriter, r *http.Request) {
	s := a.ensureSession(w, r)
	// The page is about to sign someone in: it shows no one as signed in.
	anon := &session{csrf: s.csrf}
	a.render(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, anon)), http.StatusOK, "signin", "Sign in", people)
}

func (a *app) signin(w http.ResponseWriter, r *http.Request) {
	who := r.PostFormValue("person")
	if personName(who) == "" {
		http.Error(w, "no such person", http.StatusBadRequest)
		return
	}
	// A new session id and token on sign-in, so a token seen before it
	// is worth nothing after.
	a.dropSession(r)
	a.setSession(w, &session{actor: who, csrf: randomToken()})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) signout(w http.ResponseWriter, r *http.Request) {
	a.dropSession(r)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (a *app) dropSession(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
}

// pathID is the last segment of a stream name: "batch/B-1" -> "B-1".
func pathID(stream string) string {
	if i := strings.LastIndexByte(stream, '/'); i >= 0 {
		return stream[i+1:]
	}
	return stream
}
