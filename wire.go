//go:build wireinject

// Package pusher builds the pusher's modes from provider sets; cmd/pusher only parses
// flags and calls these injectors. Run `go generate .` (wire) after changing them.
package pusher

import (
	"context"
	"log/slog"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/dev"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/lambda"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/adapters/metrics"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/replay"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/serve"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// devSet builds `pusher dev`: in-memory store and poison queue, the local gateway and
// the HTTP intake on one listener.
var devSet = wire.NewSet(
	dev.NewListener,
	dev.NewStore,
	dev.NewGateway,
	dev.NewPoster,
	wire.Bind(new(handlers.Poster), new(*apigw.Poster)),
	dev.NewPipeline,
	dev.NewPusher,
	dev.NewIntake,
	memory.NewPoisonQueue,
)

// BuildDev builds `pusher dev` from cfg (already defaulted with dev.Defaults).
func BuildDev(cfg dev.Config, logger *slog.Logger) (*dev.Pusher, func(), error) {
	wire.Build(devSet)
	return nil, nil, nil
}

// gatewaySet builds `pusher gateway`: the local gateway on the DynamoDB table.
var gatewaySet = wire.NewSet(
	serve.NewAWSConfig,
	serve.NewDynamoDBClient,
	serve.NewGatewayStore,
	serve.NewGatewayListener,
	serve.NewLocalGateway,
	serve.NewGateway,
)

// BuildGateway builds `pusher gateway` from cfg (already defaulted with
// serve.GatewayDefaults).
func BuildGateway(ctx context.Context, cfg serve.GatewayConfig, logger *slog.Logger) (*serve.Gateway, func(), error) {
	wire.Build(gatewaySet)
	return nil, nil, nil
}

// serveSet builds `pusher serve`: SQS and SNS sources, the DynamoDB store, the
// Management API poster, the SQS poison queue, metrics.
var serveSet = wire.NewSet(
	serve.NewAWSConfig,
	serve.NewDynamoDBClient,
	serve.NewStore,
	serve.NewPoster,
	serve.NewPoisonQueue,
	serve.NewSources,
	serve.NewPipeline,
	serve.NewOpsListener,
	serve.NewService,
	metrics.New,
)

// BuildService builds `pusher serve` from cfg (already defaulted with serve.Defaults).
func BuildService(ctx context.Context, cfg serve.Config, logger *slog.Logger) (*serve.Service, func(), error) {
	wire.Build(serveSet)
	return nil, nil, nil
}

// lambdaSet builds the Lambda function: the store, poster and poison queue of `pusher
// serve`, and a pipeline without sources, which the function's handler feeds.
var lambdaSet = wire.NewSet(
	lambda.ServiceConfig,
	serve.NewAWSConfig,
	serve.NewDynamoDBClient,
	serve.NewStore,
	serve.NewPoster,
	serve.NewPoisonQueue,
	lambda.NewPipeline,
	wire.Bind(new(lambda.Registry), new(*dynamodb.Store)),
	lambda.New,
)

// BuildLambda builds the Lambda function from cfg (already defaulted with
// lambda.Defaults). It makes no network call.
func BuildLambda(ctx context.Context, cfg lambda.Config, logger *slog.Logger) (*lambda.Function, func(), error) {
	wire.Build(lambdaSet)
	return nil, nil, nil
}

// replaySet builds `pusher replay send` on `pusher serve`'s resources: the SQS poison
// queue, and the pipeline of `pusher serve` (DynamoDB store, Management API poster, SQS
// poison queue) without sources, which the replay feeds.
var replaySet = wire.NewSet(
	replay.ServiceConfig,
	serve.NewAWSConfig,
	serve.NewDynamoDBClient,
	serve.NewStore,
	serve.NewPoster,
	serve.NewPoisonQueue,
	replay.NewSQSClient,
	wire.Bind(new(replay.SQSAPI), new(*awssqs.Client)),
	replay.NewSQSQueue,
	replay.NewPipeline,
	replay.NewService,
)

// BuildReplay builds the replay of `pusher serve`'s poison queue from cfg (validated
// with its Validate). It makes no network call.
func BuildReplay(ctx context.Context, cfg replay.Config, logger *slog.Logger) (*replay.Service, func(), error) {
	wire.Build(replaySet)
	return nil, nil, nil
}

// BuildReplayQueue builds the SQS poison queue alone, for `pusher replay list`, export
// and import.
func BuildReplayQueue(ctx context.Context, cfg replay.Config, logger *slog.Logger) (*replay.SQSQueue, error) {
	wire.Build(serve.NewAWSConfig, replay.NewSQSClient, wire.Bind(new(replay.SQSAPI), new(*awssqs.Client)), replay.NewSQSQueue)
	return nil, nil
}
