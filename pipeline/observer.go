package pipeline

import (
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Observer learns what the pipeline does, for metrics. Its methods are called on the
// hot path, concurrently: they must be quick and safe for concurrent use.
type Observer interface {
	// RequestSettled reports a request whose work is all done or parked (res.Err nil),
	// or that could not be settled (res.Err set).
	RequestSettled(res Result)
	// Parked reports a message parked in the poison queue by stage.
	Parked(stage string, class Class)
	// Posted reports one post attempt and how long it took; err is nil, wraps
	// handlers.ErrGone, or is the failure.
	Posted(took time.Duration, err error)
}

// Observe makes o learn what the pipeline does. Call it before Run.
func (p *Pipeline) Observe(o Observer) { p.observers = append(p.observers, o) }

// AddRouterPlugin runs plugin on both routers when Run starts them, as Watermill's
// metrics do with metrics.PrometheusMetricsBuilder.AddPrometheusRouterMetrics.
func (p *Pipeline) AddRouterPlugin(plugin message.RouterPlugin) {
	p.plugins = append(p.plugins, plugin)
}

type observers []Observer

func (o observers) RequestSettled(res Result) {
	for _, x := range o {
		x.RequestSettled(res)
	}
}

func (o observers) Parked(stage string, class Class) {
	for _, x := range o {
		x.Parked(stage, class)
	}
}

func (o observers) Posted(took time.Duration, err error) {
	for _, x := range o {
		x.Posted(took, err)
	}
}
