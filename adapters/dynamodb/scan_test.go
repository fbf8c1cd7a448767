package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// checkPages fails the test unless every page holds 1..pageSize connections and only the
// last has an empty next.
func checkPages(t *testing.T, pages []page, pageSize int) {
	t.Helper()
	for i, p := range pages {
		if len(p.conns) == 0 || len(p.conns) > pageSize {
			t.Errorf("page %d has %d connections, want 1..%d", i, len(p.conns), pageSize)
		}
		if last := i == len(pages)-1; (p.next == "") != last {
			t.Errorf("page %d of %d has next %q", i+1, len(pages), p.next)
		}
	}
}

func TestScanConnections(t *testing.T) {
	e := newEmulator(t)
	tests := []struct {
		segments int
		pageSize int32
		n        int
	}{
		{segments: 1, pageSize: 7, n: 0},
		{segments: 1, pageSize: 7, n: 1},
		{segments: 1, pageSize: 7, n: 7},
		{segments: 1, pageSize: 7, n: 100},
		{segments: 3, pageSize: 7, n: 1},
		{segments: 3, pageSize: 7, n: 100},
		{segments: 3, pageSize: 500, n: 100},
		{segments: 4, pageSize: 1, n: 20},
		{segments: 16, pageSize: 7, n: 10}, // segments left empty
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d segments of pages of %d over %d", tt.segments, tt.pageSize, tt.n), func(t *testing.T) {
			want := connections(7, tt.n)
			s, _ := e.store(t, dynamodb.Config{ScanSegments: tt.segments, PageSize: tt.pageSize}, want...)
			pages := scan(t, s, "")
			checkPages(t, pages, int(tt.pageSize))
			sameConnections(t, flatten(pages), want)
		})
	}
}

// TestScanConnectionsResumes stops a scan after k pages, resumes it from the last next,
// and so on until the end: the pages of all runs hold each connection exactly once.
func TestScanConnectionsResumes(t *testing.T) {
	e := newEmulator(t)
	errStop := errors.New("stop")
	for _, segments := range []int{1, 3} {
		for _, k := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%d segments, %d pages a run", segments, k), func(t *testing.T) {
				want := connections(11, 150)
				s, _ := e.store(t, dynamodb.Config{ScanSegments: segments, PageSize: 7}, want...)
				var got []handlers.Connection
				cursor, runs := "", 0
				for {
					runs++
					if runs > 200 {
						t.Fatal("the scan does not end")
					}
					n := 0
					err := s.ScanConnections(t.Context(), cursor, func(conns []handlers.Connection, next string) error {
						got = append(got, conns...)
						cursor = next
						if n++; n == k && next != "" {
							return errStop
						}
						return nil
					})
					if err == nil {
						break
					}
					if !errors.Is(err, errStop) {
						t.Fatalf("run %d: ScanConnections: %v", runs, err)
					}
				}
				if cursor != "" {
					t.Errorf("the last next is %q", cursor)
				}
				sameConnections(t, got, want)
				t.Logf("%d runs", runs)
			})
		}
	}

	t.Run("with other segments than the cursor's", func(t *testing.T) {
		want := connections(5, 60)
		three, table := e.store(t, dynamodb.Config{ScanSegments: 3, PageSize: 7}, want...)
		var got []handlers.Connection
		var cursor string
		err := three.ScanConnections(t.Context(), "", func(conns []handlers.Connection, next string) error {
			got, cursor = append(got, conns...), next
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("ScanConnections = %v, want errStop", err)
		}
		one, err := dynamodb.New(e.client, dynamodb.Config{Table: table, ScanSegments: 1, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		sameConnections(t, append(got, flatten(scan(t, one, cursor))...), want)
	})
}

// TestScanConnectionsLarge is the case: 5,000 connections in pages of 50 over 4
// segments each reach the page function exactly once.
func TestScanConnectionsLarge(t *testing.T) {
	e := newEmulator(t)
	want := connections(1000, 5000)
	start := time.Now()
	s, _ := e.store(t, dynamodb.Config{ScanSegments: 4, PageSize: 50}, want...)
	t.Logf("seeded %d connections in %s", len(want), time.Since(start))

	start = time.Now()
	pages := scan(t, s, "")
	t.Logf("scanned %d connections in %d pages in %s", len(flatten(pages)), len(pages), time.Since(start))
	checkPages(t, pages, 50)
	sameConnections(t, flatten(pages), want)
}

func TestScanConnectionsStops(t *testing.T) {
	e := newEmulator(t)
	s, _ := e.store(t, dynamodb.Config{ScanSegments: 4, PageSize: 5}, connections(9, 200)...)

	t.Run("at the page function's error", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := s.ScanConnections(t.Context(), "", func([]handlers.Connection, string) error {
			calls++
			if calls == 3 {
				return errStop
			}
			return nil
		})
		if err != errStop {
			t.Errorf("ScanConnections = %v, want the page function's error as it is", err)
		}
		if calls != 3 {
			t.Errorf("page called %d times, want 3", calls)
		}
	})

	t.Run("when ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		calls := 0
		err := s.ScanConnections(ctx, "", func([]handlers.Connection, string) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ScanConnections = %v, want context.Canceled", err)
		}
		if handlers.IsPermanent(err) {
			t.Errorf("ScanConnections = %v, marked permanent", err)
		}
		if calls != 1 {
			t.Errorf("page called %d times after ctx ended, want 1", calls)
		}
	})

	t.Run("at a cursor it cannot read", func(t *testing.T) {
		for _, cursor := range []string{"not base64!", "bm90IGpzb24", "e30", `eyJzIjpbXX0`} { // "not json", "{}", `{"s":[]}`
			err := s.ScanConnections(t.Context(), cursor, func([]handlers.Connection, string) error {
				t.Error("page called")
				return nil
			})
			if !handlers.IsPermanent(err) {
				t.Errorf("ScanConnections(%q) = %v, want a permanent error", cursor, err)
			}
		}
	})
}

// TestScanConnectionsHoldsFewPages checks the funnel's back-pressure: while the page
// function is slow, the segments wait for it instead of reading ahead.
func TestScanConnectionsHoldsFewPages(t *testing.T) {
	e := newEmulator(t)
	const segments = 4
	table := e.table(t)
	want := connections(9, 200)
	seed(t, e.client, table, want)
	spy := newSpy(e.client)
	s, err := dynamodb.New(spy, dynamodb.Config{Table: table, ScanSegments: segments, PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []handlers.Connection
	calls := 0
	err = s.ScanConnections(t.Context(), "", func(conns []handlers.Connection, _ string) error {
		calls++
		got = append(got, conns...)
		if calls <= 3 {
			time.Sleep(50 * time.Millisecond) // time enough for segments to read ahead
		}
		// Each segment may have read one page past those the funnel took, and the funnel
		// takes one page past those handed over, and each segment's empty last page.
		if n, most := spy.Calls("Scan"), calls+1+2*segments; n > most {
			t.Errorf("page %d: %d Scan calls so far, want at most %d", calls, n, most)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanConnections: %v", err)
	}
	sameConnections(t, got, want)
}
