package metrics_test

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/adapters/metrics"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// exposition is what a Prometheus server scrapes from the metrics' Handler.
type exposition struct {
	// samples maps each series, as it is written (`name{label="value",...}`), to its
	// value as written.
	samples map[string]string
	// types maps each metric family to its # TYPE.
	types map[string]string
	text  string
}

// serve serves m's Handler on a listener of 127.0.0.1 until the test ends, and returns
// its URL.
func serve(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// scrape GETs url as a Prometheus server does, and parses the text format.
func scrape(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %s, Content-Type %q:\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	e := exposition{samples: map[string]string{}, types: map[string]string{}, text: string(body)}
	lines := bufio.NewScanner(strings.NewReader(e.text))
	for lines.Scan() {
		line := lines.Text()
		if family, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(family, " ")
			e.types[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("scrape: a sample line without a value: %q", line)
		}
		e.samples[line[:i]] = line[i+1:]
	}
	return e
}

// check fails the test for each series of want that e does not have with its value, and
// each series of absent that it has.
func (e exposition) check(t *testing.T, want map[string]string, absent ...string) {
	t.Helper()
	for series, value := range want {
		got, ok := e.samples[series]
		switch {
		case !ok:
			t.Errorf("no %s in the exposition; it has:\n%s", series, e.pusher())
		case got != value:
			t.Errorf("%s = %s, want %s", series, got, value)
		}
	}
	for _, series := range absent {
		if got, ok := e.samples[series]; ok {
			t.Errorf("%s = %s, want no such series", series, got)
		}
	}
}

// pusher returns the lines of the pusher's own series, for failure messages.
func (e exposition) pusher() string {
	var b strings.Builder
	for line := range strings.Lines(e.text) {
		if strings.HasPrefix(line, "pusher_") && !strings.HasPrefix(line, "pusher_watermill_") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestExpositionNamesAndTypes checks the names and types dashboards and alerts are
// written against (deploy/README.md, Monitoring), as a fresh process exposes them: the
// gauges and unlabelled counters at 0 from the first scrape, so that rate() and absent()
// work before the first request.
func TestExpositionNamesAndTypes(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, m)
	e := scrape(t, url)
	e.check(t, map[string]string{
		"pusher_requests_in_flight": "0",
		"pusher_connections_total":  "0",
		"pusher_deliveries_total":   "0",
		"pusher_prunes_total":       "0",
		"pusher_connecting_total":   "0",
		"pusher_post_breaker_open":  "0",
	})
	for family, typ := range map[string]string{
		"pusher_requests_in_flight": "gauge",
		"pusher_connections_total":  "counter",
		"pusher_deliveries_total":   "counter",
		"pusher_prunes_total":       "counter",
		"pusher_connecting_total":   "counter",
		"pusher_post_breaker_open":  "gauge",
		// The Go and process collectors New adds.
		"go_goroutines":                 "gauge",
		"process_cpu_seconds_total":     "counter",
		"process_resident_memory_bytes": "gauge",
	} {
		if got := e.types[family]; got != typ {
			t.Errorf("# TYPE %s is %q, want %q", family, got, typ)
		}
	}

	// A labelled family has no # TYPE until its first series.
	m.RequestSettled(pipeline.Result{Shape: pipeline.Shape{Kind: "multicast"}})
	m.Parked(pipeline.StagePost, pipeline.Permanent)
	m.ParkFailed(pipeline.StagePost, errors.New("queue down"))
	m.Posted(time.Millisecond, nil)
	e = scrape(t, url)
	for family, typ := range map[string]string{
		"pusher_requests_total":        "counter",
		"pusher_failures_total":        "counter",
		"pusher_park_failures_total":   "counter",
		"pusher_post_duration_seconds": "histogram",
	} {
		if got := e.types[family]; got != typ {
			t.Errorf("# TYPE %s is %q, want %q", family, got, typ)
		}
	}
}

// TestObserver drives Metrics through the pipeline.Observer methods, as the pipeline
// calls them, and checks what a scrape then shows.
func TestObserver(t *testing.T) {
	gone := fmt.Errorf("post to connection c1: %w", handlers.ErrGone)
	tests := []struct {
		name    string
		observe func(o pipeline.Observer)
		want    map[string]string
		absent  []string
	}{
		{
			name: "requests in flight until they settle",
			observe: func(o pipeline.Observer) {
				o.RequestAdmitted()
				o.RequestAdmitted()
				o.RequestAdmitted()
				o.RequestSettled(pipeline.Result{Shape: pipeline.Shape{Kind: "multicast"}})
			},
			want: map[string]string{
				"pusher_requests_in_flight":                                 "2",
				`pusher_requests_total{kind="multicast",outcome="settled"}`: "1",
			},
			absent: []string{`pusher_requests_total{kind="multicast",outcome="unsettled"}`},
		},
		{
			name: "settled and unsettled requests by kind",
			observe: func(o pipeline.Observer) {
				for _, res := range []pipeline.Result{
					{Shape: pipeline.Shape{Kind: "broadcast"}},
					{Shape: pipeline.Shape{Kind: "broadcast"}},
					{Shape: pipeline.Shape{Kind: "broadcast"}, Err: errors.New("request deadline passed")},
					{Shape: pipeline.Shape{Kind: "topics"}},
					{Shape: pipeline.Shape{Kind: "exclusion"}, Err: errors.New("pipeline stopped")},
				} {
					o.RequestAdmitted()
					o.RequestSettled(res)
				}
			},
			want: map[string]string{
				"pusher_requests_in_flight":                                   "0",
				`pusher_requests_total{kind="broadcast",outcome="settled"}`:   "2",
				`pusher_requests_total{kind="broadcast",outcome="unsettled"}`: "1",
				`pusher_requests_total{kind="topics",outcome="settled"}`:      "1",
				`pusher_requests_total{kind="exclusion",outcome="unsettled"}`: "1",
			},
		},
		{
			// deploy/README.md and the metric's help: "none for one that did not decode".
			name: "a request that did not decode is of kind none",
			observe: func(o pipeline.Observer) {
				o.RequestAdmitted()
				o.RequestSettled(pipeline.Result{Stats: pipeline.Stats{Failed: 1}})
			},
			want:   map[string]string{`pusher_requests_total{kind="none",outcome="settled"}`: "1"},
			absent: []string{`pusher_requests_total{kind="",outcome="settled"}`},
		},
		{
			name: "progress adds up as messages settle",
			observe: func(o pipeline.Observer) {
				o.Progressed(pipeline.Stats{Connections: 500})
				o.Progressed(pipeline.Stats{Delivered: 1})
				o.Progressed(pipeline.Stats{Delivered: 1})
				o.Progressed(pipeline.Stats{Pruned: 1})
				o.Progressed(pipeline.Stats{Connecting: 1})
				o.Progressed(pipeline.Stats{Connections: 250, Delivered: 3, Pruned: 2, Connecting: 1})
			},
			want: map[string]string{
				"pusher_connections_total": "750",
				"pusher_deliveries_total":  "5",
				"pusher_prunes_total":      "3",
				"pusher_connecting_total":  "2",
			},
		},
		{
			name: "parks by stage and class",
			observe: func(o pipeline.Observer) {
				o.Parked(pipeline.StagePost, pipeline.Permanent)
				o.Parked(pipeline.StagePost, pipeline.Permanent)
				o.Parked(pipeline.StagePost, pipeline.Transient)
				o.Parked(pipeline.StageDecode, pipeline.Permanent)
				o.Parked("drop-muted", pipeline.Transient)
			},
			want: map[string]string{
				`pusher_failures_total{class="permanent",stage="post"}`:       "2",
				`pusher_failures_total{class="transient",stage="post"}`:       "1",
				`pusher_failures_total{class="permanent",stage="decode"}`:     "1",
				`pusher_failures_total{class="transient",stage="drop-muted"}`: "1",
			},
		},
		{
			name: "messages neither done nor parked by stage",
			observe: func(o pipeline.Observer) {
				o.ParkFailed(pipeline.StagePost, errors.New("poison queue: access denied"))
				o.ParkFailed(pipeline.StagePost, errors.New("poison queue: access denied"))
				o.ParkFailed(pipeline.StageResolve, errors.New("poison queue: access denied"))
			},
			want: map[string]string{
				`pusher_park_failures_total{stage="post"}`:    "2",
				`pusher_park_failures_total{stage="resolve"}`: "1",
			},
			absent: []string{`pusher_failures_total{class="permanent",stage="post"}`},
		},
		{
			name: "post latency by result, in the default buckets",
			observe: func(o pipeline.Observer) {
				o.Posted(30*time.Millisecond, nil)
				o.Posted(70*time.Millisecond, nil)
				o.Posted(2*time.Millisecond, gone)
				o.Posted(20*time.Second, errors.New("post to connection c1: 503 Service Unavailable"))
			},
			want: map[string]string{
				`pusher_post_duration_seconds_bucket{result="delivered",le="0.025"}`: "0",
				`pusher_post_duration_seconds_bucket{result="delivered",le="0.05"}`:  "1",
				`pusher_post_duration_seconds_bucket{result="delivered",le="0.1"}`:   "2",
				`pusher_post_duration_seconds_bucket{result="delivered",le="+Inf"}`:  "2",
				`pusher_post_duration_seconds_sum{result="delivered"}`:               "0.1",
				`pusher_post_duration_seconds_count{result="delivered"}`:             "2",
				`pusher_post_duration_seconds_bucket{result="gone",le="0.005"}`:      "1",
				`pusher_post_duration_seconds_count{result="gone"}`:                  "1",
				`pusher_post_duration_seconds_bucket{result="error",le="10"}`:        "0",
				`pusher_post_duration_seconds_bucket{result="error",le="+Inf"}`:      "1",
				`pusher_post_duration_seconds_sum{result="error"}`:                   "20",
				`pusher_post_duration_seconds_count{result="error"}`:                 "1",
			},
		},
		{
			name:    "breaker open",
			observe: func(o pipeline.Observer) { o.BreakerChanged(true) },
			want:    map[string]string{"pusher_post_breaker_open": "1"},
		},
		{
			name: "breaker open then closed",
			observe: func(o pipeline.Observer) {
				o.BreakerChanged(true)
				o.BreakerChanged(false)
			},
			want: map[string]string{"pusher_post_breaker_open": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.New()
			if err != nil {
				t.Fatal(err)
			}
			tt.observe(m)
			scrape(t, serve(t, m)).check(t, tt.want, tt.absent...)
		})
	}
}

// TestObserverConcurrently checks that counts from many goroutines, as the pipeline's
// stages report them, all land.
func TestObserverConcurrently(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.RequestAdmitted()
				m.Progressed(pipeline.Stats{Connections: 2, Delivered: 1, Pruned: 1})
				m.Posted(time.Millisecond, nil)
				m.RequestSettled(pipeline.Result{Shape: pipeline.Shape{Kind: "multicast"}})
			}
		})
	}
	wg.Wait()
	scrape(t, serve(t, m)).check(t, map[string]string{
		"pusher_requests_in_flight":                                 "0",
		`pusher_requests_total{kind="multicast",outcome="settled"}`: "800",
		"pusher_connections_total":                                  "1600",
		"pusher_deliveries_total":                                   "800",
		"pusher_prunes_total":                                       "800",
		`pusher_post_duration_seconds_count{result="delivered"}`:    "800",
	})
}

