package apigw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// ProbeConnectionID is the connection Probe posts to: a made-up id, which no
// connection has.
const ProbeConnectionID = "pusher-startup-check"

// Probe posts an empty frame to ProbeConnectionID, signed as every post, as a start-up
// check that the endpoint is a Management API that takes the pusher's signature: nil
// when it is. API Gateway answers a post to a connection it does not know with 410
// GoneException, "The connection with the provided id no longer exists" (PostToConnection,
// Errors, API Gateway Management API reference,
// https://docs.aws.amazon.com/apigatewayv2/latest/api/apigateway-connections-connectionid.html;
// "the connectionID isn't valid", How do I troubleshoot 410 GoneException errors,
// https://repost.aws/knowledge-center/410-gone-api-gateway): that answer, or a 400 for
// the empty frame, comes only from a gateway that found the API and checked the
// signature and the grant (execute-api:ManageConnections on POST/@connections/*). A
// 403 (the credentials or the grant), a 404 (no API at that stage or path), any other
// 4xx, a host the DNS says does not exist or a connection refused is a
// handlers.PermanentError; 429, 5xx, timeouts and the rest of the network (a network
// unreachable while a container's starts) are returned as they are, and so is any
// failure once ctx is done: a dial or a lookup cut short says nothing of the endpoint.
func (p *Poster) Probe(ctx context.Context) error {
	err := p.call(ctx, http.MethodPost, ProbeConnectionID, nil)
	var refused *Error
	switch {
	case err == nil || errors.Is(err, handlers.ErrGone):
		return nil
	case errors.As(err, &refused):
		return probeRefusal(refused, err)
	case ctx.Err() != nil:
		return err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound && !dns.IsTimeout && !dns.IsTemporary {
		return handlers.Permanent(fmt.Errorf("host %s not found: %w", dns.Name, err))
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return handlers.Permanent(fmt.Errorf("no gateway answers there: %w", err))
	}
	return err
}

// probeRefusal says what the gateway's refusal of a probe means.
func probeRefusal(e *Error, err error) error {
	switch s := e.StatusCode; {
	case s == http.StatusBadRequest:
		return nil // the empty frame refused: the API, the signature and the grant passed
	case s == http.StatusForbidden:
		return handlers.Permanent(fmt.Errorf("the gateway refuses the pusher's credentials or its grant (execute-api:ManageConnections): %s", e))
	case s == http.StatusNotFound:
		return handlers.Permanent(fmt.Errorf("no Management API there, a wrong stage or path: %s", e))
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s >= 500:
		return e
	}
	return handlers.Permanent(err)
}
