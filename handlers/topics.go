package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/samber/lo"
)

// ErrNoTopics is returned, permanent, by a store that keeps no subscriptions, for a
// request that names topics.
var ErrNoTopics = errors.New("topics are not set up: the store keeps no subscriptions")

// TopicLister is what the resolve stage needs of a store that keeps subscriptions. The
// resolve stage merges a request's topics by connection id (see Resolver.Resolve), so
// a store hands each topic's subscribers in connection id order, compared byte by byte
// (DynamoDB's Query of a topic's partition does, by its range key).
type TopicLister interface {
	// TopicConnections calls page with the connections subscribed to topic whose ids
	// come after the connection id after ("" starts at the first), in connection id
	// order, a page of at least one at a time and never concurrently, each page read
	// as it is handed over (no page ahead). next is the id of the page's last
	// connection, or "" when the store knows the page is the last; a page with a next
	// may still be followed by none. It stops at the first error page returns, and
	// returns it. after need not be a subscriber's id: the connection may have
	// unsubscribed since.
	TopicConnections(ctx context.Context, topic, after string, page func(conns []Connection, next string) error) error
}

// Subscriptions is what the $connect, subscribe and unsubscribe routes need of a store
// that keeps subscriptions. It keeps a record of each connection, readable by the
// connection's id alone (message routes and $disconnect carry no user without an
// authorizer), and forgets a connection's subscriptions when it removes or prunes it.
type Subscriptions interface {
	// Connection returns the stored connection of id, with its user ("" for one that
	// has none) and the time it connected, from a strongly consistent read; found is
	// false for a connection the store does not know.
	Connection(ctx context.Context, id string) (c Connection, found bool, err error)
	// Subscribe makes c follow topics, each once, with c's stored user when the store
	// knows it (a subscription never erases a known user), unless c would then follow
	// more than maxTopics: then it writes nothing and returns a *ClientError of code
	// CodeTooManyTopics. The bound holds under concurrent calls.
	Subscribe(ctx context.Context, c Connection, topics []string, maxTopics int) error
	// Unsubscribe stops c following topic; an absent subscription is no error.
	Unsubscribe(ctx context.Context, c Connection, topic string) error
	// Topics returns the topics c follows, in order, from a strongly consistent read.
	Topics(ctx context.Context, c Connection) ([]string, error)
}

// TopicAuthorizer decides who may follow which topic.
type TopicAuthorizer interface {
	// AuthorizeTopic returns nil if req may follow its topic, a *ClientError of code
	// CodeForbidden if it may not, or of code CodeUnavailable if it cannot tell now
	// (a hook that does not answer, keys that cannot be fetched).
	AuthorizeTopic(ctx context.Context, req TopicRequest) error
}

// TopicRequest is a connection asking to follow a topic, with what it holds to show
// that it may.
type TopicRequest struct {
	// Connection is the connection, with its user ("" when it has none).
	Connection Connection
	// Topic is the topic it asks for.
	Topic string
	// Token is the signed subscription token the client sent with its request, "" for
	// none.
	Token string
	// Grants are the topic patterns that the $connect authorizer granted the connection
	// (its context), nil for none.
	Grants []string
}

// The defaults of a Subscriber's limits.
const (
	DefaultMaxTopics      = 50
	DefaultMaxTopicLength = 256
)

// ReservedTopicPrefix starts the names that no request or client may use: the store
// keeps its own records under them.
const ReservedTopicPrefix = "$"

// The codes of client errors, stable for clients to branch on.
const (
	// CodeInvalidTopic: the topic is empty, too long, not UTF-8 or reserved.
	CodeInvalidTopic = "invalid_topic"
	// CodeTooManyTopics: the connection would follow more topics than allowed.
	CodeTooManyTopics = "too_many_topics"
	// CodeForbidden: the connection may not follow the topic.
	CodeForbidden = "forbidden"
	// CodeUnavailable: topics are not set up, or what decides cannot answer now.
	CodeUnavailable = "unavailable"
	// CodeBadRequest: a message the route cannot take.
	CodeBadRequest = "bad_request"
)

// ClientError is a client's mistake or a refusal (a topic name too long, too many
// topics, a topic it may not follow): answered with an error frame carrying Code and
// Reason, the connection left open.
type ClientError struct {
	Code   string
	Reason string
}

// Error returns the reason.
func (e *ClientError) Error() string { return e.Reason }

