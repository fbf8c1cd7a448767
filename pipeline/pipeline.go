package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TopicRequests is the topic admitted requests enter the stage router on.
const TopicRequests = "requests"

var (
	// ErrNotRunning is returned by Process and Replay when Run has not started the
	// pipeline, or is stopping it.
	ErrNotRunning = errors.New("pipeline is not running")
	// ErrRequestTimeout is the cause of a request that ran out of Config.RequestTimeout.
	ErrRequestTimeout = errors.New("request deadline passed")
	// errStopped is the cause of the requests cut short by a hard stop.
	errStopped = errors.New("pipeline stopped")
	// errSettled ends a request's context once it is settled.
	errSettled = errors.New("request settled")
)

// Store is what the stages need of the connection store.
type Store interface {
	handlers.ConnectionLister
	handlers.ConnectionDeleter
}

// Pipeline turns notification requests into WebSocket frames. Build it with New, add
// sources and custom stages, then Run it.
type Pipeline struct {
	cfg     Config
	store   Store
	gateway handlers.Poster
	poison  message.Publisher
	logger  *slog.Logger
	wmlog   watermill.LoggerAdapter

	stages    []routerStage
	sources   []source
	observers observers
	plugins   []message.RouterPlugin
	extra     []message.HandlerMiddleware

	bus        *bus
	flow       *flow
	pace       *pacer
	split      *splitter
	tracker    *tracker
	admissions chan struct{}

	// work is the context of all stage work; cancelling it is the hard stop.
	work     context.Context
	stopWork context.CancelCauseFunc
	running  chan struct{}
	// stopping is closed once Run's context is done: no request is admitted from then on.
	stopping chan struct{}
}

type source struct {
	name  string
	sub   message.Subscriber
	topic string
}

// New returns a pipeline that reads connections from store, posts through gateway and
// parks what fails for good on poison.
func New(cfg Config, store Store, gateway handlers.Poster, poison message.Publisher, logger *slog.Logger) (*Pipeline, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline config: %w", err)
	}
	if store == nil || gateway == nil || poison == nil {
		return nil, errors.New("pipeline: store, gateway and poison queue are required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	wmlog := newWatermillLogger(logger)
	work, stop := context.WithCancelCause(context.Background())
	p := &Pipeline{
		cfg: cfg, store: store, gateway: gateway, poison: poison, logger: logger, wmlog: wmlog,
		// The flow, not the bus, bounds what is in flight: see flow.
		bus:        newBus(),
		tracker:    newTracker(),
		admissions: make(chan struct{}, cfg.MaxRequests),
		work:       work,
		stopWork:   stop,
		running:    make(chan struct{}),
		stopping:   make(chan struct{}),
	}
	p.flow = newFlow(p.bus, p.tracker.loadOf)
	p.pace = newPacer(cfg.Pace, func(r float64) { p.observers.PostRate(r) })
	p.stages = p.builtins()
	return p, nil
}

// AddSource makes the pipeline admit the messages sub delivers on topic. Each message is
// acknowledged once the request it carries is settled, and nacked if part of it could
// neither be done nor parked. Call it before Run.
func (p *Pipeline) AddSource(name string, sub message.Subscriber, topic string) {
	p.sources = append(p.sources, source{name: name, sub: sub, topic: topic})
}

// Running is closed once the pipeline admits requests.
func (p *Pipeline) Running() <-chan struct{} { return p.running }

// Run admits requests from the sources until ctx is done, then stops admitting, waits
// up to CloseTimeout for what it admitted to settle, and stops the stages.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.stopWork(errStopped)
	stageRouter, err := p.stageRouter()
	if err != nil {
		return err
	}
	sourceRouter, err := p.sourceRouter()
	if err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { close(p.stopping) })()
	stagesDone := make(chan error, 1)
	go func() { stagesDone <- stageRouter.Run(p.work) }()
	select {
	case <-stageRouter.Running():
	case err := <-stagesDone:
		return fmt.Errorf("stage router: %w", err)
	}

	p.reportPace()

	var runErr error
	if len(p.sources) > 0 {
		// Closing the source router on ctx waits for the admitted requests to settle.
		go func() {
			<-sourceRouter.Running()
			close(p.running)
		}()
		if err := sourceRouter.Run(ctx); err != nil {
			runErr = fmt.Errorf("source router: %w", err)
		}
	} else {
		close(p.running)
		<-ctx.Done()
		p.waitSettled()
	}
	p.stopWork(errStopped)
	if err := <-stagesDone; err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stage router: %w", err))
	}
	return errors.Join(runErr, p.bus.Close())
}

