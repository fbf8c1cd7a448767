package dynamodb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestProbes: on dynalite, each probe reads its table or index as the store would, and a
// table, index or key name that is not there fails for good, saying which.
func TestProbes(t *testing.T) {
	e := newEmulator(t)
	conns := e.table(t)
	subs := "subscriptions"
	awstest.CreateSubscriptionsTable(t, e.client, subs)
	type want struct{ table, index, err string } // err "" for a probe that passes
	tests := []struct {
		name string
		cfg  dynamodb.Config
		want []want
	}{
		{"the tables", dynamodb.Config{Table: conns, SubscriptionsTable: subs},
			[]want{{conns, "", ""}, {subs, "", ""}, {subs, "by-connection", ""}}},
		{"no connections table", dynamodb.Config{Table: "nope"},
			[]want{{"nope", "", "table not found (ResourceNotFoundException)"}}},
		{"another hash key", dynamodb.Config{Table: conns, UserKey: "uid"},
			[]want{{conns, "", "the table refuses the store's query (ValidationException"}}},
		{"no subscriptions table", dynamodb.Config{Table: conns, SubscriptionsTable: "nope"},
			[]want{{conns, "", ""}, {"nope", "", "table not found"}, {"nope", "by-connection", "table not found"}}},
		{"no such index", dynamodb.Config{Table: conns, SubscriptionsTable: subs, SubscriptionsIndex: "by-user"},
			[]want{{conns, "", ""}, {subs, "", ""}, {subs, "by-user", "index by-user not found (ValidationException"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probes, err := dynamodb.Probes(e.client, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(probes) != len(tc.want) {
				t.Fatalf("%d probes, want %d", len(probes), len(tc.want))
			}
			for i, p := range probes {
				w := tc.want[i]
				if p.Table != w.table || p.Index != w.index {
					t.Errorf("probe %d reads %s %s, want %s %s", i, p.Table, p.Index, w.table, w.index)
				}
				err := p.Run(context.Background())
				switch {
				case w.err == "" && err != nil:
					t.Errorf("probe of %s %s: %v", p.Table, p.Index, err)
				case w.err != "" && (!handlers.IsPermanent(err) || !strings.HasPrefix(err.Error(), w.err)):
					t.Errorf("probe of %s %s: %v (permanent %v), want a permanent error starting %q", p.Table, p.Index, err, handlers.IsPermanent(err), w.err)
				}
			}
		})
	}
	t.Run("throttled", func(t *testing.T) {
		faults := awstest.NewDynamoDBFaults(t, e.endpoint)
		faults.Throttle(1, awstest.ProvisionedThroughputExceeded)
		probes, err := dynamodb.Probes(awstest.DynamoDBClient(faults.URL), dynamodb.Config{Table: conns})
		if err != nil {
			t.Fatal(err)
		}
		err = probes[0].Run(context.Background())
		if err == nil || handlers.IsPermanent(err) {
			t.Errorf("probe: %v, want a transient error", err)
		}
		if calls, _ := faults.Counts(); calls != 1 {
			t.Errorf("%d calls, want 1: a probe makes one attempt", calls)
		}
	})
}
