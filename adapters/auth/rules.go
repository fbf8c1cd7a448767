package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Rules decide who may follow which topic, as a Config says: a
// handlers.TopicAuthorizer, safe for concurrent use.
type Rules struct {
	open       bool
	public     []pattern
	userScoped []pattern
	verifier   *Verifier // nil: no tokens taken
	tokenClaim string
	hook       *hook // nil: no hook
}

var _ handlers.TopicAuthorizer = (*Rules)(nil)

// NewRules returns the Rules of cfg. client (nil for a default one) asks the hook and
// fetches a JWK set; with one, NewRules fetches it before it returns, and refreshes it
// until ctx is done.
func NewRules(ctx context.Context, cfg Config, client *http.Client) (*Rules, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("topic rules: %w", err)
	}
	if client == nil {
		client = &http.Client{}
	}
	r := &Rules{
		open:       cfg.Open,
		public:     compileAll(cfg.Public),
		userScoped: compileAll(cfg.UserScoped),
		tokenClaim: cfg.TokenClaim,
	}
	if cfg.Token.Configured() {
		v, err := NewVerifier(ctx, cfg.Token, client)
		if err != nil {
			return nil, fmt.Errorf("topic rules: %w", err)
		}
		r.verifier = v
	}
	if cfg.HookURL != "" {
		r.hook = &hook{url: cfg.HookURL, timeout: cfg.HookTimeout, client: client}
	}
	return r, nil
}

// AuthorizeTopic returns nil if req may follow its topic, a *handlers.ClientError of
// code handlers.CodeForbidden if it may not, or of code handlers.CodeUnavailable if
// the token's keys could not be fetched or the hook could not answer, and no other
// rule allowed it. The reason says what was tried.
func (r *Rules) AuthorizeTopic(ctx context.Context, req handlers.TopicRequest) error {
	user, topic := req.Connection.UserID, req.Topic
	if r.open || matchAny(r.public, "", topic) || matchAny(r.userScoped, user, topic) ||
		matchAny(compileAll(req.Grants), user, topic) {
		return nil
	}
	why := r.missed(req)
	allowed, reason, unavailable := r.tokenAllows(ctx, req)
	if allowed {
		return nil
	}
	if reason != "" {
		why = append(why, reason)
	}
	if r.hook != nil {
		verdict, reason := r.hook.ask(ctx, req)
		if verdict == hookAllows {
			return nil
		}
		why, unavailable = append(why, reason), unavailable || verdict == hookUnavailable
	}
	if len(why) == 0 {
		why = append(why, "no rule opens a topic here")
	}
	if unavailable {
		return handlers.Refuse(handlers.CodeUnavailable, "cannot tell now whether %q may be followed: %s", topic, strings.Join(why, "; "))
	}
	return handlers.Refuse(handlers.CodeForbidden, "%q may not be followed: %s", topic, strings.Join(why, "; "))
}

// missed says which of the pattern rules were tried, for a topic none of them allowed.
func (r *Rules) missed(req handlers.TopicRequest) (why []string) {
	if len(r.public) > 0 {
		why = append(why, "not public")
	}
	switch {
	case len(r.userScoped) > 0 && req.Connection.UserID == "":
		why = append(why, "the connection has no user to own it")
	case len(r.userScoped) > 0:
		why = append(why, "not the user's own")
	}
	if len(req.Grants) > 0 {
		why = append(why, "not granted at connect")
	}
	return why
}

// tokenAllows reports whether req's token allows its topic; if not, why ("" when no
// token was sent and none is taken), and whether that cannot be told now.
func (r *Rules) tokenAllows(ctx context.Context, req handlers.TopicRequest) (allowed bool, why string, unknown bool) {
	switch {
	case req.Token == "" && r.verifier == nil:
		return false, "", false
	case req.Token == "":
		return false, "no subscription token", false
	case r.verifier == nil:
		return false, "subscription tokens are not taken here", false
	}
	claims, err := r.verifier.Verify(ctx, req.Token)
	if err != nil {
		var refused *TokenError
		if !errors.As(err, &refused) {
			return false, "the token could not be checked", true
		}
		return false, refused.Reason, errors.Is(err, ErrKeysUnavailable)
	}
	user := req.Connection.UserID
	switch {
	case claims.Subject != "" && user == "":
		return false, "the token is for a user and the connection has none", false
	case claims.Subject != "" && claims.Subject != user:
		return false, "the token is for another user", false
	}
	patterns, err := claims.Strings(r.tokenClaim)
	if err != nil {
		return false, fmt.Sprintf("the token's %s claim is not an array of strings", r.tokenClaim), false
	}
	if !matchAny(compileAll(patterns), user, req.Topic) {
		return false, "the token does not grant it", false
	}
	return true, "", false
}
