package handlers

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Request is a decoded notification request.
//
// Users or Topics non-empty make it a multicast: to the connections of the users and
// the subscribers of the topics, each connection once, less those of ExcludeUsers.
// Otherwise it is a broadcast to every connection less those of ExcludeUsers (an
// exclusion when ExcludeUsers is non-empty); with a Segment, to those of one segment of
// the store only.
type Request struct {
	Users        []string        `json:"users,omitempty"`
	Topics       []string        `json:"topics,omitempty"`
	ExcludeUsers []string        `json:"exclude_users,omitempty"`
	Data         json.RawMessage `json:"data"`
	// Segment makes a broadcast or an exclusion a segment task: one of the parts a
	// large one is split into so that a fleet shares it (see SegmentScanner).
	Segment *Segment `json:"segment,omitempty"`
}

// MaxSegments bounds Segment.Total: DynamoDB's bound on a Scan's TotalSegments
// (1,000,000), so that a segment is one segment of a parallel Scan.
const MaxSegments = 1_000_000

// Segment names one of Total disjoint parts of the connection store, which together
// hold every connection: segment Index of a parallel Scan of Total segments.
type Segment struct {
	Index int `json:"index"`
	Total int `json:"total"`
	// PostRate is the posts per second this task may make: its share of the fleet's
	// budget for the split (pipeline.PaceConfig.FleetRate over Total), so that the
	// fleet's tasks together stay under it however many run at once. Zero: unpaced
	// but for the process's own pacing.
	PostRate float64 `json:"post_rate,omitempty"`
}

// String returns the segment as the logs show it: "index/total".
func (s Segment) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Total) }

// Kind tells the three request forms apart.
type Kind string

// The request forms.
const (
	Multicast Kind = "multicast"
	Broadcast Kind = "broadcast"
	Exclusion Kind = "exclusion"
)

// Kind returns the form of the request.
func (r Request) Kind() Kind {
	switch {
	case len(r.Users) > 0 || len(r.Topics) > 0:
		return Multicast
	case len(r.ExcludeUsers) > 0:
		return Exclusion
	default:
		return Broadcast
	}
}

// Connection is one WebSocket connection, as the connection store keys it: of a user,
// or of none (UserID "") when the deployment accepts connections without a user
// (ANONYMOUS_CONNECTIONS), which topics and broadcasts reach and a users request never
// does.
type Connection struct {
	UserID       string `json:"user_id"`
	ConnectionID string `json:"connection_id"`
	// ConnectedAt is when $connect stored the connection, to the second; zero when the
	// store does not know (a row written without it).
	ConnectedAt time.Time `json:"connected_at,omitzero"`
}

// Key returns c without ConnectedAt: the store's key of the connection, for comparing
// and deduplicating connections.
func (c Connection) Key() Connection {
	return Connection{UserID: c.UserID, ConnectionID: c.ConnectionID}
}

// Cursor returns c's keys as a cursor that resumes a walk of connections in key order
// after c: a multicast's or the memory store's scan. The keys are joined by a NUL: the
// user id is the client's and may hold one, the connection id is API Gateway's (base64),
// which does not, so the last NUL is the one that joins them.
func (c Connection) Cursor() string { return c.UserID + "\x00" + c.ConnectionID }

// CursorConnection returns the connection a Cursor names; false if cursor is not one.
func CursorConnection(cursor string) (Connection, bool) {
	i := strings.LastIndexByte(cursor, 0)
	if i < 0 {
		return Connection{}, false
	}
	return Connection{UserID: cursor[:i], ConnectionID: cursor[i+1:]}, true
}

// Recipients is one page of connections that are to receive Data.
type Recipients struct {
	Data        json.RawMessage `json:"data"`
	Connections []Connection    `json:"connections"`
	// Topic is the topic whose subscribers they are, "" for a user's or a broadcast's.
	Topic string `json:"topic,omitempty"`
}

// Delivery is one frame for one connection.
type Delivery struct {
	Connection
	// Frame is the JSON of the request's data, sent as one text frame.
	Frame []byte
	// Topic is the topic through which the connection was reached, if any.
	Topic string
}
