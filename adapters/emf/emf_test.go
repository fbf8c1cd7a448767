package emf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// document is an EMF document as CloudWatch reads it.
type document struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct{ Name, Unit string }
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	fields map[string]any
}

func parse(t *testing.T, out string) []document {
	t.Helper()
	var docs []document
	for line := range strings.Lines(out) {
		var d document
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		_ = json.Unmarshal([]byte(line), &d.fields)
		if len(d.AWS.CloudWatchMetrics) != 1 || d.AWS.CloudWatchMetrics[0].Namespace != "pusher" || d.AWS.Timestamp == 0 {
			t.Fatalf("not an EMF document of namespace pusher: %s", line)
		}
		// Every metric the metadata names has its value, every dimension its value.
		for _, m := range d.AWS.CloudWatchMetrics[0].Metrics {
			if _, ok := d.fields[m.Name]; !ok {
				t.Errorf("metric %s has no value in %s", m.Name, line)
			}
		}
		for _, dims := range d.AWS.CloudWatchMetrics[0].Dimensions {
			for _, k := range dims {
				if _, ok := d.fields[k].(string); !ok {
					t.Errorf("dimension %s has no value in %s", k, line)
				}
			}
		}
		docs = append(docs, d)
	}
	return docs
}

// value returns the value of metric name in the document whose dimensions are dims.
func value(docs []document, name string, dims map[string]string) any {
	for _, d := range docs {
		match := len(d.AWS.CloudWatchMetrics[0].Dimensions[0]) == len(dims)
		for k, v := range dims {
			match = match && d.fields[k] == v
		}
		if match {
			return d.fields[name]
		}
	}
	return nil
}

// TestFlush reports a few requests and writes them as EMF: the names are those of
// /metrics, labels are dimensions, and a second Flush starts from zero.
func TestFlush(t *testing.T) {
	var out bytes.Buffer
	m := emf.New(&out)
	m.RequestAdmitted()
	m.RequestAdmitted()
	m.RequestSettled(pipeline.Result{})
	m.Progressed(pipeline.Stats{Connections: 3, Delivered: 2})
	m.Progressed(pipeline.Stats{Delivered: 1, Pruned: 1})
	m.Parked(pipeline.StagePost, pipeline.Transient)
	m.ParkFailed(pipeline.StageDecode, errors.New("throttled"))
	for i := range 150 {
		m.Posted(time.Duration(i)*time.Millisecond+time.Millisecond, nil)
	}
	m.Posted(time.Millisecond, handlers.ErrGone)
	m.BreakerChanged(true)

	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	docs := parse(t, out.String())
	for _, c := range []struct {
		name string
		dims map[string]string
		want any
	}{
		{"pusher_requests_in_flight", nil, 1.0},
		{"pusher_post_breaker_open", nil, 1.0},
		{"pusher_connections_total", nil, 3.0},
		{"pusher_deliveries_total", nil, 3.0},
		{"pusher_prunes_total", nil, 1.0},
		{"pusher_requests_total", map[string]string{"outcome": "settled"}, 1.0},
		{"pusher_failures_total", map[string]string{"stage": "post", "class": "transient"}, 1.0},
		{"pusher_park_failures_total", map[string]string{"stage": "decode"}, 1.0},
	} {
		if got := value(docs, c.name, c.dims); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.dims, got, c.want)
		}
	}
	dist, _ := value(docs, "pusher_post_duration_seconds", map[string]string{"result": "delivered"}).(map[string]any)
	values, _ := dist["Values"].([]any)
	counts, _ := dist["Counts"].([]any)
	total := 0.0
	for _, c := range counts {
		total += c.(float64)
	}
	if len(values) == 0 || len(values) > 100 || len(values) != len(counts) || total != 150 {
		t.Errorf("delivered post durations: %d values, %d counts adding up to %v; want at most 100, counting 150", len(values), len(counts), total)
	}
	if got := value(docs, "pusher_post_duration_seconds", map[string]string{"result": "gone"}); got == nil {
		t.Error("no duration of the gone post")
	}

	out.Reset()
	m.Progressed(pipeline.Stats{Delivered: 5})
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	docs = parse(t, out.String())
	if got := value(docs, "pusher_deliveries_total", nil); got != 5.0 {
		t.Errorf("second flush: deliveries %v, want the 5 since the first", got)
	}
	if got := value(docs, "pusher_requests_total", map[string]string{"outcome": "settled"}); got != nil {
		t.Errorf("second flush wrote requests_total %v again", got)
	}
}
