package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TopicConnections calls page with the connections subscribed to topic whose ids come
// after the connection id after ("" starts at the first), in connection id order, a
// page of at most PageSize at a time; next is the id of the page's last connection, or
// "" when the Query says it is the last (a full last page has a next, and no page
// follows it). It makes one Query of the topic's partition per page, eventually
// consistent and one attempt each (the pipeline retries it from the cursor), and stops
// at the first error of page or of a Query.
//
// Its pages come in connection id order because connection_id is the table's range
// key: "Query results are always sorted by the sort key value ... in order of UTF-8
// bytes" (Key condition expressions for the Query operation, Amazon DynamoDB Developer
// Guide), the order in which Go compares strings.
func (s *Store) TopicConnections(ctx context.Context, topic, after string, page func(conns []handlers.Connection, next string) error) error {
	if s.cfg.SubscriptionsTable == "" {
		return noTopics(fmt.Sprintf("query topic %s", topic))
	}
	if err := checkTopicCursor(after); err != nil {
		return handlers.Permanent(fmt.Errorf("query topic %s: %w", topic, err))
	}
	if topic == "" {
		return nil // DynamoDB refuses an empty key, so no subscription can have it.
	}
	in := s.topicQuery(topic, after)
	for {
		out, err := s.client.Query(ctx, in, oneAttempt)
		if err != nil {
			return fmt.Errorf("query topic %s: %w", topic, classify(err))
		}
		conns, err := subscribers(out.Items)
		if err != nil {
			return fmt.Errorf("query topic %s: %w", topic, err)
		}
		more := len(out.LastEvaluatedKey) > 0
		if len(conns) > 0 {
			next := ""
			if more {
				next = conns[len(conns)-1].ConnectionID
			}
			if err := page(conns, next); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// topicQuery returns the Query of topic's subscriptions whose connection ids come after
// after ("" for all of them), a page of PageSize each.
//
// It starts after after with a condition on the range key, "#c > :after", rather than
// with an ExclusiveStartKey {topic, connection_id: after}: the Query API reference
// (Amazon DynamoDB API Reference, Query, Request Parameters) describes ExclusiveStartKey
// as "the primary key of the first item that this operation will evaluate" and says to
// "use the value that was returned for LastEvaluatedKey in the previous operation",
// while after may name no item (the connection unsubscribed since the cursor was
// taken); the reference's sort key condition "sortKeyName > :sortkeyval" holds for any
// value. (dynalite takes a key that is no item as ExclusiveStartKey too.) The pages
// after the first go on from the LastEvaluatedKey, as documented.
func (s *Store) topicQuery(topic, after string) *ddb.QueryInput {
	cond := "#t = :t"
	values := map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: topic}}
	if after != "" {
		cond += " AND #c > :after"
		values[":after"] = &types.AttributeValueMemberS{Value: after}
	}
	return &ddb.QueryInput{
		TableName:              aws.String(s.cfg.SubscriptionsTable),
		KeyConditionExpression: aws.String(cond),
		ProjectionExpression:   aws.String("#c, #u, #a"),
		ExpressionAttributeNames: map[string]string{
			"#t": topicAttr, "#c": subConnAttr, "#u": subUserAttr, "#a": subConnectedAtAttr,
		},
		ExpressionAttributeValues: values,
		Limit:                     aws.Int32(s.cfg.PageSize),
		ConsistentRead:            aws.Bool(false),
	}
}

// subscribers reads the connections of subscription rows: the connection id, and the
// user and connected-at time when the row has them.
func subscribers(items []map[string]types.AttributeValue) ([]handlers.Connection, error) {
	conns := make([]handlers.Connection, 0, len(items))
	for _, item := range items {
		id, err := stringAttr(item, subConnAttr)
		if err != nil {
			return nil, err
		}
		c := handlers.Connection{ConnectionID: id, ConnectedAt: epochAttr(item, subConnectedAtAttr)}
		if user, ok := item[subUserAttr].(*types.AttributeValueMemberS); ok {
			c.UserID = user.Value
		}
		conns = append(conns, c)
	}
	return conns, nil
}
