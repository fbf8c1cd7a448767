//go:build wireinject

// Package pusher wires the run modes of the pusher binary (dev, serve, gateway, replay)
// from the provider sets of their packages, with a team's custom.Options; cmd/pusher/cli
// parses settings and calls these injectors. The Lambda function has a wiring of its own, in package
// cmd/pusher-lambda/function, so that its binary links only what it runs.
//
// After changing an injector or a provider set, regenerate both wirings with
// `go generate ./...` (the directive wire writes into each wire_gen.go).
package pusher

import (
	"context"
	"log/slog"

	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
)

// BuildDev builds `pusher dev` from cfg (already defaulted with dev.Defaults).
func BuildDev(ctx context.Context, cfg dev.Config, opts custom.Options, logger *slog.Logger) (*dev.Pusher, func(), error) {
	wire.Build(dev.Set)
	return nil, nil, nil
}

// BuildServe builds `pusher serve` from cfg (already defaulted with serve.Defaults).
func BuildServe(ctx context.Context, cfg serve.Config, opts custom.Options, logger *slog.Logger) (*serve.Service, func(), error) {
	wire.Build(serve.Set)
	return nil, nil, nil
}

// BuildGateway builds `pusher gateway` from cfg (already defaulted with
// gateway.Defaults).
func BuildGateway(ctx context.Context, cfg gateway.Config, logger *slog.Logger) (*gateway.Gateway, func(), error) {
	wire.Build(gateway.Set)
	return nil, nil, nil
}

// BuildReplay builds the replay of `pusher serve`'s poison queue on a pipeline of its
// own, with the team's stages, from cfg (validated with its Validate). It makes no
// network call.
func BuildReplay(ctx context.Context, cfg replay.Config, opts custom.Options, logger *slog.Logger) (*replay.Service, func(), error) {
	wire.Build(replay.Set)
	return nil, nil, nil
}

// BuildReplayQueue builds the SQS poison queue alone, for `pusher replay list`, export
// and import.
func BuildReplayQueue(ctx context.Context, cfg replay.Config, logger *slog.Logger) (*replay.SQSQueue, error) {
	wire.Build(onaws.NewAWSConfig, replay.QueueSet)
	return nil, nil
}
