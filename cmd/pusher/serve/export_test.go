package serve

import (
	"context"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// NewChecks is newChecks, for the tests of the start-up checks.
var NewChecks = newChecks

// AwaitChecks is awaitChecks.
func (s *Service) AwaitChecks(ctx context.Context) error { return s.awaitChecks(ctx) }

// AddCheck adds c to the service's start-up checks.
func (s *Service) AddCheck(c onaws.Check) { s.checks.Add(c) }
