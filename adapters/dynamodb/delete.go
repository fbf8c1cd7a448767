package dynamodb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

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
func (s *Store) DeleteConnections(ctx context.Context, conns []handlers.Connection) error {
	// A batch with one key twice is a ValidationException, and an empty key can be in
	// no table.
	conns = lo.Filter(lo.Uniq(conns), func(c handlers.Connection, _ int) bool { return storable(c) })
	for i, chunk := range lo.Chunk(conns, batchSize) {
		if err := s.deleteBatch(ctx, chunk); err != nil {
			return fmt.Errorf("delete connections %d-%d of %d: %w", i*batchSize+1, i*batchSize+len(chunk), len(conns), err)
		}
	}
	return nil
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
