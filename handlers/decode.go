package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// MaxFrameBytes is the largest payload the API Gateway Management API accepts in one post.
const MaxFrameBytes = 128 * 1024

// Decoder turns the raw body of a notification request into a Request.
// Every error it returns is permanent: no retry makes a malformed request valid.
type Decoder struct {
	// MaxFrameBytes bounds the JSON of data; zero means MaxFrameBytes.
	MaxFrameBytes int
	// Mappings turn the events of a source (SourceKinesis, SourceEventBridge, or a
	// team's own) into requests; a source without one sends requests.
	Mappings map[string]*Mapping
}

// Decode parses and validates body. The returned Request's Data is compact JSON.
func (d Decoder) Decode(body []byte) (Request, error) {
	req, err := d.decode(body)
	if err != nil {
		return Request{}, Permanent(fmt.Errorf("decode request: %w", err))
	}
	return req, nil
}

// DecodeFrom reads body as source sends it (see Sources): the event the source's
// Mapping makes a request of, or, without one, a request itself, which an EventBridge
// event carries as its detail. A body from source "" is a request.
func (d Decoder) DecodeFrom(source string, body []byte) (Request, error) {
	m := d.Mappings[source]
	if source == "" || (m == nil && source != SourceEventBridge) {
		return d.Decode(body)
	}
	var err error
	if m != nil {
		body, err = m.Request(body)
	} else {
		body, err = detail(body)
	}
	if err != nil {
		return Request{}, Permanent(fmt.Errorf("decode %s event: %w", source, err))
	}
	req, err := d.decode(body)
	if err != nil {
		return Request{}, Permanent(fmt.Errorf("decode %s event: %w", source, err))
	}
	return req, nil
}

// detail returns the detail of an EventBridge event, the request it carries when no
// mapping reads the event.
func detail(event []byte) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	d, ok := fields["detail"]
	if !ok {
		return nil, errors.New(`no "detail" field (an EventBridge event without a mapping carries the request as its detail)`)
	}
	return d, nil
}

func (d Decoder) decode(body []byte) (Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return Request{}, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := fields["data"]
	if !ok {
		return Request{}, errors.New(`no "data" field`)
	}
	var data bytes.Buffer
	if err := json.Compact(&data, raw); err != nil {
		return Request{}, fmt.Errorf("data: %w", err)
	}
	// encoding/json does not check the bytes of strings, and the frame is a text frame,
	// which a client fails the connection on when it is not UTF-8 (RFC 6455, 8.1).
	if !utf8.Valid(data.Bytes()) {
		return Request{}, errors.New("data is not UTF-8 text")
	}
	limit := d.MaxFrameBytes
	if limit <= 0 {
		limit = MaxFrameBytes
	}
	if data.Len() > limit {
		return Request{}, fmt.Errorf("data is %d bytes, over the %d-byte frame limit", data.Len(), limit)
	}
	users, err := userIDs(fields, "users")
	if err != nil {
		return Request{}, err
	}
	excluded, err := userIDs(fields, "exclude_users")
	if err != nil {
		return Request{}, err
	}
	topics, err := userList(fields, "topics", "topic")
	if err != nil {
		return Request{}, err
	}
	for i, t := range topics {
		if err := ValidTopic(t, DefaultMaxTopicLength); err != nil {
			return Request{}, fmt.Errorf("%q[%d]: %w", "topics", i, err)
		}
	}
	segment, err := segmentOf(fields)
	if err != nil {
		return Request{}, err
	}
	if segment != nil && (len(users) > 0 || len(topics) > 0) {
		return Request{}, errors.New(`"segment" goes with a broadcast or an exclusion, not with "users" or "topics"`)
	}
	return Request{Users: users, Topics: topics, ExcludeUsers: excluded, Data: data.Bytes(), Segment: segment}, nil
}

// segmentOf reads the optional segment of a segment task: {"index":i,"total":n} with
// 0 <= i < n <= MaxSegments, and an optional "post_rate" above 0; absent and null mean
// none.
func segmentOf(fields map[string]json.RawMessage) (*Segment, error) {
	raw, ok := fields["segment"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	// Its keys are matched exactly, as the request's are: encoding/json would take
	// "Index" for index, and the last of two spellings.
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, errSegmentShape
	}
	rate, hasRate := obj["post_rate"]
	if len(obj) != 2 && !(hasRate && len(obj) == 3) {
		return nil, errSegmentShape
	}
	var seg struct{ Index, Total *int }
	if json.Unmarshal(obj["index"], &seg.Index) != nil || json.Unmarshal(obj["total"], &seg.Total) != nil ||
		seg.Index == nil || seg.Total == nil {
		return nil, errSegmentShape
	}
	if *seg.Total < 1 || *seg.Total > MaxSegments || *seg.Index < 0 || *seg.Index >= *seg.Total {
		return nil, fmt.Errorf(`"segment" %d/%d is not 0 <= index < total <= %d`, *seg.Index, *seg.Total, MaxSegments)
	}
	out := &Segment{Index: *seg.Index, Total: *seg.Total}
	if hasRate {
		if json.Unmarshal(rate, &out.PostRate) != nil || !(out.PostRate > 0) || math.IsInf(out.PostRate, 0) {
			return nil, fmt.Errorf(`"segment" "post_rate" %s is not a number of posts per second above 0`, rate)
		}
	}
	return out, nil
}

// errSegmentShape refuses a segment that is not an object of the keys it may have.
var errSegmentShape = errors.New(`"segment" is not {"index":i,"total":n} of whole numbers, with an optional "post_rate"`)

// userIDs reads an optional list of user ids (users, exclude_users), each non-empty and
// not reserved: a connection without a user is no user's, and no request names it.
func userIDs(fields map[string]json.RawMessage, name string) ([]string, error) {
	users, err := userList(fields, name, "user id")
	if err != nil {
		return nil, err
	}
	for i, u := range users {
		if ReservedUser(u) {
			return nil, fmt.Errorf("%q[%d]: user ids starting with %q are reserved", name, i, ReservedUserPrefix)
		}
	}
	return users, nil
}

// userList reads an optional list of non-empty ids (users, topics); absent and null
// mean none.
func userList(fields map[string]json.RawMessage, name, what string) ([]string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var users []string
	if err := json.Unmarshal(raw, &users); err != nil {
		return nil, fmt.Errorf("%q is not a list of strings", name)
	}
	for i, u := range users {
		if u == "" {
			return nil, fmt.Errorf("%q[%d] is an empty %s", name, i, what)
		}
	}
	return users, nil
}
