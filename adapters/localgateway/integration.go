package localgateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The parts of the events that API Gateway sends to a Lambda proxy integration of a
// WebSocket API that this gateway has no other source for.
const (
	// integrationStage is requestContext.stage: the gateway serves one stage.
	integrationStage = "local"
	// requestTimeFormat is requestContext.requestTime's, such as
	// "20/Jan/2024:11:55:00 +0000" (CLF).
	requestTimeFormat = "02/Jan/2006:15:04:05 -0700"
)

// integration invokes a Lambda function for each route, as API Gateway's AWS_PROXY
// integration of a WebSocket API does: $connect, a client message's route and
// $disconnect each go to the function as an events.APIGatewayWebsocketProxyRequest,
// built field by field as AWS documents them ("WebSocket API mapping template
// reference for API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html;
// "Manage connected users and client apps: $connect and $disconnect routes",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html),
// and its events.APIGatewayProxyResponse is read as API Gateway reads it. It invokes
// the function one invocation at a time, as an invoker does, where AWS runs concurrent
// invocations side by side.
type integration struct {
	inv    *invoker
	routes []string
	apiID  string
	logger *slog.Logger
}

// newIntegration returns the integration of cfg, of the API apiID; nil when cfg has
// none.
func newIntegration(cfg Config, apiID string) *integration {
	if cfg.Integration == "" {
		return nil
	}
	return &integration{
		inv:    newInvoker(cfg.Integration, cfg.BackendTimeout),
		routes: cfg.Routes,
		apiID:  apiID,
		logger: cfg.Logger,
	}
}

// refusal is a $connect that the integration refused: with the status code of the
// function's response, or as API Gateway refuses one whose integration failed (err).
type refusal struct {
	status int
	body   string
	err    error
}

func (r *refusal) Error() string {
	if r.err != nil {
		return fmt.Sprintf("$connect integration failed (%d): %v", r.status, r.err)
	}
	return fmt.Sprintf("$connect integration answered %d: %s", r.status, r.body)
}

func (r *refusal) Unwrap() error { return r.err }

