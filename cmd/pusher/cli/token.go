package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func tokenCommand() command {
	return command{
		name:    "token",
		summary: "mint a $connect test token signed with CONNECT_TOKEN_SECRET",
		usage: `usage: pusher token --user USER [--topics p1,p2] [--ttl 1h] [--issuer ISS] [--audience AUD]

It prints the token alone, for a shell to take.

flags:
`,
		define: defineToken,
	}
}

// defaultTokenTTL is how long a token is valid when --ttl does not say.
const defaultTokenTTL = time.Hour

// defineToken defines the flags of `pusher token`, which mints a $connect token for
// tests as the team's identity provider would issue one: signed HS256 with
// CONNECT_TOKEN_SECRET, naming the user in the user claim and the topic patterns in the
// topics claim, with the issuer and audience the authorizer checks. It prints the token
// alone on stdout, for a shell to take.
func defineToken(fs *settings.Flags) runFunc {
	var secret, user, topics, issuer, audience, userClaim, topicsClaim string
	var ttl time.Duration
	fs.Secret(&secret, "secret", "CONNECT_TOKEN_SECRET", "HS256 `secret` to sign the token with (32 bytes or more), the authorizer's")
	fs.String(&user, "user", "", "", "user the token names (required)")
	fs.String(&topics, "topics", "", "", "comma-separated topic patterns the token grants, such as order-7,news:*")
	fs.Duration(&ttl, "ttl", "", defaultTokenTTL, "how long the token is valid")
	fs.String(&issuer, "issuer", "CONNECT_TOKEN_ISSUER", "", "issuer the token names (iss)")
	fs.String(&audience, "audience", "CONNECT_TOKEN_AUDIENCE", "", "audience the token names (aud)")
	fs.String(&userClaim, "user-claim", "CONNECT_USER_CLAIM", auth.DefaultUserClaim, "claim naming the user")
	fs.String(&topicsClaim, "topics-claim", "CONNECT_TOPICS_CLAIM", auth.DefaultTokenClaim, "claim listing the topic patterns")
	return func(_ context.Context, e env, _ []custom.Option) error {
		token, err := mintToken(secret, user, split(topics), ttl, issuer, audience, userClaim, topicsClaim, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, token)
		return nil
	}
}

// mintToken returns the token of user granting topics, valid from now for ttl.
func mintToken(secret, user string, topics []string, ttl time.Duration, issuer, audience, userClaim, topicsClaim string, now time.Time) (string, error) {
	switch {
	case len(secret) < auth.MinSecretLength:
		return "", fmt.Errorf("CONNECT_TOKEN_SECRET is %d bytes: set it (or --secret) to the authorizer's secret, of %d bytes or more", len(secret), auth.MinSecretLength)
	case user == "":
		return "", errors.New("--user is not set: the user the token names")
	case ttl <= 0:
		return "", fmt.Errorf("--ttl %s is not positive", ttl)
	case userClaim == "" || topicsClaim == "" || userClaim == topicsClaim:
		return "", fmt.Errorf("the user claim %q and the topics claim %q must be two names", userClaim, topicsClaim)
	}
	claims := jwt.MapClaims{
		userClaim: user,
		"iat":     now.Unix(),
		"exp":     now.Add(ttl).Unix(),
	}
	if len(topics) > 0 {
		claims[topicsClaim] = topics
	}
	if issuer != "" {
		claims["iss"] = issuer
	}
	if audience != "" {
		claims["aud"] = audience
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("sign the token: %w", err)
	}
	return token, nil
}
