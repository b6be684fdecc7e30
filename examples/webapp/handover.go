package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/signature"
)

// The shift handover model: the outgoing person hands over the open items
// of the shift; the incoming person acknowledges them with a signature
// meaning "reviewed", and may not be the one who handed over.
const (
	handoverNew          mes.State   = "new"
	handoverGiven        mes.State   = "handed-over"
	handoverAcknowledged mes.State   = "acknowledged"
	cmdHandOver          mes.Command = "hand-over"
	cmdAcknowledge       mes.Command = "acknowledge"
	handoverPrefix                   = "handover/"
)

// shiftRoles may hand over and take over a shift.
var shiftRoles = []string{"operator", "supervisor", "qa"}

func handoverModel() (*mes.Model, error) {
	role, err := gate.RequireRole(shiftRoles...)
	if err != nil {
		return nil, err
	}
	return mes.NewModel("shift-handover", 1).
		States(handoverNew, handoverGiven, handoverAcknowledged).
		Initial(handoverNew).Final(handoverAcknowledged).
		Permit(handoverNew, cmdHandOver, handoverGiven, mes.Recording("handover.given"), mes.WithGates(role)).
		Permit(handoverGiven, cmdAcknowledge, handoverAcknowledged, mes.Recording("handover.acknowledged"), mes.WithGates(role),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: signature.Reviewed, Count: 1, Roles: shiftRoles, NotPerformer: true})).
		Build()
}

// handoverItem is one open item: what it is about (a batch or equipment
// stream) and what the incoming person must know.
type handoverItem struct {
	About string `json:"about"`
	Note  string `json:"note"`
}

// handoverData is the Data of a hand-over.
type handoverData struct {
	Items []handoverItem `json:"items"`
}

// handover is one handover as its stream tells it.
type handover struct {
	ID           string
	State        mes.State
	By           string
	At           string
	Items        []handoverItem
	Acknowledged *signature.Manifestation
	time         time.Time
}

// handoverView is the handover page.
type handoverView struct {
	Handovers []handover
	Batches   []string
	Equipment []string
	Key       string
	Result
}

func (a *app) handoverView(ctx context.Context) (*handoverView, error) {
	p := a.plant
	v := &handoverView{Key: randomToken()}
	var err error
	if v.Batches, err = p.streams(ctx, "batch/"); err != nil {
		return nil, err
	}
	if v.Equipment, err = p.streams(ctx, event.EquipmentStream("")); err != nil {
		return nil, err
	}
	ids, err := p.streams(ctx, handoverPrefix)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		h, err := a.readHandover(ctx, id)
		if err != nil {
			return nil, err
		}
		v.Handovers = append(v.Handovers, *h)
	}
	// The newest first.
	sort.SliceStable(v.Handovers, func(i, j int) bool { return v.Handovers[i].time.After(v.Handovers[j].time) })
	return v, nil
}

// readHandover folds a handover's state through the engine (only records
// it proves it wrote) and reads what was handed over and who signed.
func (a *app) readHandover(ctx context.Context, id string) (*handover, error) {
	p := a.plant
	stream := handoverPrefix + id
	st, err := p.engine.State(ctx, p.handover, stream, "")
	if err != nil {
		return nil, err
	}
	recs, err := p.store.Load(ctx, stream, 1)
	if err != nil {
		return nil, err
	}
	h := &handover{ID: id, State: st}
	for i := range recs {
		if err := p.attestation.Check(&recs[i]); err != nil {
			continue // not the engine's: never shown as fact
		}
		pl, err := event.Decode(&recs[i])
		if err != nil {
			continue
		}
		switch x := pl.(type) {
		case *event.Transition:
			if x.Command == cmdHandOver && x.To != "" {
				var d handoverData
				if err := json.Unmarshal(x.Data, &d); err == nil {
					h.Items = d.Items
				}
				h.By, h.At, h.time = recs[i].Actor, recs[i].Time.Format("2006-01-02 15:04 MST"), recs[i].Time
			}
		case *event.Signature:
			if x.Signature != nil {
				m := x.Signature.Manifestation
				h.Acknowledged = &m
			}
		}
	}
	return h, nil
}

func (a *app) handoverPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.handoverView(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "handover", "Shift handover", v)
}

// handoverPost hands the shift over (action hand-over, with a note per
// batch and equipment; empty notes are left out) or acknowledges a
// handover with the signed-in person's signature (action acknowledge).
func (a *app) handoverPost(w http.ResponseWriter, r *http.Request) {
	v, err := a.handoverView(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := a.plant
	actor := current(r).actor
	req := mes.Request{ID: r.PostFormValue("key"), Model: p.handover, Actor: actor}
	if req.ID == "" {
		req.ID = randomToken()
	}
	status := http.StatusOK
	switch r.PostFormValue("action") {
	case string(cmdHandOver):
		var d handoverData
		var abouts []string
		for _, b := range v.Batches {
			abouts = append(abouts, "batch/"+b)
		}
		for _, e := range v.Equipment {
			abouts = append(abouts, event.EquipmentStream(e))
		}
		for _, about := range abouts {
			if note := strings.TrimSpace(r.PostFormValue("note:" + about)); note != "" {
				d.Items = append(d.Items, handoverItem{About: about, Note: note})
			}
		}
		if len(d.Items) == 0 {
			v.Error = "list at least one open item: a note for a batch or a piece of equipment"
			status = http.StatusBadRequest
			break
		}
		raw, err := json.Marshal(d)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		// The id comes from the command key, so that the same key sent
		// again names the same handover (a retry records nothing new).
		sum := sha256.Sum256([]byte(req.ID))
		req.Subject = handoverPrefix + "HO-" + strings.ToUpper(hex.EncodeToString(sum[:4]))
		req.Command, req.Data = cmdHandOver, raw
		status = a.execute(r.Context(), req, &v.Outcome, &v.Denied, &v.Error)
	case string(cmdAcknowledge):
		id := r.PostFormValue("handover")
		if !known(v.Handovers, id) {
			v.Error = "no such handover: " + id
			status = http.StatusBadRequest
			break
		}
		req.Subject, req.Command = handoverPrefix+id, cmdAcknowledge
		req.Signatures = []mes.Sign{{Meaning: signature.Reviewed, Reason: r.PostFormValue("reason"),
			Challenge: signature.Challenge{UserID: actor, Secret: signature.NewSecret(r.PostFormValue("password"))}}}
		status = a.execute(r.Context(), req, &v.Outcome, &v.Denied, &v.Error)
	default:
		v.Error = "unknown action"
		status = http.StatusBadRequest
	}
	if nv, err := a.handoverView(r.Context()); err == nil {
		nv.Outcome, nv.Denied, nv.Error = v.Outcome, v.Denied, v.Error
		v = nv
	}
	a.render(w, r, status, "handover", "Shift handover", v)
}

func known(hs []handover, id string) bool {
	for _, h := range hs {
		if h.ID == id {
			return true
		}
	}
	return false
}

// streams lists the ids of the streams whose name starts with prefix, in
// name order, from the store's heads: what is on the record, not a list
// the app keeps.
func (p *plant) streams(ctx context.Context, prefix string) ([]string, error) {
	heads, err := p.store.Heads(ctx)
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	var out []string
	for _, h := range heads {
		if id, ok := strings.CutPrefix(h.Stream, prefix); ok && id != "" && !strings.Contains(id, "/") {
			out = append(out, id)
		}
	}
	return out, nil
}
