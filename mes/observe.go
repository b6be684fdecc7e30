package mes

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/interlock-mes/interlock/storage"
)

// instrumentationName names the engine's tracer and meter.
const instrumentationName = "github.com/interlock-mes/interlock/mes"

// Outcomes a command's span and the commands metric carry (attribute
// "interlock.outcome").
const (
	OutcomeAllowed  = "allowed"
	OutcomeDenied   = "denied"
	OutcomeReplayed = "replayed"
	OutcomeUnknown  = "unknown" // storage.ErrOutcomeUnknown: retry with the same ID
	OutcomeError    = "error"   // nothing was decided
)

// observer is the engine's logging, tracing and metrics; every part is a
// no-op unless the Config gave it.
type observer struct {
	// traced and metered say whether a provider was given: without one
	// the engine builds no span or metric attributes at all.
	traced, metered bool
	log             *slog.Logger
	tracer          trace.Tracer
	commands        metric.Int64Counter
	failures        metric.Int64Counter
	retries         metric.Int64Counter
	appends         metric.Float64Histogram
}

func newObserver(cfg *Config) (*observer, error) {
	o := &observer{log: slog.New(slog.DiscardHandler)}
	var tp trace.TracerProvider = tracenoop.NewTracerProvider()
	var mp metric.MeterProvider = metricnoop.NewMeterProvider()
	if cfg != nil {
		if cfg.Logger != nil {
			o.log = cfg.Logger
		}
		if cfg.TracerProvider != nil {
			tp, o.traced = cfg.TracerProvider, true
		}
		if cfg.MeterProvider != nil {
			mp, o.metered = cfg.MeterProvider, true
		}
	}
	o.tracer = tp.Tracer(instrumentationName)
	m := mp.Meter(instrumentationName)
	var err error
	if o.commands, err = m.Int64Counter("interlock.commands", metric.WithDescription("Commands executed, by model, command and outcome.")); err != nil {
		return nil, err
	}
	if o.failures, err = m.Int64Counter("interlock.gate.failures", metric.WithDescription("Reasons commands were denied, by gate and code.")); err != nil {
		return nil, err
	}
	if o.retries, err = m.Int64Counter("interlock.retries", metric.WithDescription("Commands evaluated again after a stream they read moved.")); err != nil {
		return nil, err
	}
	if o.appends, err = m.Float64Histogram("interlock.append.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the store took to append a command's records.")); err != nil {
		return nil, err
	}
	return o, nil
}

// start opens the span of one Execute.
func (o *observer) start(ctx context.Context, req *Request) (context.Context, trace.Span) {
	if !o.traced {
		return ctx, noSpan
	}
	model := ""
	if req.Model != nil {
		model = req.Model.Name()
	}
	return o.tracer.Start(ctx, "interlock.execute", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
		attribute.String("interlock.model", model),
		attribute.String("interlock.command", string(req.Command)),
		attribute.String("interlock.subject", req.Subject),
		attribute.String("interlock.step", req.Step),
		attribute.String("interlock.command_id", req.ID),
	))
}

// finish records what Execute came to, on the span, the metrics and the log.
func (o *observer) finish(ctx context.Context, span trace.Span, req *Request, out *Outcome, err error) {
	outcome, level := OutcomeError, slog.LevelError
	var denied *DeniedError
	switch {
	case err == nil && out != nil && out.Replayed:
		outcome, level = OutcomeReplayed, slog.LevelDebug
	case err == nil:
		outcome, level = OutcomeAllowed, slog.LevelDebug
	case errors.As(err, &denied):
		outcome, level = OutcomeDenied, slog.LevelInfo
	case errors.Is(err, storage.ErrOutcomeUnknown):
		outcome, level = OutcomeUnknown, slog.LevelWarn
	}
	// Without providers and with the log below this outcome's level,
	// nothing is built at all.
	logged := o.log.Enabled(ctx, level)
	if !o.traced && !o.metered && !logged {
		return
	}
	model := ""
	if req.Model != nil {
		model = req.Model.Name()
	}
	if o.metered {
		o.commands.Add(ctx, 1, metric.WithAttributes(attribute.String("interlock.model", model),
			attribute.String("interlock.command", string(req.Command)), attribute.String("interlock.outcome", outcome)))
	}
	if o.traced {
		span.SetAttributes(attribute.String("interlock.outcome", outcome))
	}
	switch outcome {
	case OutcomeDenied:
		for _, r := range denied.Reasons {
			if o.metered {
				o.failures.Add(ctx, 1, metric.WithAttributes(attribute.String("interlock.model", model),
					attribute.String("interlock.gate", r.Gate), attribute.String("interlock.code", string(r.Code))))
			}
			if o.traced {
				span.AddEvent("gate failed", trace.WithAttributes(attribute.String("interlock.gate", r.Gate), attribute.String("interlock.code", string(r.Code))))
			}
		}
		if !logged {
			break
		}
		o.log.LogAttrs(ctx, slog.LevelInfo, "command denied", slog.String("model", model), slog.String("command", string(req.Command)),
			slog.String("subject", req.Subject), slog.String("actor", req.Actor), slog.String("id", req.ID), slog.Int("reasons", len(denied.Reasons)),
			slog.String("first", string(denied.Reasons[0].Code)))
	case OutcomeUnknown, OutcomeError:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		if !logged {
			break
		}
		o.log.LogAttrs(ctx, level, "command failed", slog.String("model", model), slog.String("command", string(req.Command)),
			slog.String("subject", req.Subject), slog.String("id", req.ID), slog.String("outcome", outcome), slog.String("error", err.Error()))
	default:
		if !logged {
			break
		}
		o.log.LogAttrs(ctx, slog.LevelDebug, "command "+outcome, slog.String("model", model), slog.String("command", string(req.Command)),
			slog.String("subject", req.Subject), slog.String("actor", req.Actor), slog.String("id", req.ID))
	}
	span.End()
}

// retried counts and logs a command evaluated again after a conflict.
func (o *observer) retried(ctx context.Context, req *Request, attempt int, err error) {
	if o.metered {
		o.retries.Add(ctx, 1)
	}
	if o.traced {
		trace.SpanFromContext(ctx).AddEvent("retry", trace.WithAttributes(attribute.Int("interlock.attempt", attempt)))
	}
	o.log.LogAttrs(ctx, slog.LevelDebug, "command retried", slog.String("subject", req.Subject), slog.String("id", req.ID),
		slog.Int("attempt", attempt), slog.String("error", err.Error()))
}

// appended records how long an append took.
func (o *observer) appended(ctx context.Context, start time.Time) {
	if o.metered {
		o.appends.Record(ctx, time.Since(start).Seconds())
	}
}

// noSpan is the span of an engine without a tracer provider.
var noSpan = trace.SpanFromContext(context.Background())
