// Command pusher-lambda is the pusher as an AWS Lambda function, for the provided.al2023
// runtime: build it as bootstrap, for arm64 or amd64, without the RPC mode of the go1.x
// runtime:
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -ldflags "-s -w" -o bootstrap ./cmd/pusher-lambda
//
// The tag lambda.norpc also makes it read its AWS configuration from its environment
// alone, as Lambda hands it over (see package adapters/awsconfig), which keeps the arm64
// bootstrap under 10 MiB (issue 16).
//
// One function serves the SQS queues, SNS topics, Kinesis streams, EventBridge rules and
// API Gateway WebSocket routes wired to it: package adapters/lambda translates their
// events, and package cmd/pusher-lambda/function works them through the pipeline. It
// reads the environment variables of `pusher serve` (APIGW_ENDPOINT,
// CONNECTIONS_TABLE_NAME, POISON_QUEUE_URL, KINESIS_MAPPING, EVENTBRIDGE_MAPPING, ...) and
// DEADLINE_MARGIN, AUTHORIZER_USER_KEY, IDENTITY_PARAM, ANONYMOUS_CONNECTIONS and the
// topic settings (docs/settings.md has them all). With PUSHER_ROLE=authorizer it
// is the WebSocket API's $connect authorizer instead, and reads CONNECT_TOKEN_SECRET_ARN
// or CONNECT_TOKEN_JWKS_URL and the other CONNECT_ settings.
package main

import "github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"

func main() { function.Main() }
