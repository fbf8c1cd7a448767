package dynamodb_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  dynamodb.Config
		want string // a part of the error; "" for none
	}{
		{name: "table only", cfg: dynamodb.Config{Table: "connections"}},
		{name: "everything", cfg: dynamodb.Config{
			Table: "connections", UserKey: "uid", ConnectionKey: "cid", ConnectedAtAttribute: "at",
			TTLAttribute: "expires_at", TTL: 2 * time.Hour, PageSize: 7, ScanSegments: 3,
		}},
		{name: "no table", cfg: dynamodb.Config{}, want: "CONNECTIONS_TABLE_NAME"},
		{name: "keys alike", cfg: dynamodb.Config{Table: "c", UserKey: "id", ConnectionKey: "id"}, want: `user key and connection key are both "id"`},
		{name: "ttl attribute is a key", cfg: dynamodb.Config{Table: "c", UserKey: "u", TTLAttribute: "u", TTL: time.Hour}, want: "both"},
		{name: "ttl without attribute", cfg: dynamodb.Config{Table: "c", TTL: time.Hour}, want: "without a ttl attribute"},
		{name: "attribute without ttl", cfg: dynamodb.Config{Table: "c", TTLAttribute: "ttl"}, want: "without a ttl"},
		{name: "ttl under a second", cfg: dynamodb.Config{Table: "c", TTLAttribute: "ttl", TTL: time.Millisecond}, want: "under a second"},
		{name: "negative ttl", cfg: dynamodb.Config{Table: "c", TTLAttribute: "ttl", TTL: -time.Hour}, want: "negative"},
		{name: "negative page size", cfg: dynamodb.Config{Table: "c", PageSize: -1}, want: "page size"},
		{name: "negative segments", cfg: dynamodb.Config{Table: "c", ScanSegments: -1}, want: "scan segments"},
		{name: "too many segments", cfg: dynamodb.Config{Table: "c", ScanSegments: 1_000_001}, want: "scan segments"},
		{name: "subscriptions", cfg: dynamodb.Config{Table: "c", SubscriptionsTable: "s", SubscriptionsIndex: "i",
			TTLAttribute: "expires_at", TTL: time.Hour}},
		{name: "subscriptions in the connections table", cfg: dynamodb.Config{Table: "c", SubscriptionsTable: "c"}, want: "table of its own"},
		{name: "index without subscriptions", cfg: dynamodb.Config{Table: "c", SubscriptionsIndex: "by-connection"}, want: "without a subscriptions table"},
		{name: "ttl attribute is a subscription's", cfg: dynamodb.Config{Table: "c", SubscriptionsTable: "s", TTLAttribute: "topic", TTL: time.Hour},
			want: `ttl attribute "topic" is an attribute of the subscriptions table`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error with %q", err, tt.want)
			}
			if tt.want != "" {
				if _, err := dynamodb.New(newSpy(nil), tt.cfg); err == nil {
					t.Error("New accepts the config")
				}
			}
		})
	}
	t.Run("nil client", func(t *testing.T) {
		if _, err := dynamodb.New(nil, dynamodb.Config{Table: "c"}); err == nil {
			t.Error("New(nil) = nil error")
		}
	})
}

func TestAddAndRemoveConnection(t *testing.T) {
	e := newEmulator(t)
	s, table := e.store(t, dynamodb.Config{})
	ctx := t.Context()
	a1, a2, b1 := conn("a", "1"), conn("a", "2"), conn("b", "1")

	before := time.Now().Unix()
	for _, c := range []handlers.Connection{a1, a2, b1, a1} {
		if err := s.AddConnection(ctx, c); err != nil {
			t.Fatalf("AddConnection(%v): %v", c, err)
		}
	}
	after := time.Now().Unix()
	sameConnections(t, keys(flatten(scan(t, s, ""))), []handlers.Connection{a1, a2, b1})

	got := item(t, e.client, table, a1)
	at, ok := got["connected_at"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("connected_at = %#v, want a number", got["connected_at"])
	}
	if sec, _ := strconv.ParseInt(at.Value, 10, 64); sec < before || sec > after {
		t.Errorf("connected_at = %s, want within [%d, %d]", at.Value, before, after)
	}
	if _, ok := got["ttl"]; ok {
		t.Error("an item has a ttl without a TTL configured")
	}

	for _, c := range []handlers.Connection{a1, a1, conn("c", "9"), conn("", "")} {
		if err := s.RemoveConnection(ctx, c); err != nil {
			t.Fatalf("RemoveConnection(%v): %v", c, err)
		}
	}
	sameConnections(t, keys(flatten(scan(t, s, ""))), []handlers.Connection{a2, b1})
	if item(t, e.client, table, a1) != nil {
		t.Errorf("%v is still stored", a1)
	}
}

// TestAddConnectionKeepsItsTime stores a connection that knows when it connected, as
// API Gateway's $connect event says: the row keeps that time, and the TTL runs from now.
func TestAddConnectionKeepsItsTime(t *testing.T) {
	e := newEmulator(t)
	s, table := e.store(t, dynamodb.Config{TTLAttribute: "expires_at", TTL: time.Hour})
	c := at(conn("a", "1"), time.Now().Add(-time.Minute))
	before := time.Now().Add(time.Hour).Unix()
	if err := s.AddConnection(t.Context(), c); err != nil {
		t.Fatalf("AddConnection: %v", err)
	}
	got := item(t, e.client, table, c)
	if v, ok := got["connected_at"].(*types.AttributeValueMemberN); !ok || v.Value != strconv.FormatInt(c.ConnectedAt.Unix(), 10) {
		t.Errorf("connected_at = %#v, want %d", got["connected_at"], c.ConnectedAt.Unix())
	}
	if v, ok := got["expires_at"].(*types.AttributeValueMemberN); !ok || v.Value < strconv.FormatInt(before, 10) {
		t.Errorf("expires_at = %#v, want an hour from now (%d on)", got["expires_at"], before)
	}
}

