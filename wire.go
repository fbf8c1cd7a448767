//go:build wireinject

// Package pusher wires every run mode of the pusher binary, in one place: each injector
// below lists the parts of its mode; cmd/pusher/cli parses the settings and calls them
// with a team's options. The Lambda function has its own wiring, beside its main, in
// cmd/pusher-lambda/function, so that its binary links only what it runs.
//
// After changing an injector or a constructor's parameters, regenerate both wirings with
// `go generate ./...` (the directive wire writes into each wire_gen.go).
package pusher

import (
	"context"
	"log/slog"

	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/adapters/metrics"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
)

// onAWS is the pipeline of a mode on AWS, from an onaws.Config: the connections table
// (or the team's store), the Management API poster (or the team's), the SQS poison
// queue and the team's stages.
var onAWS = wire.NewSet(
	onaws.NewAWSConfig,
	onaws.NewDynamoDBClient,
	onaws.NewStore,
	onaws.NewPoster,
	onaws.NewPoisonQueue,
	onaws.NewPipeline,
)

// poisonQueue is the SQS poison queue alone, for `pusher replay`.
var poisonQueue = wire.NewSet(
	replay.NewSQSClient,
	wire.Bind(new(replay.SQSAPI), new(*awssqs.Client)),
	replay.NewSQSQueue,
)

// BuildDev builds `pusher dev` from cfg (already defaulted with dev.Defaults): the
// pipeline on a memory store and poison queue, posting to the local gateway that shares
// its listener with the HTTP intake and the web console.
func BuildDev(ctx context.Context, cfg dev.Config, opts []custom.Option, logger *slog.Logger) (*dev.Pusher, func(), error) {
	wire.Build(
		wire.FieldsOf(new(dev.Config), "Listen"),
		httpserve.Listen,
		dev.NewStore,
		memory.NewPoisonQueue,
		dev.NewPoster,
		dev.NewPipeline,
		dev.NewGateway,
		dev.NewIntake,
		dev.NewConsole,
		dev.New,
	)
	return nil, nil, nil
}

// BuildServe builds `pusher serve` from cfg (already defaulted with serve.Defaults): the
// pipeline on AWS fed by its SQS queue and SNS topic, with Prometheus metrics, health
// and readiness on the ops listener.
func BuildServe(ctx context.Context, cfg serve.Config, opts []custom.Option, logger *slog.Logger) (*serve.Service, func(), error) {
	wire.Build(
		wire.FieldsOf(new(serve.Config), "Config", "OpsListen"),
		onAWS,
		metrics.New,
		httpserve.Listen,
		serve.New,
	)
	return nil, nil, nil
}

// BuildGateway builds `pusher gateway` from cfg (already defaulted with
// gateway.Defaults): the local gateway of dev, on the connections table (or the team's
// store), or in front of a Lambda integration.
func BuildGateway(ctx context.Context, cfg gateway.Config, opts []custom.Option, logger *slog.Logger) (*gateway.Gateway, func(), error) {
	wire.Build(
		wire.FieldsOf(new(gateway.Config), "Listen"),
		onaws.NewAWSConfig,
		onaws.NewDynamoDBClient,
		gateway.NewStore,
		httpserve.Listen,
		gateway.NewAuthorizer,
		gateway.NewLocalGateway,
		wire.Struct(new(gateway.Gateway), "*"),
	)
	return nil, nil, nil
}

// BuildReplay builds the replay of `pusher serve`'s poison queue on a pipeline of its
// own, with the team's stages, from cfg (validated with its Validate). It makes no
// network call.
func BuildReplay(ctx context.Context, cfg replay.Config, opts []custom.Option, logger *slog.Logger) (*replay.Service, func(), error) {
	wire.Build(
		wire.FieldsOf(new(replay.Config), "Config"),
		onAWS,
		poisonQueue,
		replay.NewService,
	)
	return nil, nil, nil
}

// BuildReplayQueue builds the SQS poison queue alone, for `pusher replay list`, export
// and import.
func BuildReplayQueue(ctx context.Context, cfg replay.Config, logger *slog.Logger) (*replay.SQSQueue, error) {
	wire.Build(onaws.NewAWSConfig, poisonQueue)
	return nil, nil
}
