package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// batchSize is the most requests BatchWriteItem takes at once.
const batchSize = 25

// errUnprocessed fails a delete that DynamoDB left unprocessed in a BatchWriteItem, as
// it does when throttled: a transient error, for the pipeline to retry.
var errUnprocessed = errors.New("left unprocessed by DynamoDB")

// PruneConnections deletes conns, which the gateway reported gone, unless one was stored
// at or after storedBefore, and the subscriptions of those it deletes (see
// handlers.ConnectionDeleter and, for how, the package documentation).
func (s *Store) PruneConnections(ctx context.Context, conns []handlers.Connection, storedBefore time.Time) error {
	var old []handlers.Connection
	var gone []string // connection ids whose subscriptions go
	var errs []error
	for _, c := range lo.UniqBy(conns, handlers.Connection.Key) {
		switch {
		case c.ConnectionID == "":
		case !c.ConnectedAt.IsZero() && !c.ConnectedAt.Before(storedBefore):
			// Young: kept, and its subscriptions with it.
		// A c without a user (a connection without one, or read from a subscription made
		// before its connection's user was known) is addressed by its anonymousPrefix
		// key: a user's row is then left to the TTL, as $disconnect leaves it.
		case c.ConnectedAt.IsZero():
			deleted, err := s.deleteIfStoredBefore(ctx, c, storedBefore)
			errs = append(errs, err)
			if deleted {
				gone = append(gone, c.ConnectionID)
			}
		default:
			old = append(old, c.Key())
		}
	}
	if err := s.deleteConnections(ctx, old); err != nil {
		// Which of them went is not known: their subscriptions go when the pipeline
		// retries the prune.
		errs = append(errs, err)
	} else {
		gone = append(gone, lo.Map(old, func(c handlers.Connection, _ int) string { return c.ConnectionID })...)
	}
	errs = append(errs, s.forget(ctx, gone, nil, false))
	return errors.Join(errs...)
}

// deleteIfStoredBefore deletes c if its row was stored before storedBefore or has no
// time (or if there is no row), and reports whether it did; a younger row is kept, and
// that is no error.
func (s *Store) deleteIfStoredBefore(ctx context.Context, c handlers.Connection, storedBefore time.Time) (bool, error) {
	_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName:                 aws.String(s.cfg.Table),
		Key:                       s.key(c),
		ConditionExpression:       aws.String("attribute_not_exists(#t) OR #t < :before"),
		ExpressionAttributeNames:  map[string]string{"#t": s.cfg.ConnectedAtAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":before": epoch(storedBefore)},
	}, oneAttempt)
	var kept *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &kept):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("prune connection %s of %s: %w", c.ConnectionID, c.UserID, classify(err))
	}
	return true, nil
}

// deleteConnections removes conns, keys without duplicates, in batches of 25; removing
// one that is absent is no error. Each BatchWriteItem is one attempt: the connections
// DynamoDB leaves unprocessed fail the call with errUnprocessed, to be retried by the
// caller's caller, the pipeline, which backs off and counts attempts.
//
// The prune stage deletes one stale connection per message, many at once when a
// broadcast finds many gone: the deletes of concurrent calls are merged into shared
// BatchWriteItem calls (see pruneQueue).
func (s *Store) deleteConnections(ctx context.Context, conns []handlers.Connection) error {
	switch {
	case len(conns) == 0:
		return nil
	case len(conns) < batchSize:
		return s.prunes.delete(ctx, s, conns)
	}
	var errs []error
	for i, chunk := range lo.Chunk(conns, batchSize) {
		left, err := s.deleteBatch(ctx, chunk)
		if err == nil && len(left) > 0 {
			err = fmt.Errorf("%d of %d %w", len(left), len(chunk), errUnprocessed)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete connections %d-%d of %d: %w", i*batchSize+1, i*batchSize+len(chunk), len(conns), err))
		}
	}
	return errors.Join(errs...)
}

// pruneQueue merges small concurrent deletes into batches. A call queues its
// connections; if no batch is being made, it starts a goroutine that takes what is
// queued, up to 25 connections at a time, deletes them with one BatchWriteItem, answers
// their callers, and ends once the queue is empty. Under load the batches fill up; alone,
// a delete goes out at once.
//
// A caller is answered by what became of its own connections: the whole call's error if
// the call failed, errUnprocessed if DynamoDB left one of them unprocessed, nil if all of
// them were deleted, whatever became of the other callers' connections.
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
		left, err := s.deleteBatch(ctx, lo.Uniq(conns))
		cancel()
		unprocessed := lo.Keyify(left)
		for _, c := range batch {
			switch n := lo.CountBy(c.conns, func(k handlers.Connection) bool { _, ok := unprocessed[k]; return ok }); {
			case err != nil:
				c.done <- err
			case n > 0:
				c.done <- fmt.Errorf("%d of %d %w", n, len(c.conns), errUnprocessed)
			default:
				c.done <- nil
			}
		}
	}
}

// deleteBatch deletes up to 25 connections, keys without duplicates, with one
// BatchWriteItem call, and returns those DynamoDB left unprocessed.
func (s *Store) deleteBatch(ctx context.Context, conns []handlers.Connection) ([]handlers.Connection, error) {
	requests := make([]types.WriteRequest, len(conns))
	for i, c := range conns {
		requests[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: s.key(c)}}
	}
	out, err := s.client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{
		RequestItems: map[string][]types.WriteRequest{s.cfg.Table: requests},
	}, oneAttempt)
	if err != nil {
		return nil, classify(err)
	}
	unprocessed := out.UnprocessedItems[s.cfg.Table]
	left := make([]handlers.Connection, 0, len(unprocessed))
	for _, r := range unprocessed {
		var user, conn *types.AttributeValueMemberS
		if r.DeleteRequest != nil {
			user, _ = r.DeleteRequest.Key[s.cfg.UserKey].(*types.AttributeValueMemberS)
			conn, _ = r.DeleteRequest.Key[s.cfg.ConnectionKey].(*types.AttributeValueMemberS)
		}
		if user == nil || conn == nil {
			// Not a request of ours as sent: no telling whose it is, so the whole batch retries.
			return nil, fmt.Errorf("%d of %d %w", len(unprocessed), len(conns), errUnprocessed)
		}
		left = append(left, handlers.Connection{UserID: userOf(user.Value, conn.Value), ConnectionID: conn.Value})
	}
	return left, nil
}
