package dynamodb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// A connection's record is an item of the subscriptions table under the reserved
// topic recordPrefix + its id, written at $connect: its user, its time, the topics it
// follows (a string set) and, with a TTL, its expiry. A message route and $disconnect,
// which carry no user without an authorizer, read it by the connection id alone with a
// strongly consistent GetItem; a subscribe adds to its set with a conditional
// UpdateItem, which holds the bound on a connection's topics under concurrent
// subscribes. No request names a topic starting with handlers.ReservedTopicPrefix, so
// none reaches a record.
const (
	recordPrefix = handlers.ReservedTopicPrefix + "connection:"
	topicsAttr   = "topics"
)

// recordKey returns the key of the record of connection id.
func (s *Store) recordKey(id string) map[string]types.AttributeValue {
	return s.subscriptionKey(recordPrefix+id, id)
}

// record is what a connection's record holds.
type record struct {
	handlers.Connection
	topics []string
}

// putRecord writes the record of c, with no topics, as of now.
func (s *Store) putRecord(ctx context.Context, c handlers.Connection, now time.Time) error {
	item := s.recordKey(c.ConnectionID)
	item[subConnectedAtAttr] = epoch(c.ConnectedAt)
	if c.UserID != "" {
		item[subUserAttr] = &types.AttributeValueMemberS{Value: c.UserID}
	}
	if s.cfg.TTLAttribute != "" && s.cfg.TTL > 0 {
		item[s.cfg.TTLAttribute] = epoch(now.Add(s.cfg.TTL))
	}
	_, err := s.client.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(s.cfg.SubscriptionsTable), Item: item})
	if err != nil {
		return fmt.Errorf("put the record of %s: %w", c.ConnectionID, classify(err))
	}
	return nil
}

// record reads the record of connection id, strongly consistent.
func (s *Store) record(ctx context.Context, id string) (record, bool, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName:      aws.String(s.cfg.SubscriptionsTable),
		Key:            s.recordKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return record{}, false, fmt.Errorf("read the record of %s: %w", id, classify(err))
	}
	if out.Item == nil {
		return record{}, false, nil
	}
	return readRecord(id, out.Item), true, nil
}

// readRecord reads a record item of connection id; missing attributes read as zero.
func readRecord(id string, item map[string]types.AttributeValue) record {
	r := record{Connection: handlers.Connection{ConnectionID: id, ConnectedAt: epochAttr(item, subConnectedAtAttr)}}
	if user, ok := item[subUserAttr].(*types.AttributeValueMemberS); ok {
		r.UserID = user.Value
	}
	if set, ok := item[topicsAttr].(*types.AttributeValueMemberSS); ok {
		r.topics = slices.Sorted(slices.Values(set.Value))
	}
	return r
}

// Connection returns the connection of id as its record holds it: its user ("" for
// one without) and time, from a strongly consistent read. found is false for a
// connection without a record (one stored before records were kept, or gone), or
// without a subscriptions table.
func (s *Store) Connection(ctx context.Context, id string) (handlers.Connection, bool, error) {
	if s.cfg.SubscriptionsTable == "" || id == "" {
		return handlers.Connection{}, false, nil
	}
	r, found, err := s.record(ctx, id)
	return r.Connection, found, err
}

