package settings

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The defaults of Topics' query parameters, those of the function's routes (package
// lambda); its keys' and bounds' are those of package auth and package handlers.
const (
	// DefaultTopicParam is the one query parameter of TOPIC_PARAMS by default.
	DefaultTopicParam = lambda.DefaultTopicParam
	// DefaultTopicTokenParam is TOPIC_TOKEN_PARAM's default.
	DefaultTopicTokenParam = lambda.DefaultTopicTokenParam
)

// Topics are the settings of subscriptions to topics, which the local gateway and the
// Lambda function's $connect and subscribe routes share.
type Topics struct {
	// Params are the $connect query parameters whose values subscribe the connection
	// (TOPIC_PARAMS); default DefaultTopicParam.
	Params []string
	// TokenParam is the $connect query parameter that carries a subscription token for
	// those topics (TOPIC_TOKEN_PARAM); default DefaultTopicTokenParam.
	TokenParam string
	// GrantsKey is the key of the authorizer's context that holds the topic patterns it
	// grants the connection, a JSON array in a string (TOPIC_GRANTS_KEY); default
	// auth.DefaultGrantsKey.
	GrantsKey string
	// MaxTopics bounds the topics of one connection (MAX_TOPICS); default
	// handlers.DefaultMaxTopics.
	MaxTopics int
	// MaxTopicLength bounds a topic name in bytes (MAX_TOPIC_LENGTH); default
	// handlers.DefaultMaxTopicLength.
	MaxTopicLength int
	// Auth says who may follow which topic (TOPICS_OPEN, TOPICS_PUBLIC, ...).
	Auth auth.Config
}

// WithDefaults returns t with its defaults where it has no setting.
func (t Topics) WithDefaults() Topics {
	if t.Params == nil {
		t.Params = []string{DefaultTopicParam}
	}
	t.TokenParam = cmp.Or(t.TokenParam, DefaultTopicTokenParam)
	t.GrantsKey = cmp.Or(t.GrantsKey, auth.DefaultGrantsKey)
	t.MaxTopics = cmp.Or(t.MaxTopics, handlers.DefaultMaxTopics)
	t.MaxTopicLength = cmp.Or(t.MaxTopicLength, handlers.DefaultMaxTopicLength)
	return t
}

// TopicFlags defines the settings of subscriptions. open is whether every topic is open
// to everyone unless told otherwise: `pusher dev`'s default, no deployment's.
func TopicFlags(f *Flags, t *Topics, open bool) {
	f.StringList(&t.Params, "topic-params", "TOPIC_PARAMS", []string{DefaultTopicParam}, "$connect query parameters that subscribe the connection to their values")
	f.String(&t.TokenParam, "topic-token-param", "TOPIC_TOKEN_PARAM", DefaultTopicTokenParam, "$connect query parameter carrying a subscription token")
	f.String(&t.GrantsKey, "topic-grants-key", "TOPIC_GRANTS_KEY", auth.DefaultGrantsKey, "key of the authorizer context holding the topic patterns it grants (a JSON array in a string)")
	f.Int(&t.MaxTopics, "max-topics", "MAX_TOPICS", handlers.DefaultMaxTopics, "topics one connection may follow")
	f.Int(&t.MaxTopicLength, "max-topic-length", "MAX_TOPIC_LENGTH", handlers.DefaultMaxTopicLength, "longest topic name, in bytes")
	a := &t.Auth
	f.Boolean(&a.Open, "topics-open", "TOPICS_OPEN", open, "let every connection follow every topic")
	f.StringList(&a.Public, "topics-public", "TOPICS_PUBLIC", nil, "topic patterns anyone may follow, such as news:*")
	f.StringList(&a.UserScoped, "topics-user-scoped", "TOPICS_USER_SCOPED", nil, "topic patterns a connection may follow with {user} its own user, such as user:{user}:*")
	f.Secret(&a.Token.Secret, "topic-token-secret", "TOPIC_TOKEN_SECRET", "HS256 `secret` of subscription tokens")
	f.String(&a.Token.JWKSURL, "topic-token-jwks-url", "TOPIC_TOKEN_JWKS_URL", "", "JWK set URL of the keys of subscription tokens (RS256, ES256)")
	f.String(&a.Token.Issuer, "topic-token-issuer", "TOPIC_TOKEN_ISSUER", "", "issuer subscription tokens must name")
	f.String(&a.Token.Audience, "topic-token-audience", "TOPIC_TOKEN_AUDIENCE", "", "audience subscription tokens must name")
	f.String(&a.TokenClaim, "topic-token-claim", "TOPIC_TOKEN_CLAIM", auth.DefaultTokenClaim, "claim of a subscription token listing its topic patterns")
	f.String(&a.HookURL, "topic-auth-hook-url", "TOPIC_AUTH_HOOK_URL", "", "URL asked with a POST whether a connection may follow a topic")
	f.Duration(&a.HookTimeout, "topic-auth-hook-timeout", "TOPIC_AUTH_HOOK_TIMEOUT", auth.DefaultHookTimeout, "how long the hook is given to answer")
}

// NewSubscriber returns the subscriber of t's rules on store, nil when topics are off
// (no subscriptions table), and says at start what the rules open: every topic, or
// none but what an authorizer grants.
func NewSubscriber(ctx context.Context, t Topics, store handlers.Subscriptions, logger *slog.Logger) (handlers.Subscriber, error) {
	s := handlers.Subscriber{Store: store, MaxTopics: t.MaxTopics, MaxTopicLength: t.MaxTopicLength}
	if store == nil {
		return s, nil
	}
	rules, err := auth.NewRules(ctx, t.Auth, http.DefaultClient)
	if err != nil {
		return s, fmt.Errorf("topic rules: %w", err)
	}
	s.Authorizer = rules
	switch {
	case t.Auth.Open:
		logger.Warn("topics are open: every connection may follow every topic (TOPICS_OPEN)")
	case !t.Auth.HasRules():
		logger.Warn("topics are on but no topic rule is set: only topics an authorizer grants may be followed; " +
			"set TOPICS_PUBLIC, TOPICS_USER_SCOPED, TOPIC_TOKEN_SECRET or TOPIC_TOKEN_JWKS_URL, TOPIC_AUTH_HOOK_URL, or TOPICS_OPEN")
	}
	return s, nil
}
