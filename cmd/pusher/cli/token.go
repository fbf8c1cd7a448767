package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
)

// runToken mints a $connect token for tests, as the team's identity provider would
// issue one: signed HS256 with CONNECT_TOKEN_SECRET, naming the user in the user claim
// and the topic patterns in the topics claim, with the issuer and audience the
// authorizer checks. It prints the token alone on stdout, for a shell to take.
func runToken(args []string, stdout, stderr io.Writer) error {
	var secret, user, topics, issuer, audience, userClaim, topicsClaim string
	var ttl time.Duration
	fs := newFlags("token", stderr)
	// The secret's flag does not default to the environment's: -h would print it.
	fs.String(&secret, "secret", "", "", "HS256 secret to sign the token with (32 bytes or more), the authorizer's; default $CONNECT_TOKEN_SECRET")
	fs.String(&user, "user", "", "", "user the token names (required)")
	fs.String(&topics, "topics", "", "", "comma-separated topic patterns the token grants, such as order-7,news:*")
	fs.Duration(&ttl, "ttl", "", time.Hour, "how long the token is valid")
	fs.String(&issuer, "issuer", "CONNECT_TOKEN_ISSUER", "", "issuer the token names (iss)")
	fs.String(&audience, "audience", "CONNECT_TOKEN_AUDIENCE", "", "audience the token names (aud)")
	fs.String(&userClaim, "user-claim", "CONNECT_USER_CLAIM", auth.DefaultUserClaim, "claim naming the user")
	fs.String(&topicsClaim, "topics-claim", "CONNECT_TOPICS_CLAIM", auth.DefaultTokenClaim, "claim listing the topic patterns")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pusher token --user USER [--topics p1,p2] [--ttl 1h] [--issuer ISS] [--audience AUD]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if secret == "" {
		secret = os.Getenv("CONNECT_TOKEN_SECRET")
	}
	token, err := mintToken(secret, user, split(topics), ttl, issuer, audience, userClaim, topicsClaim, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
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
