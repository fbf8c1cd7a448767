package pipeline

import (
	"errors"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Class is how the pipeline treats an error a stage returns.
type Class string

// The error classes.
const (
	// Permanent errors cannot pass on a retry: the message goes straight to the poison queue.
	Permanent Class = "permanent"
	// Transient errors may pass: the message is retried with backoff, then parked.
	Transient Class = "transient"
)

// Classify tells the class of err, once for the whole pipeline: handlers.Permanent
// errors and panics are permanent, anything else is transient. (Posts the open circuit
// breaker holds are not failures: they wait for it; see breaker.)
func Classify(err error) Class {
	var panicked middleware.RecoveredPanicError
	switch {
	case handlers.IsPermanent(err), errors.As(err, &panicked):
		return Permanent
	default:
		return Transient
	}
}
