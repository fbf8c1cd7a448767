package pipeline

import (
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Parked is a message of the poison queue as an operator reads it.
type Parked struct {
	UUID string `json:"uuid"`
	// Reason is the error that parked it.
	Reason string `json:"reason"`
	// Stage is the stage it failed in.
	Stage string `json:"stage"`
	// Class is the error's class: permanent or transient.
	Class         string    `json:"error_class"`
	Attempts      int       `json:"attempts"`
	FirstFailedAt time.Time `json:"first_failed_at"`
	LastFailedAt  time.Time `json:"last_failed_at"`
	RequestID     string    `json:"request_id"`
	CorrelationID string    `json:"correlation_id"`
	// UserID and ConnectionID address a parked delivery; empty for a request.
	UserID       string `json:"user_id,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	// Topic is the topic through which a parked delivery's connection was reached.
	Topic string `json:"topic,omitempty"`
	// EventSource is the source of a parked event that is not a request
	// (EventSourceKey): decode reads it again with that source's mapping.
	EventSource string `json:"event_source,omitempty"`
	// Payload is what the stage was given: the original request for decode, the frame
	// for post.
	Payload string `json:"payload"`
}

// ParkedFrom reads a message the poison middleware parked.
func ParkedFrom(msg *message.Message) Parked {
	md := msg.Metadata
	at := func(key string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, md.Get(key))
		return t
	}
	return Parked{
		UUID:          msg.UUID,
		Reason:        md.Get(middleware.ReasonForPoisonedKey),
		Stage:         md.Get(middleware.PoisonedHandlerKey),
		Class:         md.Get(ErrorClassKey),
		Attempts:      attempts(msg),
		FirstFailedAt: at(FirstFailedAtKey),
		LastFailedAt:  at(LastFailedAtKey),
		RequestID:     md.Get(RequestIDKey),
		CorrelationID: md.Get(CorrelationIDKey),
		UserID:        md.Get(UserIDKey),
		ConnectionID:  md.Get(ConnectionIDKey),
		Topic:         md.Get(TopicKey),
		EventSource:   md.Get(EventSourceKey),
		Payload:       string(msg.Payload),
	}
}

// MarkParked sets on msg the metadata the poison middleware sets, for a message refused
// before it entered the pipeline (a body that is not even JSON) and parked by its source.
func MarkParked(msg *message.Message, stage string, err error) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, err.Error())
	msg.Metadata.Set(middleware.PoisonedHandlerKey, stage)
	msg.Metadata.Set(ErrorClassKey, string(Classify(err)))
	msg.Metadata.Set(AttemptsKey, "1")
	msg.Metadata.Set(FirstFailedAtKey, now)
	msg.Metadata.Set(LastFailedAtKey, now)
}
