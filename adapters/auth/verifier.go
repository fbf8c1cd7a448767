package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenLength bounds a token, in bytes: a longer one is refused unread.
const MaxTokenLength = 16 << 10

// ErrKeysUnavailable is wrapped by the TokenError of a token whose key could not be
// found because the JWK set could not be fetched: whether the token is good cannot be
// told now.
var ErrKeysUnavailable = errors.New("the signing keys could not be fetched")

// TokenError is a token refused, or one that cannot be checked now
// (errors.Is(err, ErrKeysUnavailable)).
type TokenError struct {
	// Reason says why in a few words, fit for the client: it never holds the token.
	Reason string
	// Err is the cause, for logs; it does not hold the token either.
	Err error
	// Forbidden is set when the token is genuine but shows nothing that may be allowed,
	// such as a $connect token that names no user: a $connect authorizer answers it with
	// a Deny policy (403) rather than Unauthorized (401).
	Forbidden bool
}

// Error returns the reason and its cause.
func (e *TokenError) Error() string { return e.Reason + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Claims are the claims of a verified token.
type Claims struct {
	// Subject is the token's sub, "" when it has none.
	Subject string
	all     jwt.MapClaims
}

// String returns the claim name if it is a string, "" otherwise: a $connect authorizer
// reads its user claim with it.
func (c Claims) String(name string) string {
	s, _ := c.all[name].(string)
	return s
}

// Strings returns the claim name, an array of strings; nil when the token has no such
// claim, and an error when it is not an array of strings.
func (c Claims) Strings(name string) ([]string, error) {
	v, ok := c.all[name]
	if !ok {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("claim %q is not an array", name)
	}
	strs := make([]string, len(list))
	for i, item := range list {
		if strs[i], ok = item.(string); !ok {
			return nil, fmt.Errorf("claim %q holds a %T, not only strings", name, item)
		}
	}
	return strs, nil
}

// Verifier verifies JWTs: signed HS256 with a secret, or RS256 or ES256 with a key of
// a JWK set; exp required, nbf honoured, iss and aud checked when configured. It
// serves the subscription tokens of Rules and a $connect authorizer alike, and is safe
// for concurrent use.
type Verifier struct {
	methods []string
	parser  *jwt.Parser
	secret  []byte    // HS256, or
	keys    *jwksKeys // a JWK set
}

// NewVerifier returns a Verifier for cfg. With a JWK set it fetches the set with client
// (nil for a default one) before it returns, within a few seconds; it refreshes the set
// until ctx is done. A set that cannot be fetched at start is no error: its tokens are
// answered with ErrKeysUnavailable until it can be.
func NewVerifier(ctx context.Context, cfg VerifierConfig, client *http.Client) (*Verifier, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("token verifier: %w", err)
	}
	if client == nil {
		client = &http.Client{}
	}
	v := &Verifier{}
	if cfg.Secret != "" {
		v.methods, v.secret = []string{"HS256"}, []byte(cfg.Secret)
	} else {
		keys, err := newJWKSKeys(ctx, cfg, client)
		if err != nil {
			return nil, fmt.Errorf("token verifier: %w", err)
		}
		v.methods, v.keys = []string{"RS256", "ES256"}, keys
	}
	// Only the methods of the configured key: "none", and an HS256 token signed with a
	// JWK set's public key as its secret (algorithm confusion), are refused here.
	opts := []jwt.ParserOption{jwt.WithValidMethods(v.methods), jwt.WithLeeway(cfg.Leeway), jwt.WithExpirationRequired()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify returns the claims of token if it is signed with the configured key and its
// claims hold, and a *TokenError otherwise. ctx bounds a fetch of the JWK set made
// for an unknown key id.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxTokenLength {
		return Claims{}, &TokenError{Reason: "the token is too long", Err: fmt.Errorf("%d bytes, over %d", len(token), MaxTokenLength)}
	}
	all := jwt.MapClaims{}
	parsed, err := v.parser.ParseWithClaims(token, all, v.keyfunc(ctx))
	if err != nil {
		return Claims{}, v.refusal(parsed, err)
	}
	sub, err := all.GetSubject()
	if err != nil {
		return Claims{}, &TokenError{Reason: "the token's sub is not a string", Err: err}
	}
	return Claims{Subject: sub, all: all}, nil
}

func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	if v.keys != nil {
		return v.keys.keyfuncCtx(ctx)
	}
	return func(*jwt.Token) (any, error) { return v.secret, nil }
}

// refusal names why token was refused, in the words of its first failure.
func (v *Verifier) refusal(token *jwt.Token, err error) *TokenError {
	reason := "the token is invalid"
	switch {
	case errors.Is(err, errKeyNotFound):
		if keysErr := v.keys.err(); keysErr != nil {
			return &TokenError{Reason: "the token's signing keys could not be fetched", Err: fmt.Errorf("%w: %w", ErrKeysUnavailable, keysErr)}
		}
		reason = "the token's signing key is unknown"
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "the token is malformed"
	case token != nil && token.Method != nil && !slices.Contains(v.methods, token.Method.Alg()),
		errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = "the token's signing algorithm is not accepted"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "the token's signature is invalid"
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason = "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = "the token's issuer is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = "the token's audience is not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "the token lacks a required claim (exp, or the iss or aud checked here)"
	}
	return &TokenError{Reason: reason, Err: err}
}
