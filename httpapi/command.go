package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/quantity"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// commandBody is a command as a client sends it: a mes.Request without
// its ID (the Idempotency-Key header), its subject (the path) and its
// actor (Config.Authenticate).
type commandBody struct {
	Model      string            `json:"model"`
	Version    int               `json:"version"`
	Step       string            `json:"step"`
	Command    string            `json:"command"`
	Refs       map[string]string `json:"refs"`
	Evidence   []evidenceBody    `json:"evidence"`
	Data       json.RawMessage   `json:"data"`
	Consume    []consumeBody     `json:"consume"`
	Produce    []produceBody     `json:"produce"`
	Declare    *declareBody      `json:"declare"`
	Signatures []signBody        `json:"signatures"`
	Override   *overrideBody     `json:"override"`
}

type evidenceBody struct {
	Name       string `json:"name"`
	Identity   string `json:"identity"`
	Value      string `json:"value"` // an exact decimal; "" when nothing was measured
	Unit       string `json:"unit"`
	Source     string `json:"source"`
	Instrument string `json:"instrument"`
	Stable     bool   `json:"stable"`
}

type consumeBody struct {
	Lot      string `json:"lot"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
	Kind     string `json:"kind"`
}

type produceBody struct {
	Lot      string `json:"lot"`
	Material string `json:"material"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
	Expiry   string `json:"expiry"` // RFC 3339; parsed strictly
	GTIN     string `json:"gtin"`
	Kind     string `json:"kind"`
}

type declareBody struct {
	Kind           string `json:"kind"`
	Material       string `json:"material"`
	GTIN           string `json:"gtin"`
	Supplier       string `json:"supplier"`
	SupplierLot    string `json:"supplier_lot"`
	Customer       string `json:"customer"`
	IdentitySource string `json:"identity_source"`
}

type signBody struct {
	Meaning string `json:"meaning"`
	User    string `json:"user"`
	Secret  string `json:"secret"`
	Session string `json:"session"`
	Reason  string `json:"reason"`
}

type overrideBody struct {
	Reason string   `json:"reason"`
	Sign   signBody `json:"sign"`
}

// request builds the engine's request from a body, naming the first
// member that cannot be one.
func (h *Handler) request(b *commandBody, subject, actor string) (mes.Request, *problem) {
	req := mes.Request{Subject: subject, Step: b.Step, Command: mes.Command(b.Command), Actor: actor, Refs: b.Refs}
	if len(subject) > storage.MaxIDBytes {
		return req, invalid("subject", "the subject is %d bytes, over the limit of %d", len(subject), storage.MaxIDBytes)
	}
	if b.Model == "" {
		return req, invalid("model", "the body names no model")
	}
	if b.Version < 0 {
		return req, invalid("version", "version must be a positive integer, not %d", b.Version)
	}
	var found bool
	if b.Version == 0 {
		req.Model, found = h.cfg.Models.Latest(b.Model)
	} else {
		req.Model, found = h.cfg.Models.Model(b.Model, b.Version)
	}
	if !found {
		p := newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no model %q version %d", b.Model, b.Version))
		p.Field = "model"
		if b.Version == 0 {
			p.Detail = fmt.Sprintf("no model %q", b.Model)
		}
		return req, p
	}
	if b.Command == "" {
		return req, invalid("command", "the body names no command")
	}
	if d := bytes.TrimSpace(b.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		req.Data = b.Data
	}
	for i, e := range b.Evidence {
		ev := gate.Evidence{Name: e.Name, Identity: e.Identity, Unit: e.Unit, Source: gate.Source(e.Source), Instrument: e.Instrument, Stable: e.Stable}
		if e.Value != "" {
			v, p := parseDecimal(fmt.Sprintf("evidence[%d].value", i), e.Value)
			if p != nil {
				return req, p
			}
			ev.Value, ev.HasValue = v, true
		}
		req.Evidence = append(req.Evidence, ev)
	}
	for i, c := range b.Consume {
		q, p := parseDecimal(fmt.Sprintf("consume[%d].quantity", i), c.Quantity)
		if p != nil {
			return req, p
		}
		req.Consume = append(req.Consume, event.Consumption{Lot: c.Lot, Quantity: q, Unit: c.Unit, Kind: c.Kind})
	}
	for i, p := range b.Produce {
		q, bad := parseDecimal(fmt.Sprintf("produce[%d].quantity", i), p.Quantity)
		if bad != nil {
			return req, bad
		}
		var expiry time.Time
		if p.Expiry != "" {
			field := fmt.Sprintf("produce[%d].expiry", i)
			if expiry, bad = parseTime(field, p.Expiry); bad != nil {
				return req, bad
			}
		}
		req.Produce = append(req.Produce, mes.Production{Lot: p.Lot, Material: p.Material, Quantity: q, Unit: p.Unit,
			Expiry: expiry, GTIN: p.GTIN, Kind: p.Kind})
	}
	if d := b.Declare; d != nil {
		req.Declare = &mes.Declaration{Kind: d.Kind, Material: d.Material, GTIN: d.GTIN, Supplier: d.Supplier,
			SupplierLot: d.SupplierLot, Customer: d.Customer, IdentitySource: gate.Source(d.IdentitySource)}
	}
	for _, s := range b.Signatures {
		req.Signatures = append(req.Signatures, s.sign())
	}
	if o := b.Override; o != nil {
		req.Override = &mes.Override{Reason: o.Reason, Sign: o.Sign.sign()}
	}
	return req, nil
}

