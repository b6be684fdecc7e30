package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// secret is every test person's signing secret.
const secret = "correct horse battery"

// fixture is a handler over a planted engine whose callers authenticate
// with "Authorization: Bearer <actor>".
type fixture struct {
	t      testing.TB
	env    *mestest.Env
	h      *Handler
	pub    ed25519.PublicKey // seals signatures
	cpKey  ed25519.PrivateKey
	cpKeys *audit.Keys
}

// newFixture returns a fixture over store (nil: a memory store) stamped
// by clock (nil: a clock at mestest.Now): the plant of mestest, the
// standard batch and step lifecycles and the fact models in the registry,
// a signer for op-7, sv-1 and qa-3, a lot graph and a trusted checkpoint
// key.
func newFixture(t testing.TB, store storage.Store, clock *mestest.Clock) *fixture {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if clock == nil {
		clock = mestest.NewClock(mestest.Now)
	}
	attest := mestest.Attestation()
	if store == nil {
		store = memory.New(&memory.Config{Clock: clock.Now})
	}
	trail, err := mes.NewAuthTrail(store, attest)
	must(err)
	auth, err := signature.NewPasswordAuthenticator(&signature.Config{
		Store: &signature.MemoryCredentials{}, Observer: trail, Clock: clock.Now, MaxFailures: 3,
		Hash: signature.Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1, SaltLen: 16, KeyLen: 32},
	})
	must(err)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	signer, err := signature.NewSigner(&signature.SignerConfig{Authenticator: auth, Key: key, Clock: clock.Now})
	must(err)
	env := mestest.NewOn(t, store, clock, &mes.Config{Signer: signer, Attestation: attest})
	for _, p := range []string{"op-7", "sv-1", "qa-3"} {
		must(auth.SetCredential(ctx, "admin", p, "Person "+p, signature.NewSecret(secret)))
	}
	env.Plant()
	reg, err := mes.NewRegistry(
		mestest.Must[*mes.Model](t)(lifecycle.Batch()),
		mestest.Must[*mes.Model](t)(lifecycle.Step()),
		mestest.Must[*mes.Model](t)(mes.LotModel()),
		mestest.Must[*mes.Model](t)(mes.PersonModel()))
	must(err)
	graph, err := genealogy.New(env.Store, nil)
	must(err)
	cpPub, cpKey, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	cpKeys, err := audit.NewKeys(cpPub)
	must(err)
	h, err := New(env.Engine, env.Store, &Config{
		Authenticate:   bearer,
		Models:         reg,
		Graph:          graph,
		Export:         &genealogy.ExportConfig{Clock: clock.Now},
		Review:         &review.Options{SealKey: pub, Attestation: attest},
		Attestation:    attest,
		CheckpointKeys: cpKeys,
	})
	must(err)
	return &fixture{t: t, env: env, h: h, pub: pub, cpKey: cpKey, cpKeys: cpKeys}
}

// bearer is the test's authentication hook: the bearer token is the actor.
func bearer(r *http.Request) (string, error) {
	a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || a == "" {
		return "", errors.New("no bearer token")
	}
	return a, nil
}

// response is what the handler answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the body as a Problem.
func (r *response) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("body is not a problem: %v\n%s", err, r.body)
	}
	return p
}

// decode decodes the body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.body)
	}
}

// call is one request; actor "" sends no credentials.
type call struct {
	method, path, actor, key string
	body                     string
	contentType              string // default application/json when there is a body
	accept                   string // the Accept header, if any
}

// do sends c to the fixture's handler; see do.
func (f *fixture) do(c call) *response {
	f.t.Helper()
	return do(f.t, f.h, c)
}

// do sends c to h and checks the answer against the OpenAPI document:
// the status must be one the route documents, the content type one the
// document gives for it, and the body valid against its schema.
func do(t testing.TB, h *Handler, c call) *response {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.actor != "" {
		req.Header.Set("Authorization", "Bearer "+c.actor)
	}
	if c.key != "" {
		req.Header.Set(headerKey, c.key)
	}
	switch {
	case c.contentType != "":
		req.Header.Set("Content-Type", c.contentType)
	case c.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	_, pattern := h.mux.Handler(req)
	if err := conforms(pattern, res); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\n%s", c.method, c.path, res.status, err, res.body)
	}
	// A body the handler took must be one the document describes.
	if pattern != "" && c.body != "" && (res.status == http.StatusOK || res.status == http.StatusUnprocessableEntity) {
		if err := acceptsBody(pattern, c.body); err != nil {
			t.Errorf("%s %s took a body the OpenAPI document does not describe: %v\n%s", c.method, c.path, err, c.body)
		}
	}
	return res
}

