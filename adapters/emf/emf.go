// Package emf reports the pipeline's metrics the Lambda way: as CloudWatch Embedded
// Metric Format documents, one JSON log line each, which CloudWatch Logs turns into
// metrics with no agent and no API call. The metric names are those of /metrics (package
// metrics); a label becomes a dimension.
//
// Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Namespace is the CloudWatch namespace of the metrics.
const Namespace = "pusher"

// maxValues is the most values EMF takes in one metric's array.
const maxValues = 100

// Metrics is a pipeline.Observer that counts what the pipeline does and writes it as
// EMF documents on Flush. It is safe for concurrent use.
type Metrics struct {
	w   io.Writer
	now func() time.Time

	mu       sync.Mutex
	counts   map[series]float64
	inFlight float64
	breaker  float64
	postRate float64
	// latency holds the post durations, in seconds rounded to two significant digits,
	// by result label: EMF's Values and Counts.
	latency map[string]map[float64]int
}

// series is one metric and its dimension, if any.
type series struct {
	name       string
	dimensions string // "key=value,key=value" in key order; "" for none
}

var _ pipeline.Observer = (*Metrics)(nil)

// New returns metrics writing their documents to w, such as os.Stdout, which Lambda
// sends to CloudWatch Logs.
func New(w io.Writer) *Metrics {
	return &Metrics{w: w, now: time.Now, counts: map[series]float64{}, latency: map[string]map[float64]int{}}
}

// Attach makes p report to m.
func (m *Metrics) Attach(p *pipeline.Pipeline) { p.Observe(m) }

func (m *Metrics) add(name string, v float64, dims ...string) {
	m.mu.Lock()
	m.counts[series{name: name, dimensions: joinDimensions(dims)}] += v
	m.mu.Unlock()
}

// joinDimensions joins key, value pairs as "key=value,...".
func joinDimensions(kv []string) string {
	out := ""
	for i := 0; i+1 < len(kv); i += 2 {
		if out != "" {
			out += ","
		}
		out += kv[i] + "=" + kv[i+1]
	}
	return out
}

// RequestAdmitted implements pipeline.Observer.
func (m *Metrics) RequestAdmitted() {
	m.mu.Lock()
	m.inFlight++
	m.mu.Unlock()
}

// RequestSettled implements pipeline.Observer.
func (m *Metrics) RequestSettled(res pipeline.Result) {
	m.mu.Lock()
	m.inFlight--
	m.mu.Unlock()
	outcome := "settled"
	if res.Err != nil {
		outcome = "unsettled"
	}
	if res.Kind == "" {
		m.add("pusher_requests_total", 1, "outcome", outcome)
		return
	}
	m.add("pusher_requests_total", 1, "kind", res.Kind, "outcome", outcome)
}

// Progressed implements pipeline.Observer.
func (m *Metrics) Progressed(d pipeline.Stats) {
	for name, v := range map[string]int{
		"pusher_connections_total": d.Connections, "pusher_deliveries_total": d.Delivered,
		"pusher_prunes_total": d.Pruned, "pusher_connecting_total": d.Connecting,
	} {
		if v > 0 {
			m.add(name, float64(v))
		}
	}
}

// Parked implements pipeline.Observer.
func (m *Metrics) Parked(stage string, class pipeline.Class) {
	m.add("pusher_failures_total", 1, "class", string(class), "stage", stage)
}

// ParkFailed implements pipeline.Observer.
func (m *Metrics) ParkFailed(stage string, _ error) {
	m.add("pusher_park_failures_total", 1, "stage", stage)
}

// Posted implements pipeline.Observer.
func (m *Metrics) Posted(took time.Duration, err error) {
	result := pipeline.PostResult(err)
	m.mu.Lock()
	defer m.mu.Unlock()
	values := m.latency[result]
	if values == nil {
		values = map[float64]int{}
		m.latency[result] = values
	}
	values[round(took.Seconds(), 2)]++
}

// BreakerChanged implements pipeline.Observer.
func (m *Metrics) BreakerChanged(open bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.breaker = 0
	if open {
		m.breaker = 1
	}
}

// PostQueued implements pipeline.Observer: the seconds deliveries waited for their
// turn, summed.
func (m *Metrics) PostQueued(waited time.Duration) {
	if waited > 0 {
		m.add("pusher_post_wait_seconds_total", waited.Seconds())
	}
}

// PostRate implements pipeline.Observer.
func (m *Metrics) PostRate(rate float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.postRate = rate
}

// Flush writes what was counted since the last Flush, one document per set of
// dimensions, and starts counting again; the gauges (requests in flight, the breaker)
// are written as they stand. The Lambda function flushes at the end of each invocation.
func (m *Metrics) Flush() error {
	m.mu.Lock()
	counts, latency := m.counts, m.latency
	m.counts, m.latency = map[series]float64{}, map[string]map[float64]int{}
	gauges := map[string]float64{"pusher_requests_in_flight": m.inFlight, "pusher_post_breaker_open": m.breaker, "pusher_post_rate": m.postRate}
	m.mu.Unlock()

	docs := map[string]*document{}
	doc := func(dims string) *document {
		if d := docs[dims]; d != nil {
			return d
		}
		d := newDocument(m.now(), dims)
		docs[dims] = d
		return d
	}
	for name, v := range gauges {
		doc("").set(name, "Count", v)
	}
	for s, v := range counts {
		doc(s.dimensions).set(s.name, "Count", v)
	}
	for result, values := range latency {
		doc("result="+result).set("pusher_post_duration_seconds", "Seconds", distribution(values))
	}
	for _, dims := range slices.Sorted(maps.Keys(docs)) {
		b, err := json.Marshal(docs[dims].fields)
		if err != nil {
			return fmt.Errorf("emf: %w", err)
		}
		if _, err := m.w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("emf: write metrics: %w", err)
		}
	}
	return nil
}

// document is one EMF log line: the _aws metadata, the dimensions' values and the
// metrics' values as top-level members.
type document struct {
	fields  map[string]any
	metrics *[]metricDefinition
}

type metricDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

func newDocument(at time.Time, dims string) *document {
	fields := map[string]any{}
	keys := []string{}
	if dims != "" {
		for _, kv := range splitDimensions(dims) {
			fields[kv[0]] = kv[1]
			keys = append(keys, kv[0])
		}
	}
	metrics := &[]metricDefinition{}
	fields["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    metrics,
		}},
	}
	return &document{fields: fields, metrics: metrics}
}

func (d *document) set(name, unit string, v any) {
	d.fields[name] = v
	*d.metrics = append(*d.metrics, metricDefinition{Name: name, Unit: unit})
}

func splitDimensions(dims string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(dims, ",") {
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// distribution returns values as EMF's Values and Counts arrays, at most maxValues
// long: when there are more, rounding to one significant digit merges them (nine
// values a decade).
func distribution(values map[float64]int) map[string][]float64 {
	if len(values) > maxValues {
		coarse := map[float64]int{}
		for v, n := range values {
			coarse[round(v, 1)] += n
		}
		values = coarse
	}
	out := map[string][]float64{}
	for _, v := range slices.Sorted(maps.Keys(values)) {
		out["Values"] = append(out["Values"], v)
		out["Counts"] = append(out["Counts"], float64(values[v]))
	}
	return out
}

// round rounds v to digits significant digits (at least one).
func round(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	digits = max(digits, 1)
	scale := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	r, _ := strconv.ParseFloat(strconv.FormatFloat(math.Round(v*scale)/scale, 'g', digits, 64), 64)
	return r
}
