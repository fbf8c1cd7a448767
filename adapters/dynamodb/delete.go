package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

const (
	// batchSize is the most requests BatchWriteItem takes at once.
	batchSize = 25
	// batchAttempts bounds the calls that one chunk takes while DynamoDB leaves some of
	// it unprocessed; the pipeline retries what is still left after them.
	batchAttempts = 6
	// unprocessedBackoff is the wait before the first retry of unprocessed items; it
	// doubles on each retry, with jitter, up to maxUnprocessedBackoff.
	unprocessedBackoff    = 25 * time.Millisecond
	maxUnprocessedBackoff = 500 * time.Millisecond
)

// DeleteConnections removes conns, in batches of 25; removing one that is absent is no
// error. It retries the items DynamoDB leaves unprocessed a few times, with backoff,
// and returns a transient error if some are left after that.
//
// The prune stage deletes one stale connection per message, many at once when a
// broadcast finds many gone: the deletes of concurrent calls are merged into shared
// BatchWriteItem calls (see pruneQueue).
func (s *Store) DeleteConnections(ctx context.Context, conns []handlers.Connection) error {
	// A batch with one key twice is a ValidationException, and an empty key can be in
	// no table.
	conns = lo.Filter(lo.Uniq(conns), func(c handlers.Connection, _ int) bool { return storable(c) })
	switch {
	case len(conns) == 0:
		return nil
	case len(conns) < batchSize:
		return s.prunes.delete(ctx, s, conns)
	}
	for i, chunk := range lo.Chunk(conns, batchSize) {
		if err := s.deleteBatch(ctx, chunk); err != nil {
			return fmt.Errorf("delete connections %d-%d of %d: %w", i*batchSize+1, i*batchSize+len(chunk), len(conns), err)
		}
	}
	return nil
}

// pruneQueue merges small concurrent deletes into batches. A call queues its
// connections; if no batch is being made, it starts a goroutine that takes what is
// queued, up to 25 connections at a time, deletes them with one BatchWriteItem, answers
// their callers, and ends once the queue is empty. Under load the batches fill up; alone,
// a delete goes out at once.
type pruneQueue struct {
	mu      sync.Mutex
	waiting []*pruneCall
	busy    bool
}

type pruneCall struct {
	conns []handlers.Connection
	done  chan error
}

// pruneTimeout bounds one merged BatchWriteItem: it runs for several callers, so on no
// caller's context.
const pruneTimeout = 10 * time.Second

func (q *pruneQueue) delete(ctx context.Context, s *Store, conns []handlers.Connection) error {
	call := &pruneCall{conns: conns, done: make(chan error, 1)}
	q.mu.Lock()
	q.waiting = append(q.waiting, call)
	start := !q.busy
	q.busy = true
	q.mu.Unlock()
	if start {
		go q.drain(s)
	}
	select {
	case err := <-call.done:
		if err != nil {
			return fmt.Errorf("delete %d connections: %w", len(conns), err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delete %d connections: %w", len(conns), ctx.Err())
	}
}

// drain deletes what is queued, a batch at a time, until nothing is.
func (q *pruneQueue) drain(s *Store) {
	for {
		q.mu.Lock()
		var batch []*pruneCall
		var conns []handlers.Connection
		for len(q.waiting) > 0 && len(conns)+len(q.waiting[0].conns) <= batchSize {
			batch = append(batch, q.waiting[0])
			conns = append(conns, q.waiting[0].conns...)
			q.waiting = q.waiting[1:]
		}
		if len(batch) == 0 {
			q.busy = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), pruneTimeout)
		err := s.deleteBatch(ctx, lo.Uniq(conns))
		cancel()
		for _, c := range batch {
			c.done <- err
		}
	}
}

// deleteBatch deletes up to 25 connections with BatchWriteItem, retrying unprocessed
// items.
func (s *Store) deleteBatch(ctx context.Context, conns []handlers.Connection) error {
	requests := make([]types.WriteRequest, len(conns))
	for i, c := range conns {
		requests[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: s.key(c)}}
	}
	backoff := unprocessedBackoff
	for attempt := 1; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.cfg.Table: requests},
		})
		if err != nil {
			return classify(err)
		}
		requests = out.UnprocessedItems[s.cfg.Table]
		if len(requests) == 0 {
			return nil
		}
		if attempt == batchAttempts {
			return fmt.Errorf("%d of %d left unprocessed after %d attempts", len(requests), len(conns), attempt)
		}
		// Full jitter spreads the retries of concurrent prunes that were throttled together.
		if err := sleep(ctx, rand.N(backoff)+time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d left unprocessed: %w", len(requests), len(conns), err)
		}
		backoff = min(2*backoff, maxUnprocessedBackoff)
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PruneConnections deletes conns, which the gateway reported gone, unless one was stored
// at or after storedBefore (see handlers.ConnectionDeleter). The connections known to be
// older go in batches; one whose age is unknown is deleted alone, on the condition that
// its row has no connected-at attribute or an older one.
func (s *Store) PruneConnections(ctx context.Context, conns []handlers.Connection, storedBefore time.Time) error {
	var old []handlers.Connection
	for _, c := range conns {
		switch {
		case !storable(c):
		case c.ConnectedAt.IsZero():
			if err := s.deleteIfStoredBefore(ctx, c, storedBefore); err != nil {
				return err
			}
		case c.ConnectedAt.Before(storedBefore):
			old = append(old, c.Key())
		}
	}
	return s.DeleteConnections(ctx, old)
}

// deleteIfStoredBefore deletes c if its row was stored before storedBefore or has no
// time; a younger row is kept, and that is no error.
func (s *Store) deleteIfStoredBefore(ctx context.Context, c handlers.Connection, storedBefore time.Time) error {
	_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName:                 aws.String(s.cfg.Table),
		Key:                       s.key(c),
		ConditionExpression:       aws.String("attribute_not_exists(#t) OR #t < :before"),
		ExpressionAttributeNames:  map[string]string{"#t": s.cfg.ConnectedAtAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":before": epoch(storedBefore)},
	})
	var kept *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &kept) {
		return fmt.Errorf("prune connection %s of %s: %w", c.ConnectionID, c.UserID, classify(err))
	}
	return nil
}
