package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cenkalti/backoff/v5"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

var (
	_ handlers.TopicLister   = (*Store)(nil)
	_ handlers.Subscriptions = (*Store)(nil)
)

// noTopics is the error of a store without a subscriptions table.
func noTopics(what string) error {
	return handlers.Permanent(fmt.Errorf("%s: %w", what, handlers.ErrNoTopics))
}

// Subscribe stores that c follows topic, with c's user when known, the time c connected
// (its ConnectedAt, or now) and, when the config has a TTL, the time the row expires
// (TTL from now); subscribing again replaces the row. It is a route's call: the
// client's own retryer retries it.
func (s *Store) Subscribe(ctx context.Context, c handlers.Connection, topic string) error {
	what := fmt.Sprintf("subscribe %s to %s", c.ConnectionID, topic)
	if s.cfg.SubscriptionsTable == "" {
		return noTopics(what)
	}
	if c.ConnectionID == "" || topic == "" {
		return handlers.Permanent(fmt.Errorf("%s: the topic and the connection id are keys, which cannot be empty", what))
	}
	now := s.now()
	connected := c.ConnectedAt
	if connected.IsZero() {
		// A row of unknown age would be pruned at the first 410, even one that came while
		// $connect (which may subscribe) is still in progress: now is no earlier than the
		// connection, so it keeps the prune's grace.
		connected = now
	}
	item := s.subscriptionKey(topic, c.ConnectionID)
	item[subConnectedAtAttr] = epoch(connected)
	if c.UserID != "" {
		item[subUserAttr] = &types.AttributeValueMemberS{Value: c.UserID}
	}
	if s.cfg.TTLAttribute != "" && s.cfg.TTL > 0 {
		item[s.cfg.TTLAttribute] = epoch(now.Add(s.cfg.TTL))
	}
	_, err := s.client.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(s.cfg.SubscriptionsTable), Item: item})
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}

// Unsubscribe deletes the subscription of c to topic; an absent one is no error. It is
// a route's call: the client's own retryer retries it.
func (s *Store) Unsubscribe(ctx context.Context, c handlers.Connection, topic string) error {
	what := fmt.Sprintf("unsubscribe %s from %s", c.ConnectionID, topic)
	if s.cfg.SubscriptionsTable == "" {
		return noTopics(what)
	}
	if c.ConnectionID == "" || topic == "" {
		return nil // DynamoDB refuses an empty key, so no subscription can have it.
	}
	_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName: aws.String(s.cfg.SubscriptionsTable),
		Key:       s.subscriptionKey(topic, c.ConnectionID),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}

// Topics returns the topics c is subscribed to, in order, from the index by connection:
// eventually consistent, as every read of a global secondary index is. It is a route's
// call: the client's own retryer retries it.
func (s *Store) Topics(ctx context.Context, c handlers.Connection) ([]string, error) {
	if s.cfg.SubscriptionsTable == "" {
		return nil, noTopics(fmt.Sprintf("topics of %s", c.ConnectionID))
	}
	topics, err := s.topicsOf(ctx, c.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("topics of %s: %w", c.ConnectionID, err)
	}
	return topics, nil
}

