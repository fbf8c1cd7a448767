package handlers

import (
	"context"
	"fmt"
	"time"
)

// ConnectionDeleter is what the prune stage needs of the connection store.
type ConnectionDeleter interface {
	// PruneConnections deletes conns, which the gateway reported gone, unless a
	// connection was stored at or after storedBefore: API Gateway answers 410 to a
	// connection still in $connect too, and such a one is kept. A connection whose
	// ConnectedAt is zero is judged by what the store holds; a row without a time is
	// old. Deleting one that is absent is no error.
	PruneConnections(ctx context.Context, conns []Connection, storedBefore time.Time) error
}

// Pruner deletes stale connections from the store.
type Pruner struct {
	Store ConnectionDeleter
	// Grace keeps the connections stored less than this long ago; see Post.Grace.
	Grace time.Duration
}

// Prune deletes conns, which the gateway reported gone, but for those stored less than
// Grace ago.
func (p Pruner) Prune(ctx context.Context, conns ...Connection) error {
	if len(conns) == 0 {
		return nil
	}
	if err := p.Store.PruneConnections(ctx, conns, time.Now().Add(-p.Grace)); err != nil {
		return fmt.Errorf("prune %d connections: %w", len(conns), err)
	}
	return nil
}
