package dynamodb

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

var (
	_ handlers.SegmentScanner    = (*Store)(nil)
	_ handlers.ConnectionCounter = (*Store)(nil)
)

// ScanSegment calls page with every connection of segment of a parallel Scan of total
// segments, one Scan page at a time, starting after cursor ("" starts at the
// beginning); next resumes after that page and is "" with the last. It is a segment
// task's read: the fleet scans the other segments. DynamoDB assigns the items to
// segments, so the segments of a total are disjoint and together hold the table, as
// they do for ScanConnections.
func (s *Store) ScanSegment(ctx context.Context, segment, total int, cursor string, page func(conns []handlers.Connection, next string) error) error {
	after, err := decodeSegmentCursor(cursor, segment, total)
	if err != nil {
		return handlers.Permanent(fmt.Errorf("scan segment %d of %d: %w", segment, total, err))
	}
	err = s.scanPages(ctx, segment, total, after, func(conns []handlers.Connection, last map[string]string) error {
		next := ""
		if last != nil {
			next = encodeSegmentCursor(segment, total, last)
		}
		// A page may be empty (the segment's last often is): none is handed over.
		if len(conns) == 0 {
			return nil
		}
		return page(conns, next)
	})
	if err != nil {
		return fmt.Errorf("scan %w", err)
	}
	return nil
}

// segmentCursor is where a scan of one segment stands: the segment it belongs to, and
// the LastEvaluatedKey of the page handed over last, its string attributes by name.
type segmentCursor struct {
	Segment int               `json:"g"`
	Total   int               `json:"n"`
	After   map[string]string `json:"k"`
}

// encodeSegmentCursor returns the cursor that resumes segment of total after last:
// base64url of its JSON, NUL-free as a scan's cursor is.
func encodeSegmentCursor(segment, total int, last map[string]string) string {
	b, err := json.Marshal(segmentCursor{Segment: segment, Total: total, After: last})
	if err != nil {
		panic(fmt.Sprintf("marshal segment cursor: %v", err)) // ints and strings always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeSegmentCursor returns the key cursor resumes segment of total after, nil for
// "". A cursor names its segment: one of another segment, or of another total, would
// make DynamoDB start elsewhere in the table or refuse the Scan.
func decodeSegmentCursor(cursor string, segment, total int) (map[string]string, error) {
	if total < 1 || total > maxScanSegments || segment < 0 || segment >= total {
		return nil, fmt.Errorf("segment %d of %d is not 0 <= segment < total <= %d", segment, total, maxScanSegments)
	}
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("segment cursor %q is not base64url: %w", cursor, err)
	}
	var c segmentCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("segment cursor %q: %w", cursor, err)
	}
	switch {
	case c.Segment != segment || c.Total != total:
		return nil, fmt.Errorf("segment cursor %q is of segment %d of %d, not %d of %d", cursor, c.Segment, c.Total, segment, total)
	case len(c.After) == 0:
		return nil, fmt.Errorf("segment cursor %q has no key", cursor)
	}
	return c.After, nil
}

// sampleTotals are the parallel Scans, in TotalSegments, whose segment 0 an estimate
// counts, the finest first, until one holds sampleEnough items: 1/256 of a table of a
// million connections is about 3,900 keys, one Scan page; a table under about 8,000
// is counted whole.
var sampleTotals = []int{4096, 256, 16, 1}

// sampleEnough is the count a sample must reach to be taken. DynamoDB puts a user's
// connections in one segment (it hashes the partition key), so a sample counts users
// and their connections with them: at 500 it is off by about 5% (Poisson noise of
// sqrt(500 × connections a user)), which is what a decision to split needs.
const sampleEnough = 500

// EstimateConnections returns about how many connections the table holds: the count of
// segment 0 of a parallel Scan (Select COUNT), times the segments, from 4096 segments
// down to a Scan of the whole table, until the segment holds enough to count on. It
// reads at most about 8,000 items however large the table: 1/256 of a million-row
// table, in two or three Scan calls.
//
// DescribeTable's ItemCount would cost no read, but "DynamoDB updates this value
// approximately every six hours. Recent changes might not be reflected in this value."
// (TableDescription, Amazon DynamoDB API Reference,
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html):
// a table that grew this morning, or a new one, which reports 0, would not be split. A
// sample is as fresh as the Scan it decides on, and needs no grant beyond dynamodb:Scan.
func (s *Store) EstimateConnections(ctx context.Context) (int, error) {
	for _, total := range sampleTotals {
		n, err := s.countSegment(ctx, total)
		if err != nil {
			return 0, fmt.Errorf("estimate the connections of %s: %w", s.cfg.Table, err)
		}
		if n >= sampleEnough || total == 1 {
			return n * total, nil
		}
	}
	return 0, nil // sampleTotals ends with 1
}

// countSegment counts the items of segment 0 of a parallel Scan of total segments.
func (s *Store) countSegment(ctx context.Context, total int) (int, error) {
	in := &ddb.ScanInput{
		TableName:      aws.String(s.cfg.Table),
		Select:         types.SelectCount,
		ConsistentRead: aws.Bool(false),
	}
	if total > 1 {
		in.Segment, in.TotalSegments = aws.Int32(0), aws.Int32(int32(total))
	}
	n := 0
	for {
		res, err := s.client.Scan(ctx, in, oneAttempt)
		if err != nil {
			return 0, fmt.Errorf("count segment 0 of %d: %w", total, classify(err))
		}
		n += int(res.Count)
		if len(res.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}
