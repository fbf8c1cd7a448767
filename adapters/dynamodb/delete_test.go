package dynamodb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestDeleteConnections(t *testing.T) {
	e := newEmulator(t)
	var stale, kept []handlers.Connection
	for i := range 60 {
		stale = append(stale, conn(fmt.Sprintf("user-%d", i%4), fmt.Sprintf("stale-%02d", i)))
	}
	for i := range 20 {
		kept = append(kept, conn(fmt.Sprintf("user-%d", i%4), fmt.Sprintf("kept-%02d", i)))
	}

	tests := []struct {
		name    string
		delete  []handlers.Connection
		batches int
	}{
		{name: "60 in 3 batches", delete: stale, batches: 3},
		{name: "with duplicates, absent and empty ones", batches: 3, delete: append(append(stale[:30:30], stale...),
			conn("nobody", "x"), conn("", ""), conn("user-1", ""))},
		{name: "none", delete: nil},
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
			if err := s.DeleteConnections(t.Context(), tt.delete); err != nil {
				t.Fatalf("DeleteConnections: %v", err)
			}
			want := kept
			if tt.delete == nil {
				want = append(stale, kept...)
			}
			sameConnections(t, flatten(scan(t, s, "")), want)
			if n := spy.Calls("BatchWriteItem"); n != tt.batches {
				t.Errorf("%d BatchWriteItem calls, want %d", n, tt.batches)
			}
		})
	}
}

// TestDeleteConnectionsRetriesUnprocessed has DynamoDB process only part of each batch,
// as it does when throttled, and the store retry the rest.
func TestDeleteConnectionsRetriesUnprocessed(t *testing.T) {
	e := newEmulator(t)
	// processOnly sends the first n requests of a batch to DynamoDB and returns the rest
	// as unprocessed.
	processOnly := func(n int) func(context.Context, *ddb.BatchWriteItemInput, func(*ddb.BatchWriteItemInput) (*ddb.BatchWriteItemOutput, error)) (*ddb.BatchWriteItemOutput, error) {
		return func(_ context.Context, in *ddb.BatchWriteItemInput, call func(*ddb.BatchWriteItemInput) (*ddb.BatchWriteItemOutput, error)) (*ddb.BatchWriteItemOutput, error) {
			unprocessed := map[string][]types.WriteRequest{}
			sent := map[string][]types.WriteRequest{}
			for table, requests := range in.RequestItems {
				k := min(n, len(requests))
				sent[table], unprocessed[table] = requests[:k], requests[k:]
			}
			if n > 0 {
				if _, err := call(&ddb.BatchWriteItemInput{RequestItems: sent}); err != nil {
					return nil, err
				}
			}
			return &ddb.BatchWriteItemOutput{UnprocessedItems: unprocessed}, nil
		}
	}

	t.Run("until all are processed", func(t *testing.T) {
		conns := connections(3, 30) // a batch of 25, then one of 5
		table := e.table(t)
		seed(t, e.client, table, conns)
		spy := newSpy(e.client)
		spy.wrap = processOnly(10)
		s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnections(t.Context(), conns); err != nil {
			t.Fatalf("DeleteConnections: %v", err)
		}
		sameConnections(t, flatten(scan(t, s, "")), nil)
		if n := spy.Calls("BatchWriteItem"); n != 4 { // 10+10+5, then 5
			t.Errorf("%d BatchWriteItem calls, want 4", n)
		}
	})

	t.Run("a bounded number of times", func(t *testing.T) {
		conns := connections(3, 5)
		table := e.table(t)
		seed(t, e.client, table, conns)
		spy := newSpy(e.client)
		spy.wrap = processOnly(0)
		s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		err = s.DeleteConnections(t.Context(), conns)
		if err == nil || !strings.Contains(err.Error(), "5 of 5 left unprocessed") {
			t.Fatalf("DeleteConnections = %v, want 5 of 5 left unprocessed", err)
		}
		if handlers.IsPermanent(err) {
			t.Errorf("DeleteConnections = %v, marked permanent; throttling is transient", err)
		}
		if n := spy.Calls("BatchWriteItem"); n < 2 || n > 10 {
			t.Errorf("%d BatchWriteItem calls, want a few", n)
		}
		t.Logf("%v after %d calls", err, spy.Calls("BatchWriteItem"))
	})
}

// TestDeleteConnectionsMergesConcurrentPrunes deletes 100 connections one per call, 50
// calls at a time, as the prune stage does when a broadcast finds many gone: the calls
// share BatchWriteItem calls, and every connection is deleted.
func TestDeleteConnectionsMergesConcurrentPrunes(t *testing.T) {
	e := newEmulator(t)
	table := e.table(t)
	stale, kept := connections(10, 100), []handlers.Connection{conn("keeper", "k1")}
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
			if err := s.DeleteConnections(t.Context(), []handlers.Connection{c}); err != nil {
				t.Errorf("delete %v: %v", c, err)
			}
		}()
	}
	wg.Wait()
	sameConnections(t, flatten(scan(t, s, "")), kept)
	if n := spy.Calls("BatchWriteItem"); n >= len(stale)/2 {
		t.Errorf("%d BatchWriteItem calls for %d concurrent single deletes, want them merged", n, len(stale))
	}
	t.Logf("%d BatchWriteItem calls for %d deletes", spy.Calls("BatchWriteItem"), len(stale))
}
