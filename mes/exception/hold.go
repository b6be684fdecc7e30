package exception

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/event"
)

// HoldTarget is the kind of thing a hold suspends.
type HoldTarget string

// The things a hold can suspend.
const (
	// HoldLot holds a released lot (LotModel: CmdHold, CmdReleaseHold):
	// gate.LotUsable and every consumption then fail with gate.CodeLotOnHold.
	HoldLot HoldTarget = "lot"
	// HoldBatch holds a running batch (the batch model: CmdHold, CmdRestart).
	HoldBatch HoldTarget = "batch"
	// HoldEquipment takes equipment out of service (EquipmentModel:
	// CmdTakeOut, CmdReturn): gate.EquipmentReady then fails.
	HoldEquipment HoldTarget = "equipment"
)

// Hold names what to hold or release, and why.
type Hold struct {
	Target HoldTarget
	// ID is the lot's or the equipment's id, or the batch's stream.
	ID string
	// Reason is recorded with the hold or its release. Required.
	Reason string
	// Exception, when set, is the exception the hold belongs to; it is
	// recorded with the hold.
	Exception string
}

// holdData is the Data of a hold or a release of one. Status is what
// EquipmentModel's status event carries.
type holdData struct {
	Reason    string `json:"reason"`
	Exception string `json:"exception,omitempty"`
	Status    string `json:"status,omitempty"`
}

func (x *Service) holdRequest(commandID, actor string, h Hold, place bool) (mes.Request, error) {
	var problems []string
	if h.ID == "" {
		problems = append(problems, "the hold names nothing to hold")
	}
	if h.Reason == "" {
		problems = append(problems, "the reason is empty")
	}
	req := mes.Request{ID: commandID, Actor: actor}
	d := holdData{Reason: h.Reason, Exception: h.Exception}
	switch h.Target {
	case HoldLot:
		req.Model, req.Subject, req.Command = x.lot, event.LotStream(h.ID), mes.CmdReleaseHold
		if place {
			req.Command = mes.CmdHold
		}
	case HoldBatch:
		req.Model, req.Subject, req.Command = x.batch, h.ID, mes.CmdRestart
		if place {
			req.Command = mes.CmdHold
		}
	case HoldEquipment:
		req.Model, req.Subject, req.Command = x.equipment, event.EquipmentStream(h.ID), mes.CmdReturn
		if place {
			req.Command, d.Status = mes.CmdTakeOut, "out-of-service"
		}
	default:
		problems = append(problems, fmt.Sprintf("target %q is not lot, batch or equipment", h.Target))
	}
	if len(problems) > 0 {
		return mes.Request{}, &InputError{What: "hold", Problems: problems}
	}
	data, err := json.Marshal(d)
	if err != nil {
		return mes.Request{}, fmt.Errorf("exception: encode hold of %s: %w", req.Subject, err)
	}
	req.Data = data
	return req, nil
}

// PlaceHold holds a lot or a batch, or takes equipment out of service, by
// actor, through the thing's own model, so the hold is gated and recorded
// on the thing's stream and every gate that reads it blocks from then on.
// A rule places one by calling it with the rule's actor. It returns an
// error matching ErrInvalid for a malformed h (nothing recorded),
// and otherwise what Engine.Execute returns: a denial when the model does
// not permit a hold in the thing's state (a lot in quarantine, a batch that
// is not running, one already held).
func (x *Service) PlaceHold(ctx context.Context, by By, h Hold) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	req, err := x.holdRequest(commandID, actor, h, true)
	if err != nil {
		return nil, err
	}
	return x.engine.Execute(ctx, req)
}

// ReleaseHold releases the hold h names, by actor: a lot's hold, a batch's
// (it restarts), or equipment's (it returns to service). Errors as
// PlaceHold.
func (x *Service) ReleaseHold(ctx context.Context, by By, h Hold) (*mes.Outcome, error) {
	commandID, actor := by.CommandID, by.Actor
	req, err := x.holdRequest(commandID, actor, h, false)
	if err != nil {
		return nil, err
	}
	return x.engine.Execute(ctx, req)
}
