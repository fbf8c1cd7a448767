package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/metrics"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Service is a running `pusher serve`: the pipeline between the SQS and SNS sources and
// the Management API, and a listener for /metrics, /healthz and /readyz.
type Service struct {
	Pipeline *pipeline.Pipeline
	Metrics  *metrics.Metrics
	// Ops is the listener of /metrics, /healthz and /readyz.
	Ops    net.Listener
	logger *slog.Logger
	ready  atomic.Bool
}

// Sources are the subscribers requests come from, by name.
type Sources map[string]*sqs.Subscriber

// NewSources returns the SQS subscriber of the queue and the one of the topic, as
// configured. A subscriber's ack deletes the message only once its request is settled.
func NewSources(cfg Config, awsCfg aws.Config, logger *slog.Logger) (Sources, func(), error) {
	sub := sqs.SubscriberConfig{
		Concurrency:       cfg.Concurrency,
		WaitTime:          cfg.WaitTime,
		VisibilityTimeout: cfg.VisibilityTimeout,
		CloseTimeout:      cfg.Pipeline.CloseTimeout,
		Logger:            logger,
	}
	sources := Sources{}
	closeAll := func() {
		for _, s := range sources {
			_ = s.Close()
		}
	}
	if cfg.QueueURL != "" {
		c := sub
		c.QueueURL = cfg.QueueURL
		s, err := sqs.NewSubscriber(awsCfg, c)
		if err != nil {
			return nil, nil, fmt.Errorf("queue %s: %w", cfg.QueueURL, err)
		}
		sources["sqs"] = s
	}
	if cfg.TopicARN != "" {
		s, err := sqs.NewSNSSubscriber(awsCfg, sqs.SNSSubscriberConfig{TopicARN: cfg.TopicARN, Subscriber: sub})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("topic %s: %w", cfg.TopicARN, err)
		}
		sources["sns"] = s
	}
	return sources, closeAll, nil
}

// NewTaskQueue returns, when broadcasts are split (BROADCAST_SPLIT_ABOVE), the queue
// their segment tasks go on: the service's own, that every instance reads, so that the
// fleet shares them: NOTIFICATIONS_QUEUE_URL, else the queue it subscribes to the
// topic. It returns nil when nothing is split.
func NewTaskQueue(cfg Config, awsCfg aws.Config, sources Sources) (*sqs.TaskQueue, func(), error) {
	if cfg.Pipeline.Split.Above == 0 {
		return nil, func() {}, nil
	}
	tc := sqs.TaskQueueConfig{QueueURL: cfg.QueueURL}
	if tc.QueueURL == "" {
		sns, ok := sources["sns"]
		if !ok {
			return nil, nil, errors.New("segment tasks: no queue to put them on")
		}
		tc.FindQueueURL = sns.QueueURL
	}
	q, err := sqs.NewTaskQueue(awsCfg, tc)
	if err != nil {
		return nil, nil, err
	}
	return q, func() { _ = q.Close() }, nil
}

// Set builds `pusher serve` from a Config.
var Set = wire.NewSet(
	onaws.Set,
	wire.FieldsOf(new(Config), "Config", "OpsListen"),
	pipeline.New,
	NewSources,
	NewTaskQueue,
	metrics.New,
	httpserve.Listen,
	NewService,
)

// NewService gathers the parts, making p take requests from sources and the team's, put
// the segment tasks of the broadcasts it splits on tasks (when not nil), run its stages
// and report to m.
func NewService(p *pipeline.Pipeline, sources Sources, tasks *sqs.TaskQueue, o custom.Options, m *metrics.Metrics, ops net.Listener, logger *slog.Logger) (*Service, error) {
	for name, s := range sources {
		p.AddSource(name, s, name)
	}
	if tasks != nil {
		if err := p.SplitTo(tasks); err != nil {
			return nil, err
		}
	}
	o.AddSources(p)
	if err := o.Apply(p); err != nil {
		return nil, err
	}
	m.Attach(p)
	return &Service{Pipeline: p, Metrics: m, Ops: ops, logger: logger}, nil
}

// Handler serves /metrics, /healthz (the process is up) and /readyz (the pipeline
// takes requests: it runs, and not every admission is held by a request in flight).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !s.ready.Load():
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		case !s.Pipeline.Admitting():
			http.Error(w, "not ready: every admission is in use", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// Run serves until ctx is done (SIGTERM), then stops receiving, lets what it holds
// settle within the grace period (deleting what settled) and returns.
func (s *Service) Run(ctx context.Context) error {
	srv := httpserve.Start(s.Ops, s.Handler())
	go func() {
		select {
		case <-s.Pipeline.Running():
			s.ready.Store(true)
			s.logger.Info("pusher serve ready")
		case <-ctx.Done():
		}
	}()
	go func() {
		<-ctx.Done()
		s.ready.Store(false)
	}()
	err := s.Pipeline.Run(ctx)
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, srv.Stop(stopCtx))
}
