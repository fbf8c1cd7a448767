package dynamodb_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// grace is the prune tests' grace period: a row stored after now-grace is young.
const grace = 30 * time.Second

// TestPruneConnections prunes connections as the prune stage does, with the time the
// read that found them saw, and checks which rows go and with which calls: an old row
// in a batch, a young one kept without a call, one of unknown age on a condition.
func TestPruneConnections(t *testing.T) {
	e := newEmulator(t)
	now := time.Now()
	oldAt, youngAt := now.Add(-time.Hour), now.Add(-time.Second)
	old, young := at(conn("alice", "old"), oldAt), at(conn("alice", "young"), youngAt)
	legacy := conn("bob", "legacy") // no connected_at, as the Python original writes rows
	tests := []struct {
		name  string
		rows  []handlers.Connection
		prune []handlers.Connection // as the read found them
		left  []handlers.Connection
		// calls of each kind the prune makes
		batches, deletes int
	}{
		{name: "an old row goes in a batch", rows: []handlers.Connection{old, young}, prune: []handlers.Connection{old},
			left: []handlers.Connection{young}, batches: 1},
		{name: "a young row stays, with no call", rows: []handlers.Connection{old, young}, prune: []handlers.Connection{young},
			left: []handlers.Connection{old, young}},
		{name: "a row without a time goes on its condition", rows: []handlers.Connection{legacy, young}, prune: []handlers.Connection{legacy},
			left: []handlers.Connection{young}, deletes: 1},
		{name: "unknown to the caller, young in the table: stays", rows: []handlers.Connection{young}, prune: []handlers.Connection{young.Key()},
			left: []handlers.Connection{young}, deletes: 1},
		{name: "unknown to the caller, old in the table: goes", rows: []handlers.Connection{old, young}, prune: []handlers.Connection{old.Key()},
			left: []handlers.Connection{young}, deletes: 1},
		{name: "all kinds at once", rows: []handlers.Connection{old, young, legacy}, prune: []handlers.Connection{old, young, legacy, old},
			left: []handlers.Connection{young}, batches: 1, deletes: 1},
		{name: "absent, of unknown age and old", rows: []handlers.Connection{young},
			prune: []handlers.Connection{conn("zoe", "z1"), at(conn("zoe", "z2"), oldAt)}, left: []handlers.Connection{young}, batches: 1, deletes: 1},
		{name: "empty keys make no call", rows: []handlers.Connection{young},
			prune: []handlers.Connection{conn("", ""), conn("alice", "")}, left: []handlers.Connection{young}},
		{name: "none", rows: []handlers.Connection{old}, left: []handlers.Connection{old}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := e.table(t)
			seed(t, e.client, table, tt.rows)
			spy := newSpy(e.client)
			s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PruneConnections(t.Context(), tt.prune, now.Add(-grace)); err != nil {
				t.Fatalf("PruneConnections: %v", err)
			}
			sameConnections(t, flatten(scan(t, s, "")), tt.left)
			if n := spy.Calls("BatchWriteItem"); n != tt.batches {
				t.Errorf("%d BatchWriteItem calls, want %d", n, tt.batches)
			}
			if n := spy.Calls("DeleteItem"); n != tt.deletes {
				t.Errorf("%d DeleteItem calls, want %d", n, tt.deletes)
			}
		})
	}
}

// TestPruneConnectionsInBatches prunes many old connections in one call: they go in
// batches of 25, duplicates and empty keys left out.
func TestPruneConnectionsInBatches(t *testing.T) {
	e := newEmulator(t)
	oldAt := time.Now().Add(-time.Hour)
	var stale, kept []handlers.Connection
	for i := range 60 {
		stale = append(stale, at(conn(fmt.Sprintf("user-%d", i%4), fmt.Sprintf("stale-%02d", i)), oldAt))
	}
	for i := range 20 {
		kept = append(kept, at(conn(fmt.Sprintf("user-%d", i%4), fmt.Sprintf("kept-%02d", i)), oldAt))
	}

	tests := []struct {
		name    string
		prune   []handlers.Connection
		batches int
	}{
		{name: "60 in 3 batches", prune: stale, batches: 3},
		{name: "with duplicates, absent and empty ones", batches: 3, prune: append(append(stale[:30:30], stale...),
			at(conn("nobody", "x"), oldAt), at(conn("", ""), oldAt), at(conn("user-1", ""), oldAt))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := e.table(t)
			seed(t, e.client, table, append(stale, kept...))
			spy := newSpy(e.client)
			s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PruneConnections(t.Context(), tt.prune, time.Now().Add(-grace)); err != nil {
				t.Fatalf("PruneConnections: %v", err)
			}
			sameConnections(t, flatten(scan(t, s, "")), kept)
			if n := spy.Calls("BatchWriteItem"); n != tt.batches {
				t.Errorf("%d BatchWriteItem calls, want %d", n, tt.batches)
			}
		})
	}
}

// TestPruneConnectionsMergesConcurrentPrunes prunes 100 old connections one per call,
// 50 calls at a time, as the prune stage does when a broadcast finds many gone: the
// calls share BatchWriteItem calls, and every connection is deleted.
func TestPruneConnectionsMergesConcurrentPrunes(t *testing.T) {
	e := newEmulator(t)
	table := e.table(t)
	oldAt := time.Now().Add(-time.Hour)
	stale := connections(10, 100)
	for i := range stale {
		stale[i] = at(stale[i], oldAt)
	}
	kept := []handlers.Connection{at(conn("keeper", "k1"), oldAt)}
	seed(t, e.client, table, append(stale, kept...))
	spy := newSpy(e.client)
	s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 50)
	for _, c := range stale {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := s.PruneConnections(t.Context(), []handlers.Connection{c}, time.Now().Add(-grace)); err != nil {
				t.Errorf("prune %v: %v", c, err)
			}
		}()
	}
	wg.Wait()
	sameConnections(t, flatten(scan(t, s, "")), kept)
	if n := spy.Calls("BatchWriteItem"); n >= len(stale)/2 {
		t.Errorf("%d BatchWriteItem calls for %d concurrent single prunes, want them merged", n, len(stale))
	}
	t.Logf("%d BatchWriteItem calls for %d prunes", spy.Calls("BatchWriteItem"), len(stale))
}
