package auth

import (
	"errors"
	"fmt"
	"time"
)

// The defaults of a Config.
const (
	// DefaultTokenClaim names the claim of a subscription token that lists the topic
	// patterns it grants.
	DefaultTokenClaim = "topics"
	// DefaultHookTimeout is how long the hook is given to answer.
	DefaultHookTimeout = 2 * time.Second
)

// Config says who may follow which topic (see the package doc for the order the rules
// are tried in). The zero Config allows no topic.
type Config struct {
	// Open lets everyone follow every topic (TOPICS_OPEN); pusher dev's default.
	Open bool
	// Public are the patterns anyone may follow (TOPICS_PUBLIC, comma-separated), such
	// as news:*.
	Public []string
	// UserScoped are the patterns a connection may follow with {user} standing for its
	// own user (TOPICS_USER_SCOPED, comma-separated), such as user:{user}:*. A
	// connection without a user matches none of them. The user id is put in literally:
	// a '*' in it matches only a '*'.
	UserScoped []string
	// Token configures the subscription tokens taken (TOPIC_TOKEN_SECRET or
	// TOPIC_TOKEN_JWKS_URL, and the other TOPIC_TOKEN_ settings); without a secret or a
	// JWK set, none is.
	//
	// A token allows the topics its TokenClaim lists, as patterns, for the connection
	// of the user its sub names. A token without sub is a bearer grant: it allows its
	// topics to any connection that holds it, the only kind a connection without a
	// user can use.
	Token VerifierConfig
	// TokenClaim names the token's claim that lists its topic patterns, an array of
	// strings (TOPIC_TOKEN_CLAIM); "" means DefaultTokenClaim.
	TokenClaim string
	// HookURL, when set, is asked about each topic no other rule allows
	// (TOPIC_AUTH_HOOK_URL), with a POST of
	// {"user":"...","connection_id":"...","topic":"..."}: a 2xx answer allows it, 401
	// or 403 refuses it, anything else, or no answer in time, leaves it unavailable.
	HookURL string
	// HookTimeout bounds the hook's answer (TOPIC_AUTH_HOOK_TIMEOUT); zero means
	// DefaultHookTimeout.
	HookTimeout time.Duration
}

// HasRules reports whether c opens any topic by itself: open, a public or user-scoped
// pattern, tokens or a hook. Without one, only the topics a $connect authorizer grants
// in its context may be followed (they come with each connection, so they are not
// counted here); the run modes say so at start.
func (c Config) HasRules() bool {
	return c.Open || len(c.Public) > 0 || len(c.UserScoped) > 0 || c.Token.Configured() || c.HookURL != ""
}

func (c *Config) setDefaults() {
	if c.TokenClaim == "" {
		c.TokenClaim = DefaultTokenClaim
	}
	if c.HookTimeout == 0 {
		c.HookTimeout = DefaultHookTimeout
	}
	if c.Token.Configured() {
		c.Token.setDefaults()
	}
}

// Validate reports a configuration Rules cannot run with.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Public {
		switch {
		case p == "":
			errs = append(errs, errors.New("public: an empty pattern"))
		case compile(p).hasUser():
			errs = append(errs, fmt.Errorf("public: pattern %q names %s: make it user-scoped", p, userPlaceholder))
		}
	}
	for _, p := range c.UserScoped {
		if !compile(p).hasUser() {
			errs = append(errs, fmt.Errorf("user-scoped: pattern %q does not name %s: make it public", p, userPlaceholder))
		}
	}
	// An issuer or audience without a key would be quietly ignored: say so instead.
	if c.Token != (VerifierConfig{}) {
		errs = append(errs, c.Token.Validate())
	}
	if c.HookURL != "" && !absoluteHTTP(c.HookURL) {
		errs = append(errs, fmt.Errorf("hook: URL %q is not an absolute http(s) URL", c.HookURL))
	}
	if c.HookTimeout < 0 {
		errs = append(errs, errors.New("hook: timeout is negative"))
	}
	return errors.Join(errs...)
}
