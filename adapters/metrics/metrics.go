// Package metrics exports the pusher's Prometheus metrics: Watermill's router, publisher
// and subscriber metrics, and the pipeline's own, counted as the work happens: requests
// in flight and settled, deliveries, prunes, parks and failed parks by stage, post
// latency and the state of the gateway's circuit breaker.
package metrics

import (
	"cmp"
	"net/http"
	"time"

	wmmetrics "github.com/ThreeDotsLabs/watermill/components/metrics"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

const namespace = "pusher"

// Metrics is a pipeline.Observer that counts into a Prometheus registry of its own.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	inFlight     prometheus.Gauge
	connections  prometheus.Counter
	deliveries   prometheus.Counter
	prunes       prometheus.Counter
	connecting   prometheus.Counter
	failures     *prometheus.CounterVec
	parkFailures *prometheus.CounterVec
	postLatency  *prometheus.HistogramVec
	breakerOpen  prometheus.Gauge
	postQueued   prometheus.Histogram
	postRate     prometheus.Gauge
}

var _ pipeline.Observer = (*Metrics)(nil)

// New returns metrics on a new registry that also holds the Go and process collectors.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "requests_total",
			Help: "Notification requests by kind (multicast, topics, broadcast, exclusion; none for one that did not decode) and outcome: settled (done or parked) or unsettled (redelivered)."}, []string{"kind", "outcome"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "requests_in_flight",
			Help: "Notification requests admitted and not yet settled."}),
		connections: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "connections_total",
			Help: "Connections that requests were fanned out to."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "deliveries_total",
			Help: "Frames the gateway took."}),
		prunes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "prunes_total",
			Help: "Stale connections deleted from the store."}),
		connecting: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "connecting_total",
			Help: "Deliveries the gateway answered 410 for a connection still in $connect: not delivered, not pruned."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "failures_total",
			Help: "Messages parked in the poison queue, by stage and error class."}, []string{"stage", "class"}),
		parkFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "park_failures_total",
			Help: "Messages that could be neither done nor parked, by stage: their requests are redelivered."}, []string{"stage"}),
		postLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "post_duration_seconds",
			Help: "Management API post attempts by result: delivered, gone or error.", Buckets: prometheus.DefBuckets}, []string{"result"}),
		breakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "post_breaker_open",
			Help: "1 while the gateway's circuit breaker is open and posts wait for it to half-open."}),
		postQueued: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "post_wait_seconds",
			Help: "How long deliveries waited for their turn to be posted: for a post slot (POST_CONCURRENCY) and, with POST_RATE, for the rate.", Buckets: prometheus.DefBuckets}),
		postRate: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "post_rate",
			Help: "Posts a second that pacing allows (POST_RATE, lowered after a 429 and raised back as posts pass); 0 when posts are unpaced."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.inFlight, m.connections, m.deliveries, m.prunes, m.connecting, m.failures,
		m.parkFailures, m.postLatency, m.breakerOpen, m.postQueued, m.postRate,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Attach makes p report to m, and decorates p's Watermill routers with Watermill's metrics.
func (m *Metrics) Attach(p *pipeline.Pipeline) {
	p.Observe(m)
	builder := wmmetrics.NewPrometheusMetricsBuilder(m.registry, namespace, "watermill")
	p.AddRouterPlugin(func(r *message.Router) error {
		builder.AddPrometheusRouterMetrics(r)
		return nil
	})
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// RequestAdmitted implements pipeline.Observer.
func (m *Metrics) RequestAdmitted() { m.inFlight.Inc() }

// RequestSettled implements pipeline.Observer.
func (m *Metrics) RequestSettled(res pipeline.Result) {
	m.inFlight.Dec()
	outcome := "settled"
	if res.Err != nil {
		outcome = "unsettled"
	}
	// A request that did not decode has no kind: "none", as the help and the docs say (an
	// empty label is no label to Prometheus).
	m.requests.WithLabelValues(cmp.Or(res.Kind, "none"), outcome).Inc()
}

// Progressed implements pipeline.Observer.
func (m *Metrics) Progressed(d pipeline.Stats) {
	if d.Connections > 0 {
		m.connections.Add(float64(d.Connections))
	}
	if d.Delivered > 0 {
		m.deliveries.Add(float64(d.Delivered))
	}
	if d.Pruned > 0 {
		m.prunes.Add(float64(d.Pruned))
	}
	if d.Connecting > 0 {
		m.connecting.Add(float64(d.Connecting))
	}
}

// ParkFailed implements pipeline.Observer.
func (m *Metrics) ParkFailed(stage string, _ error) { m.parkFailures.WithLabelValues(stage).Inc() }

// BreakerChanged implements pipeline.Observer.
func (m *Metrics) BreakerChanged(open bool) {
	if open {
		m.breakerOpen.Set(1)
	} else {
		m.breakerOpen.Set(0)
	}
}

// PostQueued implements pipeline.Observer.
func (m *Metrics) PostQueued(waited time.Duration) { m.postQueued.Observe(waited.Seconds()) }

// PostRate implements pipeline.Observer.
func (m *Metrics) PostRate(rate float64) { m.postRate.Set(rate) }

// Parked implements pipeline.Observer.
func (m *Metrics) Parked(stage string, class pipeline.Class) {
	m.failures.WithLabelValues(stage, string(class)).Inc()
}

// Posted implements pipeline.Observer.
func (m *Metrics) Posted(took time.Duration, err error) {
	result := pipeline.PostResult(err)
	m.postLatency.WithLabelValues(result).Observe(took.Seconds())
}
