package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
)

// The defaults of a ConnectConfig.
const (
	// DefaultConnectTokenParam is the $connect query parameter that carries the token:
	// wss://HOST/STAGE?token=JWT. Browsers cannot set headers on a WebSocket.
	DefaultConnectTokenParam = "token"
	// DefaultUserClaim names the claim of a $connect token that names the user.
	DefaultUserClaim = "sub"
	// DefaultUserKey is the key of the authorizer context that names the user, which
	// the pusher's routes read (AUTHORIZER_USER_KEY).
	DefaultUserKey = "user_id"
	// DefaultGrantsKey is the key of the authorizer context that holds the topic
	// patterns granted, which the pusher's routes read (TOPIC_GRANTS_KEY).
	DefaultGrantsKey = "topics"
	// MaxUserLength bounds a user id in bytes: it is a DynamoDB key (2,048 bytes at most
	// for a partition key) and goes into every row of the connection.
	MaxUserLength = 1024
)

// ErrNoToken is the TokenError cause of a $connect without a token.
var ErrNoToken = errors.New("no token")

// ConnectConfig configures Connect, the check of the token a client connects with: a
// $connect Lambda authorizer on AWS, and `pusher gateway` or `pusher dev` locally, read
// it from the same environment variables.
type ConnectConfig struct {
	// Token is the key and the claims checked: CONNECT_TOKEN_SECRET (HS256, or
	// CONNECT_TOKEN_SECRET_ARN on AWS) or CONNECT_TOKEN_JWKS_URL (RS256, ES256), with
	// CONNECT_TOKEN_ISSUER and CONNECT_TOKEN_AUDIENCE.
	Token VerifierConfig
	// TokenParam is the $connect query parameter carrying the token
	// (CONNECT_TOKEN_PARAM); "" means DefaultConnectTokenParam.
	TokenParam string
	// UserClaim names the claim that names the user (CONNECT_USER_CLAIM), a string;
	// "" means DefaultUserClaim.
	UserClaim string
	// TopicsClaim names the claim that lists the topic patterns the connection may
	// follow (CONNECT_TOPICS_CLAIM), an array of strings; "" means DefaultTokenClaim. A
	// token without it grants no topic by itself.
	TopicsClaim string
	// UserKey is the authorizer context's key for the user (AUTHORIZER_USER_KEY); ""
	// means DefaultUserKey.
	UserKey string
	// GrantsKey is the authorizer context's key for the granted patterns
	// (TOPIC_GRANTS_KEY); "" means DefaultGrantsKey.
	GrantsKey string
}

// Configured reports whether c names a key, that is whether connections are checked.
func (c ConnectConfig) Configured() bool { return c.Token.Configured() }

// WithDefaults returns c with its defaults where it has no setting.
func (c ConnectConfig) WithDefaults() ConnectConfig {
	c.TokenParam = cmp.Or(c.TokenParam, DefaultConnectTokenParam)
	c.UserClaim = cmp.Or(c.UserClaim, DefaultUserClaim)
	c.TopicsClaim = cmp.Or(c.TopicsClaim, DefaultTokenClaim)
	c.UserKey = cmp.Or(c.UserKey, DefaultUserKey)
	c.GrantsKey = cmp.Or(c.GrantsKey, DefaultGrantsKey)
	return c
}

// Validate reports a configuration Connect cannot run with.
func (c ConnectConfig) Validate() error {
	var errs []error
	if err := c.Token.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("connect %w", err))
	}
	if c.UserKey != "" && c.UserKey == c.GrantsKey {
		errs = append(errs, fmt.Errorf("connect: the user and the grants share the context key %q", c.UserKey))
	}
	if c.UserKey == "principalId" || c.GrantsKey == "principalId" {
		errs = append(errs, errors.New("connect: principalId is API Gateway's own context key"))
	}
	return errors.Join(errs...)
}

// Identity is who a $connect token shows is connecting.
type Identity struct {
	// User is the user the token names: the connection's user.
	User string
	// Grants are the topic patterns the token grants the connection, nil for none.
	Grants []string
}

// Connect checks the tokens clients connect with and tells who they are: the work of
// a $connect authorizer. It is safe for concurrent use.
type Connect struct {
	cfg      ConnectConfig
	verifier *Verifier
}

// NewConnect returns the check of cfg's tokens. With a JWK set it fetches the set
// with client (nil for a default one) before it returns, and refreshes it until ctx is
// done (see NewVerifier).
func NewConnect(ctx context.Context, cfg ConnectConfig, client *http.Client) (*Connect, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v, err := NewVerifier(ctx, cfg.Token, client)
	if err != nil {
		return nil, fmt.Errorf("connect %w", err)
	}
	return &Connect{cfg: cfg, verifier: v}, nil
}

// TokenParam is the $connect query parameter that carries the token.
func (c *Connect) TokenParam() string { return c.cfg.TokenParam }

// Authorize returns the identity that token shows, or a *TokenError: Forbidden when
// the token is genuine but names no usable user or malformed grants, wrapping
// ErrNoToken when token is empty, and ErrKeysUnavailable when the JWK set could not be
// fetched (then whether the token is good cannot be told now).
func (c *Connect) Authorize(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, &TokenError{Reason: "the request has no token (query parameter " + c.cfg.TokenParam + ")", Err: ErrNoToken}
	}
	claims, err := c.verifier.Verify(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	user := claims.String(c.cfg.UserClaim)
	switch {
	case user == "":
		return Identity{}, &TokenError{Reason: "the token names no user", Forbidden: true,
			Err: fmt.Errorf("claim %q is missing, empty or not a string", c.cfg.UserClaim)}
	case len(user) > MaxUserLength:
		return Identity{}, &TokenError{Reason: "the token's user is too long", Forbidden: true,
			Err: fmt.Errorf("claim %q is %d bytes, over %d", c.cfg.UserClaim, len(user), MaxUserLength)}
	}
	grants, err := claims.Strings(c.cfg.TopicsClaim)
	if err != nil {
		return Identity{}, &TokenError{Reason: "the token's topics are malformed", Forbidden: true, Err: err}
	}
	return Identity{User: user, Grants: grants}, nil
}

// Context returns the authorizer context of id, which API Gateway hands on to every
// route of the connection: the user under UserKey and the grants under GrantsKey, as
// FormatGrants writes them (a context holds only strings, numbers and booleans).
func (c *Connect) Context(id Identity) map[string]any {
	return map[string]any{c.cfg.UserKey: id.User, c.cfg.GrantsKey: FormatGrants(id.Grants)}
}
