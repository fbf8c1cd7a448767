package dynamodb

import (
	"maps"
	"strings"
	"testing"
)

// FuzzScanCursor decodes arbitrary scan cursors, as a resolve retry or a replay hands
// them over (a cursor travels in a message's metadata, and a parked one can be edited).
// A cursor either is refused with an error naming it, which ScanConnections returns as
// permanent, or resumes a scan of 1 to maxScanSegments segments, none both done and
// with a key; and the cursor of a state decodes to that state, whatever the store's
// ScanSegments.
func FuzzScanCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, cursor string, segments uint8) {
		n := int(segments)%16 + 1 // the store's ScanSegments
		st, err := decodeCursor(cursor, n)
		if err != nil {
			if cursor == "" {
				t.Fatalf("the empty cursor: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "scan cursor ") {
				t.Fatalf("decodeCursor(%q) = %q: the error does not say it is the scan cursor", cursor, err)
			}
			return
		}
		if cursor == "" && (len(st.Segments) != n || st.done()) {
			t.Fatalf("the empty cursor resumes %+v, want a fresh scan of %d segments", st, n)
		}
		checkState(t, cursor, st)

		next := st.encode()
		again, err := decodeCursor(next, n%16+1)
		if err != nil {
			t.Fatalf("the cursor %q of %+v (from %q) does not decode: %v", next, st, cursor, err)
		}
		if !sameState(again, st) {
			t.Fatalf("the cursor %q of %+v (from %q) resumes %+v", next, st, cursor, again)
		}
		if again.encode() != next {
			t.Fatalf("the cursor %q decodes to a state whose cursor is %q", next, again.encode())
		}
	})
}

// checkState checks that st is a scan ScanConnections can resume: 1 to maxScanSegments
// segments, none both done and with a key, each key a start key of the same attributes.
func checkState(t *testing.T, cursor string, st scanState) {
	t.Helper()
	if n := len(st.Segments); n < 1 || n > maxScanSegments {
		t.Fatalf("decodeCursor(%q) resumes a scan of %d segments", cursor, n)
	}
	for i, seg := range st.Segments {
		if seg.Done && len(seg.After) > 0 {
			t.Fatalf("decodeCursor(%q): segment %d is done and has a key", cursor, i)
		}
		if key := startKey(seg.After); len(key) != len(seg.After) {
			t.Fatalf("decodeCursor(%q): segment %d's key %q makes the start key %v", cursor, i, seg.After, key)
		}
	}
}

// sameState reports whether a and b resume the same scan: an empty key is no key.
func sameState(a, b scanState) bool {
	if len(a.Segments) != len(b.Segments) {
		return false
	}
	for i := range a.Segments {
		if a.Segments[i].Done != b.Segments[i].Done || !maps.Equal(a.Segments[i].After, b.Segments[i].After) {
			return false
		}
	}
	return true
}

// FuzzTopicCursor decodes arbitrary topic cursors, as a resolve retry or a replay hands
// them over. A cursor either is refused with an error naming it, which
// TopicConnections returns as permanent, or starts the Query after a key of exactly the
// subscriptions table's two string keys, the topic's own and a connection id that is
// not empty; and the cursor of such a key decodes to it.
func FuzzTopicCursor(f *testing.F) {
	f.Add("", "news")
	f.Add(encodeTopicCursor(map[string]string{topicAttr: "news", subConnAttr: "c1"}), "news")
	f.Add(encodeTopicCursor(map[string]string{topicAttr: "news", subConnAttr: "c1"}), "sport")
	f.Add(encodeTopicCursor(map[string]string{topicAttr: "a\x00b", subConnAttr: "c\x00"}), "a\x00b")
	f.Add(encodeTopicCursor(map[string]string{topicAttr: "news", subConnAttr: ""}), "news")
	f.Add(encodeTopicCursor(map[string]string{topicAttr: "news", subConnAttr: "c1", "user_id": "u"}), "news")
	f.Add("e30", "news")
	f.Add("not base64!", "news")
	f.Fuzz(func(t *testing.T, cursor, topic string) {
		key, err := decodeTopicCursor(cursor, topic)
		if err != nil {
			if cursor == "" {
				t.Fatalf("the empty cursor: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "topic cursor ") {
				t.Fatalf("decodeTopicCursor(%q) = %q: the error does not say it is the topic cursor", cursor, err)
			}
			return
		}
		if cursor == "" {
			if key != nil {
				t.Fatalf("the empty cursor starts after %v", key)
			}
			return
		}
		after, err := lastKey(key)
		if err != nil {
			t.Fatalf("decodeTopicCursor(%q) = %v: %v", cursor, key, err)
		}
		if len(after) != 2 || after[topicAttr] != topic || after[subConnAttr] == "" {
			t.Fatalf("decodeTopicCursor(%q, %q) starts after %q", cursor, topic, after)
		}
		next := encodeTopicCursor(after)
		if strings.ContainsRune(next, 0) {
			t.Fatalf("the cursor %q holds a NUL", next)
		}
		again, err := decodeTopicCursor(next, topic)
		if err != nil {
			t.Fatalf("the cursor %q of %q (from %q) does not decode: %v", next, after, cursor, err)
		}
		if back, _ := lastKey(again); !maps.Equal(back, after) {
			t.Fatalf("the cursor %q of %q decodes to %q", next, after, back)
		}
	})
}