// ConnectStatus is the HTTP status that refuses a $connect for e: 403 for a topic the
// connection may not follow, 503 when what decides cannot answer now (a client may try
// again), else 400, topics that are not set up included: the client asked for what is
// not there, which no retry mends.
func (e *ClientError) ConnectStatus() int {
	switch {
	case e.Code == CodeForbidden:
		return http.StatusForbidden
	case e.Code == CodeUnavailable && e != ErrTopicsOff:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Refuse returns a *ClientError of code with the reason made of format and args.
func Refuse(code, format string, args ...any) *ClientError {
	return &ClientError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ErrTopicsOff answers a subscription where topics are not set up.
var ErrTopicsOff = &ClientError{Code: CodeUnavailable, Reason: "topics are not set up here"}

// Subscriber subscribes connections to topics within limits, as its Authorizer allows.
type Subscriber struct {
	// Store keeps the subscriptions; nil means topics are not set up, and every
	// subscription is refused with ErrTopicsOff.
	Store Subscriptions
	// Authorizer decides who may follow what; nil opens every topic to everyone.
	Authorizer TopicAuthorizer
	// MaxTopics bounds the topics of one connection; zero means DefaultMaxTopics.
	MaxTopics int
	// MaxTopicLength bounds a topic name, in bytes; zero means DefaultMaxTopicLength.
	MaxTopicLength int
}

// Check returns the topics a $connect names, deduplicated, once each is valid and
// allowed for c and they are no more than MaxTopics; it writes nothing, so that a
// refused connection leaves no row. token and grants are what c holds (see
// TopicRequest).
func (s Subscriber) Check(ctx context.Context, c Connection, topics []string, token string, grants []string) ([]string, error) {
	topics = lo.Uniq(topics)
	if len(topics) == 0 {
		return nil, nil
	}
	if s.Store == nil {
		return nil, ErrTopicsOff
	}
	for _, topic := range topics {
		if err := s.validTopic(topic); err != nil {
			return nil, err
		}
	}
	if limit := orDefault(s.MaxTopics, DefaultMaxTopics); len(topics) > limit {
		return nil, Refuse(CodeTooManyTopics, "%d topics, over the limit of %d a connection", len(topics), limit)
	}
	for _, topic := range topics {
		if err := s.authorize(ctx, c, topic, token, grants); err != nil {
			return nil, err
		}
	}
	return topics, nil
}

// SubscribeChecked subscribes c to topics that Check returned.
func (s Subscriber) SubscribeChecked(ctx context.Context, c Connection, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	if s.Store == nil {
		return ErrTopicsOff
	}
	if err := s.Store.Subscribe(ctx, c, topics, orDefault(s.MaxTopics, DefaultMaxTopics)); err != nil {
		return fmt.Errorf("subscribe %s to %d topics: %w", c.ConnectionID, len(topics), topicsOff(err))
	}
	return nil
}

// Subscribe makes c receive the requests to topic, if it is valid, the Authorizer
// allows it and c follows fewer than MaxTopics others. A c without a user is looked up
// by its id, so that the rules and the subscription know its user. token and grants
// are what c holds (see TopicRequest).
func (s Subscriber) Subscribe(ctx context.Context, c Connection, topic, token string, grants []string) error {
	if s.Store == nil {
		return ErrTopicsOff
	}
	if err := s.validTopic(topic); err != nil {
		return err
	}
	if c.UserID == "" {
		stored, found, err := s.Store.Connection(ctx, c.ConnectionID)
		if err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", c.ConnectionID, topic, topicsOff(err))
		}
		if found {
			c = stored
		}
	}
	if err := s.authorize(ctx, c, topic, token, grants); err != nil {
		return err
	}
	if err := s.Store.Subscribe(ctx, c, []string{topic}, orDefault(s.MaxTopics, DefaultMaxTopics)); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", c.ConnectionID, topic, topicsOff(err))
	}
	return nil
}

// Unsubscribe stops c receiving the requests to topic.
func (s Subscriber) Unsubscribe(ctx context.Context, c Connection, topic string) error {
	if s.Store == nil {
		return ErrTopicsOff
	}
	if err := s.validTopic(topic); err != nil {
		return err
	}
	if err := s.Store.Unsubscribe(ctx, c, topic); err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", c.ConnectionID, topic, topicsOff(err))
	}
	return nil
}

// topicsOff returns ErrTopicsOff for the error of a store that keeps no subscriptions,
// so that the client is told topics are not set up, else err.
func topicsOff(err error) error {
	if errors.Is(err, ErrNoTopics) {
		return ErrTopicsOff
	}
	return err
}

func (s Subscriber) authorize(ctx context.Context, c Connection, topic, token string, grants []string) error {
	if s.Authorizer == nil {
		return nil
	}
	return s.Authorizer.AuthorizeTopic(ctx, TopicRequest{Connection: c, Topic: topic, Token: token, Grants: grants})
}

func (s Subscriber) validTopic(topic string) error {
	return ValidTopic(topic, orDefault(s.MaxTopicLength, DefaultMaxTopicLength))
}

// ValidTopic returns a ClientError of code CodeInvalidTopic unless topic is a
// non-empty UTF-8 name of at most maxLength bytes that does not start with
// ReservedTopicPrefix.
func ValidTopic(topic string, maxLength int) error {
	switch {
	case topic == "":
		return Refuse(CodeInvalidTopic, "the topic is empty")
	case len(topic) > maxLength:
		return Refuse(CodeInvalidTopic, "the topic is %d bytes, over the %d-byte limit", len(topic), maxLength)
	case !utf8.ValidString(topic):
		return Refuse(CodeInvalidTopic, "the topic is not UTF-8 text")
	case strings.HasPrefix(topic, ReservedTopicPrefix):
		return Refuse(CodeInvalidTopic, "topics starting with %q are reserved", ReservedTopicPrefix)
	}
	return nil
}

// ClientMessage is what a client sends on its connection: an action, such as subscribe,
// and its topic. Seed designs name the topic entityId: it is read as the topic.
type ClientMessage struct {
	Action string `json:"action"`
	Topic  string `json:"topic"`
	// Token is a signed subscription token that shows the client may follow Topic.
	Token string `json:"token"`
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
	return ClientMessage{Action: str("action"), Topic: cmp.Or(str("topic"), str("entityId")), Token: str("token")}
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
// and code when it was the client's mistake or a refusal, and a generic one (code
// "internal") otherwise, the details being logged:
// {"type":"error","action":"subscribe","topic":"...","code":"forbidden","message":"..."}.
func ErrorFrame(action, topic string, err error) []byte {
	code, msg := "internal", "internal error"
	var ce *ClientError
	if errors.As(err, &ce) {
		code, msg = cmp.Or(ce.Code, CodeBadRequest), ce.Reason
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Action  string `json:"action,omitempty"`
		Topic   string `json:"topic,omitempty"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"error", action, topic, code, msg})
	return b
}