// topicsOf queries the index by connection for the topics of the connection id, a
// page at a time; optFns go to each Query.
func (s *Store) topicsOf(ctx context.Context, id string, optFns ...func(*ddb.Options)) ([]string, error) {
	if id == "" {
		return nil, nil
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.cfg.SubscriptionsTable),
		IndexName:                 aws.String(s.cfg.SubscriptionsIndex),
		KeyConditionExpression:    aws.String("#c = :c"),
		ProjectionExpression:      aws.String("#t"),
		ExpressionAttributeNames:  map[string]string{"#c": subConnAttr, "#t": topicAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: id}},
		// A global secondary index has no strongly consistent reads: asking for one is a
		// ValidationException.
		ConsistentRead: aws.Bool(false),
	}
	var topics []string
	for {
		out, err := s.client.Query(ctx, in, optFns...)
		if err != nil {
			return nil, classify(err)
		}
		for _, item := range out.Items {
			topic, err := stringAttr(item, topicAttr)
			if err != nil {
				return nil, err
			}
			topics = append(topics, topic)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return topics, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// TopicConnections calls page with the connections subscribed to topic, a page of at
// most PageSize at a time, starting after cursor ("" starts at the beginning); next
// resumes after that page and is "" with the last. It makes one Query of the topic's
// partition per page, eventually consistent and one attempt each (the pipeline retries
// it from the cursor), and stops at the first error of page or of a Query.
func (s *Store) TopicConnections(ctx context.Context, topic, cursor string, page func(conns []handlers.Connection, next string) error) error {
	if s.cfg.SubscriptionsTable == "" {
		return noTopics(fmt.Sprintf("query topic %s", topic))
	}
	start, err := decodeTopicCursor(cursor, topic)
	if err != nil {
		return handlers.Permanent(fmt.Errorf("query topic %s: %w", topic, err))
	}
	if topic == "" {
		return nil // DynamoDB refuses an empty key, so no subscription can have it.
	}
	in := &ddb.QueryInput{
		TableName:              aws.String(s.cfg.SubscriptionsTable),
		KeyConditionExpression: aws.String("#t = :t"),
		ProjectionExpression:   aws.String("#c, #u, #a"),
		ExpressionAttributeNames: map[string]string{
			"#t": topicAttr, "#c": subConnAttr, "#u": subUserAttr, "#a": subConnectedAtAttr,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: topic}},
		Limit:                     aws.Int32(s.cfg.PageSize),
		ConsistentRead:            aws.Bool(false),
		ExclusiveStartKey:         start,
	}
	// A page is held back until the next non-empty one shows it is not the last, so that
	// the last goes with next == "" even when the Query ends with an empty page, as it
	// does when the last page is full.
	var held []handlers.Connection
	var heldNext string // resumes after held and the empty pages since
	for {
		out, err := s.client.Query(ctx, in, oneAttempt)
		if err != nil {
			return fmt.Errorf("query topic %s: %w", topic, classify(err))
		}
		conns, err := subscribers(out.Items)
		if err != nil {
			return fmt.Errorf("query topic %s: %w", topic, err)
		}
		last, err := lastKey(out.LastEvaluatedKey)
		if err != nil {
			return handlers.Permanent(fmt.Errorf("query topic %s: %w", topic, err))
		}
		if len(conns) > 0 {
			if held != nil {
				if err := page(held, heldNext); err != nil {
					return err
				}
			}
			held = conns
		}
		if last == nil {
			break
		}
		heldNext = encodeTopicCursor(last)
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if held != nil {
		return page(held, "")
	}
	return nil
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

// subscriptionKey returns the subscriptions table's key of topic and connection id.
func (s *Store) subscriptionKey(topic, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		topicAttr:   &types.AttributeValueMemberS{Value: topic},
		subConnAttr: &types.AttributeValueMemberS{Value: id},
	}
}

// How a route's forget resends what BatchWriteItem left unprocessed: nothing above a
// route retries it, and AWS asks for a backoff before resending
// (docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
const (
	forgetRounds       = 5
	forgetFirstBackoff = 50 * time.Millisecond
	forgetMaxBackoff   = time.Second
)

// forget deletes the subscriptions of the connections ids (which need not be stored):
// a Query of the index by connection for each, then BatchWriteItem deletes of 25 at a
// time. It does nothing without a subscriptions table.
//
// The pipeline's prunes forget with route false: each call is one attempt, and what a
// batch leaves unprocessed fails the call with errUnprocessed, for the pipeline to
// retry. $disconnect forgets with route true: the client's retryer retries each call,
// and the unprocessed rest is resent after a backoff, forgetRounds times at most.
func (s *Store) forget(ctx context.Context, ids []string, route bool) error {
	if s.cfg.SubscriptionsTable == "" {
		return nil
	}
	var opts []func(*ddb.Options)
	if !route {
		opts = append(opts, oneAttempt)
	}
	var deletes []types.WriteRequest
	for _, id := range lo.Uniq(ids) {
		topics, err := s.topicsOf(ctx, id, opts...)
		if err != nil {
			return fmt.Errorf("forget the subscriptions of %s: %w", id, err)
		}
		for _, topic := range topics {
			deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: s.subscriptionKey(topic, id)}})
		}
	}
	var errs []error
	for i, chunk := range lo.Chunk(deletes, batchSize) {
		if err := s.deleteSubscriptions(ctx, chunk, route, opts...); err != nil {
			errs = append(errs, fmt.Errorf("forget subscriptions %d-%d of %d: %w", i*batchSize+1, i*batchSize+len(chunk), len(deletes), err))
		}
	}
	return errors.Join(errs...)
}

// deleteSubscriptions makes the deletes of one BatchWriteItem, resending what DynamoDB
// leaves unprocessed when resend is set (see forget).
func (s *Store) deleteSubscriptions(ctx context.Context, deletes []types.WriteRequest, resend bool, optFns ...func(*ddb.Options)) error {
	wait := &backoff.ExponentialBackOff{
		InitialInterval:     forgetFirstBackoff,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         forgetMaxBackoff,
	}
	wait.Reset()
	table, total := s.cfg.SubscriptionsTable, len(deletes)
	for round := 1; ; round++ {
		out, err := s.client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{table: deletes},
		}, optFns...)
		if err != nil {
			return classify(err)
		}
		left := out.UnprocessedItems[table]
		switch {
		case len(left) == 0:
			return nil
		case !resend || round == forgetRounds:
			return fmt.Errorf("%d of %d %w", len(left), total, errUnprocessed)
		}
		deletes = left
		timer := time.NewTimer(wait.NextBackOff())
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%d of %d %w: %w", len(left), total, errUnprocessed, ctx.Err())
		}
	}
}
