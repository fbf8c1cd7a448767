package memory_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// scanSegment runs a scan of segment of total from cursor to its end and returns its
// pages.
func scanSegment(t *testing.T, s *memory.Store, segment, total int, cursor string) []page {
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

// TestStoreScanSegment reads every segment of a total: each page holds 1 to pageSize
// connections of its segment, only the last has no next, and the segments together
// hold each connection exactly once.
func TestStoreScanSegment(t *testing.T) {
	tests := []struct {
		total, pageSize, n int
	}{
		{total: 1, pageSize: 3, n: 0},
		{total: 1, pageSize: 3, n: 10},
		{total: 2, pageSize: 3, n: 1},
		{total: 4, pageSize: 3, n: 100},
		{total: 10, pageSize: 50, n: 1000},
		{total: 100, pageSize: 2, n: 20}, // segments left empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d segments of pages of %d over %d", tt.total, tt.pageSize, tt.n), func(t *testing.T) {
			var want []handlers.Connection
			for i := range tt.n {
				want = append(want, conn(fmt.Sprint("u", i%7), fmt.Sprint("c", i)))
			}
			s := newStore(t, tt.pageSize, want...)
			seen := map[handlers.Connection]int{}
			for i := range tt.total {
				pages := scanSegment(t, s, i, tt.total, "")
				for j, p := range pages {
					if len(p.conns) == 0 || len(p.conns) > tt.pageSize {
						t.Errorf("segment %d page %d has %d connections, want 1..%d", i, j, len(p.conns), tt.pageSize)
					}
					if last := j == len(pages)-1; (p.next == "") != last {
						t.Errorf("segment %d page %d of %d has next %q", i, j+1, len(pages), p.next)
					}
					for _, c := range p.conns {
						if got := memory.SegmentOf(c.ConnectionID, tt.total); got != i {
							t.Errorf("segment %d holds %v, of segment %d", i, c, got)
						}
						seen[c]++
					}
				}
			}
			for _, c := range want {
				if seen[c] != 1 {
					t.Errorf("%v came %d times", c, seen[c])
				}
			}
			if len(seen) != len(want) {
				t.Errorf("the segments hold %d connections, the store %d", len(seen), len(want))
			}
		})
	}
}

// TestStoreScanSegmentResumes stops after every page and resumes from the last next,
// while connections come and go: each connection there all along comes exactly once.
func TestStoreScanSegmentResumes(t *testing.T) {
	var all []handlers.Connection
	for i := range 60 {
		all = append(all, conn(fmt.Sprint("u", i%5), fmt.Sprint("c", i)))
	}
	s := newStore(t, 2, all...)
	errStop := errors.New("stop")
	const total = 3
	seen := map[handlers.Connection]int{}
	for i := range total {
		cursor, runs := "", 0
		for {
			if runs++; runs > 100 {
				t.Fatal("the scan does not end")
			}
			err := s.ScanSegment(t.Context(), i, total, cursor, func(conns []handlers.Connection, next string) error {
				for _, c := range conns {
					seen[c]++
				}
				cursor = next
				if next != "" {
					return errStop
				}
				return nil
			})
			if err == nil {
				break
			}
			if !errors.Is(err, errStop) {
				t.Fatalf("segment %d: %v", i, err)
			}
			// A newcomer between two pages, which may or may not be read.
			_ = s.AddConnection(t.Context(), conn("u-new", fmt.Sprint("new-", i, "-", runs)))
		}
	}
	for _, c := range all {
		if seen[c] != 1 {
			t.Errorf("%v came %d times", c, seen[c])
		}
	}
}

func TestStoreScanSegmentRefuses(t *testing.T) {
	s := newStore(t, 2, conn("u", "c"))
	for _, seg := range [][2]int{{0, 0}, {1, 1}, {-1, 2}} {
		err := s.ScanSegment(t.Context(), seg[0], seg[1], "", func([]handlers.Connection, string) error { return nil })
		if !handlers.IsPermanent(err) {
			t.Errorf("ScanSegment(%d, %d) = %v, want a permanent error", seg[0], seg[1], err)
		}
	}
}

func TestStoreEstimateConnections(t *testing.T) {
	s := newStore(t, 2, conn("a", "1"), conn("a", "2"), conn("b", "3"))
	if n, err := s.EstimateConnections(t.Context()); n != 3 || err != nil {
		t.Errorf("EstimateConnections = %d, %v; want 3", n, err)
	}
}
