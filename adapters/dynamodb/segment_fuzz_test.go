package dynamodb

import (
	"maps"
	"strings"
	"testing"
)

// FuzzSegmentCursor decodes arbitrary segment cursors for arbitrary segments, as a
// segment task's retry or a replay hands them over (a cursor travels in a message's
// metadata, and a parked one can be edited). A cursor either is refused with an error
// naming it or the segment, which ScanSegment returns as permanent, or resumes that very
// segment after a key that makes a start key; and the cursor of such a key decodes to
// it.
func FuzzSegmentCursor(f *testing.F) {
	key := map[string]string{"user_id": "u1", "connection_id": "c1"}
	f.Add("", 0, 1)
	f.Add("", 3, 10)
	f.Add(encodeSegmentCursor(3, 10, key), 3, 10)
	f.Add(encodeSegmentCursor(3, 10, key), 4, 10)
	f.Add(encodeSegmentCursor(3, 10, key), 3, 11)
	f.Add(encodeSegmentCursor(0, 1, map[string]string{"user_id": "a\x00b", "connection_id": ""}), 0, 1)
	f.Add(encodeSegmentCursor(2, 4, nil), 2, 4)
	f.Add("eyJnIjoxLCJuIjozfQ", 1, 3) // {"g":1,"n":3}: no key
	f.Add("not base64!", 0, 1)
	f.Add("", -1, 1)
	f.Add("", 5, 5)
	f.Add("", 0, 1_000_001)
	f.Fuzz(func(t *testing.T, cursor string, segment, total int) {
		after, err := decodeSegmentCursor(cursor, segment, total)
		valid := total >= 1 && total <= maxScanSegments && segment >= 0 && segment < total
		if err != nil {
			if cursor == "" && valid {
				t.Fatalf("the empty cursor of segment %d of %d: %v", segment, total, err)
			}
			if !strings.HasPrefix(err.Error(), "segment ") {
				t.Fatalf("decodeSegmentCursor(%q) = %q: the error does not say it is the segment or its cursor", cursor, err)
			}
			return
		}
		if !valid {
			t.Fatalf("decodeSegmentCursor(%q, %d, %d) accepted a segment that is none", cursor, segment, total)
		}
		if cursor == "" {
			if after != nil {
				t.Fatalf("the empty cursor starts after %v", after)
			}
			return
		}
		if len(after) == 0 || len(startKey(after)) != len(after) {
			t.Fatalf("decodeSegmentCursor(%q) starts after %q", cursor, after)
		}
		next := encodeSegmentCursor(segment, total, after)
		if strings.ContainsRune(next, 0) {
			t.Fatalf("the cursor %q holds a NUL", next)
		}
		again, err := decodeSegmentCursor(next, segment, total)
		if err != nil {
			t.Fatalf("the cursor %q of %q (from %q) does not decode: %v", next, after, cursor, err)
		}
		if !maps.Equal(again, after) {
			t.Fatalf("the cursor %q of %q decodes to %q", next, after, again)
		}
		if _, err := decodeSegmentCursor(next, (segment+1)%total, total); total > 1 && err == nil {
			t.Fatalf("the cursor %q of segment %d of %d resumes segment %d", next, segment, total, (segment+1)%total)
		}
	})
}
