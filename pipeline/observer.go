package pipeline

import (
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Observer learns what the pipeline does, as it happens, for metrics: a long broadcast
// shows its progress. Its methods are called on the hot path, concurrently: they must
// be quick and safe for concurrent use. Embed NopObserver to implement a few of them.
type Observer interface {
	// RequestAdmitted reports a request taken into the pipeline.
	RequestAdmitted()
	// RequestSettled reports an admitted request whose work is all done or parked
	// (res.Err nil), or that could not be settled (res.Err set).
	RequestSettled(res Result)
	// Progressed reports what one message did as it settled: connections fanned out,
	// a delivery, a prune. Parked messages are reported by Parked.
	Progressed(delta Stats)
	// Parked reports a message parked in the poison queue by stage.
	Parked(stage string, class Class)
	// ParkFailed reports a message stage could not park, which leaves its request
	// unsettled.
	ParkFailed(stage string, err error)
	// Posted reports one post attempt and how long it took; err is nil, wraps
	// handlers.ErrGone, or is the failure.
	Posted(took time.Duration, err error)
	// BreakerChanged reports the post stage's circuit breaker opening or closing.
	BreakerChanged(open bool)
	// PostQueued reports how long a delivery waited for its turn to be posted: for one
	// of the PostConcurrency posts in flight and, with pacing, for the rate.
	PostQueued(waited time.Duration)
	// PostRate reports the post rate that pacing moved to (Config.Pace), in posts a
	// second: lowered for a throttled post, raised back as posts pass.
	PostRate(rate float64)
}

// NopObserver implements Observer by doing nothing.
type NopObserver struct{}

// RequestAdmitted implements Observer.
func (NopObserver) RequestAdmitted() {}

// RequestSettled implements Observer.
func (NopObserver) RequestSettled(Result) {}

// Progressed implements Observer.
func (NopObserver) Progressed(Stats) {}

// Parked implements Observer.
func (NopObserver) Parked(string, Class) {}

// ParkFailed implements Observer.
func (NopObserver) ParkFailed(string, error) {}

// Posted implements Observer.
func (NopObserver) Posted(time.Duration, error) {}

// BreakerChanged implements Observer.
func (NopObserver) BreakerChanged(bool) {}

// PostQueued implements Observer.
func (NopObserver) PostQueued(time.Duration) {}

// PostRate implements Observer.
func (NopObserver) PostRate(float64) {}

// Observe makes o learn what the pipeline does. Call it before Run.
func (p *Pipeline) Observe(o Observer) { p.observers = append(p.observers, o) }

// AddRouterPlugin runs plugin on both routers when Run starts them, as Watermill's
// metrics do with metrics.PrometheusMetricsBuilder.AddPrometheusRouterMetrics.
func (p *Pipeline) AddRouterPlugin(plugin message.RouterPlugin) {
	p.plugins = append(p.plugins, plugin)
}

type observers []Observer

func (o observers) RequestAdmitted() {
	for _, x := range o {
		x.RequestAdmitted()
	}
}

func (o observers) RequestSettled(res Result) {
	for _, x := range o {
		x.RequestSettled(res)
	}
}

func (o observers) Progressed(delta Stats) {
	if delta == (Stats{}) {
		return
	}
	for _, x := range o {
		x.Progressed(delta)
	}
}

func (o observers) Parked(stage string, class Class) {
	for _, x := range o {
		x.Parked(stage, class)
	}
}

func (o observers) ParkFailed(stage string, err error) {
	for _, x := range o {
		x.ParkFailed(stage, err)
	}
}

func (o observers) Posted(took time.Duration, err error) {
	for _, x := range o {
		x.Posted(took, err)
	}
}

func (o observers) BreakerChanged(open bool) {
	for _, x := range o {
		x.BreakerChanged(open)
	}
}

func (o observers) PostQueued(waited time.Duration) {
	for _, x := range o {
		x.PostQueued(waited)
	}
}

func (o observers) PostRate(rate float64) {
	for _, x := range o {
		x.PostRate(rate)
	}
}

// PostResult names what a post's outcome err, as Observer.Posted reports it, was for
// metrics: "delivered", "gone" (handlers.ErrGone), "throttled" (handlers.ErrThrottled:
// a 429) or "error".
func PostResult(err error) string {
	switch {
	case err == nil:
		return "delivered"
	case errors.Is(err, handlers.ErrGone):
		return "gone"
	case errors.Is(err, handlers.ErrThrottled):
		return "throttled"
	}
	return "error"
}
