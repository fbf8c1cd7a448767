package replay

import (
	"encoding/base64"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Record is one line of an export: the parked message as an operator reads it, and
// all of its metadata, enough to park it again as it was (Import).
type Record struct {
	pipeline.Parked
	// Metadata is every metadata key of the message, those of Parked included.
	Metadata map[string]string `json:"metadata"`
	// PayloadBase64 holds the payload when it is not UTF-8, which Payload cannot carry.
	PayloadBase64 string `json:"payload_base64,omitempty"`
}

// RecordOf returns the record of a parked message.
func RecordOf(m *message.Message) Record {
	r := Record{Parked: pipeline.ParkedFrom(m), Metadata: maps.Clone(map[string]string(m.Metadata))}
	if !utf8.Valid(m.Payload) {
		r.Parked.Payload = ""
		r.PayloadBase64 = base64.StdEncoding.EncodeToString(m.Payload)
	}
	return r
}

// Message rebuilds the parked message. A record without metadata, such as a line of
// `pusher replay list --json`, gets it from its Parked fields.
func (r Record) Message() (*message.Message, error) {
	if r.UUID == "" {
		return nil, fmt.Errorf("record without a uuid")
	}
	payload := []byte(r.Payload)
	if r.PayloadBase64 != "" {
		var err error
		if payload, err = base64.StdEncoding.DecodeString(r.PayloadBase64); err != nil {
			return nil, fmt.Errorf("record %s: payload_base64: %w", r.UUID, err)
		}
	}
	m := message.NewMessage(r.UUID, payload)
	if r.Metadata != nil {
		m.Metadata = maps.Clone(message.Metadata(r.Metadata))
		return m, nil
	}
	set := func(k, v string) {
		if v != "" {
			m.Metadata.Set(k, v)
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	}
	set(middleware.ReasonForPoisonedKey, r.Reason)
	set(middleware.PoisonedHandlerKey, r.Stage)
	set(pipeline.ErrorClassKey, r.Class)
	if r.Attempts > 0 {
		set(pipeline.AttemptsKey, fmt.Sprint(r.Attempts))
	}
	set(pipeline.FirstFailedAtKey, at(r.FirstFailedAt))
	set(pipeline.LastFailedAtKey, at(r.LastFailedAt))
	set(pipeline.RequestIDKey, r.RequestID)
	set(pipeline.CorrelationIDKey, r.CorrelationID)
	set(pipeline.UserIDKey, r.UserID)
	set(pipeline.ConnectionIDKey, r.ConnectionID)
	return m, nil
}
