package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Registry stores connections as the $connect and $disconnect routes open and close
// them; *dynamodb.Store implements it.
type Registry interface {
	AddConnection(ctx context.Context, c handlers.Connection) error
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// Function is the pusher as a Lambda function. Start it once per execution
// environment, then hand Handle to the Lambda runtime.
type Function struct {
	cfg      Config
	pipeline *pipeline.Pipeline
	conns    Registry
	topics   handlers.Subscriber
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
func NewTopics(ctx context.Context, cfg Config, conns Registry, logger *slog.Logger) (handlers.Subscriber, error) {
	subs, ok := conns.(handlers.Subscriptions)
	if !ok || cfg.Table.SubscriptionsTable == "" {
		subs = nil
	}
	return settings.NewSubscriber(ctx, cfg.Topics, subs, logger)
}

// New returns the function working through p, which has the team's stages (see
// onaws.NewPipeline), putting the
// segment tasks of the broadcasts p splits on tasks (when not nil), registering
// connections in conns, subscribing them with topics, and writing p's metrics with m at
// the end of each invocation. It makes no network call.
func New(cfg Config, p *pipeline.Pipeline, tasks *sqs.TaskQueue, conns Registry, topics handlers.Subscriber, m *emf.Metrics, opts []custom.Option, logger *slog.Logger) (*Function, error) {
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
	if tasks != nil {
		if err := p.SplitTo(tasks); err != nil {
			return nil, err
		}
	}
	m.Attach(p)
	return &Function{cfg: cfg, pipeline: p, conns: conns, topics: topics, metrics: m, logger: logger}, nil
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

// probe is what Handle reads of an event to tell its kind.
type probe struct {
	Type      string `json:"type"`      // an authorizer event's
	MethodArn string `json:"methodArn"` // an authorizer event's
	Records   []struct {
		SQSSource string `json:"eventSource"` // SQS's spelling
		SNSSource string `json:"EventSource"` // SNS's
	} `json:"Records"`
	RequestContext struct {
		EventType string `json:"eventType"`
		RouteKey  string `json:"routeKey"`
	} `json:"requestContext"`
}

// Handle serves one invocation: an SQS or SNS event of requests or an API Gateway
// WebSocket route, told apart by shape. It answers an SQS event with an
// events.SQSEventResponse, a WebSocket route with an events.APIGatewayProxyResponse, and
// an SNS event with nothing but an error when a record should be retried.
func (f *Function) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	defer func() {
		if err := f.metrics.Flush(); err != nil {
			f.logger.Warn("write metrics", "error", err)
		}
	}()
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	kind := "unknown"
	switch {
	case len(p.Records) > 0 && p.Records[0].SQSSource == "aws:sqs":
		var e events.SQSEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("decode SQS event: %w", err)
		}
		return f.SQS(ctx, e), nil
	case len(p.Records) > 0 && p.Records[0].SNSSource == "aws:sns":
		var e events.SNSEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("decode SNS event: %w", err)
		}
		return nil, f.SNS(ctx, e)
	case isAuthorizerEvent(p.Type, p.MethodArn):
		// It carries a $connect request context too: answered as a route, it would
		// store a connection and give API Gateway no policy.
		return nil, errors.New("an API Gateway authorizer event reached the pusher: deploy the $connect authorizer as its own function, with PUSHER_ROLE=authorizer")
	case p.RequestContext.RouteKey != "" || p.RequestContext.EventType != "":
		var e events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &e); err != nil {
			return nil, fmt.Errorf("decode WebSocket event: %w", err)
		}
		return f.WebSocket(ctx, e)
	case len(p.Records) > 0:
		kind = fmt.Sprintf("records of %q", p.Records[0].SQSSource+p.Records[0].SNSSource)
	}
	return nil, fmt.Errorf("unrecognized event (%s): not SQS, SNS nor an API Gateway WebSocket route", kind)
}
