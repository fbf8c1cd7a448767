//go:build wireinject

// Package pusher builds the pusher's modes from provider sets; cmd/pusher only parses
// flags and calls these injectors. Run `go generate .` (wire) after changing them.
package pusher

import (
	"log/slog"

	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/dev"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
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
