package function

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// The roles of the function, by PUSHER_ROLE.
const (
	// RolePusher serves requests and the WebSocket API's routes: the default.
	RolePusher = "pusher"
	// RoleAuthorizer serves the WebSocket API's $connect authorizer, and nothing else.
	RoleAuthorizer = "authorizer"
)

// AuthorizerConfig is the configuration of the function deployed as the $connect
// authorizer (PUSHER_ROLE=authorizer), read by AuthorizerConfigFromEnv. It needs no
// table, queue nor Management API: only the key of the tokens, and the context keys
// the pusher's routes read.
type AuthorizerConfig struct {
	// Connect is the check of the tokens (CONNECT_TOKEN_SECRET_ARN or
	// CONNECT_TOKEN_JWKS_URL, and the other CONNECT_ settings); its UserKey is
	// AUTHORIZER_USER_KEY and its GrantsKey TOPIC_GRANTS_KEY, as the pusher reads them.
	Connect settings.Connect
	// LogLevel is debug, info, warn or error (LOG_LEVEL); default
	// settings.DefaultLogLevel.
	LogLevel string
}

// AuthorizerFlags defines the settings of c.
func AuthorizerFlags(f *settings.Flags, c *AuthorizerConfig) {
	settings.ConnectFlags(f, &c.Connect)
	f.String(&c.Connect.UserKey, "authorizer-user-key", "AUTHORIZER_USER_KEY", auth.DefaultUserKey, "key of the authorizer context naming the user")
	f.String(&c.Connect.GrantsKey, "topic-grants-key", "TOPIC_GRANTS_KEY", auth.DefaultGrantsKey, "key of the authorizer context holding the topic patterns granted")
	f.String(&c.LogLevel, "log-level", "LOG_LEVEL", settings.DefaultLogLevel, "debug, info, warn or error")
}

// AuthorizerConfigFromEnv reads the authorizer's configuration from the environment
// through lookup, with defaults, validated.
func AuthorizerConfigFromEnv(lookup func(string) (string, bool)) (AuthorizerConfig, error) {
	var c AuthorizerConfig
	f := settings.New("pusher-lambda (authorizer)", io.Discard, lookup)
	AuthorizerFlags(f, &c)
	if err := f.Parse(nil); err != nil {
		return c, err
	}
	c.LogLevel = cmp.Or(c.LogLevel, settings.DefaultLogLevel)
	c.Connect.ConnectConfig = c.Connect.WithDefaults()
	return c, c.Validate()
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable.
func (c AuthorizerConfig) Validate() error {
	if !c.Connect.Configured() {
		return errors.New("PUSHER_ROLE=authorizer needs the key of the tokens: CONNECT_TOKEN_SECRET_ARN (or CONNECT_TOKEN_SECRET) or CONNECT_TOKEN_JWKS_URL")
	}
	if err := c.Connect.Validate(); err != nil {
		return err
	}
	var level slog.Level
	if level.UnmarshalText([]byte(c.LogLevel)) != nil {
		return fmt.Errorf("LOG_LEVEL=%q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// Authorizer is the function deployed as the WebSocket API's $connect authorizer.
type Authorizer struct {
	handler *authorizer.Handler
}

// NewAuthorizer returns the authorizer function of cfg: it reads the secret
// CONNECT_TOKEN_SECRET_ARN names, or fetches the JWK set, with awsCfg's credentials;
// those are its only network calls before its first invocation.
func NewAuthorizer(ctx context.Context, cfg AuthorizerConfig, awsCfg aws.Config, logger *slog.Logger) (*Authorizer, error) {
	h, err := settings.NewConnectHandler(ctx, cfg.Connect, awsCfg, logger)
	if err != nil {
		return nil, err
	}
	return &Authorizer{handler: h}, nil
}

// Handle serves one invocation: an API Gateway REQUEST authorizer event of a WebSocket
// API's $connect (see authorizer.Handler.Authorize for the answers). Any other event is
// an error naming the role: the authorizer is deployed apart from the pusher.
func (a *Authorizer) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var ev authorizer.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode authorizer event: %w", err)
	}
	if !lambda.IsAuthorizerEvent(ev) {
		return nil, errors.New("not an API Gateway REQUEST authorizer event: this function is deployed as the $connect authorizer (PUSHER_ROLE=authorizer)")
	}
	return a.handler.Authorize(ctx, ev)
}
