package localgateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
)

// DefaultAuthorizerTimeout is how long a LambdaAuthorizer waits for the function by
// default: as long as the gateway waits for an integration.
const DefaultAuthorizerTimeout = 29 * time.Second

// LambdaAuthorizer is an Authorizer that invokes a Lambda authorizer function, such as
// the pusher's function deployed with PUSHER_ROLE=authorizer, through the Invoke API of
// the Runtime Interface Emulator it runs under, as API Gateway invokes a $connect
// authorizer. It invokes the function one invocation at a time, as the gateway's
// integration does, and on a turn of its own: run it under an emulator of its own.
type LambdaAuthorizer struct {
	inv *invoker
}

// NewLambdaAuthorizer returns the Authorizer invoking the function at url, such as
// http://127.0.0.1:9001/2015-03-31/functions/function/invocations, and waiting up to
// timeout for each answer (zero means DefaultAuthorizerTimeout).
func NewLambdaAuthorizer(url string, timeout time.Duration) (*LambdaAuthorizer, error) {
	if !httpURL(url) {
		return nil, fmt.Errorf("lambda authorizer %q is not an http(s) URL", url)
	}
	if timeout < 0 {
		return nil, errors.New("lambda authorizer: timeout is negative")
	}
	return &LambdaAuthorizer{inv: newInvoker(url, cmp.Or(timeout, DefaultAuthorizerTimeout))}, nil
}

// Authorize invokes the function with ev and returns its answer, decoded as API Gateway
// reads it (authorizer.DecodeResponse). A function that failed with the message
// "Unauthorized" gives authorizer.ErrUnauthorized, for the gateway to answer 401; any
// other failure, no answer within the timeout or an answer that is not an authorizer's
// gives another error, answered 500. The invocation is not cancelled with ctx: the
// emulator would run it on anyway, and the next one must wait for it.
func (a *LambdaAuthorizer) Authorize(_ context.Context, ev authorizer.Event) (authorizer.Response, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return authorizer.Response{}, fmt.Errorf("encode the authorizer event: %w", err)
	}
	body, err := a.inv.invoke(payload, "the $connect authorizer")
	var failed *functionError
	switch {
	case errors.As(err, &failed) && failed.Message == unauthorized:
		return authorizer.Response{}, authorizer.ErrUnauthorized
	case err != nil:
		return authorizer.Response{}, err
	}
	if fe := failureOf(body); fe != nil {
		if fe.Message == unauthorized {
			return authorizer.Response{}, authorizer.ErrUnauthorized
		}
		return authorizer.Response{}, fmt.Errorf("invoke %s for the $connect authorizer: %w", a.inv.url, fe)
	}
	resp, err := authorizer.DecodeResponse(body)
	if err != nil {
		return authorizer.Response{}, fmt.Errorf("invoke %s for the $connect authorizer: %w: %s", a.inv.url, err, snippet(body))
	}
	return resp, nil
}
