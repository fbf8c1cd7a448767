package handlers

import (
	"context"
	"fmt"
)

// ConnectionDeleter is what the prune stage needs of the connection store.
type ConnectionDeleter interface {
	// DeleteConnections removes the connections; removing one that is absent is no error.
	DeleteConnections(ctx context.Context, conns []Connection) error
}

// Pruner deletes stale connections from the store.
type Pruner struct {
	Store ConnectionDeleter
}

// Prune deletes conns, which the gateway reported gone.
func (p Pruner) Prune(ctx context.Context, conns ...Connection) error {
	if len(conns) == 0 {
		return nil
	}
	if err := p.Store.DeleteConnections(ctx, conns); err != nil {
		return fmt.Errorf("prune %d connections: %w", len(conns), err)
	}
	return nil
}