// reportPace says at start, in one line, what posts are held to when they are paced or
// split broadcasts share a fleet's rate, so that a pusher that posts slower than
// expected says why; and it tells the observers the rate it starts at.
func (p *Pipeline) reportPace() {
	c := p.cfg.Pace
	if p.pace == nil && c.FleetRate == 0 {
		return
	}
	var burst int
	if p.pace != nil {
		burst = p.pace.limit.Burst()
		p.observers.PostRate(p.pace.current())
	}
	p.logger.Info("posts paced under API Gateway's account throttle (docs/pacing.md)",
		"post_rate", c.Rate, "post_burst", burst, "fleet_post_rate", c.FleetRate)
}

// waitSettled waits up to CloseTimeout for the open requests to settle.
func (p *Pipeline) waitSettled() {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CloseTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for p.tracker.open() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (p *Pipeline) sourceRouter() (*message.Router, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: p.cfg.CloseTimeout}, p.wmlog)
	if err != nil {
		return nil, fmt.Errorf("source router: %w", err)
	}
	r.AddPlugin(p.plugins...)
	for _, s := range p.sources {
		// A message the router took from a source is admitted even once Run's context
		// is done: the source may have let go of it (the dev intake answered 202), and
		// closing the router waits for it.
		r.AddConsumerHandler(s.name, s.topic, s.sub, func(msg *message.Message) error {
			_, err := p.process(msg.Context(), msg)
			return err
		})
	}
	return r, nil
}

func (p *Pipeline) stageRouter() (*message.Router, error) {
	r, err := message.NewRouter(message.RouterConfig{}, p.wmlog)
	if err != nil {
		return nil, fmt.Errorf("stage router: %w", err)
	}
	r.AddPlugin(p.plugins...)
	for i, s := range p.stages {
		in := TopicRequests
		if i > 0 {
			in = p.topicAfter(p.stages[i-1].name)
		}
		// The forward middleware publishes what the stage emits, so the router has
		// nothing left to publish.
		h := r.AddHandler(s.name, in, p.bus, p.topicAfter(s.name), p.bus, s.handler)
		n := cmp.Or(s.concurrency, p.cfg.StageConcurrency)
		p.flow.limit(in, n, p.gateConfig(s.name, n))
		if s.name == StagePost {
			p.flow.shared = in
		}
		mw, err := p.middleware(s, in, p.topicAfter(s.name))
		if err != nil {
			return nil, err
		}
		h.AddMiddleware(mw...)
	}
	return r, nil
}

// gateConfig returns how the gate of the topic into stage hands out its n credits (see
// gate): resolve and fanout, whose messages hold their credit long, keep a quarter of
// them from bulk requests, and fanout that quarter from any one request; post paces.
func (p *Pipeline) gateConfig(stage string, n int) gateConfig {
	reserve := max(1, n/4)
	switch stage {
	case StageResolve:
		return gateConfig{bulkMax: max(1, n-reserve)}
	case StageFanout:
		return gateConfig{perRequest: reserve, bulkMax: max(1, n-reserve)}
	case StagePost:
		return gateConfig{pace: p.pace, waited: func(d time.Duration) { p.observers.PostQueued(d) }}
	}
	return gateConfig{}
}

