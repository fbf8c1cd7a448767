package auth

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// The defaults of a VerifierConfig.
const (
	// DefaultLeeway is how far past exp, or before nbf, a token is still taken: the
	// clocks of the issuer and of the pusher disagree a little.
	DefaultLeeway = 30 * time.Second
	// DefaultJWKSRefresh is how often the JWK set is fetched again.
	DefaultJWKSRefresh = time.Hour
	// DefaultJWKSMinRefresh is the least time between two fetches of the JWK set made
	// for a key id it does not hold: a client sending made-up key ids cannot make the
	// pusher hammer the issuer.
	DefaultJWKSMinRefresh = time.Minute
	// MinSecretLength is the shortest HS256 secret taken, in bytes: RFC 7518 (3.2)
	// asks for a key of at least the hash's size.
	MinSecretLength = 32
)

// VerifierConfig configures a Verifier: an HS256 secret or a JWK set URL, and the
// claims checked. The environment variables named are those of subscription tokens;
// a $connect authorizer reads its own.
type VerifierConfig struct {
	// Secret is the HS256 shared secret (TOPIC_TOKEN_SECRET), at least
	// MinSecretLength bytes. Only HS256 tokens are taken with it.
	Secret string
	// JWKSURL is the URL of the JWK set that holds the issuer's public keys
	// (TOPIC_TOKEN_JWKS_URL), such as Cognito's
	// https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/jwks.json or Auth0's
	// https://TENANT.auth0.com/.well-known/jwks.json. Only RS256 and ES256 tokens are
	// taken with it. Set Secret or JWKSURL, not both.
	JWKSURL string
	// Issuer, when set, must be the token's iss (TOPIC_TOKEN_ISSUER).
	Issuer string
	// Audience, when set, must be one of the token's aud (TOPIC_TOKEN_AUDIENCE).
	Audience string
	// Leeway is how far the clocks may disagree on exp and nbf (TOPIC_TOKEN_LEEWAY);
	// zero means DefaultLeeway.
	Leeway time.Duration
	// JWKSRefresh is how often the JWK set is fetched again (TOPIC_TOKEN_JWKS_REFRESH);
	// zero means DefaultJWKSRefresh.
	JWKSRefresh time.Duration
	// JWKSMinRefresh is the least time between two fetches made for an unknown key id
	// (TOPIC_TOKEN_JWKS_MIN_REFRESH); zero means DefaultJWKSMinRefresh.
	JWKSMinRefresh time.Duration
}

// Configured reports whether c names a secret or a JWK set, that is whether tokens
// are taken at all.
func (c VerifierConfig) Configured() bool {
	return c.Secret != "" || c.JWKSURL != ""
}

func (c *VerifierConfig) setDefaults() {
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.JWKSRefresh == 0 {
		c.JWKSRefresh = DefaultJWKSRefresh
	}
	if c.JWKSMinRefresh == 0 {
		c.JWKSMinRefresh = DefaultJWKSMinRefresh
	}
}

// Validate reports a configuration a Verifier cannot run with.
func (c VerifierConfig) Validate() error {
	var errs []error
	switch {
	case c.Secret != "" && c.JWKSURL != "":
		errs = append(errs, errors.New("token: set a secret or a JWKS URL, not both"))
	case c.Secret == "" && c.JWKSURL == "":
		errs = append(errs, errors.New("token: set a secret or a JWKS URL"))
	case c.Secret != "" && len(c.Secret) < MinSecretLength:
		errs = append(errs, fmt.Errorf("token: the secret is %d bytes, under the %d HS256 needs", len(c.Secret), MinSecretLength))
	case c.JWKSURL != "" && !absoluteHTTP(c.JWKSURL):
		errs = append(errs, fmt.Errorf("token: JWKS URL %q is not an absolute http(s) URL", c.JWKSURL))
	}
	if c.Leeway < 0 {
		errs = append(errs, errors.New("token: leeway is negative"))
	}
	if c.JWKSRefresh < 0 {
		errs = append(errs, errors.New("token: JWKS refresh is negative"))
	}
	if c.JWKSMinRefresh < 0 {
		errs = append(errs, errors.New("token: JWKS min refresh is negative"))
	}
	return errors.Join(errs...)
}

// absoluteHTTP reports whether s is an absolute http or https URL.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
