package pipeline

import (
	"errors"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/sony/gobreaker"

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
	// Shed errors are posts the circuit breaker refused while the gateway is down: they
	// are parked at once, to be replayed once it is back.
	Shed Class = "shed"
)

// Classify tells the class of err, once for the whole pipeline: handlers.Permanent
// errors and panics are permanent, posts the open breaker refused are shed, anything
// else is transient.
func Classify(err error) Class {
	var panicked middleware.RecoveredPanicError
	switch {
	case handlers.IsPermanent(err), errors.As(err, &panicked):
		return Permanent
	case errors.Is(err, gobreaker.ErrOpenState):
		return Shed
	default:
		return Transient
	}
}
