package dynamodb_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// scanSegment runs a scan of segment of total from cursor to its end and returns its
// pages.
func scanSegment(t *testing.T, s *dynamodb.Store, segment, total int, cursor string) []page {
	t.Helper()
	var pages []page
	err := s.ScanSegment(t.Context(), segment, total, cursor, func(conns []handlers.Connection, next string) error {
		pages = append(pages, page{conns: slices.Clone(conns), next: next})
		return nil
	})
	if err != nil {
		t.Fatalf("ScanSegment(%d, %d, %q): %v", segment, total, cursor, err)
	}
	return pages
}

// TestScanSegment reads every segment of a total: together they hold each connection
// exactly once (so they are disjoint), each in pages of at most PageSize whose last
// alone has no next.
func TestScanSegment(t *testing.T) {
	e := newEmulator(t)
	tests := []struct {
		total    int
		pageSize int32
		n        int
	}{
		{total: 1, pageSize: 7, n: 0},
		{total: 1, pageSize: 7, n: 50},
		{total: 3, pageSize: 7, n: 1},
		{total: 3, pageSize: 7, n: 100},
		{total: 10, pageSize: 20, n: 500},
		{total: 64, pageSize: 5, n: 40}, // segments left empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d segments of pages of %d over %d", tt.total, tt.pageSize, tt.n), func(t *testing.T) {
			want := connections(13, tt.n)
			s, _ := e.store(t, dynamodb.Config{PageSize: tt.pageSize}, want...)
			var all []handlers.Connection
			for i := range tt.total {
				pages := scanSegment(t, s, i, tt.total, "")
				if len(pages) > 0 {
					checkPages(t, pages, int(tt.pageSize))
				}
				all = append(all, flatten(pages)...)
			}
			sameConnections(t, all, want)
		})
	}
}

// TestScanSegmentResumes stops the scan of each segment after every page and resumes it
// from the last next: the runs hold the segment's connections exactly once.
func TestScanSegmentResumes(t *testing.T) {
	e := newEmulator(t)
	want := connections(11, 300)
	s, _ := e.store(t, dynamodb.Config{PageSize: 7}, want...)
	errStop := errors.New("stop")
	const total = 4
	var got []handlers.Connection
	for i := range total {
		cursor, runs := "", 0
		for {
			if runs++; runs > 200 {
				t.Fatal("the scan does not end")
			}
			err := s.ScanSegment(t.Context(), i, total, cursor, func(conns []handlers.Connection, next string) error {
				got, cursor = append(got, conns...), next
				if next != "" {
					return errStop
				}
				return nil
			})
			if err == nil {
				break
			}
			if !errors.Is(err, errStop) {
				t.Fatalf("segment %d, run %d: %v", i, runs, err)
			}
		}
		if cursor != "" {
			t.Errorf("segment %d: the last next is %q", i, cursor)
		}
	}
	sameConnections(t, got, want)
}

// TestScanSegmentRefuses checks what no retry can pass: a segment that is none, and a
// cursor that is not one of the segment's (another segment's would start the Scan in
// the wrong place).
func TestScanSegmentRefuses(t *testing.T) {
	e := newEmulator(t)
	s, _ := e.store(t, dynamodb.Config{PageSize: 5}, connections(5, 60)...)
	var cursor string
	errStop := errors.New("stop")
	err := s.ScanSegment(t.Context(), 1, 3, "", func(_ []handlers.Connection, next string) error {
		cursor = next
		return errStop
	})
	if !errors.Is(err, errStop) || cursor == "" {
		t.Fatalf("ScanSegment = %v with next %q, want errStop after a page", err, cursor)
	}
	for _, tt := range []struct {
		name           string
		segment, total int
		cursor         string
	}{
		{"index not below total", 3, 3, ""},
		{"negative index", -1, 3, ""},
		{"no segments", 0, 0, ""},
		{"over DynamoDB's total", 0, 1_000_001, ""},
		{"another segment's cursor", 2, 3, cursor},
		{"another total's cursor", 1, 4, cursor},
		{"not base64", 1, 3, "not base64!"},
		{"not json", 1, 3, "bm90IGpzb24"},
		{"no key", 1, 3, "eyJnIjoxLCJuIjozfQ"}, // {"g":1,"n":3}
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ScanSegment(t.Context(), tt.segment, tt.total, tt.cursor, func([]handlers.Connection, string) error {
				t.Error("page called")
				return nil
			})
			if !handlers.IsPermanent(err) {
				t.Errorf("ScanSegment = %v, want a permanent error", err)
			}
		})
	}
}

// TestEstimateConnections checks the sampled count against tables of known sizes:
// small ones are counted whole, large ones within the sample's noise, and a table that
// was just filled is counted as it is now (DescribeTable's ItemCount would say 0).
func TestEstimateConnections(t *testing.T) {
	e := newEmulator(t)
	for _, n := range []int{0, 1, 150, 5000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			table := e.table(t)
			seed(t, e.client, table, connections(max(1, n/3), n))
			spy := newSpy(e.client)
			s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.EstimateConnections(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// A sample of k of the table's items is off by about sqrt(k); it takes
			// k >= 200, so within 4 sigma: 30%. Under 200 rows it counts them all.
			tolerance := 0
			if n >= 200 {
				tolerance = int(math.Ceil(0.3 * float64(n)))
			}
			if got < n-tolerance || got > n+tolerance {
				t.Errorf("EstimateConnections = %d, want %d ± %d", got, n, tolerance)
			}
			t.Logf("%d connections: estimate %d in %d Scan calls", n, got, spy.Calls("Scan"))
		})
	}
}
