package handlers_test

import (
	"encoding/base64"
	"reflect"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// FuzzSplitCursor parses arbitrary resolve cursors, as a retry or a replay of the
// resolve stage hands them over (a cursor travels in a message's metadata, and a
// parked one can be edited). One that parses as a split's is the very cursor of its
// state, a split of 2 to handlers.MaxSegments segments whose segments to do are within
// it, in order and apart; the scan cursors of the stores never parse as one.
func FuzzSplitCursor(f *testing.F) {
	f.Add("split:10:0:0-9")
	f.Add("split:10:7:2,5-6")
	f.Add("split:10:10:")
	f.Add("split-here:10:3:4-9:" + base64.RawURLEncoding.EncodeToString([]byte("u1\x00c1")))
	f.Add("split-here:10:10::")
	f.Add("split:10:0:0-3,4-9") // adjacent spans
	f.Add("split:1:0:0")
	f.Add("split:10:0:09")
	f.Add("split:+10:0:0")
	f.Add("split:1000001:0:0")
	f.Add(handlers.Connection{UserID: "split:10:0:0-9", ConnectionID: "c"}.Cursor()) // a memory store's
	f.Add("eyJzIjpbeyJkIjp0cnVlfV19")                                                // a DynamoDB scan's
	f.Fuzz(func(t *testing.T, cursor string) {
		st, ok := handlers.ParseSplitCursor(cursor)
		if !ok {
			return
		}
		if _, isMemory := handlers.CursorConnection(cursor); isMemory {
			t.Fatalf("the memory store's cursor %q parses as a split's", cursor)
		}
		if st.Total < 2 || st.Total > handlers.MaxSegments || st.Enqueued < 0 || st.Enqueued > st.Total {
			t.Fatalf("ParseSplitCursor(%q) = %+v", cursor, st)
		}
		left, last := 0, -2
		for _, s := range st.Pending {
			if s.From <= last+1 || s.To < s.From || s.To >= st.Total {
				t.Fatalf("ParseSplitCursor(%q): spans %v", cursor, st.Pending)
			}
			left += s.To - s.From + 1
			last = s.To
		}
		if st.Enqueued+left > st.Total || len(st.PendingSegments()) != left {
			t.Fatalf("ParseSplitCursor(%q): %d enqueued and %d to do of %d", cursor, st.Enqueued, left, st.Total)
		}
		if got := st.Cursor(); got != cursor {
			t.Fatalf("ParseSplitCursor(%q) = %+v, whose cursor is %q", cursor, st, got)
		}
		if st.Here && len(st.Pending) > 0 {
			after := st.After("")
			again, ok := handlers.ParseSplitCursor(after.Cursor())
			if !ok || !reflect.DeepEqual(again, after) && !(len(again.Pending) == 0 && len(after.Pending) == 0) {
				t.Fatalf("the state after a segment of %q, %+v, parses to %+v (%v)", cursor, after, again, ok)
			}
		}
	})
}