// Subscribe makes c follow topics: it adds them to c's record (creating one for a
// connection stored before records were kept) on the condition that the record then
// holds at most maxTopics, then writes a subscription row for each, with the user and
// time of the record (c's when the record has none: a known user is never erased), and
// the TTL attribute when the config has a TTL. A refused condition is a
// *handlers.ClientError of code CodeTooManyTopics, and writes nothing; a failed row
// write takes its topics back from the record. It is a route's call: the client's own
// retryer retries it.
func (s *Store) Subscribe(ctx context.Context, c handlers.Connection, topics []string, maxTopics int) error {
	what := fmt.Sprintf("subscribe %s to %s", c.ConnectionID, strings.Join(topics, ","))
	if s.cfg.SubscriptionsTable == "" {
		return noTopics(what)
	}
	topics = lo.Uniq(topics)
	if c.ConnectionID == "" || len(topics) == 0 || slices.Contains(topics, "") {
		return handlers.Permanent(fmt.Errorf("%s: the topic and the connection id are keys, which cannot be empty", what))
	}
	room := maxTopics - len(topics)
	if room < 0 {
		return handlers.Refuse(handlers.CodeTooManyTopics, "a connection may follow at most %d topics", maxTopics)
	}
	now := s.now()
	update := "ADD #topics :new SET #ca = if_not_exists(#ca, :ca)"
	names := map[string]string{"#topics": topicsAttr, "#ca": subConnectedAtAttr}
	values := map[string]types.AttributeValue{
		":new":  &types.AttributeValueMemberSS{Value: topics},
		":ca":   epoch(cmp.Or(c.ConnectedAt, now)),
		":room": &types.AttributeValueMemberN{Value: strconv.Itoa(room)},
	}
	if c.UserID != "" {
		update += ", #u = if_not_exists(#u, :u)"
		names["#u"] = subUserAttr
		values[":u"] = &types.AttributeValueMemberS{Value: c.UserID}
	}
	if s.cfg.TTLAttribute != "" && s.cfg.TTL > 0 {
		update += ", #ttl = if_not_exists(#ttl, :ttl)"
		names["#ttl"] = s.cfg.TTLAttribute
		values[":ttl"] = epoch(now.Add(s.cfg.TTL))
	}
	condition := "attribute_not_exists(#topics) OR size(#topics) <= :room"
	if len(topics) == 1 {
		// Subscribing again to a topic it follows adds nothing, even at the bound.
		condition += " OR contains(#topics, :topic)"
		values[":topic"] = &types.AttributeValueMemberS{Value: topics[0]}
	}
	out, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.cfg.SubscriptionsTable),
		Key:                       s.recordKey(c.ConnectionID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(condition),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	var refused *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &refused):
		return handlers.Refuse(handlers.CodeTooManyTopics, "a connection may follow at most %d topics", maxTopics)
	case err != nil:
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	rec := readRecord(c.ConnectionID, out.Attributes)
	var puts []types.WriteRequest
	for _, topic := range topics {
		item := s.subscriptionKey(topic, c.ConnectionID)
		item[subConnectedAtAttr] = epoch(cmp.Or(rec.ConnectedAt, now))
		if rec.UserID != "" {
			item[subUserAttr] = &types.AttributeValueMemberS{Value: rec.UserID}
		}
		if ttl, ok := out.Attributes[s.cfg.TTLAttribute]; ok && s.cfg.TTLAttribute != "" {
			item[s.cfg.TTLAttribute] = ttl
		}
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := s.writeBatches(ctx, puts, true); err != nil {
		// Take the topics back, so that they do not count against the bound; a topic
		// the connection followed before goes too, and a subscribe again mends it.
		_, _ = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:                 aws.String(s.cfg.SubscriptionsTable),
			Key:                       s.recordKey(c.ConnectionID),
			UpdateExpression:          aws.String("DELETE #topics :new"),
			ExpressionAttributeNames:  map[string]string{"#topics": topicsAttr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":new": values[":new"]},
		})
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Unsubscribe deletes the subscription of c to topic, then takes the topic from c's
// record; an absent one is no error. It is a route's call: the client's own retryer
// retries it.
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
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.cfg.SubscriptionsTable),
		Key:                       s.recordKey(c.ConnectionID),
		UpdateExpression:          aws.String("DELETE #topics :t"),
		ConditionExpression:       aws.String("attribute_exists(#topics)"),
		ExpressionAttributeNames:  map[string]string{"#topics": topicsAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberSS{Value: []string{topic}}},
	})
	var absent *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &absent) {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}

// Topics returns the topics c follows, in order, from its record, strongly consistent;
// for a connection stored before records were kept, from the index by connection,
// eventually consistent. It is a route's call: the client's own retryer retries it.
func (s *Store) Topics(ctx context.Context, c handlers.Connection) ([]string, error) {
	if s.cfg.SubscriptionsTable == "" {
		return nil, noTopics(fmt.Sprintf("topics of %s", c.ConnectionID))
	}
	if c.ConnectionID == "" {
		return nil, nil // DynamoDB refuses an empty key, so no connection can have it.
	}
	rec, found, err := s.record(ctx, c.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("topics of %s: %w", c.ConnectionID, err)
	}
	if found {
		return rec.topics, nil
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

// forget deletes the subscriptions and the records of the connections ids (which need
// not be stored): the topics known (the record's that $disconnect read, when ids is that
// one connection) and those a
// Query of the index by connection finds for each (rows written before records were
// kept, and the record itself), then BatchWriteItem deletes of 25 at a time. It does
// nothing without a subscriptions table.
//
// The pipeline's prunes forget with route false: each call is one attempt, and what a
// batch leaves unprocessed fails the call with errUnprocessed, for the pipeline to
// retry. $disconnect forgets with route true: the client's retryer retries each call,
// and the unprocessed rest is resent after a backoff, forgetRounds times at most.
func (s *Store) forget(ctx context.Context, ids []string, known []string, route bool) error {
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
		if len(ids) == 1 {
			topics = append(topics, known...)
		}
		for _, topic := range lo.Uniq(append(topics, recordPrefix+id)) {
			deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: s.subscriptionKey(topic, id)}})
		}
	}
	if err := s.writeBatches(ctx, deletes, route, opts...); err != nil {
		return fmt.Errorf("forget subscriptions: %w", err)
	}
	return nil
}

// writeBatches makes writes to the subscriptions table in BatchWriteItem calls of 25,
// resending what DynamoDB leaves unprocessed when resend is set (see forget).
func (s *Store) writeBatches(ctx context.Context, writes []types.WriteRequest, resend bool, optFns ...func(*ddb.Options)) error {
	var errs []error
	for i, chunk := range lo.Chunk(writes, batchSize) {
		if err := s.writeSubscriptions(ctx, chunk, resend, optFns...); err != nil {
			errs = append(errs, fmt.Errorf("writes %d-%d of %d: %w", i*batchSize+1, i*batchSize+len(chunk), len(writes), err))
		}
	}
	return errors.Join(errs...)
}

// writeSubscriptions makes the writes of one BatchWriteItem of the subscriptions table
// (at most 25), resending what DynamoDB leaves unprocessed when resend is set (see
// forget).
func (s *Store) writeSubscriptions(ctx context.Context, deletes []types.WriteRequest, resend bool, optFns ...func(*ddb.Options)) error {
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