// TestReadsConnectedAt checks the time a Query and a Scan give each connection: the
// row's connected_at, to the second, and none for a row without one (the Python
// original writes none) or with something else there.
func TestReadsConnectedAt(t *testing.T) {
	e := newEmulator(t)
	for _, attr := range []string{"connected_at", "date"} { // "date" is a reserved word
		t.Run(attr, func(t *testing.T) {
			s, table := e.store(t, dynamodb.Config{ConnectedAtAttribute: attr, PageSize: 2})
			rows := []struct {
				id    string
				value types.AttributeValue // nil: no attribute
				want  time.Time
			}{
				{id: "seconds", value: &types.AttributeValueMemberN{Value: "1700000000"}, want: time.Unix(1_700_000_000, 0)},
				{id: "fraction", value: &types.AttributeValueMemberN{Value: "1700000000.75"}, want: time.Unix(1_700_000_000, 0)},
				{id: "none"},
				{id: "string", value: &types.AttributeValueMemberS{Value: "1700000000"}},
				{id: "zero", value: &types.AttributeValueMemberN{Value: "0"}},
				{id: "far future", value: &types.AttributeValueMemberN{Value: "1e30"}},
			}
			var want []handlers.Connection
			for _, r := range rows {
				c := handlers.Connection{UserID: "alice", ConnectionID: r.id, ConnectedAt: r.want}
				it := map[string]types.AttributeValue{
					"user_id":       &types.AttributeValueMemberS{Value: c.UserID},
					"connection_id": &types.AttributeValueMemberS{Value: c.ConnectionID},
					"payload":       &types.AttributeValueMemberS{Value: "not read"},
				}
				if r.value != nil {
					it[attr] = r.value
				}
				put(t, e.client, table, it)
				want = append(want, c)
			}
			byUser, err := s.UserConnections(t.Context(), "alice")
			if err != nil {
				t.Fatalf("UserConnections: %v", err)
			}
			sameConnections(t, byUser, want)
			sameConnections(t, flatten(scan(t, s, "")), want)
		})
	}
}

func TestAddConnectionWritesTTL(t *testing.T) {
	e := newEmulator(t)
	s, table := e.store(t, dynamodb.Config{TTLAttribute: "expires_at", TTL: 2 * time.Hour})
	c := conn("a", "1")
	before := time.Now().Add(2 * time.Hour).Unix()
	if err := s.AddConnection(t.Context(), c); err != nil {
		t.Fatalf("AddConnection: %v", err)
	}
	after := time.Now().Add(2 * time.Hour).Unix()
	got := item(t, e.client, table, c)
	ttl, ok := got["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("expires_at = %#v, want a number; item %v", got["expires_at"], got)
	}
	if sec, _ := strconv.ParseInt(ttl.Value, 10, 64); sec < before || sec > after {
		t.Errorf("expires_at = %s, want within [%d, %d]", ttl.Value, before, after)
	}
	if _, ok := got["connected_at"].(*types.AttributeValueMemberN); !ok {
		t.Errorf("connected_at = %#v, want a number", got["connected_at"])
	}
}

func TestUserConnections(t *testing.T) {
	e := newEmulator(t)
	var stored []handlers.Connection
	many := make([]handlers.Connection, 23) // more than 3 pages of 7
	for i := range many {
		many[i] = conn("many", fmt.Sprintf("c%02d", i))
	}
	stored = append(stored, many...)
	stored = append(stored,
		conn("u1", "x"), conn("u10", "y"), conn("u10", "z"), conn("u", "w"),
		conn("one", "only"), conn("Exact", "7"), // page-size multiples are covered by "seven"
	)
	seven := make([]handlers.Connection, 7)
	for i := range seven {
		seven[i] = conn("seven", strconv.Itoa(i))
	}
	stored = append(stored, seven...)
	spy := newSpy(e.client)
	table := e.table(t)
	seed(t, e.client, table, stored)
	s, err := dynamodb.New(spy, dynamodb.Config{Table: table, PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		user    string
		want    []handlers.Connection
		queries int
	}{
		{user: "many", want: many, queries: 4},
		{user: "seven", want: seven, queries: 2}, // a full page, then an empty one
		{user: "u1", want: []handlers.Connection{conn("u1", "x")}, queries: 1},
		{user: "u10", want: []handlers.Connection{conn("u10", "y"), conn("u10", "z")}, queries: 1},
		{user: "u", want: []handlers.Connection{conn("u", "w")}, queries: 1},
		{user: "exact", want: nil, queries: 1}, // keys are case-sensitive
		{user: "nobody", want: nil, queries: 1},
		{user: "", want: nil, queries: 0},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			before := spy.Calls("Query")
			got, err := s.UserConnections(t.Context(), tt.user)
			if err != nil {
				t.Fatalf("UserConnections(%q): %v", tt.user, err)
			}
			if !slices.Equal(sorted(got), sorted(tt.want)) {
				t.Errorf("UserConnections(%q) = %v, want %v", tt.user, got, tt.want)
			}
			if n := spy.Calls("Query") - before; n != tt.queries {
				t.Errorf("%d Query calls, want %d", n, tt.queries)
			}
		})
	}
	if n := spy.Calls("Scan"); n != 0 {
		t.Errorf("UserConnections made %d Scan calls", n)
	}
}
