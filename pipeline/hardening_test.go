package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/intake"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// gatewayFunc adapts a function to handlers.Poster.
type gatewayFunc func(ctx context.Context, id string, frame []byte) error

func (f gatewayFunc) PostToConnection(ctx context.Context, id string, frame []byte) error {
	return f(ctx, id, frame)
}

// publisherFunc adapts a function to a poison queue, a message.Publisher.
type publisherFunc func(msgs ...*message.Message) error

func (f publisherFunc) Publish(_ string, msgs ...*message.Message) error { return f(msgs...) }
func (publisherFunc) Close() error                                       { return nil }

func request(body string) *message.Message {
	return message.NewMessage(watermill.NewUUID(), []byte(body))
}

// within returns a context that ends after d, or when the test does.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 10ms, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
	}
}

// users returns n connections, one per user u000, u001, ...
func users(n int) []handlers.Connection {
	conns := make([]handlers.Connection, n)
	for i := range conns {
		conns[i] = conn(fmt.Sprintf("u%03d", i), fmt.Sprintf("c%03d", i))
	}
	return conns
}

// TestRequestDeadline runs a broadcast one of whose posts never returns: at the request's
// deadline the post is cancelled, the request is reported unsettled for its source to
// redeliver, the cut delivery is not parked as well, and the admission is free again.
func TestRequestDeadline(t *testing.T) {
	cancelled := make(chan struct{})
	gw := gatewayFunc(func(ctx context.Context, id string, _ []byte) error {
		if id == "b1" {
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}
		return nil
	})
	poison := memory.NewPoisonQueue()
	p, _ := run(t, pipeline.Config{RequestTimeout: 300 * time.Millisecond, MaxRequests: 1}, gw, poison, population...)

	res, err := p.Process(within(t, 10*time.Second), request(`{"data":1}`))

	var unsettled *pipeline.UnsettledError
	if !errors.Is(err, pipeline.ErrRequestTimeout) || !errors.As(err, &unsettled) || unsettled.InFlight == 0 {
		t.Fatalf("Process = %v, want an unsettled request past its deadline with work in flight", err)
	}
	if res.Delivered != 3 {
		t.Errorf("reported %d delivered before the deadline, want 3", res.Delivered)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the post still runs 5s after its request's deadline")
	}
	// MaxRequests is 1: this one is admitted only if the first gave its admission back.
	if _, err := p.Process(within(t, 10*time.Second), request(`{"users":["alice"],"data":2}`)); err != nil {
		t.Fatalf("next request: %v", err)
	}
	if n := len(poison.Messages()); n != 0 {
		t.Errorf("%d messages parked: work cut by the deadline is left to the redelivery, not parked too", n)
	}
}

// TestCallerGivingUpCancelsTheWork stops waiting for a broadcast whose post to b1 keeps
// failing, as the Lambda function does at its deadline margin: its work stops there and
// is not parked, so nothing of it is delivered after SQS was told to deliver it again.
func TestCallerGivingUpCancelsTheWork(t *testing.T) {
	var posts atomic.Int64
	gw := gatewayFunc(func(_ context.Context, id string, _ []byte) error {
		if id == "b1" {
			posts.Add(1)
			return errors.New("503 service unavailable")
		}
		return nil
	})
	poison := memory.NewPoisonQueue()
	cfg := pipeline.Config{Retry: pipeline.RetryConfig{MaxAttempts: 1000, MaxInterval: 5 * time.Millisecond}, Breaker: pipeline.BreakerConfig{Disabled: true}}
	p, _ := run(t, cfg, gw, poison, population...)

	_, err := p.Process(within(t, 300*time.Millisecond), request(`{"data":1}`))

	if err == nil || !strings.Contains(err.Error(), "caller gave up") {
		t.Fatalf("Process = %v, want the request unsettled because its caller gave up", err)
	}
	tried := posts.Load()
	if tried < 2 {
		t.Fatalf("b1 was posted to %d times before the caller gave up: it was not being retried", tried)
	}
	if _, err := p.Process(within(t, 10*time.Second), request(`{"users":["alice"],"data":2}`)); err != nil {
		t.Fatalf("next request: %v", err)
	}
	if n := posts.Load(); n != tried {
		t.Errorf("b1 was posted to %d more times after its request ended", n-tried)
	}
	if n := len(poison.Messages()); n != 0 {
		t.Errorf("%d messages parked, want none", n)
	}
}

