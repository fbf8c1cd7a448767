package dynamodb

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// scanPage is one Scan page of one segment, on its way to the funnel.
type scanPage struct {
	segment int
	conns   []handlers.Connection
	// last is the page's LastEvaluatedKey; nil ends the segment.
	last map[string]string
}

// ScanConnections calls page with every connection in the table, one page at a time,
// from ScanSegments parallel segments, starting after cursor ("" starts at the
// beginning); next resumes after that page and is "" with the last. It stops at the
// first error of page, a failed Scan, or the end of ctx.
func (s *Store) ScanConnections(ctx context.Context, cursor string, page func(conns []handlers.Connection, next string) error) error {
	st, err := decodeCursor(cursor, s.cfg.ScanSegments)
	if err != nil {
		return handlers.Permanent(fmt.Errorf("scan connections: %w", err))
	}
	if st.done() {
		return nil
	}

	// A failing segment cancels the others, with its error as the cause.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pages := make(chan scanPage)
	var segments sync.WaitGroup
	for i, seg := range st.Segments {
		if seg.Done {
			continue
		}
		segments.Go(func() {
			if err := s.scanSegment(ctx, i, len(st.Segments), seg.After, pages); err != nil {
				cancel(err)
			}
		})
	}
	go func() {
		segments.Wait()
		close(pages)
	}()
	// stop ends the segments and waits for them to let go of pages.
	stop := func(err error) {
		cancel(err)
		for range pages {
		}
	}

	// The funnel holds back one page until it knows whether another follows, so that the
	// last page of the scan goes with next == "", even when segments end with empty pages.
	var held []handlers.Connection
	for p := range pages {
		if ctx.Err() != nil {
			break
		}
		if len(p.conns) > 0 && held != nil {
			// next records the held page and the empty pages since, not p.
			if err := page(held, st.encode()); err != nil {
				stop(err)
				return err
			}
		}
		st.advance(p.segment, p.last)
		if len(p.conns) > 0 {
			held = p.conns
		}
	}
	if ctx.Err() != nil {
		// A segment failed or the caller's ctx ended. The held page is dropped, not handed
		// over without the pages dropped with the segments: a resume from the last next
		// reads it again.
		stop(nil)
		return fmt.Errorf("scan connections: %w", context.Cause(ctx))
	}
	if held != nil {
		return page(held, "")
	}
	return nil
}

// scanSegment reads segment i of total, after the key after (nil: from its start),
// and sends each page to out, waiting until the funnel takes it or ctx ends.
func (s *Store) scanSegment(ctx context.Context, i, total int, after map[string]string, out chan<- scanPage) error {
	return s.scanPages(ctx, i, total, after, func(conns []handlers.Connection, last map[string]string) error {
		select {
		case out <- scanPage{segment: i, conns: conns, last: last}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// scanPages reads segment i of a parallel Scan of total segments (1: the whole table),
// after the key after (nil: from its start), one eventually consistent page of the
// projected attributes at a time, and calls page with each page's connections and its
// LastEvaluatedKey's string attributes, nil with the last page.
func (s *Store) scanPages(ctx context.Context, i, total int, after map[string]string, page func(conns []handlers.Connection, last map[string]string) error) error {
	in := &ddb.ScanInput{
		TableName:                aws.String(s.cfg.Table),
		ProjectionExpression:     aws.String(s.projection),
		ExpressionAttributeNames: s.names,
		Limit:                    aws.Int32(s.cfg.PageSize),
		ConsistentRead:           aws.Bool(false),
		ExclusiveStartKey:        startKey(after),
	}
	if total > 1 {
		in.Segment, in.TotalSegments = aws.Int32(int32(i)), aws.Int32(int32(total))
	}
	for {
		res, err := s.client.Scan(ctx, in, oneAttempt)
		if err != nil {
			return fmt.Errorf("segment %d of %d: %w", i, total, classify(err))
		}
		conns, err := s.connections(res.Items)
		if err != nil {
			return fmt.Errorf("segment %d of %d: %w", i, total, err)
		}
		last, err := lastKey(res.LastEvaluatedKey)
		if err != nil {
			return handlers.Permanent(fmt.Errorf("segment %d of %d: %w", i, total, err))
		}
		if err := page(conns, last); err != nil {
			return err
		}
		if last == nil {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}
