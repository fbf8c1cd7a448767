package localgateway

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Config configures a Gateway.
type Config struct {
	// IdentityParam is the query parameter that names the connecting user: clients
	// connect to ws://host/?user_id=U. Empty means "user_id".
	IdentityParam string
	// MaxPayloadBytes bounds the body of one post, as API Gateway's frame limit does.
	// Zero means handlers.MaxFrameBytes (128 KiB).
	MaxPayloadBytes int
	// WriteTimeout bounds the write of one frame to a client. A client that does not take
	// the frame in time is disconnected. Zero means 10s.
	WriteTimeout time.Duration
	// Logger receives connection events at debug level and registry failures as errors.
	// Nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	c.IdentityParam = cmp.Or(c.IdentityParam, "user_id")
	c.MaxPayloadBytes = cmp.Or(c.MaxPayloadBytes, handlers.MaxFrameBytes)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 10*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a configuration the gateway cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.IdentityParam == "" {
		errs = append(errs, errors.New("identity parameter is empty"))
	}
	if c.MaxPayloadBytes < 0 {
		errs = append(errs, errors.New("max payload bytes is negative"))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, errors.New("write timeout is negative"))
	}
	return errors.Join(errs...)
}
