package dev_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// startDev runs `pusher dev` on a free port until the test ends.
func startDev(t testing.TB, cfg dev.Config) *dev.Pusher {
	t.Helper()
	p := buildDev(t, cfg)
	run(t, p)
	return p
}

// buildDev builds `pusher dev` on a free port.
func buildDev(t testing.TB, cfg dev.Config) *dev.Pusher {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	return stacktest.BuildDev(t, cfg, nil)
}

// run runs p and returns once it takes requests. stop stops it and returns what Run
// returned; the test's end stops it too, failing the test if Run failed.
func run(t testing.TB, p *dev.Pusher) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("pusher dev stopped with %v", err)
		}
	})
	<-p.Pipeline.Running()
	return stop
}

type client = gatewaytest.Client

func connect(t testing.TB, p *dev.Pusher, name, user string) *client {
	return gatewaytest.Dial(t, p.Listener.Addr().String(), name, user)
}

func send(t testing.TB, p *dev.Pusher, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func poison(t testing.TB, p *dev.Pusher) []pipeline.Parked {
	t.Helper()
	resp, err := http.Get(p.URL() + "/poison")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var parked []pipeline.Parked
	if err := json.NewDecoder(resp.Body).Decode(&parked); err != nil {
		t.Fatal(err)
	}
	return parked
}

// TestDev drives `pusher dev` through its sockets as a user would: real WebSocket clients,
// HTTP requests, and the poison listing. Each step sends one request, then a marker
// broadcast; every client must see exactly its frames of the step, then the marker.
func TestDev(t *testing.T) {
	p := startDev(t, dev.Config{Pipeline: pipeline.Config{Retry: pipeline.RetryConfig{InitialInterval: time.Millisecond}}})
	alice1 := connect(t, p, "alice-1", "alice")
	alice2 := connect(t, p, "alice-2", "alice")
	bob := connect(t, p, "bob", "bob")
	carol := connect(t, p, "carol", "carol")
	everyone := []*client{alice1, alice2, bob, carol}

	// A connection the store holds but no socket backs, as when API Gateway missed a
	// $disconnect: stored an hour ago, long past any $connect.
	ghost := handlers.Connection{UserID: "dave", ConnectionID: "R2hvc3RDb25uZWN0aW9u", ConnectedAt: time.Now().Add(-time.Hour)}
	if err := p.Store.AddConnection(context.Background(), ghost); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name     string
		body     string
		status   int
		reached  []*client
		parkedAs string // reason the request is parked for, if it is
	}{
		{name: "multicast with a repeated user", body: `{"users":["alice","bob","alice"],"data":{"step":1}}`,
			status: 202, reached: []*client{alice1, alice2, bob}},
		{name: "broadcast", body: `{"data":{"step":2}}`, status: 202, reached: everyone},
		{name: "exclusion", body: `{"exclude_users":["alice"],"data":{"step":3}}`, status: 202, reached: []*client{bob, carol}},
		{name: "not JSON", body: `{"users":["bob"],"data":`, status: 400, parkedAs: "not JSON"},
		{name: "no data", body: `{"users":["bob"]}`, status: 202, parkedAs: `no "data"`},
		{name: "users not a list", body: `{"users":"bob","data":{"step":6}}`, status: 202, parkedAs: "not a list of strings"},
		{name: "users not strings", body: `{"users":["bob",7],"data":{"step":7}}`, status: 202, parkedAs: "not a list of strings"},
		{name: "data over 128 KiB", body: `{"data":"` + strings.Repeat("x", handlers.MaxFrameBytes) + `"}`, status: 202, parkedAs: "frame limit"},
	}
	parkedSoFar := 0
	for i, step := range steps {
		resp := send(t, p, step.body)
		if resp.StatusCode != step.status {
			t.Fatalf("%s: status %d, want %d", step.name, resp.StatusCode, step.status)
		}
		marker := fmt.Sprintf(`{"marker":%d}`, i)
		if resp := send(t, p, `{"data":`+marker+`}`); resp.StatusCode != 202 {
			t.Fatalf("marker: status %d", resp.StatusCode)
		}
		// The step and the marker travel side by side: compare what each client got as a set.
		for _, c := range everyone {
			want := []string{marker}
			if slices.Contains(step.reached, c) {
				want = append(want, fmt.Sprintf(`{"step":%d}`, i+1))
			}
			got := make([]string, len(want))
			for j := range got {
				got[j] = c.Next(t)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s got %v, want %v", step.name, c.Name, got, want)
			}
		}
		if step.parkedAs == "" {
			continue
		}
		// The marker may overtake a request that is still being decoded: wait for the park.
		parkedSoFar++
		parked := poison(t, p)
		for deadline := time.Now().Add(5 * time.Second); len(parked) < parkedSoFar && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			parked = poison(t, p)
		}
		if len(parked) != parkedSoFar {
			t.Fatalf("%s: %d messages parked, want %d", step.name, len(parked), parkedSoFar)
		}
		last := parked[len(parked)-1]
		if !strings.Contains(last.Reason, step.parkedAs) || last.Class != "permanent" || last.Attempts != 1 {
			t.Errorf("%s: parked %+v, want a permanent failure for %q after 1 attempt", step.name, last, step.parkedAs)
		}
		if last.Payload != step.body {
			t.Errorf("%s: parked payload %q, want the request", step.name, last.Payload)
		}
	}

	// The ghost was posted to once by the first broadcast, answered 410, and pruned.
	deadline := time.Now().Add(5 * time.Second)
	for ghostStored(t, p, ghost) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ghostStored(t, p, ghost) {
		t.Error("the stale connection is still stored")
	}
	if n := len(poison(t, p)); n != 5 {
		t.Errorf("%d messages parked, want the 5 malformed requests", n)
	}
}

