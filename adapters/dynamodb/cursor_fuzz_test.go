package dynamodb

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// FuzzTopicCursor builds the Query of a topic's subscribers after arbitrary connection
// ids, as a resolve retry or a replay hands them over (a cursor travels in a message's
// metadata, and a parked one can be edited). An id either is refused with an error
// naming the topic cursor, which TopicConnections returns as permanent without a Query
// (one that is not UTF-8 text or is longer than any range key), or starts the Query of
// the topic's partition after it, with the id itself as the range key's bound; "" reads
// the topic from its first subscriber.
func FuzzTopicCursor(f *testing.F) {
	f.Add("", "news")
	f.Add("L0SM9cOFvHcCIhw=", "news")
	f.Add("c\x00", "a\x00b")
	f.Add("\xff", "news")
	f.Add(strings.Repeat("x", maxRangeKeyBytes), "news")
	f.Add(strings.Repeat("x", maxRangeKeyBytes+1), "news")
	f.Add(strings.Repeat("é", maxRangeKeyBytes/2+1), "news")
	f.Add("eyJjb25uZWN0aW9uX2lkIjoiYzEiLCJ0b3BpYyI6Im5ld3MifQ", "news") // a cursor of the earlier form
	s := &Store{cfg: Config{SubscriptionsTable: "subscriptions", PageSize: 25}}
	f.Fuzz(func(t *testing.T, after, topic string) {
		if err := checkTopicCursor(after); err != nil {
			if after == "" {
				t.Fatalf("the empty cursor: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "topic cursor ") {
				t.Fatalf("checkTopicCursor(%q) = %q: the error does not say it is the topic cursor", after, err)
			}
			if utf8.ValidString(after) && len(after) <= maxRangeKeyBytes {
				t.Fatalf("checkTopicCursor(%q) refuses an id the table may hold: %v", after, err)
			}
			return
		}
		in := s.topicQuery(topic, after)
		if v, ok := in.ExpressionAttributeValues[":t"].(*types.AttributeValueMemberS); !ok || v.Value != topic {
			t.Fatalf("the Query of %q reads the partition %v", topic, in.ExpressionAttributeValues[":t"])
		}
		if in.ExclusiveStartKey != nil {
			t.Fatalf("the Query after %q starts at %v", after, in.ExclusiveStartKey)
		}
		cond := aws.ToString(in.KeyConditionExpression)
		bound, bounded := in.ExpressionAttributeValues[":after"].(*types.AttributeValueMemberS)
		switch {
		case after == "" && (cond != "#t = :t" || len(in.ExpressionAttributeValues) != 1):
			t.Fatalf("the Query from the first has the condition %q and values %v", cond, in.ExpressionAttributeValues)
		case after != "" && (cond != "#t = :t AND #c > :after" || !bounded || bound.Value != after):
			t.Fatalf("the Query after %q has the condition %q and values %v", after, cond, in.ExpressionAttributeValues)
		case in.ExpressionAttributeNames["#c"] != subConnAttr || in.ExpressionAttributeNames["#t"] != topicAttr:
			t.Fatalf("the Query's names are %v", in.ExpressionAttributeNames)
		}
	})
}