// TestPanicsSettle makes the poison queue panic while it parks a refused delivery: the
// request is reported unsettled at once, not left open for ever, and the pipeline goes on.
func TestPanicsSettle(t *testing.T) {
	gw := gatewayFunc(func(_ context.Context, id string, _ []byte) error {
		if id == "c1" {
			return handlers.Permanent(errors.New("403 forbidden"))
		}
		return nil
	})
	poison := publisherFunc(func(...*message.Message) error { panic("poison queue bug") })
	p, _ := run(t, pipeline.Config{}, gw, poison, population...)

	_, err := p.Process(within(t, 10*time.Second), request(`{"users":["carol"],"data":1}`))

	if !pipeline.IsUnsettled(err) || !strings.Contains(err.Error(), "poison queue bug") {
		t.Fatalf("Process = %v, want the request unsettled by the panic", err)
	}
	if res, err := p.Process(within(t, 10*time.Second), request(`{"users":["alice"],"data":2}`)); err != nil || res.Delivered != 2 {
		t.Fatalf("next request: %+v, %v", res.Stats, err)
	}
}

// TestUnsettledErrorIsBounded fails every delivery of a broadcast and every park: the
// request's error counts them by class and keeps a few examples, not all of them.
func TestUnsettledErrorIsBounded(t *testing.T) {
	gw := gatewayFunc(func(context.Context, string, []byte) error { return handlers.Permanent(errors.New("403 forbidden")) })
	poison := publisherFunc(func(...*message.Message) error { return handlers.Permanent(errors.New("message too long")) })
	p, _ := run(t, pipeline.Config{}, gw, poison, users(200)...)

	_, err := p.Process(within(t, 10*time.Second), request(`{"data":1}`))

	var unsettled *pipeline.UnsettledError
	if !errors.As(err, &unsettled) {
		t.Fatalf("Process = %v, want an UnsettledError", err)
	}
	if unsettled.Unsettled != 200 || unsettled.ByClass[pipeline.Permanent] != 200 || len(unsettled.Examples) != 3 {
		t.Errorf("summary %d unsettled, %v by class, %d examples; want 200, all permanent, 3",
			unsettled.Unsettled, unsettled.ByClass, len(unsettled.Examples))
	}
	if msg := err.Error(); len(msg) > 2000 || !strings.Contains(msg, "200 messages neither done nor parked (200 permanent)") {
		t.Errorf("error of %d bytes: %.300s", len(msg), msg)
	}
}