// write answers the refused handshake.
func (r *refusal) write(w http.ResponseWriter) {
	if r.err != nil {
		writeJSON(w, r.status, struct {
			Message string `json:"message"`
		}{r.body})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(r.status)
	_, _ = io.WriteString(w, r.body)
}

// connect is the $connect route, invoked with the CONNECT event ev: the connection
// opens if the function answers a 2xx status, and the handshake is refused with the
// function's status otherwise. The gateway stores nothing: the function does. API
// Gateway answers a function that failed 502, and an invocation that Lambda refused
// 500 ("Handling Lambda errors with an API Gateway API",
// https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
func (in *integration) connect(ev events.APIGatewayWebsocketProxyRequest) error {
	resp, err := in.invoke(ev)
	var failed *invokeError
	switch {
	case errors.As(err, &failed):
		return &refusal{status: failed.status, body: failed.message, err: err}
	case err != nil:
		return err
	case resp.StatusCode < 100 || resp.StatusCode > 599:
		return &refusal{status: http.StatusBadGateway, body: internalServerError,
			err: fmt.Errorf("the function's $connect response has the status code %d", resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		body := resp.Body
		if body == "" {
			body = http.StatusText(resp.StatusCode)
		}
		return &refusal{status: resp.StatusCode, body: body}
	}
	return nil
}

// message is a client message's route, selected as a route selection expression of
// $request.body.action selects it: the message's action when it is one of Routes,
// else $default. The body of the function's response, if any, goes back to the client,
// as a two-way route sends it; a failed invocation is answered as API Gateway answers
// it, with {"message": "Internal server error", "connectionId": ..., "requestId": ...}.
// "For proxy integrations, API Gateway automatically passes the backend output to the
// route response as a complete payload" ("Set up a WebSocket API integration response
// in API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integration-responses.html).
func (in *integration) message(c *conn, body []byte) []byte {
	route := handlers.ParseClientMessage(body).Action
	if !slices.Contains(in.routes, route) {
		route = routeDefault
	}
	ev := in.messageEvent(c, route, body, time.Now())
	resp, err := in.invoke(ev)
	if err != nil {
		in.logger.Error("invoke the integration", "route", route, "connection_id", c.id, "error", err)
		message := internalServerError
		var failed *invokeError
		if errors.As(err, &failed) {
			message = failed.message
		}
		return gatewayError(message, c.id, ev.RequestContext.RequestID)
	}
	if resp.Body == "" {
		return nil
	}
	if resp.IsBase64Encoded {
		if reply, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			return reply
		}
	}
	return []byte(resp.Body)
}

// disconnect is the $disconnect route, once the connection is closed for cause (the
// read loop's error). Its answer goes nowhere: the client is gone.
func (in *integration) disconnect(c *conn, cause error, log *slog.Logger) {
	resp, err := in.invoke(in.disconnectEvent(c, cause, time.Now()))
	switch {
	case err != nil:
		log.Error("invoke the $disconnect integration", "error", err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		log.Debug("$disconnect integration answered", "status", resp.StatusCode, "body", resp.Body)
	}
}

// gatewayError is the frame API Gateway sends a client whose message it could not
// route to its integration.
func gatewayError(message, connectionID, requestID string) []byte {
	b, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
	}{message, connectionID, requestID})
	return b
}

// connectEvent is the CONNECT event of the $connect request r of c, to the API apiID:
// the only event with the client's query string, and headers ("WebSocket API mapping template reference";
// the request of a $connect Lambda authorizer in "Control access to WebSocket APIs
// using AWS Lambda REQUEST authorizers",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html,
// shows them). Host, which net/http takes out of the headers, goes back in, and
// X-Forwarded-For names the client, as API Gateway's front end adds it. The same event,
// but for the authorizer's context, is what a $connect authorizer gets (see
// authorizerEvent).
func connectEvent(r *http.Request, c *conn, apiID string, now time.Time) events.APIGatewayWebsocketProxyRequest {
	ev := events.APIGatewayWebsocketProxyRequest{
		Headers:           map[string]string{},
		MultiValueHeaders: map[string][]string{},
		RequestContext:    requestContext(c, apiID, "$connect", "CONNECT", now),
	}
	set := func(name string, values []string) {
		if len(values) > 0 {
			ev.Headers[name], ev.MultiValueHeaders[name] = values[len(values)-1], values
		}
	}
	for name, values := range r.Header {
		set(name, values)
	}
	set("Host", []string{r.Host})
	set("X-Forwarded-For", []string{c.sourceIP})
	if query := r.URL.Query(); len(query) > 0 {
		// A repeated parameter's last value, as in the REST API's proxy event.
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string(query)
		for name, values := range query {
			ev.QueryStringParameters[name] = values[len(values)-1]
		}
	}
	return ev
}

// messageEvent is the MESSAGE event of a client message: the request context (with a
// messageId, which only MESSAGE has) and the body, with no headers and no query
// string, as aws-lambda-go's events/testdata/apigw-websocket-request-send-message.json
// records one. API Gateway takes text frames only ("Binary media types for WebSocket
// APIs in API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html),
// so the body is never base64-encoded.
func (in *integration) messageEvent(c *conn, route string, body []byte, now time.Time) events.APIGatewayWebsocketProxyRequest {
	ev := events.APIGatewayWebsocketProxyRequest{
		RequestContext:  requestContext(c, in.apiID, route, "MESSAGE", now),
		Body:            string(body),
		IsBase64Encoded: false,
	}
	ev.RequestContext.MessageID = newConnectionID()
	return ev
}

// disconnectEvent is the DISCONNECT event of c closed for cause: a few headers, no
// query string, and the close frame's status code and reason in the request context,
// as aws-lambda-go's events/testdata/apigw-websocket-request-disconnect.json records
// one. A connection that ended without a close frame is 1006 (abnormal closure), as
// RFC 6455 names it.
func (in *integration) disconnectEvent(c *conn, cause error, now time.Time) events.APIGatewayWebsocketProxyRequest {
	headers := map[string]string{"Host": c.host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev := events.APIGatewayWebsocketProxyRequest{
		Headers:           headers,
		MultiValueHeaders: map[string][]string{},
		RequestContext:    requestContext(c, in.apiID, "$disconnect", "DISCONNECT", now),
	}
	for name, value := range headers {
		ev.MultiValueHeaders[name] = []string{value}
	}
	code, reason := websocket.StatusAbnormalClosure, ""
	var closed websocket.CloseError
	if errors.As(cause, &closed) {
		code, reason = closed.Code, closed.Reason
	}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	return ev
}

// requestContext is what every event's requestContext holds, for the API apiID: with
// an authorizer, its context, principalId and integrationLatency under authorizer, as
// API Gateway hands them on to every route of the connection ("WebSocket API mapping
// template reference": $context.authorizer.principalId and
// $context.authorizer.property; aws-lambda-go's
// events/testdata/apigw-websocket-request.json records one); without one, no
// authorizer. requestId is the same as extendedRequestId, as the mapping template
// reference says.
func requestContext(c *conn, apiID, route, eventType string, now time.Time) events.APIGatewayWebsocketProxyRequestContext {
	id := newConnectionID() // the same shape as API Gateway's request ids
	rc := events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          route,
		EventType:         eventType,
		ExtendedRequestID: id,
		RequestTime:       now.UTC().Format(requestTimeFormat),
		MessageDirection:  "IN",
		Stage:             integrationStage,
		ConnectedAt:       c.connectedAt.UnixMilli(),
		RequestTimeEpoch:  now.UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		RequestID:         id,
		DomainName:        c.host,
		ConnectionID:      c.id,
		APIID:             apiID,
	}
	if c.authorizer != nil { // a nil map would be a non-nil interface, written as null
		rc.Authorizer = c.authorizer
	}
	return rc
}

// invoke invokes the function with ev and returns its response, or the failure API
// Gateway answers (see invoker.invoke).
func (in *integration) invoke(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	route := ev.RequestContext.RouteKey
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("encode the %s event: %w", route, err)
	}
	body, err := in.inv.invoke(payload, route)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	resp, err := readResponse(body)
	if err != nil {
		return resp, fmt.Errorf("invoke %s for %s: %w", in.inv.url, route, err)
	}
	return resp, nil
}

// readResponse reads the function's answer as a proxy response: what is not one, or a
// function error the emulator answered 200, API Gateway answers 502.
func readResponse(body []byte) (events.APIGatewayProxyResponse, error) {
	fail := func(err error) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, &invokeError{status: http.StatusBadGateway, message: internalServerError, err: err}
	}
	var out events.APIGatewayProxyResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return fail(fmt.Errorf("the function's response is not a proxy response: %s", snippet(body)))
	}
	if fe := failureOf(body); out.StatusCode == 0 && fe != nil {
		return fail(fe)
	}
	return out, nil
}

// newAPIID returns an id shaped like an API Gateway API's, such as "gy415nuibc": ten
// lowercase letters and digits.
func newAPIID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
