package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Poster is what the post stage needs of the gateway: send one frame to one connection.
// It returns ErrGone for a connection the gateway no longer knows and a PermanentError
// for a post that no retry can pass.
type Poster interface {
	PostToConnection(ctx context.Context, connectionID string, frame []byte) error
}

// Outcome is what became of a delivery that did not fail.
type Outcome int

// The outcomes of a post.
const (
	// Delivered means the gateway took the frame.
	Delivered Outcome = iota
	// Gone means the connection is stale and is to be pruned.
	Gone
	// Connecting means the gateway answered 410 for a connection stored less than the
	// grace period ago: it may still be in $connect, so it is not pruned.
	Connecting
)

// Post sends deliveries through a gateway.
type Post struct {
	Gateway Poster
	// Grace is how long after $connect stored it a connection answered 410 is taken to
	// be still connecting rather than gone. API Gateway answers 410 to a post for a
	// connection whose $connect has not completed; pruning it would lose the client.
	// Zero takes every 410 for gone.
	Grace time.Duration
}

// Post sends d's frame to its connection.
func (p Post) Post(ctx context.Context, d Delivery) (Outcome, error) {
	err := p.Gateway.PostToConnection(ctx, d.ConnectionID, d.Frame)
	switch {
	case err == nil:
		return Delivered, nil
	case errors.Is(err, ErrGone) && p.connecting(d.Connection):
		return Connecting, nil
	case errors.Is(err, ErrGone):
		return Gone, nil
	default:
		return 0, fmt.Errorf("post to %s of %s: %w", d.ConnectionID, d.UserID, err)
	}
}

// connecting reports whether c was stored less than Grace ago.
func (p Post) connecting(c Connection) bool {
	return !c.ConnectedAt.IsZero() && time.Since(c.ConnectedAt) < p.Grace
}
