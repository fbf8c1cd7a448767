package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// createCounterTable creates the seed's counter table name: hash key id, a string,
// billed on demand, as deploy/examples/counter makes it.
func createCounterTable(t *testing.T, client *ddb.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.CreateTable(ctx, &ddb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	if err := ddb.NewTableExistsWaiter(client).Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second,
		func(o *ddb.TableExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond }); err != nil {
		t.Fatalf("table %s: %v", name, err)
	}
}

func newDynamoDBCounter(t *testing.T, client *ddb.Client, table string) *DynamoDBCounter {
	t.Helper()
	c, err := NewDynamoDBCounter(client, table)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDynamoDBCounterConcurrentAdds(t *testing.T) {
	client := awstest.DynamoDBClient(awstest.Dynalite(t))
	createCounterTable(t, client, DefaultTable)
	counter := newDynamoDBCounter(t, client, "") // the default table
	ctx := context.Background()

	if s, err := counter.Get(ctx); err != nil || s != (app.State{}) {
		t.Fatalf("Get before any click = %+v, %v; want {0 0}", s, err)
	}

	// 50 clicks at once, a third of them minus.
	const clicks = 50
	var want int64
	deltas := make([]int64, clicks)
	for i := range deltas {
		deltas[i] = 1
		if i%3 == 0 {
			deltas[i] = -1
		}
		want += deltas[i]
	}
	states := make([]app.State, clicks)
	errs := make([]error, clicks)
	var wg sync.WaitGroup
	for i, d := range deltas {
		wg.Go(func() { states[i], errs[i] = counter.Add(ctx, d) })
	}
	wg.Wait()

	seen := map[int64]bool{}
	for i, s := range states {
		if errs[i] != nil {
			t.Fatalf("Add(%d): %v", deltas[i], errs[i])
		}
		if s.Seq < 1 || s.Seq > clicks || seen[s.Seq] {
			t.Errorf("Add(%d) answered seq %d: want each of 1..%d once", deltas[i], s.Seq, clicks)
		}
		seen[s.Seq] = true
	}
	got, err := counter.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wantState := (app.State{Value: want, Seq: clicks}); got != wantState {
		t.Errorf("after %d concurrent clicks: %+v, want %+v", clicks, got, wantState)
	}
	// The click that got the last seq saw the final value.
	for _, s := range states {
		if s.Seq == clicks && s.Value != want {
			t.Errorf("the last click answered %+v, want value %d", s, want)
		}
	}
}

func TestDynamoDBCounterItems(t *testing.T) {
	client := awstest.DynamoDBClient(awstest.Dynalite(t))
	ctx := context.Background()
	cases := []struct {
		name string
		item map[string]types.AttributeValue // the item before, nil for none
		get  app.State                       // what Get answers before
		add  int64
		want app.State // what Add(add) answers
	}{
		{
			name: "no item",
			get:  app.State{},
			add:  -1,
			want: app.State{Value: -1, Seq: 1},
		},
		{
			// The seed's handler kept numcon alone.
			name: "the seed's item, without seq",
			item: map[string]types.AttributeValue{"numcon": &types.AttributeValueMemberN{Value: "7"}},
			get:  app.State{Value: 7},
			add:  1,
			want: app.State{Value: 8, Seq: 1},
		},
		{
			name: "an item of ours",
			item: map[string]types.AttributeValue{
				"numcon": &types.AttributeValueMemberN{Value: "-3"},
				"seq":    &types.AttributeValueMemberN{Value: "41"},
			},
			get:  app.State{Value: -3, Seq: 41},
			add:  1,
			want: app.State{Value: -2, Seq: 42},
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			table := "counter-" + string(rune('a'+i))
			createCounterTable(t, client, table)
			if c.item != nil {
				c.item["id"] = &types.AttributeValueMemberS{Value: CounterID}
				if _, err := client.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(table), Item: c.item}); err != nil {
					t.Fatal(err)
				}
			}
			counter := newDynamoDBCounter(t, client, table)
			if got, err := counter.Get(ctx); err != nil || got != c.get {
				t.Errorf("Get = %+v, %v; want %+v", got, err, c.get)
			}
			if got, err := counter.Add(ctx, c.add); err != nil || got != c.want {
				t.Errorf("Add(%d) = %+v, %v; want %+v", c.add, got, err, c.want)
			}
			if got, err := counter.Get(ctx); err != nil || got != c.want {
				t.Errorf("Get after Add = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestDynamoDBCounterErrors(t *testing.T) {
	client := awstest.DynamoDBClient(awstest.Dynalite(t))
	ctx := context.Background()
	createCounterTable(t, client, "counter-text")
	if _, err := client.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("counter-text"), Item: map[string]types.AttributeValue{
		"id":     &types.AttributeValueMemberS{Value: CounterID},
		"numcon": &types.AttributeValueMemberS{Value: "seven"},
	}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, table string
		get, add    []string // what the errors of Get and Add must say
	}{
		{
			name:  "no table",
			table: "counter-missing",
			get:   []string{"get global-counter from table counter-missing", "ResourceNotFoundException"},
			add:   []string{"add 1 to global-counter in table counter-missing", "ResourceNotFoundException"},
		},
		{
			// Get finds a value it cannot read; DynamoDB refuses to ADD to a string.
			name:  "value not a number",
			table: "counter-text",
			get:   []string{"table counter-text", "attribute numcon is a"},
			add:   []string{"table counter-text", "ValidationException"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counter := newDynamoDBCounter(t, client, c.table)
			_, getErr := counter.Get(ctx)
			_, addErr := counter.Add(ctx, 1)
			for _, call := range []struct {
				name string
				err  error
				want []string
			}{{"Get", getErr, c.get}, {"Add", addErr, c.add}} {
				if call.err == nil {
					t.Errorf("%s succeeded", call.name)
					continue
				}
				for _, w := range call.want {
					if !strings.Contains(call.err.Error(), w) {
						t.Errorf("%s: %v; want it to say %q", call.name, call.err, w)
					}
				}
			}
		})
	}
}

func TestNewDynamoDBCounterNeedsAClient(t *testing.T) {
	if _, err := NewDynamoDBCounter(nil, ""); err == nil {
		t.Error("NewDynamoDBCounter(nil) succeeded")
	}
}
