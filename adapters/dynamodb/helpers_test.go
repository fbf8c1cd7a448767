package dynamodb_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/samber/lo"
	"golang.org/x/sync/errgroup"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The store serves the $connect and $disconnect routes too.
var _ localgateway.Registry = (*dynamodb.Store)(nil)

// emulator is one dynalite of a top-level test; its subtests each make their own table.
type emulator struct {
	endpoint string
	client   *ddb.Client
	tables   atomic.Int64
}

func newEmulator(t *testing.T) *emulator {
	t.Helper()
	endpoint := awstest.Dynalite(t)
	return &emulator{endpoint: endpoint, client: awstest.DynamoDBClient(endpoint)}
}

// table creates a fresh connections table and returns its name.
func (e *emulator) table(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("connections-%d", e.tables.Add(1))
	awstest.CreateConnectionsTable(t, e.client, name)
	return name
}

// store returns a Store on a fresh table holding conns, and the table's name; it sets
// cfg.Table.
func (e *emulator) store(t *testing.T, cfg dynamodb.Config, conns ...handlers.Connection) (*dynamodb.Store, string) {
	t.Helper()
	cfg.Table = e.table(t)
	s, err := dynamodb.New(e.client, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	seed(t, e.client, cfg.Table, conns)
	return s, cfg.Table
}

// seed writes conns to table with BatchWriteItem, a few batches at a time: with a
// connected_at attribute for one that has a ConnectedAt, and without, as the Python
// original's $connect writes rows, for one that has none.
func seed(t *testing.T, client *ddb.Client, table string, conns []handlers.Connection) {
	t.Helper()
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for _, chunk := range lo.Chunk(conns, 25) {
		g.Go(func() error {
			requests := make([]types.WriteRequest, len(chunk))
			for i, c := range chunk {
				item := map[string]types.AttributeValue{
					"user_id":       &types.AttributeValueMemberS{Value: c.UserID},
					"connection_id": &types.AttributeValueMemberS{Value: c.ConnectionID},
				}
				if !c.ConnectedAt.IsZero() {
					item["connected_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(c.ConnectedAt.Unix(), 10)}
				}
				requests[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
			}
			for len(requests) > 0 {
				out, err := client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{
					RequestItems: map[string][]types.WriteRequest{table: requests},
				})
				if err != nil {
					return err
				}
				requests = out.UnprocessedItems[table]
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("seed %d connections: %v", len(conns), err)
	}
}

// conn is a connection of unknown age: seeded, its row has no connected_at.
func conn(user, id string) handlers.Connection {
	return handlers.Connection{UserID: user, ConnectionID: id}
}

// at returns c connected at t, to the second, as the table keeps it.
func at(c handlers.Connection, t time.Time) handlers.Connection {
	c.ConnectedAt = time.Unix(t.Unix(), 0)
	return c
}

// keys returns conns without their times.
func keys(conns []handlers.Connection) []handlers.Connection {
	return lo.Map(conns, func(c handlers.Connection, _ int) handlers.Connection { return c.Key() })
}

// connections returns n connections of users users, spread round robin.
func connections(users, n int) []handlers.Connection {
	conns := make([]handlers.Connection, n)
	for i := range conns {
		conns[i] = conn(fmt.Sprintf("user-%03d", i%users), fmt.Sprintf("conn-%05d", i))
	}
	return conns
}

func sorted(conns []handlers.Connection) []handlers.Connection {
	conns = slices.Clone(conns)
	slices.SortFunc(conns, func(a, b handlers.Connection) int {
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return strings.Compare(a.ConnectionID, b.ConnectionID)
	})
	return conns
}

// sameConnections fails the test unless got holds each of want exactly once, with the
// same time.
func sameConnections(t *testing.T, got, want []handlers.Connection) {
	t.Helper()
	counts := lo.CountValues(got)
	for c, n := range counts {
		if n > 1 {
			t.Errorf("%v came %d times", c, n)
		}
	}
	missing, extra := lo.Difference(lo.Uniq(want), lo.Keys(counts))
	if len(missing) > 0 {
		t.Errorf("%d of %d connections missing, such as %v", len(missing), len(want), missing[:min(3, len(missing))])
	}
	if len(extra) > 0 {
		t.Errorf("%d connections not expected, such as %v", len(extra), extra[:min(3, len(extra))])
	}
}

// page is one call of a scan's page function.
type page struct {
	conns []handlers.Connection
	next  string
}

// scan runs a scan from cursor to its end and returns its pages.
func scan(t *testing.T, s *dynamodb.Store, cursor string) []page {
	t.Helper()
	var pages []page
	err := s.ScanConnections(t.Context(), cursor, func(conns []handlers.Connection, next string) error {
		pages = append(pages, page{conns: slices.Clone(conns), next: next})
		return nil
	})
	if err != nil {
		t.Fatalf("ScanConnections(%q): %v", cursor, err)
	}
	return pages
}

func flatten(pages []page) []handlers.Connection {
	var all []handlers.Connection
	for _, p := range pages {
		all = append(all, p.conns...)
	}
	return all
}

// spy passes calls on to the real client and counts them, to check which operations
// the store uses.
type spy struct {
	dynamodb.API

	mu    sync.Mutex
	calls map[string]int
}

func newSpy(api dynamodb.API) *spy { return &spy{API: api, calls: map[string]int{}} }

func (s *spy) count(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
}

func (s *spy) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func (s *spy) Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	s.count("Query")
	return s.API.Query(ctx, in, optFns...)
}

func (s *spy) Scan(ctx context.Context, in *ddb.ScanInput, optFns ...func(*ddb.Options)) (*ddb.ScanOutput, error) {
	s.count("Scan")
	return s.API.Scan(ctx, in, optFns...)
}

func (s *spy) BatchWriteItem(ctx context.Context, in *ddb.BatchWriteItemInput, optFns ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error) {
	s.count("BatchWriteItem")
	return s.API.BatchWriteItem(ctx, in, optFns...)
}

func (s *spy) DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	s.count("DeleteItem")
	return s.API.DeleteItem(ctx, in, optFns...)
}

// item returns the stored item of c, nil if there is none.
func item(t *testing.T, client *ddb.Client, table string, c handlers.Connection) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &ddb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"user_id":       &types.AttributeValueMemberS{Value: c.UserID},
			"connection_id": &types.AttributeValueMemberS{Value: c.ConnectionID},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%v): %v", c, err)
	}
	return out.Item
}

