package localgateway

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Config configures a Gateway.
type Config struct {
	// IdentityParam is the query parameter that names the connecting user: clients
	// connect to ws://host/?user_id=U. Empty means lambda.DefaultIdentityParam, the
	// function's ("user_id"). With an Authorizer, the authorizer names the user and the
	// parameter is ignored.
	IdentityParam string
	// AnonymousConnections accepts a $connect that names no user
	// (ANONYMOUS_CONNECTIONS): without an Authorizer, one without IdentityParam is
	// stored without a user (handlers.Connection.UserID ""), reached by topics and
	// broadcasts, never by a users request. Off, it is refused 401. With an
	// Integration, the function decides, by its own setting.
	AnonymousConnections bool
	// Authorizer, when set, decides who may connect and as whom before the $connect
	// route, as a Lambda REQUEST authorizer on $connect does on AWS (see
	// Gateway.authorize): a connection it refuses is answered 401, 403 or 500 and
	// nothing is stored; one it allows is its user's, with the topic patterns it
	// grants, and with an Integration every event of the connection carries its context.
	// Nil lets any client connect as the user IdentityParam names, or as none (see
	// AnonymousConnections).
	Authorizer Authorizer
	// IdentitySource is the $connect query parameter that the authorizer's identity
	// source names (route.request.querystring.NAME), the one that carries the token: a
	// $connect without it, or with it empty, is refused 401 without invoking the
	// Authorizer, as API Gateway refuses it. Empty means auth.DefaultConnectTokenParam
	// ("token").
	IdentitySource string
	// AuthorizerUserKey is the key of the authorizer's context that names the user
	// (AUTHORIZER_USER_KEY); a context without a non-empty string there names its
	// principalId. Empty means auth.DefaultUserKey ("user_id").
	AuthorizerUserKey string
	// AuthorizerGrantsKey is the key of the authorizer's context that holds the topic
	// patterns it grants, as auth.ParseGrants reads them (TOPIC_GRANTS_KEY), which the
	// gateway's own $connect and subscribe route hand to Topics. Empty means
	// auth.DefaultGrantsKey ("topics").
	AuthorizerGrantsKey string
	// MaxPayloadBytes bounds the body of one post, as API Gateway's frame limit does.
	// Zero means handlers.MaxFrameBytes (128 KiB).
	MaxPayloadBytes int
	// WriteTimeout bounds the write of one frame to a client. A client that does not take
	// the frame in time is disconnected. Zero means 10s.
	WriteTimeout time.Duration
	// TopicParams are the query parameters whose values subscribe a connection to
	// topics at $connect, each repeatable (?topic=a&topic=b), such as seed 002's
	// VehicleID. Empty means lambda.DefaultTopicParam ("topic").
	TopicParams []string
	// TokenParam is the query parameter of a $connect that carries a signed
	// subscription token for the topics it names (see handlers.TopicRequest). Empty
	// means lambda.DefaultTopicTokenParam ("topic_token").
	TokenParam string
	// Topics subscribes connections, within its limits and as its Authorizer allows; a
	// Store of nil turns topics off. Nil means subscriptions in the registry if it keeps
	// them (handlers.Subscriptions), every topic open to everyone, default limits: what
	// tests want, not a deployment.
	Topics *handlers.Subscriber
	// Backend is the URL a client message whose action is neither subscribe nor
	// unsubscribe (and one with no action: the $default route) is posted to, as API
	// Gateway's HTTP proxy integration does; its answer goes back to the client. Empty
	// answers such a message with an error frame.
	Backend string
	// BackendTimeout bounds a call to Backend, or an invocation of Integration. Zero
	// means 29s, API Gateway's integration timeout.
	BackendTimeout time.Duration
	// Integration is the invocation URL of a Lambda function that serves every route,
	// as API Gateway's Lambda proxy (AWS_PROXY) integration does, such as the Runtime
	// Interface Emulator's http://127.0.0.1:9000/2015-03-31/functions/function/invocations:
	// $connect (a response status outside 2xx refuses the handshake with it), each
	// client message (the response's body, if any, goes back to the client) and
	// $disconnect. The gateway then stores nothing itself, and IdentityParam,
	// TopicParams, TokenParam and Topics are the function's business; an Authorizer
	// runs before the function's $connect, as on AWS. Unlike AWS, the
	// gateway invokes the function one invocation at a time: the emulator runs one at
	// a time, and crashes on a concurrent one. Empty means the gateway serves the
	// routes itself, with its Registry. Set Integration or Backend, not both.
	Integration string
	// Routes are the route keys of client messages with an Integration, selected by
	// $request.body.action; a message whose action is not one of them takes $default.
	// Empty means subscribe and unsubscribe.
	Routes []string
	// ThrottleRPS is the steady rate, in calls per second, of the token bucket that
	// every Management API call (POST, GET and DELETE /@connections/{id}) takes a token
	// from, as API Gateway's account-level throttle does (10,000 by default on AWS); a
	// call that finds the bucket empty is answered 429 LimitExceededException and does
	// nothing (see throttle.go). Zero means no throttle. Only those calls are charged:
	// AWS's bucket also counts each $connect and client message of the account's
	// WebSocket APIs, and every call of its other APIs in the Region, which the pusher
	// sees as a lower rate; set this to what they would leave.
	ThrottleRPS float64
	// ThrottleBurst is the size of that bucket: how many calls pass at once after a
	// quiet spell (5,000 by default on AWS). Zero with a ThrottleRPS means half a
	// second of the rate, rounded up, AWS's default ratio; it needs a ThrottleRPS.
	ThrottleBurst int
	// Logger receives connection events at debug level and registry failures as errors.
	// Nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	c.IdentityParam = cmp.Or(c.IdentityParam, lambda.DefaultIdentityParam)
	c.MaxPayloadBytes = cmp.Or(c.MaxPayloadBytes, handlers.MaxFrameBytes)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 10*time.Second)
	c.BackendTimeout = cmp.Or(c.BackendTimeout, 29*time.Second)
	c.TokenParam = cmp.Or(c.TokenParam, lambda.DefaultTopicTokenParam)
	c.IdentitySource = cmp.Or(c.IdentitySource, auth.DefaultConnectTokenParam)
	c.AuthorizerUserKey = cmp.Or(c.AuthorizerUserKey, auth.DefaultUserKey)
	c.AuthorizerGrantsKey = cmp.Or(c.AuthorizerGrantsKey, auth.DefaultGrantsKey)
	if c.ThrottleRPS > 0 && c.ThrottleBurst == 0 {
		c.ThrottleBurst = defaultThrottleBurst(c.ThrottleRPS)
	}
	if len(c.TopicParams) == 0 {
		c.TopicParams = []string{lambda.DefaultTopicParam}
	}
	if len(c.Routes) == 0 {
		c.Routes = []string{routeSubscribe, routeUnsubscribe}
	}
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
	if c.Authorizer != nil && c.AuthorizerUserKey == c.AuthorizerGrantsKey {
		errs = append(errs, fmt.Errorf("the authorizer's user and grants share the context key %q", c.AuthorizerUserKey))
	}
	if c.Integration != "" {
		errs = append(errs, c.validateIntegration())
	}
	errs = append(errs, c.validateThrottle())
	return errors.Join(errs...)
}

// httpURL reports whether s is an absolute http(s) URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// validateIntegration reports an Integration the gateway cannot invoke, or Routes it
// cannot select.
func (c Config) validateIntegration() error {
	var errs []error
	if !httpURL(c.Integration) {
		errs = append(errs, fmt.Errorf("integration %q is not an http(s) URL", c.Integration))
	}
	if c.Backend != "" {
		errs = append(errs, errors.New("both a backend and an integration are set: the integration serves every route"))
	}
	for _, route := range c.Routes {
		if route == "" || strings.HasPrefix(route, "$") {
			errs = append(errs, fmt.Errorf("route %q is empty or reserved ($connect, $disconnect, $default)", route))
		}
	}
	return errors.Join(errs...)
}