func ghostStored(t testing.TB, p *dev.Pusher, ghost handlers.Connection) bool {
	conns, err := p.Store.UserConnections(context.Background(), ghost.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return len(conns) > 0
}

// TestDevStopLosesNothing stops `pusher dev` right after it accepted a burst of
// requests: every accepted request still reaches every client before the gateway closes.
func TestDevStopLosesNothing(t *testing.T) {
	p := buildDev(t, dev.Config{})
	stop := run(t, p)

	clients := []*client{connect(t, p, "a", "a"), connect(t, p, "b", "b"), connect(t, p, "c", "c")}
	const burst = 50
	for i := range burst {
		if resp := send(t, p, fmt.Sprintf(`{"data":%d}`, i)); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("pusher dev stopped with %v", err)
	}
	if resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(`{"data":1}`)); err == nil {
		resp.Body.Close()
		t.Errorf("a request after the stop was answered %d", resp.StatusCode)
	}
	for _, c := range clients {
		got := 0
		for range c.Frames { // closed when the gateway closes the socket
			got++
		}
		if got != burst {
			t.Errorf("%s received %d of the %d accepted requests", c.Name, got, burst)
		}
	}
}

// settled is a pipeline.Observer that hands each settled request's result to a channel.
type settled chan pipeline.Result

func (s settled) RequestSettled(res pipeline.Result) { s <- res }
func (settled) RequestAdmitted()                     {}
func (settled) Progressed(pipeline.Stats)            {}
func (settled) Parked(string, pipeline.Class)        {}
func (settled) ParkFailed(string, error)             {}
func (settled) Posted(time.Duration, error)          {}
func (settled) BreakerChanged(bool)                  {}
func (settled) PostQueued(time.Duration)             {}
func (settled) PostRate(float64)                     {}

