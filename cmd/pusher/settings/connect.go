package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/adapters/secrets"
)

// DefaultIdentityParam is IDENTITY_PARAM's default: the $connect query parameter naming
// the user when no authorizer does, in `pusher dev`, `pusher gateway` and the function,
// the function's routes' own.
const DefaultIdentityParam = lambda.DefaultIdentityParam

// AnonymousFlag defines ANONYMOUS_CONNECTIONS, which `pusher dev`, `pusher gateway` and
// the function share: whether a $connect that names no user is accepted, the connection
// stored without one. Off by default: such a $connect is refused with 401.
func AnonymousFlag(f *Flags, on *bool) {
	f.Boolean(on, "anonymous-connections", "ANONYMOUS_CONNECTIONS", false, "accept a $connect that names no user: reached by topics and broadcasts, never by users")
}

// WarnAnonymous says at start, when on, that connections without a user are accepted:
// anyone may connect, as the topics line says who may follow what.
func WarnAnonymous(logger *slog.Logger, on bool) {
	if on {
		logger.Warn("anonymous connections are accepted: a $connect that names no user connects without one, " +
			"reached by topics and broadcasts, never by users (ANONYMOUS_CONNECTIONS)")
	}
}

// Connect are the settings of the $connect token check: the authorizer function reads
// them on AWS (PUSHER_ROLE=authorizer), and `pusher gateway` and `pusher dev` read the
// same ones to check the same tokens locally.
type Connect struct {
	auth.ConnectConfig
	// SecretARN names the HS256 secret in Secrets Manager or SSM Parameter Store
	// (CONNECT_TOKEN_SECRET_ARN), read once at start, instead of CONNECT_TOKEN_SECRET.
	SecretARN string
}

// Configured reports whether c names a key: a secret, its ARN or a JWK set.
func (c Connect) Configured() bool { return c.SecretARN != "" || c.Token.Configured() }

// ConnectFlags defines the settings of the $connect token check, but for the authorizer
// context's keys, which each mode shares with its routes' settings.
func ConnectFlags(f *Flags, c *Connect) {
	t := &c.Token
	f.Secret(&t.Secret, "connect-token-secret", "CONNECT_TOKEN_SECRET", "HS256 `secret` of $connect tokens (32 bytes or more)")
	f.String(&c.SecretARN, "connect-token-secret-arn", "CONNECT_TOKEN_SECRET_ARN", "", "ARN of the Secrets Manager secret or SSM parameter holding the HS256 secret of $connect tokens")
	f.String(&t.JWKSURL, "connect-token-jwks-url", "CONNECT_TOKEN_JWKS_URL", "", "JWK set URL of the keys of $connect tokens (RS256, ES256), such as Cognito's or Auth0's")
	f.String(&t.Issuer, "connect-token-issuer", "CONNECT_TOKEN_ISSUER", "", "issuer $connect tokens must name")
	f.String(&t.Audience, "connect-token-audience", "CONNECT_TOKEN_AUDIENCE", "", "audience $connect tokens must name")
	f.String(&c.TokenParam, "connect-token-param", "CONNECT_TOKEN_PARAM", auth.DefaultConnectTokenParam, "$connect query parameter carrying the token")
	f.String(&c.UserClaim, "connect-user-claim", "CONNECT_USER_CLAIM", auth.DefaultUserClaim, "claim of a $connect token naming the user")
	f.String(&c.TopicsClaim, "connect-topics-claim", "CONNECT_TOPICS_CLAIM", auth.DefaultTokenClaim, "claim of a $connect token listing the topic patterns it grants")
}

// Validate reports settings the check cannot run with, naming them: a secret given
// twice, an ARN that names no secret, and what auth.ConnectConfig.Validate refuses.
// Settings that name no key are valid: connections are then not checked.
func (c Connect) Validate() error {
	if !c.Configured() {
		if c.Token.Issuer != "" || c.Token.Audience != "" {
			// Checked by nothing, they would be quietly ignored.
			return errors.New("CONNECT_TOKEN_ISSUER or CONNECT_TOKEN_AUDIENCE is set without a key: set CONNECT_TOKEN_SECRET, CONNECT_TOKEN_SECRET_ARN or CONNECT_TOKEN_JWKS_URL")
		}
		return nil
	}
	check := c.ConnectConfig
	if c.SecretARN != "" {
		if c.Token.Secret != "" {
			return errors.New("CONNECT_TOKEN_SECRET and CONNECT_TOKEN_SECRET_ARN are both set: set one")
		}
		if err := secrets.Validate(c.SecretARN); err != nil {
			return fmt.Errorf("CONNECT_TOKEN_SECRET_ARN: %w", err)
		}
		// The secret is read at start: a stand-in of the least length checks the rest.
		check.Token.Secret = strings.Repeat("-", auth.MinSecretLength)
	}
	return check.Validate()
}

// NewConnectHandler returns the $connect authorizer of c: it reads the secret c's ARN
// names with awsCfg's credentials (the only network call, but a JWK set's fetch), and
// checks tokens with it. It returns nil, and no error, when c names no key.
func NewConnectHandler(ctx context.Context, c Connect, awsCfg aws.Config, logger *slog.Logger) (*authorizer.Handler, error) {
	if !c.Configured() {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.SecretARN != "" {
		secret, err := secrets.New(awsCfg).Fetch(ctx, c.SecretARN)
		if err != nil {
			return nil, fmt.Errorf("CONNECT_TOKEN_SECRET_ARN: %w", err)
		}
		c.Token.Secret = secret
	}
	check, err := auth.NewConnect(ctx, c.ConnectConfig, http.DefaultClient)
	if err != nil {
		return nil, err
	}
	return authorizer.New(check, logger)
}