// topicAfter is the topic a stage publishes to and the next one subscribes to.
func (p *Pipeline) topicAfter(stage string) string { return "after-" + stage }

// Process admits one request message (or an event from the source its EventSourceKey
// names, carried with its correlation id), waits until everything derived from it is settled
// or ctx is done, and logs its outcome in one line. It returns an error when the request
// is not settled: its source should then redeliver it. Before Run, and once Run's
// context is done, it admits nothing and returns ErrNotRunning.
func (p *Pipeline) Process(ctx context.Context, src *message.Message) (Result, error) {
	if !p.isRunning() {
		return Result{}, fmt.Errorf("process %s: %w", src.UUID, ErrNotRunning)
	}
	return p.process(ctx, src)
}

// process is Process without the check: a message a source's router has taken is
// admitted while Run stops.
func (p *Pipeline) process(ctx context.Context, src *message.Message) (Result, error) {
	req := message.NewMessage(watermill.NewUUID(), src.Payload)
	corr := middleware.MessageCorrelationID(src)
	if corr == "" {
		corr = src.UUID
	}
	middleware.SetCorrelationID(corr, req)
	if source := src.Metadata.Get(EventSourceKey); source != "" {
		req.Metadata.Set(EventSourceKey, source) // an event, which decode maps
	}
	return p.admit(ctx, req, TopicRequests)
}

// Replay re-injects a message of the poison queue at the stage it failed in, waits until
// everything derived from it is settled, and logs its outcome as Process does. A request
// refused by the intake or by decode goes back to decode; a delivery parked by post goes
// back to post, for its one connection only. Its correlation id and attempts are carried
// on: if it fails again, the stage parks it again with its attempts counted on.
func (p *Pipeline) Replay(ctx context.Context, parked *message.Message) (Result, error) {
	if !p.isRunning() {
		return Result{}, fmt.Errorf("replay %s: %w", parked.UUID, ErrNotRunning)
	}
	at := parked.Metadata.Get(middleware.PoisonedHandlerKey)
	if at == "intake" { // refused before the pipeline: the request itself
		at = StageDecode
	}
	i := slices.IndexFunc(p.stages, func(s routerStage) bool { return s.name == at })
	if i < 0 {
		return Result{}, handlers.Permanent(fmt.Errorf("replay %s: no stage %q to replay at", parked.UUID, at))
	}
	topic := TopicRequests
	if i > 0 {
		topic = p.topicAfter(p.stages[i-1].name)
	}
	msg := message.NewMessage(watermill.NewUUID(), parked.Payload)
	for k, v := range parked.Metadata {
		switch k {
		case middleware.ReasonForPoisonedKey, middleware.PoisonedHandlerKey, middleware.PoisonedTopicKey, middleware.PoisonedSubscriberKey,
			stalledKey: // a replay's retries are bounded afresh; its attempts are counted on
		default:
			msg.Metadata.Set(k, v)
		}
	}
	return p.admit(ctx, msg, topic)
}

