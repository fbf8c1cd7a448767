// Command pusher-lambda is the pusher as an AWS Lambda function, for the provided.al2023
// runtime: build it as bootstrap, for arm64 or amd64, without the RPC mode of the go1.x
// runtime:
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -ldflags "-s -w" -o bootstrap ./cmd/pusher-lambda
//
// One function serves the SQS queues, SNS topics and API Gateway WebSocket routes wired
// to it (see package adapters/lambda). It reads the environment variables of `pusher
// serve` (APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME, POISON_QUEUE_URL, ...) and
// DEADLINE_MARGIN, AUTHORIZER_USER_KEY, IDENTITY_PARAM.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/lambda"
)

func main() {
	start := time.Now()
	fn, err := initFunction(start)
	if err != nil {
		// Lambda reports the exit with the last lines written: this one names the cause.
		fmt.Fprintln(os.Stderr, "pusher-lambda:", err)
		os.Exit(1)
	}
	awslambda.StartHandlerFunc(fn.Handle)
}

// initFunction builds the function and starts its pipeline, making no network call: the
// first one is the first invocation's.
func initFunction(start time.Time) (*lambda.Function, error) {
	cfg, err := lambda.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	logger := lambda.NewLogger(cfg, os.Stderr)
	// The pipeline lives as long as the execution environment: neither its context nor
	// the cleanup of its parts ever ends.
	ctx := context.Background()
	fn, _, err := pusher.BuildLambda(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if _, err := fn.Start(ctx); err != nil {
		return nil, err
	}
	logger.Info("pusher-lambda ready", "init_ms", float64(time.Since(start).Microseconds())/1000)
	return fn, nil
}
