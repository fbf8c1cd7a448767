package handlers_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestPrune checks that the pruned connections, and only those, leave the store.
func TestPrune(t *testing.T) {
	all := []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("bob", "b1")}
	tests := []struct {
		name  string
		prune []handlers.Connection
		left  []handlers.Connection
	}{
		{name: "one connection", prune: all[:1], left: all[1:]},
		{name: "several users", prune: []handlers.Connection{all[0], all[2]}, left: []handlers.Connection{all[1]}},
		{name: "every connection", prune: all, left: nil},
		{name: "absent connection is no error", prune: []handlers.Connection{conn("zoe", "z1")}, left: all},
		{name: "connection id of another user is kept", prune: []handlers.Connection{conn("bob", "a1")}, left: all},
		{name: "empty list", prune: nil, left: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, 0, all...)

			if err := (handlers.Pruner{Store: store}).Prune(t.Context(), tt.prune...); err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if got := scanAll(t, store); !slices.Equal(got, tt.left) {
				t.Errorf("store holds %v, want %v", got, tt.left)
			}
		})
	}
}

// deleterFunc adapts a function to handlers.ConnectionDeleter.
type deleterFunc func(ctx context.Context, conns []handlers.Connection) error

func (f deleterFunc) PruneConnections(ctx context.Context, conns []handlers.Connection, _ time.Time) error {
	return f(ctx, conns)
}

// TestPruneStore checks how the pruner uses its store: not at all for nothing to prune,
// and with the store's error reported.
func TestPruneStore(t *testing.T) {
	errDown := errors.New("table unavailable")
	tests := []struct {
		name     string
		prune    []handlers.Connection
		storeErr error
		calls    int
		wantErr  string
	}{
		{name: "empty list does not touch the store", prune: nil, calls: 0},
		{name: "empty non-nil list does not touch the store", prune: []handlers.Connection{}, calls: 0},
		{name: "store error", prune: []handlers.Connection{conn("a", "1"), conn("b", "2")}, storeErr: errDown, calls: 1,
			wantErr: "prune 2 connections: table unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			store := deleterFunc(func(context.Context, []handlers.Connection) error { calls++; return tt.storeErr })

			err := handlers.Pruner{Store: store}.Prune(t.Context(), tt.prune...)

			if calls != tt.calls {
				t.Errorf("store called %d times, want %d", calls, tt.calls)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Prune: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.storeErr)):
				t.Errorf("Prune error = %v, want %q wrapping the store's error", err, tt.wantErr)
			}
		})
	}
}

var _ handlers.ConnectionDeleter = (*memory.Store)(nil)
