package authorizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
)

// ErrUnauthorized is the error an authorizer function fails with for API Gateway to
// answer the client 401: API Gateway reads its message, "Unauthorized".
var ErrUnauthorized = errors.New("Unauthorized") //nolint:staticcheck // API Gateway's spelling

// anonymous is the principal of a Deny: the token named no user.
const anonymous = "anonymous"

// Handler answers $connect authorizer events by the token each carries. It is safe for
// concurrent use.
type Handler struct {
	connect *auth.Connect
	logger  *slog.Logger
}

// New returns the Handler checking tokens with connect, logging each answer to logger
// (nil discards them).
func New(connect *auth.Connect, logger *slog.Logger) (*Handler, error) {
	if connect == nil {
		return nil, errors.New("authorizer: a token check is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{connect: connect, logger: logger}, nil
}

// Authorize answers ev: an Allow policy for its methodArn, with the user as principal
// and the context of auth.Connect.Context, when its token is good; a Deny policy when
// the token is genuine but shows no user (auth.TokenError.Forbidden); ErrUnauthorized
// when it is missing or bad; and another error when it cannot be checked now (the
// signing keys could not be fetched), which API Gateway answers with 500. It logs the
// answer and its reason, never the token.
func (h *Handler) Authorize(ctx context.Context, ev Event) (Response, error) {
	start := time.Now()
	id, err := h.connect.Authorize(ctx, ev.QueryStringParameters[h.connect.TokenParam()])
	attrs := []any{"event", "authorizer", "connection_id", ev.RequestContext.ConnectionID,
		"request_id", ev.RequestContext.RequestID, "source_ip", ev.RequestContext.Identity.SourceIP}
	defer func() {
		h.logger.Log(ctx, slog.LevelInfo, "authorize", append(attrs, "elapsed_ms", time.Since(start).Milliseconds())...)
	}()

	var refused *auth.TokenError
	switch {
	case err == nil:
		attrs = append(attrs, "outcome", "allow", "user_id", id.User, "grants", len(id.Grants))
		return Allow(ev.MethodArn, id.User, h.connect.Context(id)), nil
	case errors.Is(err, auth.ErrKeysUnavailable):
		attrs = append(attrs, "outcome", "error", "reason", err.Error())
		return Response{}, fmt.Errorf("authorize connection %s: %w", ev.RequestContext.ConnectionID, err)
	case errors.As(err, &refused) && refused.Forbidden:
		attrs = append(attrs, "outcome", "deny", "reason", err.Error())
		return Deny(ev.MethodArn, anonymous), nil
	default:
		attrs = append(attrs, "outcome", "unauthorized", "reason", err.Error())
		return Response{}, ErrUnauthorized
	}
}
