package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Function is the pusher as a Lambda function. Start it once per execution
// environment, then hand Handle to the Lambda runtime.
type Function struct {
	cfg      Config
	pipeline *pipeline.Pipeline
	routes   *lambda.Routes
	metrics  *emf.Metrics
	logger   *slog.Logger
}

// NewTaskQueue returns, when broadcasts are split (BROADCAST_SPLIT_ABOVE), the queue
// their segment tasks go on: NOTIFICATIONS_QUEUE_URL, the queue the function reads, so
// that its concurrent invocations share them. It returns nil when nothing is split, and
// makes no network call.
func NewTaskQueue(cfg Config, awsCfg aws.Config) (*sqs.TaskQueue, error) {
	if cfg.Pipeline.Split.Above == 0 {
		return nil, nil
	}
	return sqs.NewTaskQueue(awsCfg, sqs.TaskQueueConfig{QueueURL: cfg.QueueURL})
}

// NewTopics returns the subscriber of the $connect, subscribe and unsubscribe routes:
// on conns when it keeps subscriptions (SUBSCRIPTIONS_TABLE_NAME), as cfg's rules allow.
// It makes no network call but to fetch a JWK set of subscription tokens.
func NewTopics(ctx context.Context, cfg Config, conns lambda.Registry, logger *slog.Logger) (handlers.Subscriber, error) {
	subs, ok := conns.(handlers.Subscriptions)
	if !ok || cfg.Table.SubscriptionsTable == "" {
		subs = nil
	}
	return settings.NewSubscriber(ctx, cfg.Topics, subs, logger)
}

// New returns the function working through p, which has the team's stages (see
// onaws.NewPipeline), putting the segment tasks of the broadcasts p splits on tasks
// (when not nil), serving the WebSocket routes with conns and topics (see
// lambda.Routes), and writing p's metrics with m at the end of each invocation. It makes
// no network call.
func New(cfg Config, p *pipeline.Pipeline, tasks *sqs.TaskQueue, conns lambda.Registry, topics handlers.Subscriber, m *emf.Metrics, opts []custom.Option, logger *slog.Logger) (*Function, error) {
	cfg, err := Defaults(cfg)
	if err != nil {
		return nil, err
	}
	if err := team.Resolve(opts).Refuse("the Lambda function", "its requests come in its invocations; subscribe it to the queue or topic instead", team.Sources); err != nil {
		return nil, err
	}
	if p == nil || conns == nil || m == nil {
		return nil, errors.New("lambda function: a pipeline, a registry and metrics are required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	routes, err := lambda.NewRoutes(lambda.RoutesConfig{
		IdentityParam:        cfg.IdentityParam,
		UserKey:              cfg.AuthorizerKey,
		AuthorizerRequired:   cfg.AuthorizerRequired,
		AnonymousConnections: cfg.AnonymousConnections,
		GrantsKey:            cfg.Topics.GrantsKey,
		TopicParams:          cfg.Topics.Params,
		TokenParam:           cfg.Topics.TokenParam,
	}, conns, topics, logger)
	if err != nil {
		return nil, err
	}
	settings.WarnAnonymous(logger, cfg.AnonymousConnections)
	if tasks != nil {
		if err := p.SplitTo(tasks); err != nil {
			return nil, err
		}
	}
	m.Attach(p)
	return &Function{cfg: cfg, pipeline: p, routes: routes, metrics: m, logger: logger}, nil
}

// Start runs the pipeline in the background until ctx is done, which a deployment never
// makes it: the pipeline lives as long as the execution environment. It returns once the
// pipeline admits requests; done then receives what the pipeline's Run returns.
func (f *Function) Start(ctx context.Context) (done <-chan error, err error) {
	ran := make(chan error, 1)
	go func() {
		err := f.pipeline.Run(ctx)
		if err != nil {
			f.logger.Error("pipeline stopped", "error", err)
		}
		ran <- err
	}()
	select {
	case <-f.pipeline.Running():
		return ran, nil
	case err := <-ran:
		return nil, fmt.Errorf("start the pipeline: %w", err)
	}
}
