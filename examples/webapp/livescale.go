package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/device/scale"
	"github.com/interlock-mes/interlock/device/scale/scalesim"
)

// liveScale is scale SC-01 as the app reaches it: an MT-SICS scale on a
// serial port, here the simulator on a pseudo-terminal. The server reads
// it; a browser only shows what the server read, so a weight the browser
// sends is never taken for the device's.
type liveScale struct {
	sim   *scalesim.Simulator
	scale *scale.Scale
}

// newLiveScale starts the simulated scale with an empty pan.
func newLiveScale() (*liveScale, error) {
	sim, err := scalesim.New(&scalesim.Config{Unit: "kg", Decimals: 2, SerialNumber: "SC01-0001"})
	if err != nil {
		return nil, err
	}
	sc, err := scale.New(&scale.Config{Serial: scale.SerialLine{Port: sim.Path()}, Instrument: "SC-01", Timeout: 2 * time.Second})
	if err != nil {
		sim.Close()
		return nil, err
	}
	return &liveScale{sim: sim, scale: sc}, nil
}

func (l *liveScale) Close() error {
	return errors.Join(l.scale.Close(), l.sim.Close())
}

// read takes the scale's weight now (MT-SICS SI), stable or not.
func (l *liveScale) read(ctx context.Context) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return l.scale.ImmediateWeight(ctx)
}

// errUnsettled is a tare refused because the pan is not settled.
var errUnsettled = errors.New("the scale is not settled (unstable): no tare was taken; wait until it shows stable and tare again")

// tare tares the scale (MT-SICS T) with what is on the pan now, such as
// the empty container. The scale itself waits for a stable weight before
// it tares; the app asks first (SI) and refuses at once when the pan is
// unsettled, so that the operator is told instead of left waiting. The
// reading is the tare the scale took.
func (l *liveScale) tare(ctx context.Context) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rd, err := l.scale.ImmediateWeight(ctx)
	if err != nil {
		return device.Reading{}, err
	}
	if !rd.Stable {
		return device.Reading{}, errUnsettled
	}
	return l.scale.Tare(ctx)
}

// tareWeight reads the tare in the scale's memory (MT-SICS TA): the
// weights the scale then answers are net of it.
func (l *liveScale) tareWeight(ctx context.Context) (device.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return l.scale.TareWeight(ctx)
}

// scaleReading is what the step screen's script shows.
type scaleReading struct {
	Instrument string `json:"instrument"`
	Value      string `json:"value"`
	Unit       string `json:"unit"`
	Stable     bool   `json:"stable"`
	Tare       string `json:"tare,omitempty"` // the tare in the scale's memory; Value is net of it
	Error      string `json:"error,omitempty"`
}

// scaleJSON answers the scale's weight now, for the live display.
func (a *app) scaleJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if a.live == nil {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(scaleReading{Error: "no scale connected"})
		return
	}
	rd, err := a.live.read(r.Context())
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(scaleReading{Instrument: "SC-01", Error: err.Error()})
		return
	}
	out := scaleReading{Instrument: rd.Instrument, Value: rd.Value.StringFixed(2), Unit: rd.Unit, Stable: rd.Stable}
	if tr, err := a.live.tareWeight(r.Context()); err == nil {
		out.Tare = tr.Value.StringFixed(2)
	}
	json.NewEncoder(w).Encode(out)
}

// simulate puts a load on the simulated scale's pan, settled or not: the
// demo's stand-in for a person placing material on it. It records
// nothing; only the reading the step takes from the scale goes on the
// record.
func (a *app) simulate(w http.ResponseWriter, r *http.Request) {
	if a.live == nil {
		http.Error(w, "no simulated scale", http.StatusNotFound)
		return
	}
	load, err := decimal.NewFromString(strings.TrimSpace(r.PostFormValue("load")))
	if err != nil {
		http.Error(w, "the load is not a number", http.StatusBadRequest)
		return
	}
	a.live.sim.SetLoad(load)
	a.live.sim.SetStable(r.PostFormValue("stable") == "on")
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
