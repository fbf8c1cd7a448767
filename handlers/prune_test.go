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
			if got := keys(scanAll(t, store)); !slices.Equal(got, tt.left) {
				t.Errorf("store holds %v, want %v", got, tt.left)
			}
		})
	}
}

// TestPruneGrace checks that a connection stored less than the grace period ago stays,
// whatever the gateway said of it: it may still be in $connect.
func TestPruneGrace(t *testing.T) {
	const grace = 30 * time.Second
	old := conn("alice", "old")
	old.ConnectedAt = time.Now().Add(-time.Hour)
	young := conn("alice", "young") // stored now
	tests := []struct {
		name  string
		grace time.Duration
		left  []handlers.Connection
	}{
		{name: "with grace the young one stays", grace: grace, left: []handlers.Connection{conn("alice", "young")}},
		{name: "without grace both go", grace: 0, left: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t, 0, old, young)
			// The stage may not know the ages: the store judges by what it holds.
			err := handlers.Pruner{Store: store, Grace: tt.grace}.Prune(t.Context(), old.Key(), young.Key())
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if got := keys(scanAll(t, store)); !slices.Equal(got, tt.left) {
				t.Errorf("store holds %v, want %v", got, tt.left)
			}
		})
	}
}

// keys returns the store keys of conns, without their times.
func keys(conns []handlers.Connection) []handlers.Connection {
	out := make([]handlers.Connection, len(conns))
	for i, c := range conns {
		out[i] = c.Key()
	}
	return out
}

// deleterFunc adapts a function to handlers.ConnectionDeleter.
type deleterFunc func(ctx context.Context, conns []handlers.Connection, storedBefore time.Time) error

func (f deleterFunc) PruneConnections(ctx context.Context, conns []handlers.Connection, storedBefore time.Time) error {
	return f(ctx, conns, storedBefore)
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
			const grace = time.Minute
			calls := 0
			var cutoff time.Time
			store := deleterFunc(func(_ context.Context, _ []handlers.Connection, storedBefore time.Time) error {
				calls++
				cutoff = storedBefore
				return tt.storeErr
			})

			before := time.Now()
			err := handlers.Pruner{Store: store, Grace: grace}.Prune(t.Context(), tt.prune...)
			after := time.Now()

			if calls != tt.calls {
				t.Errorf("store called %d times, want %d", calls, tt.calls)
			}
			if calls > 0 && (cutoff.Before(before.Add(-grace)) || cutoff.After(after.Add(-grace))) {
				t.Errorf("store asked to keep what was stored from %v on, want the grace of %s before the prune (%v)", cutoff, grace, before)
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
