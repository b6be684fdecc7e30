package mes_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
)

// TestServiceHooks: with a logger, a tracer provider and a meter provider,
// each command gives a span with its outcome and a "gate failed" event per
// reason, the commands and gate-failure counters by outcome and code, an
// append duration, and a log line for the denial; none of it touches
// global state.
func TestServiceHooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env := mestest.New(t, &mes.Config{Logger: logger, TracerProvider: tp, MeterProvider: mp}).Plant()
	batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "h1", Model: batch, Subject: "batch-H", Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "h2", Model: batch, Subject: "batch-H", Command: mes.CmdStart, Actor: "qa-3"}); !hasDenialCode(err, gate.CodeRoleMissing) {
		t.Fatalf("start by qa-3: %v", err)
	}

	outcomes := map[string]string{}
	events := 0
	for _, s := range spans.Ended() {
		if s.Name() != "interlock.execute" {
			continue
		}
		var id, outcome string
		for _, a := range s.Attributes() {
			switch a.Key {
			case "interlock.command_id":
				id = a.Value.AsString()
			case "interlock.outcome":
				outcome = a.Value.AsString()
			}
		}
		outcomes[id] = outcome
		for _, e := range s.Events() {
			if e.Name == "gate failed" {
				events++
			}
		}
	}
	if outcomes["h1"] != mes.OutcomeAllowed || outcomes["h2"] != mes.OutcomeDenied || events != 1 {
		t.Errorf("spans: outcomes %v, %d gate-failed events; want h1 allowed, h2 denied, one event", outcomes, events)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	var appends uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					key := m.Name
					for _, k := range []attribute.Key{"interlock.outcome", "interlock.code"} {
						if v, ok := p.Attributes.Value(k); ok {
							key += "/" + v.AsString()
						}
					}
					sums[key] += p.Value
				}
			case metricdata.Histogram[float64]:
				if m.Name == "interlock.append.duration" {
					for _, p := range d.DataPoints {
						appends += p.Count
					}
				}
			}
		}
	}
	// The plant's fact commands count too: they are commands.
	if sums["interlock.commands/denied"] != 1 || sums["interlock.commands/allowed"] < 2 || sums["interlock.gate.failures/"+string(gate.CodeRoleMissing)] != 1 {
		t.Errorf("counters %v; want one denial, its role failure, and the allowed commands", sums)
	}
	if appends < 2 {
		t.Errorf("%d append durations recorded, want one per command", appends)
	}
	if !strings.Contains(logs.String(), `"msg":"command denied"`) || !strings.Contains(logs.String(), `"first":"role.missing"`) {
		t.Errorf("log: %s; want the denial at Info", logs.String())
	}
	if strings.Contains(logs.String(), `"id":"h1"`) {
		t.Errorf("log: %s; an allowed command logs at Debug only", logs.String())
	}
}

// TestServiceHooksLogFailuresAtWarn: a logger that keeps Warn and above
// gets a failed command (here, another model version) and nothing of the
// denials or successes below it.
func TestServiceHooksLogFailuresAtWarn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs bytes.Buffer
	env := mestest.New(t, &mes.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}).Plant()
	build := func(v int) *mes.Model {
		return mestest.Must[*mes.Model](t)(mes.NewModel("widget", v).States("new", "made").Initial("new").Final("made").
			Permit("new", mes.CmdComplete, "made", mes.Recording("widget.made")).Build())
	}
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "w1", Model: build(1), Subject: "widget-1", Command: mes.CmdComplete, Actor: "op-7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Execute(ctx, mes.Request{ID: "w2", Model: build(2), Subject: "widget-1", Command: mes.CmdComplete, Actor: "op-7"}); err == nil {
		t.Fatal("another model version: no error")
	}
	if got := logs.String(); !strings.Contains(got, "command failed") || !strings.Contains(got, "id=w2") || strings.Contains(got, "id=w1") {
		t.Errorf("log at Warn: %q; want the failure of w2 alone", got)
	}
}
