package handlers_test

import (
	"reflect"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestParseSplitCursor reads the cursors of splits, and refuses what no split writes:
// each state has one cursor, so a retry resumes from the state it left.
func TestParseSplitCursor(t *testing.T) {
	type span = handlers.SegmentSpan
	tests := []struct {
		name   string
		cursor string
		want   handlers.SplitState // zero: refused
	}{
		{"just split", "split:10:0:0-9", handlers.NewSplitState(10)},
		{"some enqueued", "split:10:7:2,5-6", handlers.SplitState{Total: 10, Enqueued: 7, Pending: []span{{2, 2}, {5, 6}}}},
		{"all enqueued", "split:10:10:", handlers.SplitState{Total: 10, Enqueued: 10}},
		{"resolved here", "split-here:10:3:4-9:dTEAYzE", handlers.SplitState{Total: 10, Enqueued: 3, Pending: []span{{4, 9}}, Here: true, Inner: "u1\x00c1"}},
		{"resolved here, done", "split-here:10:10::", handlers.SplitState{Total: 10, Enqueued: 10, Here: true}},
		{"resolved here, some left", "split-here:10:3:4-5:", handlers.SplitState{Total: 10, Enqueued: 3, Pending: []span{{4, 5}}, Here: true}},

		{"one segment", "split:1:0:0", handlers.SplitState{}},
		{"over MaxSegments", "split:1000001:0:0", handlers.SplitState{}},
		{"signed total", "split:+10:0:0-9", handlers.SplitState{}},
		{"leading zero", "split:10:0:00-9", handlers.SplitState{}},
		{"more enqueued than segments", "split:10:11:", handlers.SplitState{}},
		{"negative enqueued", "split:10:-1:0-9", handlers.SplitState{}},
		{"adjacent spans", "split:10:0:0-3,4-9", handlers.SplitState{}},
		{"descending span", "split:10:9:3-3", handlers.SplitState{}},
		{"span past the total", "split:10:0:0-10", handlers.SplitState{}},
		{"segments missing", "split:10:0:0-8", handlers.SplitState{}},
		{"segments over the total", "split-here:10:3:0-9:", handlers.SplitState{}},
		{"inner without a segment", "split-here:10:10::YQ", handlers.SplitState{}},
		{"inner with a line break", "split-here:10:0:0-9:\r", handlers.SplitState{}},
		{"inner with trailing bits", "split-here:10:0:0-9:00", handlers.SplitState{}},
		{"inner of a split not here", "split:10:0:0-9:", handlers.SplitState{}},
		{"no inner here", "split-here:10:0:0-9", handlers.SplitState{}},
		{"a NUL", "split:10:0:0-9\x00", handlers.SplitState{}},
		{"a memory store's", handlers.Connection{UserID: "split:10:0:0-9", ConnectionID: "c"}.Cursor(), handlers.SplitState{}},
		{"a DynamoDB scan's", "eyJzIjpbeyJkIjp0cnVlfV19", handlers.SplitState{}},
		{"none", "", handlers.SplitState{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := handlers.ParseSplitCursor(tt.cursor)
			if want := tt.want.Total > 0; ok != want || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseSplitCursor(%q) = %+v, %t; want %+v, %t", tt.cursor, got, ok, tt.want, want)
			}
			if ok && got.Cursor() != tt.cursor {
				t.Errorf("%+v.Cursor() = %q, want %q", got, got.Cursor(), tt.cursor)
			}
		})
	}
}

// TestSplitStateAfter walks a split resolved here through its segments: a page moves
// the inner cursor on, the end of a segment the first segment.
func TestSplitStateAfter(t *testing.T) {
	st := handlers.SplitState{Total: 6, Enqueued: 3, Pending: handlers.SpansOf([]int{1, 2, 4}), Here: true}
	var cursors []string
	for _, inner := range []string{"a", "", "", "b", ""} {
		st = st.After(inner)
		cursors = append(cursors, st.Cursor())
	}
	want := []string{"split-here:6:3:1-2,4:YQ", "split-here:6:3:2,4:", "split-here:6:3:4:", "split-here:6:3:4:Yg", "split-here:6:3::"}
	if !reflect.DeepEqual(cursors, want) {
		t.Errorf("cursors %q, want %q", cursors, want)
	}
}
