package handlers

import (
	"encoding/json"
	"time"
)

// Request is a decoded notification request.
//
// Users non-empty makes it a multicast; otherwise it is a broadcast to every connection
// less those of ExcludeUsers (an exclusion when ExcludeUsers is non-empty).
type Request struct {
	Users        []string        `json:"users,omitempty"`
	ExcludeUsers []string        `json:"exclude_users,omitempty"`
	Data         json.RawMessage `json:"data"`
}

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
	case len(r.Users) > 0:
		return Multicast
	case len(r.ExcludeUsers) > 0:
		return Exclusion
	default:
		return Broadcast
	}
}

// Connection is one WebSocket connection of a user, as the connection store keys it.
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

// Recipients is one page of connections that are to receive Data.
type Recipients struct {
	Data        json.RawMessage `json:"data"`
	Connections []Connection    `json:"connections"`
}

// Delivery is one frame for one connection.
type Delivery struct {
	Connection
	// Frame is the JSON of the request's data, sent as one text frame.
	Frame []byte
}
