// Command counter-lambda is seed 004's counter on AWS, as one Lambda function for the
// provided.al2023 runtime: the WebSocket API's plus, minus and state routes, which move
// the counter in DynamoDB and send each change as a broadcast to a source the pusher
// reads (its notifications queue in deploy/examples/counter); its $default route,
// refusing any other message with an error frame; and its function URL, which serves
// the counter's page (package cmd/counter/app). Build it as bootstrap, as the pusher's
// function is:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -ldflags "-s -w" -o bootstrap ./cmd/counter-lambda
//
// It reads COUNTER_TABLE (default websocketcounter), one of NOTIFICATIONS_QUEUE_URL,
// NOTIFICATIONS_TOPIC_ARN and NOTIFICATIONS_STREAM_NAME, COUNTER_WEBSOCKET_URL and
// LOG_LEVEL; deploy/examples/counter deploys it, and docs/counter.md says how. Its init
// makes no network call.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apigw-pusher/apigw-pusher/adapters/awsconfig"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func main() {
	cfg, err := ConfigFromEnv(os.LookupEnv)
	exitOn(err)
	fn, err := build(context.Background(), cfg, os.Stderr)
	exitOn(err)
	lambda.StartHandlerFunc(fn.HandleRequest)
}

// exitOn ends the init on err: Lambda reports the exit with the last lines written, and
// this one names the cause.
func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "counter-lambda:", err)
		os.Exit(1)
	}
}

// build makes the function of cfg, logging JSON to w. It only makes clients: no
// network call.
func build(ctx context.Context, cfg Config, w io.Writer) (*Function, error) {
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	// send.Send makes a client at each call, and the bootstrap's configuration
	// (awsconfig.FromEnvironment, without AWS_CA_BUNDLE, as on Lambda) has no HTTP
	// client: each would make its own, and open a connection to the queue at every
	// click. One HTTP client for all of them keeps the connection from click to click
	// (TestBootstrapUnderRIE counts them).
	if awsCfg.HTTPClient == nil {
		awsCfg.HTTPClient = awshttp.NewBuildableClient()
	}
	counter, err := NewDynamoDBCounter(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	if err != nil {
		return nil, err
	}
	notifier := sendNotifier(awsCfg, cfg.Target)
	logger, err := settings.Logger(w, cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	return NewFunction(&app.App{Counter: counter, Notifier: notifier, Logger: logger}, cfg.WebSocketURL)
}