// TestDevConnectsRacingBroadcasts connects 100 clients while broadcasts run back to
// back, each client's $connect held open (as a slow $connect integration holds it) until
// a broadcast has posted to the connection it stored, which the gateway answers 410, as
// API Gateway does before $connect completes. Such a 410 must not prune the connection:
// afterwards every client has its row and receives the next request.
//
// It is `pusher dev` built from its parts so as to hold $connect in the registry and to
// see, through a recording proxy in front of the Management API, how each post was
// answered.
func TestDevConnectsRacingBroadcasts(t *testing.T) {
	const clients = 100
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := dev.Defaults(dev.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ln, closeLn, err := httpserve.Listen(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLn)
	store := memory.NewStore(cfg.ScanPageSize)
	rec := gatewaytest.NewRecorder(t, "http://"+ln.Addr().String())
	poster, err := apigw.New(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}, apigw.Config{Endpoint: rec.URL})
	if err != nil {
		t.Fatal(err)
	}
	poison := memory.NewPoisonQueue()
	in := dev.NewIntake(poison, logger)
	pl, err := pipeline.New(cfg.Pipeline, store, poster, poison, logger)
	if err != nil {
		t.Fatal(err)
	}
	results := make(settled, 10_000)
	pl.Observe(results)
	held := gatewaytest.HeldConnects{Registry: store, Recorder: rec, Limit: 30 * time.Second}
	gw, err := localgateway.New(localgateway.Config{Logger: logger}, held)
	if err != nil {
		t.Fatal(err)
	}
	con, closeConsole, err := dev.NewConsole(cfg, gw, store, poison, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeConsole)
	p, err := dev.New(ln, pl, gw, in, store, poison, con, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	run(t, p)

	// Broadcasts back to back: each is sent once the one before has settled.
	var stats pipeline.Stats
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(fmt.Sprintf(`{"data":{"broadcast":%d}}`, i)))
			if err != nil {
				t.Errorf("broadcast %d: %v", i, err)
				return
			}
			resp.Body.Close()
			select {
			case res := <-results:
				stats.Connecting += res.Connecting
				stats.Pruned += res.Pruned
				stats.Delivered += res.Delivered
			case <-time.After(time.Minute):
				t.Errorf("broadcast %d did not settle in a minute", i)
				return
			}
		}
	}()

	// In waves, each once the one before is connected, so that connects and the
	// broadcasts posting to those connected before overlap throughout.
	const wave = 20
	conns := make([]*client, clients)
	for start := 0; start < clients; start += wave {
		var wg sync.WaitGroup
		for i := start; i < min(start+wave, clients); i++ {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				name := fmt.Sprintf("user-%03d", i)
				c, err := gatewaytest.Open(ctx, t, p.Listener.Addr().String(), name, name)
				if err != nil {
					t.Error(err)
					return
				}
				conns[i] = c
			})
		}
		wg.Wait()
	}
	close(stop)
	<-stopped
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("broadcasts while connecting: %d delivered, %d connecting, %d pruned", stats.Delivered, stats.Connecting, stats.Pruned)

	// The race took place: a broadcast posted to each connection during its $connect and
	// was answered 410. Those 410s were counted connecting, and pruned nothing.
	for _, c := range conns {
		rows, err := store.UserConnections(context.Background(), c.Name)
		if err != nil || len(rows) != 1 {
			t.Errorf("%s: rows %v (%v), want its one connection", c.Name, rows, err)
			continue
		}
		if answers := rec.Answers(rows[0].ConnectionID); len(answers) == 0 || answers[0] != http.StatusGone {
			t.Errorf("%s: posts answered %v, want a 410 during $connect first", c.Name, answers)
		}
	}
	if stats.Connecting < clients || stats.Pruned != 0 {
		t.Errorf("broadcasts counted %d connecting and %d pruned, want at least %d connecting and none pruned", stats.Connecting, stats.Pruned, clients)
	}

	// And every client receives the next request.
	if resp := send(t, p, `{"data":"final"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("final broadcast: status %d", resp.StatusCode)
	}
	for _, c := range conns {
		deadline := time.After(time.Minute) // after many frames, on a loaded machine
	frames:
		for {
			select {
			case f, ok := <-c.Frames:
				if !ok {
					t.Fatalf("%s: connection closed before the final request", c.Name)
				}
				if f == `"final"` {
					break frames
				}
			case <-deadline:
				t.Fatalf("%s: no final request in a minute", c.Name)
			}
		}
	}
}