// decimalText is the syntax of a decimal in a body, the document's
// Decimal.
var decimalText = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// parseDecimal reads the decimal s of the member field, within the bounds
// every quantity of the record keeps (an exponent such as 1e999999999
// would make every comparison with it expensive).
func parseDecimal(field, s string) (decimal.Decimal, *problem) {
	if !decimalText.MatchString(s) {
		return decimal.Decimal{}, invalid(field, "%q is not a decimal", s)
	}
	d, err := quantity.Parse(s)
	if err != nil {
		return decimal.Decimal{}, invalid(field, "%v", err)
	}
	return d, nil
}

func (s signBody) sign() mes.Sign {
	return mes.Sign{Meaning: mes.Meaning(s.Meaning), Reason: s.Reason, Challenge: signature.Challenge{
		UserID: s.User, Secret: signature.NewSecret(s.Secret), Session: signature.SessionID(s.Session)}}
}

// Record names one record and the hash that proves it.
type Record struct {
	Stream   string     `json:"stream"`
	Version  int64      `json:"version"`
	Position int64      `json:"position"`
	Type     string     `json:"type"`
	Actor    string     `json:"actor"`
	Time     time.Time  `json:"time"`
	Hash     audit.Hash `json:"hash"`
}

func records(rs []audit.Record) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = Record{Stream: r.Stream, Version: r.Version, Position: r.Position, Type: r.Type, Actor: r.Actor, Time: r.Time, Hash: r.Hash}
	}
	return out
}

// outcomeBody is what an allowed command did.
type outcomeBody struct {
	Allowed    bool            `json:"allowed"`
	From       string          `json:"from"`
	To         string          `json:"to"`
	Replayed   bool            `json:"replayed"`
	Reasons    []Reason        `json:"reasons"`
	Records    []Record        `json:"records"`
	Signatures []signatureBody `json:"signatures"`
	Sessions   []sessionBody   `json:"sessions"`
}

type signatureBody struct {
	SignerID    string    `json:"signer_id"`
	PrintedName string    `json:"printed_name"`
	Time        time.Time `json:"time"`
	Meaning     string    `json:"meaning"`
	Reason      string    `json:"reason,omitempty"`
	Stream      string    `json:"stream"`
	Version     int64     `json:"version"`
}

type sessionBody struct {
	ID            string    `json:"id"`
	UserID        string    `json:"user_id"`
	PrintedName   string    `json:"printed_name"`
	Started       time.Time `json:"started"`
	Authenticated time.Time `json:"authenticated"`
}

func outcome(o *mes.Outcome) *outcomeBody {
	out := &outcomeBody{Allowed: o.Allowed, From: string(o.From), To: string(o.To), Replayed: o.Replayed,
		Reasons: reasons(o.Reasons), Records: records(o.Records), Signatures: []signatureBody{}, Sessions: []sessionBody{}}
	for _, s := range o.Signatures {
		m := s.Manifestation
		out.Signatures = append(out.Signatures, signatureBody{SignerID: m.SignerID, PrintedName: m.PrintedName, Time: m.Time,
			Meaning: string(m.Meaning), Reason: m.Reason, Stream: s.Record.Stream, Version: s.Record.Version})
	}
	for _, s := range o.Sessions {
		out.Sessions = append(out.Sessions, sessionBody{ID: string(s.ID), UserID: s.UserID, PrintedName: s.PrintedName,
			Started: s.Started, Authenticated: s.Authenticated})
	}
	return out
}

