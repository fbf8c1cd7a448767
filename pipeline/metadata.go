package pipeline

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Metadata keys a pipeline message carries. Watermill's poison middleware adds its own
// (middleware.ReasonForPoisonedKey, middleware.PoisonedHandlerKey) to parked messages.
const (
	// RequestIDKey names the admission a message derives from; the tracker settles by it.
	RequestIDKey = "request_id"
	// CorrelationIDKey is Watermill's correlation id, carried from the source message
	// (or its UUID) to every delivery.
	CorrelationIDKey = middleware.CorrelationIDMetadataKey
	// UserIDKey and ConnectionIDKey address a delivery and a stale connection.
	UserIDKey       = "user_id"
	ConnectionIDKey = "connection_id"
	// TopicKey is the topic through which a delivery's connection was reached, if any.
	TopicKey = "topic"
	// ConnectedAtKey is when $connect stored the connection, in Unix seconds, when the
	// store knows: a 410 for a connection this young does not prune it.
	ConnectedAtKey = "connected_at"
	// AttemptsKey counts the times a stage ran the message, across replays too.
	AttemptsKey = "attempts"
	// ErrorClassKey is the class of the last error: permanent or transient.
	ErrorClassKey = "error_class"
	// FirstFailedAtKey and LastFailedAtKey are RFC 3339 times of the first and last failure.
	FirstFailedAtKey = "first_failed_at"
	LastFailedAtKey  = "last_failed_at"
	// CursorKey holds where the resolve stage resumes a partly emitted request.
	CursorKey = "resolve_cursor"
	// EventSourceKey names the source of a message that is an event rather than a
	// request (handlers.SourceKinesis, handlers.SourceEventBridge): decode reads it
	// with the source's mapping (Config.Mappings). A request has none.
	EventSourceKey = "event_source"
)

// carried are the keys every derived message inherits from the message it came from.
var carried = []string{RequestIDKey, CorrelationIDKey}

// derive makes a message that follows from msg: a fresh UUID, payload, and msg's
// request and correlation ids and context.
func derive(msg *message.Message, payload []byte) *message.Message {
	out := message.NewMessage(watermill.NewUUID(), payload)
	carry(msg, out)
	out.SetContext(msg.Context())
	return out
}

// carry copies the carried keys that out lacks from msg.
func carry(msg, out *message.Message) {
	for _, k := range carried {
		if out.Metadata.Get(k) == "" {
			out.Metadata.Set(k, msg.Metadata.Get(k))
		}
	}
}

// attempts returns how many times a stage ran msg.
func attempts(msg *message.Message) int {
	v := msg.Metadata.Get(AttemptsKey)
	if v == "" { // most messages: Atoi would allocate an error
		return 0
	}
	n, _ := strconv.Atoi(v)
	return n
}