// gateway is a handlers.Poster that takes every frame but for the connections it is
// told about: those it answers as the Management API would (410, 413), and those it
// holds until their post is given up.
type gateway struct {
	gone    map[string]bool // answered 410 Gone
	refused map[string]bool // answered 413, which no retry can pass
	down    map[string]bool // answered 503, which the breaker counts
	hang    map[string]bool // never answered
	called  chan string     // gets each connection posted to, if not nil
}

func (g *gateway) PostToConnection(ctx context.Context, id string, _ []byte) error {
	if g.called != nil {
		select {
		case g.called <- id:
		default:
		}
	}
	switch {
	case g.gone[id]:
		return fmt.Errorf("post to connection %s: %w", id, handlers.ErrGone)
	case g.refused[id]:
		return fmt.Errorf("post to connection %s: %w", id, handlers.Permanent(errors.New("413 Request Entity Too Large")))
	case g.down[id]:
		return fmt.Errorf("post to connection %s: 503 Service Unavailable", id)
	case g.hang[id]:
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// refusingQueue is a poison queue that refuses every message for good.
type refusingQueue struct{}

func (refusingQueue) Publish(string, ...*message.Message) error {
	return handlers.Permanent(errors.New("poison queue: AccessDenied"))
}

func (refusingQueue) Close() error { return nil }

// run runs, until the test ends, a pipeline on a memory store holding conns, posting
// through gw and parking on poison, with m attached as `pusher serve` attaches it.
func run(t *testing.T, cfg pipeline.Config, m *metrics.Metrics, gw handlers.Poster, poison message.Publisher, conns ...handlers.Connection) *pipeline.Pipeline {
	t.Helper()
	store := memory.NewStore(2)
	for _, c := range conns {
		if err := store.AddConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Retry.InitialInterval = time.Millisecond
	p, err := pipeline.New(cfg, store, gw, poison, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	m.Attach(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-p.Running():
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return p
}

// conn is a connection of long ago: a 410 for it is a stale connection, pruned.
func conn(user, id string) handlers.Connection {
	return handlers.Connection{UserID: user, ConnectionID: id, ConnectedAt: time.Now().Add(-time.Hour)}
}

// TestPipelineMetrics runs requests through a real pipeline that reports to Metrics, and
// checks what an operator's scrape shows once they are settled.
func TestPipelineMetrics(t *testing.T) {
	connecting := handlers.Connection{UserID: "new", ConnectionID: "new-1", ConnectedAt: time.Now()}
	tests := []struct {
		name     string
		conns    []handlers.Connection
		gw       *gateway
		poison   message.Publisher
		requests []string
		// timeout bounds each request's Process; zero means 10s.
		timeout   time.Duration
		unsettled bool
		want      map[string]string
		absent    []string
	}{
		{
			name:     "multicast delivered",
			conns:    []handlers.Connection{conn("ann", "ann-1"), conn("ann", "ann-2"), conn("bo", "bo-1")},
			requests: []string{`{"users":["ann"],"data":{"text":"hi"}}`},
			want: map[string]string{
				`pusher_requests_total{kind="multicast",outcome="settled"}`: "1",
				"pusher_requests_in_flight":                                 "0",
				"pusher_connections_total":                                  "2",
				"pusher_deliveries_total":                                   "2",
				"pusher_prunes_total":                                       "0",
				"pusher_connecting_total":                                   "0",
				`pusher_post_duration_seconds_count{result="delivered"}`:    "2",
			},
			absent: []string{
				`pusher_post_duration_seconds_count{result="gone"}`,
				`pusher_post_duration_seconds_count{result="error"}`,
				`pusher_failures_total{class="permanent",stage="post"}`,
			},
		},
		{
			name: "broadcast: delivered, pruned, connecting and parked",
			conns: []handlers.Connection{conn("ann", "ann-1"), conn("old", "old-1"), connecting,
				conn("big", "big-1")},
			gw: &gateway{
				gone:    map[string]bool{"old-1": true, "new-1": true},
				refused: map[string]bool{"big-1": true},
			},
			requests: []string{`{"data":{"text":"to all"}}`, `{"users":["ann","bo"],"data":{"text":"hi"}}`},
			want: map[string]string{
				`pusher_requests_total{kind="broadcast",outcome="settled"}`: "1",
				`pusher_requests_total{kind="multicast",outcome="settled"}`: "1",
				"pusher_requests_in_flight":                                 "0",
				"pusher_connections_total":                                  "5",
				"pusher_deliveries_total":                                   "2",
				"pusher_prunes_total":                                       "1",
				"pusher_connecting_total":                                   "1",
				`pusher_failures_total{class="permanent",stage="post"}`:     "1",
				`pusher_post_duration_seconds_count{result="delivered"}`:    "2",
				`pusher_post_duration_seconds_count{result="gone"}`:         "2",
				`pusher_post_duration_seconds_count{result="error"}`:        "1",
			},
			absent: []string{`pusher_park_failures_total{stage="post"}`},
		},
		{
			name:     "request that does not decode is parked",
			conns:    []handlers.Connection{conn("ann", "ann-1")},
			requests: []string{`not json`, `{"users":"ann"}`},
			want: map[string]string{
				`pusher_requests_total{kind="none",outcome="settled"}`:    "2",
				`pusher_failures_total{class="permanent",stage="decode"}`: "2",
				"pusher_connections_total":                                "0",
				"pusher_deliveries_total":                                 "0",
			},
		},
		{
			name:      "a park the poison queue refuses leaves the request unsettled",
			conns:     []handlers.Connection{conn("big", "big-1"), conn("big", "big-2")},
			gw:        &gateway{refused: map[string]bool{"big-1": true}},
			poison:    refusingQueue{},
			requests:  []string{`{"users":["big"],"data":{"text":"hi"}}`},
			unsettled: true,
			want: map[string]string{
				`pusher_requests_total{kind="multicast",outcome="unsettled"}`: "1",
				`pusher_park_failures_total{stage="post"}`:                    "1",
				"pusher_requests_in_flight":                                   "0",
				"pusher_deliveries_total":                                     "1",
			},
			absent: []string{
				`pusher_requests_total{kind="multicast",outcome="settled"}`,
				`pusher_failures_total{class="permanent",stage="post"}`,
			},
		},
		{
			name:      "a request its caller gives up on is unsettled",
			conns:     []handlers.Connection{conn("ann", "ann-1"), conn("slow", "slow-1")},
			gw:        &gateway{hang: map[string]bool{"slow-1": true}},
			requests:  []string{`{"exclude_users":["nobody"],"data":{"text":"hi"}}`},
			timeout:   300 * time.Millisecond,
			unsettled: true,
			want: map[string]string{
				`pusher_requests_total{kind="exclusion",outcome="unsettled"}`: "1",
				"pusher_requests_in_flight":                                   "0",
				"pusher_connections_total":                                    "2",
				"pusher_deliveries_total":                                     "1",
			},
			// Work cut short because its request ended is not parked.
			absent: []string{`pusher_failures_total{class="transient",stage="post"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := metrics.New()
			if err != nil {
				t.Fatal(err)
			}
			gw := tt.gw
			if gw == nil {
				gw = &gateway{}
			}
			poison := tt.poison
			if poison == nil {
				poison = memory.NewPoisonQueue()
			}
			p := run(t, pipeline.Config{}, m, gw, poison, tt.conns...)
			for _, body := range tt.requests {
				ctx, cancel := context.WithTimeout(t.Context(), cmp.Or(tt.timeout, 10*time.Second))
				_, err := p.Process(ctx, message.NewMessage(watermill.NewUUID(), []byte(body)))
				cancel()
				if (err != nil) != tt.unsettled {
					t.Fatalf("process %s: %v, want unsettled %v", body, err, tt.unsettled)
				}
			}
			scrape(t, serve(t, m)).check(t, tt.want, tt.absent...)
		})
	}
}

// TestPipelineMetricsWhileInFlight scrapes while a request is held by a gateway that is
// down: the request shows in flight and the breaker open, as an operator paged for it
// would see them, and both clear once the request is given up on and the gateway
// answers again.
func TestPipelineMetricsWhileInFlight(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway{down: map[string]bool{"ann-1": true}, called: make(chan string, 1)}
	cfg := pipeline.Config{Breaker: pipeline.BreakerConfig{Failures: 1, OpenFor: time.Hour}}
	p := run(t, cfg, m, gw, memory.NewPoisonQueue(), conn("ann", "ann-1"))
	url := serve(t, m)

	ctx, cancel := context.WithCancel(t.Context())
	processed := make(chan error, 1)
	go func() {
		_, err := p.Process(ctx, message.NewMessage(watermill.NewUUID(), []byte(`{"users":["ann"],"data":{}}`)))
		processed <- err
	}()
	<-gw.called
	var e exposition
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if e = scrape(t, url); e.samples["pusher_post_breaker_open"] == "1" {
			break
		}
	}
	e.check(t, map[string]string{
		"pusher_post_breaker_open":                           "1",
		"pusher_requests_in_flight":                          "1",
		`pusher_post_duration_seconds_count{result="error"}`: "1",
		"pusher_deliveries_total":                            "0",
	}, `pusher_requests_total{kind="multicast",outcome="unsettled"}`)

	cancel()
	if err := <-processed; err == nil {
		t.Fatal("process: settled, want unsettled: the gateway is down")
	}
	scrape(t, url).check(t, map[string]string{
		"pusher_requests_in_flight":                                   "0",
		`pusher_requests_total{kind="multicast",outcome="unsettled"}`: "1",
		// The posts it held are not parked: the request comes back.
		"pusher_post_breaker_open": "1",
	}, `pusher_failures_total{class="transient",stage="post"}`)
}

// TestAttachAddsWatermillMetrics checks that Attach also decorates the pipeline's
// routers with Watermill's metrics, under pusher_watermill_, by stage.
func TestAttachAddsWatermillMetrics(t *testing.T) {
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	p := run(t, pipeline.Config{}, m, &gateway{}, memory.NewPoisonQueue(), conn("ann", "ann-1"))
	url := serve(t, m)
	if _, err := p.Process(t.Context(), message.NewMessage(watermill.NewUUID(), []byte(`{"users":["ann"],"data":{}}`))); err != nil {
		t.Fatal(err)
	}
	// Watermill's middleware observes a handler's run once it returns, which may be just
	// after the request settled.
	want := map[string]string{}
	for _, stage := range []string{pipeline.StageDecode, pipeline.StageDedupe, pipeline.StageResolve, pipeline.StageFanout, pipeline.StagePost} {
		want[fmt.Sprintf(`pusher_watermill_handler_execution_time_seconds_count{handler_name=%q,success="true"}`, stage)] = "1"
	}
	var e exposition
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		e = scrape(t, url)
		if e.samples[fmt.Sprintf(`pusher_watermill_handler_execution_time_seconds_count{handler_name=%q,success="true"}`, pipeline.StagePost)] == "1" {
			break
		}
	}
	e.check(t, want)
	if got := e.types["pusher_watermill_handler_execution_time_seconds"]; got != "histogram" {
		t.Errorf("# TYPE pusher_watermill_handler_execution_time_seconds is %q, want histogram", got)
	}
}
