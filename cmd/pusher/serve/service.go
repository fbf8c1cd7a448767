package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/metrics"
	"github.com/apigw-pusher/apigw-pusher/adapters/sns"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
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
	// checks are the start-up checks, nil when skipped (STARTUP_CHECKS=false); pending
	// holds the lines of those failing for a while, for /readyz to show.
	checks  *onaws.Checks
	pending atomic.Pointer[string]
}

// New gathers the parts: p takes requests from the SQS queue and the SNS topic cfg names
// (a subscriber's ack deletes a message only once its request is settled) and from the
// team's sources, puts the segment tasks of the broadcasts it splits on the fleet's
// queue, and reports to m; ops serves /metrics, /healthz and /readyz. The cleanup closes
// the subscribers and the task queue.
func New(cfg Config, awsCfg aws.Config, p *pipeline.Pipeline, m *metrics.Metrics, ops net.Listener, opts []custom.Option, logger *slog.Logger) (*Service, func(), error) {
	var closers []io.Closer
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i].Close()
		}
	}
	sub := sqs.SubscriberConfig{
		Concurrency:       cfg.Concurrency,
		WaitTime:          cfg.WaitTime,
		VisibilityTimeout: cfg.VisibilityTimeout,
		CloseTimeout:      cfg.Pipeline.CloseTimeout,
		Logger:            logger,
	}
	var topic *sqs.Subscriber
	if cfg.QueueURL != "" {
		c := sub
		c.QueueURL = cfg.QueueURL
		s, err := sqs.NewSubscriber(awsCfg, c)
		if err != nil {
			return nil, nil, fmt.Errorf("queue %s: %w", cfg.QueueURL, err)
		}
		closers = append(closers, s)
		p.AddSource("sqs", s, "sqs")
	}
	if cfg.TopicARN != "" {
		s, err := sns.NewSubscriber(awsCfg, sns.SubscriberConfig{TopicARN: cfg.TopicARN, Subscriber: sub})
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("topic %s: %w", cfg.TopicARN, err)
		}
		closers, topic = append(closers, s), s
		p.AddSource("sns", s, "sns")
	}
	if cfg.Pipeline.Split.Above > 0 {
		q, err := newTaskQueue(cfg, awsCfg, topic)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		closers = append(closers, q)
		if err := p.SplitTo(q); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	var checks *onaws.Checks
	if !cfg.SkipStartupChecks {
		var err error
		if checks, err = newChecks(cfg, awsCfg, opts, topic); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	team.Resolve(opts).AddSources(p)
	m.Attach(p)
	return &Service{Pipeline: p, Metrics: m, Ops: ops, logger: logger, checks: checks}, cleanup, nil
}

// newTaskQueue returns the queue the segment tasks of split broadcasts
// (BROADCAST_SPLIT_ABOVE) go on: the service's own, that every instance reads, so that
// the fleet shares them: NOTIFICATIONS_QUEUE_URL, else the queue it subscribes to the
// topic.
func newTaskQueue(cfg Config, awsCfg aws.Config, topic *sqs.Subscriber) (*sqs.TaskQueue, error) {
	tc := sqs.TaskQueueConfig{QueueURL: cfg.QueueURL}
	if tc.QueueURL == "" {
		if topic == nil {
			return nil, errors.New("segment tasks: no queue to put them on")
		}
		tc.FindQueueURL = topic.QueueURL
	}
	return sqs.NewTaskQueue(awsCfg, tc)
}

// Handler serves /metrics, /healthz (the process is up) and /readyz (the pipeline
// takes requests: it runs, and not every admission is held by a request in flight).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch pending := s.pending.Load(); {
		case pending != nil:
			http.Error(w, "not ready: start-up checks failing, retried:\n"+*pending, http.StatusServiceUnavailable)
			return
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
// settle within the grace period (deleting what settled) and returns. It takes no
// request before the start-up checks pass (see awaitChecks), and returns their
// refusals, one line each, as its error.
func (s *Service) Run(ctx context.Context) error {
	srv := httpserve.Start(s.Ops, s.Handler())
	stop := func(err error) error {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(err, srv.Stop(stopCtx))
	}
	if err := s.awaitChecks(ctx); err != nil || ctx.Err() != nil {
		return stop(err)
	}
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
	return stop(s.Pipeline.Run(ctx))
}