// execute runs a command through the engine.
func (h *Handler) execute(w http.ResponseWriter, r *http.Request, actor string) *problem {
	key, p := idempotencyKey(r)
	if p != nil {
		return p
	}
	var b commandBody
	if p := h.decode(w, r, &b); p != nil {
		return p
	}
	req, p := h.request(&b, r.PathValue("subject"), actor)
	if p != nil {
		return p
	}
	req.ID = key
	out, err := h.engine.Execute(r.Context(), req)
	if run, ok := h.running(err, req.Model); ok && b.Version == 0 {
		// Nothing was decided: the engine folds before it writes.
		req.Model = run
		out, err = h.engine.Execute(r.Context(), req)
	}
	if err != nil {
		p := h.answer(r, err)
		if p.Type == TypeDenied && out != nil {
			p.Records = records(out.Records)
		}
		return p
	}
	return ok(w, outcome(out))
}

// idempotencyKey reads the command id a write requires.
func idempotencyKey(r *http.Request) (string, *problem) {
	key := r.Header.Get(headerKey)
	switch {
	case key == "":
		return "", invalid(headerKey, "a command needs an Idempotency-Key header: the command's id, which makes sending it again safe")
	case len(key) > MaxKeyBytes:
		return "", invalid(headerKey, "the Idempotency-Key is %d bytes, over the limit of %d", len(key), MaxKeyBytes)
	}
	return key, nil
}

// verdictBody is what a dry run decided.
type verdictBody struct {
	Subject    string          `json:"subject"`
	Step       string          `json:"step,omitempty"`
	State      string          `json:"state"`
	Command    string          `json:"command"`
	Allowed    bool            `json:"allowed"`
	To         string          `json:"to"`
	Reasons    []Reason        `json:"reasons"`
	Signatures []signatureNeed `json:"signatures"`
	Next       []string        `json:"next"`
	At         *time.Time      `json:"at,omitempty"`
}

type signatureNeed struct {
	Meaning         string   `json:"meaning"`
	Count           int      `json:"count"`
	Roles           []string `json:"roles"`
	NotPerformer    bool     `json:"not_performer"`
	NotActor        bool     `json:"not_actor"`
	DistinctSigners bool     `json:"distinct_signers"`
}

// check runs the dry run: Check, or CheckAt with ?at=.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, actor string) *problem {
	at, hasAt, p := instant(r)
	if p != nil {
		return p
	}
	var b commandBody
	if p := h.decode(w, r, &b); p != nil {
		return p
	}
	req, p := h.request(&b, r.PathValue("subject"), actor)
	if p != nil {
		return p
	}
	req.ID = r.Header.Get(headerKey)
	signer := r.URL.Query().Get("signer")
	if _, given := r.URL.Query()["signer"]; given && signer == "" {
		return invalid("signer", "signer is empty; name the person who would sign, or leave it out")
	}
	if signer != "" && hasAt {
		return invalid("signer", "signer and at cannot be asked together: the signers are judged now")
	}
	var v *mes.Verdict
	var err error
	decide := func() {
		switch {
		case hasAt:
			v, err = h.engine.CheckAt(r.Context(), req, at)
		case signer != "":
			v, err = h.engine.CheckSigner(r.Context(), req, signer)
		default:
			v, err = h.engine.Check(r.Context(), req)
		}
	}
	decide()
	if run, ok := h.running(err, req.Model); ok && b.Version == 0 {
		req.Model = run
		decide()
	}
	if err != nil {
		return h.answer(r, err)
	}
	out := &verdictBody{Subject: v.Subject, Step: v.Step, State: string(v.State), Command: string(v.Command), Allowed: v.Allowed,
		To: string(v.To), Reasons: reasons(v.Reasons), Signatures: []signatureNeed{}, Next: commands(v.Next)}
	if hasAt {
		out.At = &at
	}
	for _, s := range v.Signatures {
		out.Signatures = append(out.Signatures, signatureNeed{Meaning: string(s.Meaning), Count: s.Count, Roles: nonNil(s.Roles),
			NotPerformer: s.NotPerformer, NotActor: s.NotActor, DistinctSigners: s.DistinctSigners})
	}
	return ok(w, out)
}

func commands(cs []mes.Command) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