// acceptsBody checks body against the request body schema of the route
// pattern.
func acceptsBody(pattern, body string) error {
	method, path, _ := strings.Cut(pattern, " ")
	sch, err := schemaAt("/paths/" + escape(path) + "/" + strings.ToLower(method) + "/requestBody/content/application~1json/schema")
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// The OpenAPI document, compiled once: its schemas are JSON Schema 2020-12,
// compiled in place so that their $refs resolve within the document.
var (
	docOnce  sync.Once
	docErr   error
	docTree  map[string]any
	compiler *jsonschema.Compiler
	schemaMu sync.Mutex
	schemas  = map[string]*jsonschema.Schema{}
)

const docURL = "https://interlock.invalid/openapi.json"

func loadDoc() error {
	docOnce.Do(func() {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapi))
		if err != nil {
			docErr = err
			return
		}
		docTree, _ = v.(map[string]any)
		compiler = jsonschema.NewCompiler()
		compiler.DefaultDraft(jsonschema.Draft2020)
		compiler.AssertFormat()
		docErr = compiler.AddResource(docURL, v)
	})
	return docErr
}

// schemaAt compiles the schema at the JSON pointer ptr of the document.
func schemaAt(ptr string) (*jsonschema.Schema, error) {
	if err := loadDoc(); err != nil {
		return nil, err
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[ptr]; ok {
		return s, nil
	}
	s, err := compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	schemas[ptr] = s
	return s, nil
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// conforms checks res against the document's response for the route
// pattern ("" for an answer of the mux itself: no route, or a method the
// path does not take).
func conforms(pattern string, res *response) error {
	if err := loadDoc(); err != nil {
		return err
	}
	ct, _, err := mime.ParseMediaType(res.header.Get("Content-Type"))
	if err != nil {
		return errors.New("no content type")
	}
	var ptr string
	if pattern == "" {
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed {
			return errors.New("an answer outside every route must be 404 or 405")
		}
		if ct != "application/problem+json" {
			return errors.New("content type " + ct)
		}
		if res.status == http.StatusMethodNotAllowed && res.header.Get("Allow") == "" {
			return errors.New("405 without Allow")
		}
		ptr = "/components/schemas/Problem"
	} else {
		method, path, _ := strings.Cut(pattern, " ")
		at := "/paths/" + escape(path) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(res.status)
		resp, ok := lookup(at)
		if !ok {
			return errors.New("status not documented")
		}
		if r, ok := resp.(map[string]any)["$ref"].(string); ok {
			at = strings.TrimPrefix(r, "#")
			resp, _ = lookup(at)
		}
		content, _ := resp.(map[string]any)["content"].(map[string]any)
		if _, ok := content[ct]; !ok {
			return errors.New("content type " + ct + " not documented")
		}
		ptr = at + "/content/" + escape(ct) + "/schema"
		// The headers the document marks required.
		headers, _ := resp.(map[string]any)["headers"].(map[string]any)
		for name, h := range headers {
			if req, _ := h.(map[string]any)["required"].(bool); req && res.header.Get(name) == "" {
				return errors.New("no " + name + " header")
			}
		}
	}
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		// A CSV or DOT download: the document names its type, and the
		// test of the route reads the text.
		if len(res.body) == 0 {
			return errors.New("empty " + ct + " body")
		}
		return nil
	}
	sch, err := schemaAt(ptr)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(res.body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// lookup returns the value at the JSON pointer ptr of the document.
func lookup(ptr string) (any, bool) {
	var cur any = docTree
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// heads returns the store's stream heads, to show that a request wrote
// nothing.
func (f *fixture) heads() []audit.Head {
	f.t.Helper()
	h, err := f.env.Store.Heads(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// attested fails the test unless every record of the store verifies and
// carries the engine's attestation: nothing was written around the
// engine.
func (f *fixture) attested() {
	f.t.Helper()
	rep, err := storage.VerifyWith(context.Background(), f.env.Store, storage.VerifyConfig{Attestation: f.env.Attestation})
	if err != nil {
		f.t.Fatalf("the record does not verify with attestation: %v", err)
	}
	if rep.Unattested != 0 || len(rep.Breaks) != 0 {
		f.t.Fatalf("the record holds %d unattested records and %d breaks", rep.Unattested, len(rep.Breaks))
	}
	if rep.Records == 0 {
		f.t.Fatal("the store holds no records; the check proves nothing")
	}
}

// eachStore runs fn as two parallel subtests, on a memory store and on a
// fresh Postgres schema (pgtest decides when that one skips or fails),
// each with a clock of its own, so that a test may set its clock without
// moving the other's.
func eachStore(t *testing.T, fn func(t *testing.T, s storage.Store, clock *mestest.Clock)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		clock := mestest.NewClock(mestest.Now)
		fn(t, memory.New(&memory.Config{Clock: clock.Now}), clock)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		clock := mestest.NewClock(mestest.Now)
		pool, schema := pgtest.Pool(t)
		s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, s, clock)
	})
}
