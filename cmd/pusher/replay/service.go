package replay

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Service is what a replay on `pusher serve`'s resources needs: the SQS poison queue,
// the pipeline of `pusher serve` without sources (DynamoDB store, Management API
// poster, the same poison queue), and a Forwarder to the notifications queue.
type Service struct {
	Queue    *SQSQueue
	Pipeline *pipeline.Pipeline
	// Forwarder is nil without a QueueURL.
	Forwarder *Forwarder
}

// NewSQSClient returns the SQS client of the poison and notifications queues.
func NewSQSClient(awsCfg aws.Config) *awssqs.Client { return awssqs.NewFromConfig(awsCfg) }

// Set builds, from a Config, the replay of `pusher serve`'s poison queue on a pipeline
// of its own, without sources (a replay feeds it); the Config must be valid.
var Set = wire.NewSet(
	onaws.Set,
	wire.FieldsOf(new(Config), "Config"),
	pipeline.New,
	QueueSet,
	NewService,
)

// QueueSet builds the SQS poison queue alone, for a listing, an export or an import.
var QueueSet = wire.NewSet(
	NewSQSClient,
	wire.Bind(new(SQSAPI), new(*awssqs.Client)),
	NewSQSQueue,
)

// NewService gathers the parts, giving p the team's stages: a message parked at one is
// replayed there.
func NewService(cfg Config, q *SQSQueue, p *pipeline.Pipeline, client SQSAPI, o custom.Options) (*Service, error) {
	if err := o.Apply(p); err != nil {
		return nil, err
	}
	s := &Service{Queue: q, Pipeline: p}
	if cfg.QueueURL != "" {
		s.Forwarder = NewForwarder(client, cfg.QueueURL)
	}
	return s, nil
}

// Start runs the pipeline until the returned stop is called; stop lets the replays in
// flight settle within the pipeline's CloseTimeout.
func (s *Service) Start() (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Pipeline.Run(ctx) }()
	select {
	case <-s.Pipeline.Running():
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("replay pipeline: %w", err)
	}
	return func() error { cancel(); return <-done }, nil
}