// admit gives msg a request id, publishes it to topic, and waits until everything
// derived from it is settled or its request ends: its deadline passes, ctx is done or
// the pipeline stops. Ending cancels the work still in flight, which is then neither
// retried nor parked, and reports the request unsettled, for its source to redeliver.
func (p *Pipeline) admit(ctx context.Context, msg *message.Message, topic string) (Result, error) {
	corr := middleware.MessageCorrelationID(msg)
	if p.work.Err() != nil {
		return Result{}, fmt.Errorf("admit %s: %w", corr, ErrNotRunning)
	}
	select {
	case p.admissions <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("admit %s: %w", corr, ctx.Err())
	case <-p.work.Done():
		return Result{}, fmt.Errorf("admit %s: %w", corr, ErrNotRunning)
	}
	defer func() { <-p.admissions }()
	id := watermill.NewULID()
	msg.Metadata.Set(RequestIDKey, id)
	reqCtx, end := p.requestContext(ctx)
	defer end()
	msg.SetContext(reqCtx)

	settled := p.tracker.begin(id)
	p.observers.RequestAdmitted()
	var res Result
	if _, err := p.flow.publish(reqCtx, topic, msg); err != nil {
		p.tracker.expire(id, err)
	}
	select {
	case res = <-settled:
	case <-reqCtx.Done():
		p.tracker.expire(id, context.Cause(reqCtx))
		res = <-settled
	}
	res.CorrelationID = corr
	p.observers.RequestSettled(res)
	attrs := []any{"request_id", id, "correlation_id", corr, "kind", res.Kind, "users", res.Users, "topics", res.Topics,
		"connections", res.Connections, "delivered", res.Delivered,
		"pruned", res.Pruned, "connecting", res.Connecting, "failed", res.Failed, "duration_ms", res.Duration.Milliseconds()}
	if res.Segment != "" {
		attrs = append(attrs, "segment", res.Segment)
	}
	if res.Split > 0 {
		attrs = append(attrs, "split", res.Split)
	}
	if res.Err != nil {
		p.logger.Error("request not settled", append(attrs, "error", res.Err)...)
		return res, fmt.Errorf("request %s: %w", corr, res.Err)
	}
	p.logger.Info("request settled", attrs...)
	return res, nil
}

// requestContext returns the context of one request's work: it ends when the request
// settles (end), its deadline passes, caller is done or the pipeline stops, with that
// as its cause.
func (p *Pipeline) requestContext(caller context.Context) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancelCause(p.work)
	ctx, stopTimer := context.WithTimeoutCause(ctx, p.cfg.RequestTimeout,
		fmt.Errorf("%w (%s)", ErrRequestTimeout, p.cfg.RequestTimeout))
	stopWatching := context.AfterFunc(caller, func() {
		cancel(fmt.Errorf("its caller gave up: %w", context.Cause(caller)))
	})
	return ctx, func() {
		stopWatching()
		stopTimer()
		cancel(errSettled)
	}
}

// isRunning reports whether Run has started the pipeline and is not stopping it.
func (p *Pipeline) isRunning() bool {
	select {
	case <-p.stopping:
		return false
	case <-p.running:
		return p.work.Err() == nil
	default:
		return false
	}
}

// Admitting reports whether the pipeline runs and has room for another request; a
// service is not ready while it has none.
func (p *Pipeline) Admitting() bool {
	return p.isRunning() && len(p.admissions) < cap(p.admissions)
}

// Use adds middleware to every stage, built-in or inserted, around the stage's handler
// alone: inside the retries, the poison queue and the recoverer, so that each attempt
// runs through it and a panic in it is recovered. Call it before Run.
func (p *Pipeline) Use(mw ...message.HandlerMiddleware) { p.extra = append(p.extra, mw...) }

// Insert adds a custom stage after another; see Stage. Call it before Run.
func (p *Pipeline) Insert(s Stage) error {
	if s.Name == "" || s.Handler == nil {
		return errors.New("insert stage: a name and a handler are required")
	}
	if slices.ContainsFunc(p.stages, func(x routerStage) bool { return x.name == s.Name }) {
		return fmt.Errorf("insert stage %s: the name is taken", s.Name)
	}
	i := slices.IndexFunc(p.stages, func(x routerStage) bool { return x.name == s.After })
	if i < 0 {
		return fmt.Errorf("insert stage %s: no stage %q to follow", s.Name, s.After)
	}
	// Stages already inserted after the same one keep their place before it.
	for i+1 < len(p.stages) && p.stages[i+1].inserted && p.stages[i+1].after == s.After {
		i++
	}
	p.stages = slices.Insert(p.stages, i+1, routerStage{
		name: s.Name, handler: s.Handler, concurrency: s.Concurrency, inserted: true, after: s.After,
	})
	return nil
}
