package replay

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

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

// NewService gathers the parts; p has the team's stages (see onaws.NewPipeline), so a
// message parked at one is replayed there.
func NewService(cfg Config, q *SQSQueue, p *pipeline.Pipeline, client SQSAPI) (*Service, error) {
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
