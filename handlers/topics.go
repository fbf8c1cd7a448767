package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrNoTopics is returned, permanent, by a store that keeps no subscriptions, for a
// request that names topics.
var ErrNoTopics = errors.New("topics are not set up: the store keeps no subscriptions")

// TopicLister is what the resolve stage needs of a store that keeps subscriptions.
type TopicLister interface {
	// TopicConnections calls page with the connections subscribed to topic, a page at
	// a time and never concurrently, starting after cursor ("" starts at the
	// beginning); next resumes after that page and is "" with the last.
	TopicConnections(ctx context.Context, topic, cursor string, page func(conns []Connection, next string) error) error
}

// Subscriptions is what the subscribe and unsubscribe routes need of the store. A store
// that keeps them also forgets a connection's subscriptions when it removes or prunes
// the connection.
type Subscriptions interface {
	// Subscribe makes c receive the requests to topic; subscribing twice keeps one.
	Subscribe(ctx context.Context, c Connection, topic string) error
	// Unsubscribe stops it; an absent subscription is no error.
	Unsubscribe(ctx context.Context, c Connection, topic string) error
	// Topics returns the topics c is subscribed to.
	Topics(ctx context.Context, c Connection) ([]string, error)
}

// The defaults of a Subscriber's limits.
const (
	DefaultMaxTopics      = 50
	DefaultMaxTopicLength = 256
)

// Subscriber subscribes connections to topics within limits.
type Subscriber struct {
	Store Subscriptions
	// MaxTopics bounds the topics of one connection; zero means DefaultMaxTopics.
	MaxTopics int
	// MaxTopicLength bounds a topic name, in bytes; zero means DefaultMaxTopicLength.
	MaxTopicLength int
}

// ClientError is a client's mistake (a topic name too long, too many topics, a message
// that is not one): answered with an error frame, the connection left open.
type ClientError struct{ Reason string }

// Error returns the reason.
func (e *ClientError) Error() string { return e.Reason }

// Subscribe makes c receive the requests to topic.
func (s Subscriber) Subscribe(ctx context.Context, c Connection, topic string) error {
	if err := s.validTopic(topic); err != nil {
		return err
	}
	topics, err := s.Store.Topics(ctx, c)
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", c.ConnectionID, topic, err)
	}
	if len(topics) >= orDefault(s.MaxTopics, DefaultMaxTopics) && !contains(topics, topic) {
		return &ClientError{Reason: fmt.Sprintf("a connection may follow at most %d topics", orDefault(s.MaxTopics, DefaultMaxTopics))}
	}
	if err := s.Store.Subscribe(ctx, c, topic); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", c.ConnectionID, topic, err)
	}
	return nil
}

// Unsubscribe stops c receiving the requests to topic.
func (s Subscriber) Unsubscribe(ctx context.Context, c Connection, topic string) error {
	if err := s.validTopic(topic); err != nil {
		return err
	}
	if err := s.Store.Unsubscribe(ctx, c, topic); err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", c.ConnectionID, topic, err)
	}
	return nil
}

func (s Subscriber) validTopic(topic string) error {
	return ValidTopic(topic, orDefault(s.MaxTopicLength, DefaultMaxTopicLength))
}

// ValidTopic returns a ClientError unless topic is a non-empty UTF-8 name of at most
// maxLength bytes.
func ValidTopic(topic string, maxLength int) error {
	switch {
	case topic == "":
		return &ClientError{Reason: "the topic is empty"}
	case len(topic) > maxLength:
		return &ClientError{Reason: fmt.Sprintf("the topic is %d bytes, over the %d-byte limit", len(topic), maxLength)}
	case !utf8.ValidString(topic):
		return &ClientError{Reason: "the topic is not UTF-8 text"}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ClientMessage is what a client sends on its connection: an action, such as subscribe,
// and its topic. Seed designs name the topic entityId: it is read as the topic.
type ClientMessage struct {
	Action string `json:"action"`
	Topic  string `json:"topic"`
}

// ParseClientMessage reads a client's message, a JSON object with an action. A body
// that is not one has no action: API Gateway routes it to $default. Keys are matched
// exactly, as a route selection expression such as $request.body.action selects the
// JSON property of that name ("Working with routes for WebSocket APIs", API Gateway
// Developer Guide): {"Action":"subscribe"} has no action, where encoding/json's
// case-insensitive matching would give it one.
func ParseClientMessage(body []byte) ClientMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ClientMessage{}
	}
	str := func(key string) string {
		var s string
		_ = json.Unmarshal(m[key], &s) // absent, or not a string: ""
		return s
	}
	return ClientMessage{Action: str("action"), Topic: cmp.Or(str("topic"), str("entityId"))}
}

// AckFrame is the frame that answers a subscribe or unsubscribe that passed:
// {"type":"subscribed","topic":"..."} or {"type":"unsubscribed",...}.
func AckFrame(action, topic string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Topic string `json:"topic"`
	}{action + "d", topic})
	return b
}

// ErrorFrame is the frame that answers a client message that failed, with the reason
// when it was the client's mistake and a generic one otherwise (the details are logged):
// {"type":"error","action":"subscribe","topic":"...","message":"..."}.
func ErrorFrame(action, topic string, err error) []byte {
	msg := "internal error"
	var ce *ClientError
	if errors.As(err, &ce) {
		msg = ce.Reason
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Action  string `json:"action,omitempty"`
		Topic   string `json:"topic,omitempty"`
		Message string `json:"message"`
	}{"error", action, topic, msg})
	return b
}
