package handlers

import "errors"

// ErrGone is returned by a Poster when the gateway no longer knows the connection
// (HTTP 410 GoneException): the connection is stale and is to be pruned.
var ErrGone = errors.New("connection gone")

// ErrThrottled is wrapped by a Poster's error when the gateway throttled the post (HTTP
// 429): the gateway is up but wants fewer posts, so the post is retried with backoff and
// does not count toward opening the circuit breaker.
var ErrThrottled = errors.New("throttled")

// PermanentError marks an error that no retry can pass: a malformed request, a payload
// the gateway refuses, a forbidden call. Such work goes straight to the poison queue.
type PermanentError struct{ Err error }

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent. It returns nil for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
