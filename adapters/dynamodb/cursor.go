package dynamodb

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// scanState is where each segment of a parallel scan stands: the state a cursor carries.
type scanState struct {
	Segments []segmentState `json:"s"`
}

// segmentState is where one segment stands. A segment neither done nor with a key has
// not been read yet.
type segmentState struct {
	// Done is set once the segment's last page is handed over.
	Done bool `json:"d,omitempty"`
	// After is the LastEvaluatedKey of the segment's last page handed over, its string
	// attributes by name: the table's keys are strings.
	After map[string]string `json:"k,omitempty"`
}

func newScanState(segments int) scanState {
	return scanState{Segments: make([]segmentState, segments)}
}

// done reports whether every segment is done.
func (st scanState) done() bool {
	for _, seg := range st.Segments {
		if !seg.Done {
			return false
		}
	}
	return true
}

// advance records that the page of segment i that ended at last (nil for its last page)
// is handed over.
func (st scanState) advance(i int, last map[string]string) {
	st.Segments[i] = segmentState{Done: len(last) == 0, After: last}
}

// encode returns the cursor of st: base64url of its JSON.
func (st scanState) encode() string {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("marshal scan cursor: %v", err)) // strings and bools always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the state cursor resumes, or a fresh one of segments segments for
// "". A cursor keeps its own count of segments, so it resumes the scan it came from even
// if the store's ScanSegments has changed since.
func decodeCursor(cursor string, segments int) (scanState, error) {
	if cursor == "" {
		return newScanState(segments), nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return scanState{}, fmt.Errorf("scan cursor %q is not base64url: %w", cursor, err)
	}
	var st scanState
	if err := json.Unmarshal(b, &st); err != nil {
		return scanState{}, fmt.Errorf("scan cursor %q: %w", cursor, err)
	}
	if n := len(st.Segments); n == 0 || n > maxScanSegments {
		return scanState{}, fmt.Errorf("scan cursor %q has %d segments", cursor, n)
	}
	for i, seg := range st.Segments {
		if seg.Done && len(seg.After) > 0 {
			return scanState{}, fmt.Errorf("scan cursor %q: segment %d is done and has a key", cursor, i)
		}
	}
	return st, nil
}

// lastKey returns the string attributes of a LastEvaluatedKey, nil for none.
func lastKey(key map[string]types.AttributeValue) (map[string]string, error) {
	if len(key) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(key))
	for name, v := range key {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("key attribute %q is a %T, not a string", name, v)
		}
		out[name] = s.Value
	}
	return out, nil
}

// startKey returns the ExclusiveStartKey of a segment state's key, nil for none.
func startKey(after map[string]string) map[string]types.AttributeValue {
	if len(after) == 0 {
		return nil
	}
	key := make(map[string]types.AttributeValue, len(after))
	for name, v := range after {
		key[name] = &types.AttributeValueMemberS{Value: v}
	}
	return key
}

// maxRangeKeyBytes is the longest value of a range key that DynamoDB keeps ("Sort key
// length", Constraints in Amazon DynamoDB, Developer Guide): no connection id of a
// subscription is longer.
const maxRangeKeyBytes = 1024

// checkTopicCursor returns an error naming after, the connection id a topic's Query
// resumes after, unless DynamoDB can compare it with a range key: UTF-8 text of at most
// maxRangeKeyBytes (an id that came from the table is). It is "" from the first.
func checkTopicCursor(after string) error {
	switch {
	case !utf8.ValidString(after):
		return fmt.Errorf("topic cursor %.64q is not UTF-8 text", after)
	case len(after) > maxRangeKeyBytes:
		return fmt.Errorf("topic cursor %.64q is %d bytes, longer than any connection id of the table (%d)", after, len(after), maxRangeKeyBytes)
	}
	return nil
}