// put writes one item to table.
func put(t *testing.T, client *ddb.Client, table string, it map[string]types.AttributeValue) {
	t.Helper()
	if _, err := client.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

// topicStore returns a Store on a fresh connections table holding conns and a fresh
// subscriptions table, with their names; it sets cfg.Table and cfg.SubscriptionsTable.
func (e *emulator) topicStore(t *testing.T, client dynamodb.API, cfg dynamodb.Config, conns ...handlers.Connection) (s *dynamodb.Store, table, subs string) {
	t.Helper()
	cfg.Table = e.table(t)
	cfg.SubscriptionsTable = fmt.Sprintf("subscriptions-%d", e.tables.Add(1))
	awstest.CreateSubscriptionsTable(t, e.client, cfg.SubscriptionsTable)
	seed(t, e.client, cfg.Table, conns)
	if client == nil {
		client = e.client
	}
	s, err := dynamodb.New(client, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, cfg.Table, cfg.SubscriptionsTable
}

// subscription is a row of the subscriptions table as a test reads it.
type subscription struct {
	topic, conn, user string
	connectedAt       int64 // 0: none
}

// subscriptions returns every row of the subscriptions table subs, read by a consistent
// Scan of the table itself (not of the store), sorted.
func subscriptions(t *testing.T, client *ddb.Client, subs string) []subscription {
	t.Helper()
	var rows []subscription
	in := &ddb.ScanInput{TableName: aws.String(subs), ConsistentRead: aws.Bool(true)}
	for {
		out, err := client.Scan(t.Context(), in)
		if err != nil {
			t.Fatalf("scan %s: %v", subs, err)
		}
		for _, it := range out.Items {
			var r subscription
			r.topic = it["topic"].(*types.AttributeValueMemberS).Value
			if strings.HasPrefix(r.topic, handlers.ReservedTopicPrefix) {
				continue // a connection's record, not a subscription
			}
			r.conn = it["connection_id"].(*types.AttributeValueMemberS).Value
			if u, ok := it["user_id"].(*types.AttributeValueMemberS); ok {
				r.user = u.Value
			}
			if n, ok := it["connected_at"].(*types.AttributeValueMemberN); ok {
				r.connectedAt, _ = strconv.ParseInt(n.Value, 10, 64)
			}
			rows = append(rows, r)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	slices.SortFunc(rows, func(a, b subscription) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), strings.Compare(a.conn, b.conn))
	})
	return rows
}

// subscribedTo returns the connection ids of rows, by topic, for comparing what is left.
func subscribedTo(rows []subscription) map[string][]string {
	out := map[string][]string{}
	for _, r := range rows {
		out[r.topic] = append(out[r.topic], r.conn)
	}
	return out
}

// countItems returns the number of items in table, read strongly consistent.
func countItems(t *testing.T, client *ddb.Client, table string) int {
	t.Helper()
	out, err := client.Scan(t.Context(), &ddb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), Select: types.SelectCount})
	if err != nil {
		t.Fatalf("count the items of %s: %v", table, err)
	}
	return int(out.Count)
}

// subscribe subscribes c to each of topics, failing the test on an error.
func subscribe(t *testing.T, s *dynamodb.Store, c handlers.Connection, topics ...string) {
	t.Helper()
	for _, topic := range topics {
		if err := s.Subscribe(t.Context(), c, []string{topic}, handlers.DefaultMaxTopics); err != nil {
			t.Fatalf("Subscribe(%v, %q): %v", c, topic, err)
		}
	}
}

// topicPages reads topic from cursor to the end and returns its pages.
func topicPages(t *testing.T, s *dynamodb.Store, topic, cursor string) []page {
	t.Helper()
	var pages []page
	err := s.TopicConnections(t.Context(), topic, cursor, func(conns []handlers.Connection, next string) error {
		pages = append(pages, page{conns: slices.Clone(conns), next: next})
		return nil
	})
	if err != nil {
		t.Fatalf("TopicConnections(%q, %q): %v", topic, cursor, err)
	}
	return pages
}

// PutItem is counted too: the subscribe route's call.
func (s *spy) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	s.count("PutItem")
	return s.API.PutItem(ctx, in, optFns...)
}

// getSubscription returns the stored row of the subscription of connID to topic in the
// subscriptions table subs, failing the test if there is none.
func getSubscription(t *testing.T, e *emulator, subs, topic, connID string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.client.GetItem(t.Context(), &ddb.GetItemInput{
		TableName: aws.String(subs),
		Key: map[string]types.AttributeValue{
			"topic":         &types.AttributeValueMemberS{Value: topic},
			"connection_id": &types.AttributeValueMemberS{Value: connID},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem(%s, %s): %v", topic, connID, err)
	}
	if out.Item == nil {
		t.Fatalf("no subscription of %s to %s", connID, topic)
	}
	return out.Item
}
