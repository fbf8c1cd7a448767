// Package onaws builds what every run mode on AWS builds the same way: the AWS SDK's
// configuration, the connection store on DynamoDB, the Management API poster, the SQS
// poison queue and the pipeline between them, from one Config and the team's options.
package onaws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awsconfig"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Config is where a mode on AWS sends its work: the Management API, the connections
// table and the poison queue, and the pipeline's tuning.
type Config struct {
	// APIGWEndpoint is the Management API endpoint (APIGW_ENDPOINT), such as
	// https://abc123.execute-api.eu-west-1.amazonaws.com/prod or a custom domain.
	APIGWEndpoint string
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys).
	Table dynamodb.Config
	// PoisonQueueURL is the SQS queue failed work is parked in (POISON_QUEUE_URL).
	PoisonQueueURL string
	// Pipeline tunes the pipeline.
	Pipeline pipeline.Config
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that start-up stops with one clear line.
func (c Config) Validate() error {
	switch {
	case c.APIGWEndpoint == "":
		return errors.New("APIGW_ENDPOINT is not set: the Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
	case !AbsoluteURL(c.APIGWEndpoint):
		return fmt.Errorf("APIGW_ENDPOINT=%q is not an http(s) URL", c.APIGWEndpoint)
	case c.Table.Table == "":
		return errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	case c.PoisonQueueURL == "":
		return errors.New("POISON_QUEUE_URL is not set: the SQS queue that failed work is parked in")
	case !AbsoluteURL(c.PoisonQueueURL):
		return fmt.Errorf("POISON_QUEUE_URL=%q is not an http(s) URL", c.PoisonQueueURL)
	}
	if err := c.Table.Validate(); err != nil {
		return fmt.Errorf("connections table: %w", err)
	}
	return c.Pipeline.Validate()
}

// AbsoluteURL reports whether s is an absolute http(s) URL.
func AbsoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// NewAWSConfig loads the AWS SDK's configuration as the SDK does everywhere: the
// default credential chain, AWS_REGION, AWS_ENDPOINT_URL and the per-service endpoint
// variables (AWS_ENDPOINT_URL_SQS, ...), so pointing at an emulator needs no option of
// the pusher's own. The Lambda bootstrap reads the same variables from its environment
// alone (see awsconfig.Load). It makes no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("AWS_REGION is not set: the region of the table, queues and API")
	}
	return cfg, nil
}

// NewDynamoDBClient returns the DynamoDB client of the connection store, with the SDK's
// standard retryer (or what AWS_MAX_ATTEMPTS and AWS_RETRY_MODE make it). Only the
// $connect and $disconnect writes use it: the store makes the pipeline's calls one
// attempt each, for the pipeline retries them (see package dynamodb, oneAttempt).
func NewDynamoDBClient(cfg aws.Config) dynamodb.API { return ddb.NewFromConfig(cfg) }

// NewStore returns the team's store (custom.WithStore), else the connections table.
func NewStore(cfg Config, client dynamodb.API, opts []custom.Option) (custom.Store, error) {
	if s := team.Resolve(opts).Store; s != nil {
		return s, nil
	}
	return dynamodb.New(client, cfg.Table)
}

// NewPoster returns the team's poster (custom.WithPoster), else the Management API
// poster, keeping as many connections to the endpoint as the pipeline keeps posts in
// flight.
func NewPoster(cfg Config, awsCfg aws.Config, opts []custom.Option) (handlers.Poster, error) {
	if p := team.Resolve(opts).Poster; p != nil {
		return p, nil
	}
	return apigw.New(awsCfg, apigw.Config{Endpoint: cfg.APIGWEndpoint, MaxConns: cfg.Pipeline.PostConcurrency})
}

// NewPoisonQueue returns the SQS poison queue, closed by the cleanup.
func NewPoisonQueue(cfg Config, awsCfg aws.Config, logger *slog.Logger) (*sqs.PoisonQueue, func(), error) {
	q, err := sqs.NewPoisonQueue(awsCfg, sqs.PoisonConfig{QueueURL: cfg.PoisonQueueURL, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	return q, func() { _ = q.Close() }, nil
}

// NewPipeline returns the pipeline of a mode on AWS, reading and pruning store, posting
// with poster and parking in poison, with the team's stages, middleware and observers.
// The mode adds its sources.
func NewPipeline(cfg Config, store custom.Store, poster handlers.Poster, poison *sqs.PoisonQueue, opts []custom.Option, logger *slog.Logger) (*pipeline.Pipeline, error) {
	return team.Resolve(opts).NewPipeline(cfg.Pipeline, store, poster, poison, logger)
}

// Flags defines the settings of c.
func Flags(f *settings.Flags, c *Config) {
	f.String(&c.APIGWEndpoint, "apigw-endpoint", "APIGW_ENDPOINT", "", "Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
	settings.Table(f, &c.Table)
	f.String(&c.PoisonQueueURL, "poison-queue-url", "POISON_QUEUE_URL", "", "SQS queue failed work is parked in")
	settings.Pipeline(f, &c.Pipeline)
	settings.Mappings(f, &c.Pipeline.Mappings)
}
