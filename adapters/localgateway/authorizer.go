package localgateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
)

// Authorizer decides who may connect, and as whom, as a Lambda REQUEST authorizer on
// the $connect route of a WebSocket API does: it is given the authorizer event of each
// $connect and answers with a policy and a context, or fails. *authorizer.Handler is
// one, checking tokens in the gateway's process; a *LambdaAuthorizer invokes an
// authorizer function under the Runtime Interface Emulator.
type Authorizer interface {
	Authorize(ctx context.Context, ev authorizer.Event) (authorizer.Response, error)
}

// The parts of the methodArn of an authorizer event that the gateway has no source for:
// it serves no AWS account, and one stage (integrationStage). An authorizer that echoes
// the event's methodArn in its policy, as the pusher's does, allows the route whatever
// they are.
const (
	methodRegion  = "us-east-1"
	methodAccount = "123456789012"
)

// The messages of API Gateway's answers to a $connect its authorizer refused, as the
// JSON body {"message": ...} of the refused handshake.
const (
	unauthorized = "Unauthorized"
	forbidden    = "Forbidden"
)

// authRefusal is a $connect refused by the authorizer, or before it: the handshake is
// answered with status and {"message": message}; reason says why, for the log.
type authRefusal struct {
	status  int
	message string
	reason  error
}

func (r *authRefusal) Error() string {
	return fmt.Sprintf("$connect authorizer refused (%d): %v", r.status, r.reason)
}

func (r *authRefusal) Unwrap() error { return r.reason }

func (r *authRefusal) write(w http.ResponseWriter) {
	writeJSON(w, r.status, struct {
		Message string `json:"message"`
	}{r.message})
}

// identitySourceMissing is the refusal of a $connect without the authorizer's identity
// source, answered before the authorizer is invoked: a request-based Lambda
// authorizer's 401 "usually occur[s] when the configured identity sources are missing,
// null, empty, or not valid", and is answered "when API Gateway doesn't call the
// authorizer Lambda function" ("Why do I get API Gateway 401 Unauthorized errors after
// I create a Lambda authorizer?",
// https://repost.aws/knowledge-center/api-gateway-401-error-lambda-authorizer).
func (g *Gateway) identitySourceMissing(r *http.Request) *authRefusal {
	if r.URL.Query().Get(g.cfg.IdentitySource) != "" {
		return nil
	}
	return &authRefusal{status: http.StatusUnauthorized, message: unauthorized,
		reason: fmt.Errorf("the identity source, query parameter %q, is missing or empty: the authorizer is not invoked", g.cfg.IdentitySource)}
}

// authorize runs the Authorizer on the $connect of c, whose CONNECT event is ev, before
// the $connect route, and reads its answer as API Gateway does ("Control access to
// WebSocket APIs with AWS Lambda REQUEST authorizers",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html;
// "Gateway response types for API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html):
//
//   - an error whose message is exactly "Unauthorized" refuses the connection 401
//     (UNAUTHORIZED), as the authorizer examples say of callback("Unauthorized");
//   - any other error, an answer that came too late or is malformed refuses it 500
//     (AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR);
//   - a policy that does not allow the methodArn refuses it 403 (ACCESS_DENIED);
//   - else the connection is c's user's: the context's user key if it holds a
//     non-empty string, else the principalId, with the topic patterns of its grants
//     key. Every later event of the connection carries the context, principalId and
//     integrationLatency in requestContext.authorizer, as API Gateway hands them on
//     to the routes after $connect.
//
// It returns an *authRefusal, or nil once c is authorized.
func (g *Gateway) authorize(ctx context.Context, c *conn, ev events.APIGatewayWebsocketProxyRequest) error {
	methodArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/$connect", methodRegion, methodAccount, g.apiID, integrationStage)
	began := time.Now()
	resp, err := g.cfg.Authorizer.Authorize(ctx, authorizerEvent(ev, methodArn))
	latency := time.Since(began)
	switch {
	case err != nil && err.Error() == unauthorized: // API Gateway reads the message only
		return &authRefusal{status: http.StatusUnauthorized, message: unauthorized, reason: errors.New("the authorizer answered Unauthorized")}
	case err != nil:
		return &authRefusal{status: http.StatusInternalServerError, message: internalServerError, reason: fmt.Errorf("the authorizer failed: %w", err)}
	}
	if err := wellFormed(resp); err != nil {
		return &authRefusal{status: http.StatusInternalServerError, message: internalServerError, reason: err}
	}
	if !authorizer.Allows(resp, methodArn) {
		return &authRefusal{status: http.StatusForbidden, message: forbidden,
			reason: fmt.Errorf("the authorizer's policy does not allow %s to principal %q", methodArn, resp.PrincipalID)}
	}
	c.user = resp.PrincipalID
	if user, ok := resp.Context[g.cfg.AuthorizerUserKey].(string); ok && user != "" {
		c.user = user
	}
	c.grants = auth.ParseGrants(resp.Context[g.cfg.AuthorizerGrantsKey])
	c.authorizer = maps.Clone(resp.Context)
	if c.authorizer == nil {
		c.authorizer = map[string]any{}
	}
	c.authorizer["principalId"] = resp.PrincipalID
	c.authorizer["integrationLatency"] = latency.Milliseconds()
	return nil
}

// authorizerEvent is the REQUEST authorizer event of the $connect whose CONNECT event
// is ev, field by field as the example of "Control access to WebSocket APIs with AWS
// Lambda REQUEST authorizers" shows one: the request's headers and query string, no
// stage variables, and the request context of the CONNECT event, connection id
// included.
func authorizerEvent(ev events.APIGatewayWebsocketProxyRequest, methodArn string) authorizer.Event {
	return authorizer.Event{
		Type:                            "REQUEST",
		MethodArn:                       methodArn,
		Headers:                         ev.Headers,
		MultiValueHeaders:               ev.MultiValueHeaders,
		QueryStringParameters:           ev.QueryStringParameters,
		MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
		StageVariables:                  map[string]string{},
		RequestContext:                  ev.RequestContext,
	}
}

// wellFormed reports an authorizer answer that API Gateway cannot use: "A Lambda
// authorizer function's output ... must include the principal identifier
// (principalId) and a policy document (policyDocument)", and its context's values are
// strings, numbers or booleans: "You can't set a JSON object or array as a valid
// value of any key in the context map" ("Output from an API Gateway Lambda
// authorizer",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
func wellFormed(resp authorizer.Response) error {
	if resp.PrincipalID == "" {
		return errors.New("the authorizer's answer has no principalId")
	}
	for key, v := range resp.Context {
		switch v.(type) {
		case string, bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		default:
			return fmt.Errorf("the authorizer's context key %q holds a %T, not a string, number or boolean", key, v)
		}
	}
	return nil
}
