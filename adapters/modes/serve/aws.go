package serve

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
)

// NewAWSConfig loads the AWS SDK's configuration as the SDK does everywhere: the
// default credential chain, AWS_REGION, AWS_ENDPOINT_URL and the per-service endpoint
// variables (AWS_ENDPOINT_URL_SQS, ...), so pointing at an emulator needs no option of
// the pusher's own. It makes no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
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
