package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// The seed's names: its table websocketcounter, hash key id (a string), the one item
// global-counter, whose attribute numcon is the value. seq, the app.State's Seq, is ours.
const (
	// DefaultTable is the counter's table, the seed's (COUNTER_TABLE).
	DefaultTable = "websocketcounter"
	// CounterID is the id of the counter's item.
	CounterID = "global-counter"

	keyAttribute   = "id"
	valueAttribute = "numcon"
	seqAttribute   = "seq"
)

// DynamoDBAPI is what DynamoDBCounter calls of a DynamoDB client (*dynamodb.Client).
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
}

// DynamoDBCounter is the app.Counter of the seed's table on AWS: the item CounterID, its
// value in numcon and its sequence number in seq.
//
// Unlike the seed's handler, which reads the value, then writes value±1 with a SET (two
// clicks at once could both read 4 and both write 5), Add is one UpdateItem whose ADD
// DynamoDB applies atomically to the item, and which answers the item as it left it
// (ReturnValues ALL_NEW): each click gets its own Seq, and no click is lost. ADD makes
// the item, and either attribute, when missing, as 0 plus the operand ("Update
// expressions", DynamoDB Developer Guide,
// docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html),
// so an empty table needs no seeding, and a seed table's item without seq starts it at 1.
//
// Its states are of Epoch 0, always: the item outlives the function's instances, and
// its seq does not count from zero again while it lives.
type DynamoDBCounter struct {
	client DynamoDBAPI
	table  string
}

// NewDynamoDBCounter returns the counter of table (DefaultTable when empty), which
// client reads and writes.
func NewDynamoDBCounter(client DynamoDBAPI, table string) (*DynamoDBCounter, error) {
	if client == nil {
		return nil, errors.New("dynamodb counter: a client is required")
	}
	if table == "" {
		table = DefaultTable
	}
	return &DynamoDBCounter{client: client, table: table}, nil
}

// key is the counter's item's key.
func key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{keyAttribute: &types.AttributeValueMemberS{Value: CounterID}}
}

// Add moves the value by delta and Seq by one, in one UpdateItem.
func (c *DynamoDBCounter) Add(ctx context.Context, delta int64) (app.State, error) {
	out, err := c.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:        aws.String(c.table),
		Key:              key(),
		UpdateExpression: aws.String("ADD #value :delta, #seq :one"),
		ExpressionAttributeNames: map[string]string{
			"#value": valueAttribute,
			"#seq":   seqAttribute,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":delta": &types.AttributeValueMemberN{Value: strconv.FormatInt(delta, 10)},
			":one":   &types.AttributeValueMemberN{Value: "1"},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return app.State{}, fmt.Errorf("add %d to %s in table %s: %w", delta, CounterID, c.table, err)
	}
	s, err := stateOf(out.Attributes)
	if err != nil {
		return app.State{}, fmt.Errorf("add %d to %s in table %s: %w", delta, CounterID, c.table, err)
	}
	return s, nil
}

// Get reads the state with a strongly consistent read, so that a page that opens just
// after a click sees it. No item yet is value 0 after 0 changes.
func (c *DynamoDBCounter) Get(ctx context.Context) (app.State, error) {
	out, err := c.client.GetItem(ctx, &ddb.GetItemInput{
		TableName:      aws.String(c.table),
		Key:            key(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return app.State{}, fmt.Errorf("get %s from table %s: %w", CounterID, c.table, err)
	}
	s, err := stateOf(out.Item)
	if err != nil {
		return app.State{}, fmt.Errorf("get %s from table %s: %w", CounterID, c.table, err)
	}
	return s, nil
}

// stateOf reads the counter's item; a missing attribute is 0.
func stateOf(item map[string]types.AttributeValue) (app.State, error) {
	value, err := number(item, valueAttribute)
	if err != nil {
		return app.State{}, err
	}
	seq, err := number(item, seqAttribute)
	if err != nil {
		return app.State{}, err
	}
	return app.State{Value: value, Seq: seq}, nil
}

// number reads the attribute name of item as a whole number; a missing one is 0.
func number(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is a %T, not a number", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return i, nil
}