// TestNotRunning calls Process and Replay on a pipeline that is not running: each
// returns ErrNotRunning at once instead of blocking.
func TestNotRunning(t *testing.T) {
	p, err := pipeline.New(pipeline.Config{}, memory.NewStore(0), newGateway(), memory.NewPoisonQueue(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := within(t, 10*time.Second)
	if _, err := p.Process(ctx, request(`{"data":1}`)); !errors.Is(err, pipeline.ErrNotRunning) {
		t.Errorf("Process before Run = %v, want ErrNotRunning", err)
	}
	parked := request(`{"data":1}`)
	parked.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StageDecode)
	if _, err := p.Replay(ctx, parked); !errors.Is(err, pipeline.ErrNotRunning) {
		t.Errorf("Replay before Run = %v, want ErrNotRunning", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- p.Run(runCtx) }()
	<-p.Running()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(ctx, request(`{"data":1}`)); !errors.Is(err, pipeline.ErrNotRunning) {
		t.Errorf("Process after Run = %v, want ErrNotRunning", err)
	}
	if ctx.Err() != nil {
		t.Error("a call waited for its context to end")
	}
}

// TestParkIsRetried parks a refused delivery on a poison queue that fails twice first:
// the park is retried, and the request settles with the delivery parked.
func TestParkIsRetried(t *testing.T) {
	gw := gatewayFunc(func(_ context.Context, id string, _ []byte) error {
		if id == "c1" {
			return handlers.Permanent(errors.New("403 forbidden"))
		}
		return nil
	})
	queue := memory.NewPoisonQueue()
	var calls atomic.Int64
	poison := publisherFunc(func(msgs ...*message.Message) error {
		if calls.Add(1) <= 2 {
			return errors.New("ThrottlingException: rate exceeded")
		}
		return queue.Publish("poison", msgs...)
	})
	p, _ := run(t, pipeline.Config{}, gw, poison, population...)

	res, err := p.Process(within(t, 10*time.Second), request(`{"users":["carol"],"data":1}`))

	if err != nil || res.Failed != 1 {
		t.Fatalf("Process = %+v, %v; want settled with one delivery parked", res.Stats, err)
	}
	if got := queue.Messages(); len(got) != 1 || pipeline.ParkedFrom(got[0]).ConnectionID != "c1" {
		t.Errorf("parked %d messages, want c1's delivery", len(got))
	}
}

// observer records what the pipeline reports.
type observer struct {
	pipeline.NopObserver
	mu        sync.Mutex
	progress  pipeline.Stats
	settled   int
	admitted  int
	parkFails int
}

func (o *observer) Progressed(d pipeline.Stats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.progress.Delivered += d.Delivered
	o.progress.Connections += d.Connections
}

func (o *observer) RequestAdmitted()               { o.mu.Lock(); o.admitted++; o.mu.Unlock() }
func (o *observer) RequestSettled(pipeline.Result) { o.mu.Lock(); o.settled++; o.mu.Unlock() }
func (o *observer) ParkFailed(string, error)       { o.mu.Lock(); o.parkFails++; o.mu.Unlock() }

func (o *observer) snapshot() (pipeline.Stats, int, int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.progress, o.admitted, o.settled, o.parkFails
}

// TestProgressIsObservedAsItHappens holds one post of a broadcast: the deliveries of the
// others are reported while the request is still in flight, not when it settles; and
// Admitting turns false while every admission is held.
func TestProgressIsObservedAsItHappens(t *testing.T) {
	release := make(chan struct{})
	gw := gatewayFunc(func(ctx context.Context, id string, _ []byte) error {
		if id == "c1" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	o := &observer{}
	store := memory.NewStore(2)
	for _, c := range population {
		_ = store.AddConnection(t.Context(), c)
	}
	p, err := pipeline.New(pipeline.Config{MaxRequests: 1}, store, gw, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.Observe(o)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()
	if !p.Admitting() {
		t.Fatal("not admitting before any request")
	}

	result := make(chan error)
	go func() { _, err := p.Process(within(t, 10*time.Second), request(`{"data":1}`)); result <- err }()
	eventually(t, "3 deliveries reported while the 4th is held", func() bool {
		progress, admitted, settled, _ := o.snapshot()
		return progress.Delivered == 3 && progress.Connections == 4 && admitted == 1 && settled == 0
	})
	if p.Admitting() {
		t.Error("Admitting while the only admission is held")
	}
	close(release)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if progress, _, settled, _ := o.snapshot(); progress.Delivered != 4 || settled != 1 {
		t.Errorf("after settling: %+v delivered, %d settled", progress, settled)
	}
	eventually(t, "admitting again", p.Admitting)
}

// stallingScan is a store whose every scan fails after two pages, as a table throttled
// now and then fails a long scan: each run of the resolve stage gets on a little.
type stallingScan struct{ *memory.Store }

func (s stallingScan) ScanConnections(ctx context.Context, cursor string, page func([]handlers.Connection, string) error) error {
	pages := 0
	err := s.Store.ScanConnections(ctx, cursor, func(conns []handlers.Connection, next string) error {
		if pages == 2 {
			return errors.New("ProvisionedThroughputExceededException")
		}
		pages++
		return page(conns, next)
	})
	return err
}

// TestResolveRetriesWhileItGetsOn broadcasts over a store whose scans fail every third
// page: the broadcast takes ten runs of the resolve stage, many more than MaxAttempts,
// and is delivered whole, since each run got on; only runs in a row that get nowhere
// count toward parking it.
func TestResolveRetriesWhileItGetsOn(t *testing.T) {
	store := memory.NewStore(2)
	for _, c := range users(40) {
		_ = store.AddConnection(t.Context(), c)
	}
	gw, poison := newGateway(), memory.NewPoisonQueue()
	cfg := pipeline.Config{Retry: pipeline.RetryConfig{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}}
	p, err := pipeline.New(cfg, stallingScan{store}, gw, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()

	res, err := p.Process(within(t, 10*time.Second), request(`{"data":1}`))

	if err != nil || res.Delivered != 40 || res.Failed != 0 {
		t.Fatalf("Process = %+v, %v; want all 40 delivered, nothing parked", res.Stats, err)
	}
	for id, frames := range gw.received() {
		if len(frames) != 1 {
			t.Errorf("%s received %d frames", id, len(frames))
		}
	}
}

// TestStopFinishesTakenRequests stops the pipeline right after a source handed it a
// request (the dev intake answers 202 at that moment, and has no queue to redeliver
// from): the request is still delivered and acknowledged, not refused as "stopping".
func TestStopFinishesTakenRequests(t *testing.T) {
	for i := range 100 {
		gw := newGateway()
		store := memory.NewStore(0)
		_ = store.AddConnection(t.Context(), conn("alice", "c1"))
		p, err := pipeline.New(pipeline.Config{}, store, gw, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		in := intake.New(slog.New(slog.DiscardHandler))
		p.AddSource("intake", in, intake.Topic)
		mux := http.NewServeMux()
		in.Register(mux)

		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		<-p.Running()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notifications", strings.NewReader(`{"data":1}`)))
		stop() // the request was taken: Run must finish it before it returns
		if err := <-done; err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if rec.Code != http.StatusAccepted {
			t.Fatalf("run %d: POST answered %d", i, rec.Code)
		}
		if got := gw.received()["c1"]; len(got) != 1 {
			t.Fatalf("run %d: the accepted request was delivered %d times, want once", i, len(got))
		}
	}
}

// TestIntakeParksWhatItCannotSettle: a request the dev intake answered 202 has no queue
// to come back from, so when the pipeline cannot settle it (its deadline passes while
// the gateway hangs, or the pusher stops first) the intake parks it whole, with its
// reason, and a replay delivers it.
func TestIntakeParksWhatItCannotSettle(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  pipeline.Config
		stop bool // stop the pipeline while the post hangs
	}{
		{"deadline passes", pipeline.Config{RequestTimeout: 300 * time.Millisecond}, false},
		{"stopped first", pipeline.Config{CloseTimeout: 200 * time.Millisecond}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hang atomic.Bool
			hang.Store(true)
			gw := newGateway()
			poster := gatewayFunc(func(ctx context.Context, id string, frame []byte) error {
				if hang.Load() {
					<-ctx.Done()
					return ctx.Err()
				}
				return gw.PostToConnection(ctx, id, frame)
			})
			store := memory.NewStore(0)
			_ = store.AddConnection(t.Context(), conn("alice", "c1"))
			poison := memory.NewPoisonQueue()
			p, err := pipeline.New(tt.cfg, store, poster, poison, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			in := intake.New(slog.New(slog.DiscardHandler))
			in.Poison = poison
			p.AddSource("intake", in, intake.Topic)
			mux := http.NewServeMux()
			in.Register(mux)
			ctx, stop := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			var stopped error
			stopOnce := sync.OnceFunc(func() {
				stop()
				stopped = <-done
			})
			t.Cleanup(stopOnce)
			<-p.Running()

			const body = `{"users":["alice"],"data":1}`
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notifications", strings.NewReader(body)))
			if rec.Code != http.StatusAccepted {
				t.Fatalf("POST answered %d", rec.Code)
			}
			if tt.stop {
				stopOnce()
				if stopped != nil {
					t.Fatalf("run: %v", stopped)
				}
				_ = in.Close()
				if err := in.Wait(within(t, 10*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "the request is parked", func() bool { return len(poison.Messages()) == 1 })
			parked := poison.Messages()[0]
			if string(parked.Payload) != body || parked.Metadata.Get(middleware.PoisonedHandlerKey) != "intake" ||
				!strings.Contains(parked.Metadata.Get(middleware.ReasonForPoisonedKey), "not settled") {
				t.Fatalf("parked %q at %q because %q; want the request, at intake, not settled", parked.Payload,
					parked.Metadata.Get(middleware.PoisonedHandlerKey), parked.Metadata.Get(middleware.ReasonForPoisonedKey))
			}
			if tt.stop {
				return // the pipeline that would replay it is gone
			}
			hang.Store(false)
			if _, err := p.Replay(within(t, 10*time.Second), parked); err != nil {
				t.Fatalf("replay: %v", err)
			}
			if got := gw.received()["c1"]; len(got) != 1 || got[0] != "1" {
				t.Errorf("after the replay alice got %q, want one frame 1", got)
			}
		})
	}
}
