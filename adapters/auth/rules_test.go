package auth

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestAuthorizeTopic is the authorization matrix: each request allowed, or refused with
// its code and a reason that says why and never holds the token.
func TestAuthorizeTopic(t *testing.T) {
	keys := testKeys()
	rsaKey, ecKey := signingKey{"rsa-1", keys.rsa1}, signingKey{"ec-1", keys.ec}
	jwks := newJWKSServer(t, rsaKey, ecKey)
	token := VerifierConfig{Issuer: testIssuer, Audience: testAudience}
	hsToken, jwksToken := token, token
	hsToken.Secret, jwksToken.JWKSURL = testSecret, jwks.URL
	rules := map[string]*Rules{
		"open":     newRules(t, Config{Open: true}),
		"none":     newRules(t, Config{}),
		"patterns": newRules(t, Config{Public: []string{"news:*", "faq?[1]"}, UserScoped: []string{"user:{user}:*"}}),
		"hs256":    newRules(t, Config{Token: hsToken}),
		"jwks":     newRules(t, Config{Token: jwksToken}),
	}

	alice := handlers.Connection{UserID: "alice", ConnectionID: "c-alice"}
	bob := handlers.Connection{UserID: "bob", ConnectionID: "c-bob"}
	nobody := handlers.Connection{ConnectionID: "c-nobody"}
	star := handlers.Connection{UserID: "a*", ConnectionID: "c-star"}
	hs := func(edit func(jwt.MapClaims)) string { return signHS256(t, []byte(testSecret), claims(edit), nil) }
	noSub := func(c jwt.MapClaims) { delete(c, "sub") }

	cases := []struct {
		name   string
		rules  string
		req    handlers.TopicRequest
		want   string // the code, "" for allowed
		reason string // in the reason, when refused
	}{
		{name: "open: any topic, no user", rules: "open", req: handlers.TopicRequest{Connection: nobody, Topic: "user:bob:inbox"}},
		{name: "no rule: forbidden", rules: "none", req: handlers.TopicRequest{Connection: alice, Topic: "news:today"},
			want: handlers.CodeForbidden, reason: "no rule opens a topic here"},

		{name: "public", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "news:today"}},
		{name: "public: '*' spans ':' and '/'", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "news:eu/fr:paris"}},
		{name: "public: '*' matches none", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "news:"}},
		{name: "public: '?' and '[' are literal", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "faq?[1]"}},
		{name: "public: '?' is no wildcard", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "faqs[1]"},
			want: handlers.CodeForbidden, reason: "not public"},
		{name: "public: another prefix", rules: "patterns", req: handlers.TopicRequest{Connection: alice, Topic: "newsletter"},
			want: handlers.CodeForbidden, reason: `"newsletter" may not be followed: not public; not the user's own`},

		{name: "user-scoped: own user", rules: "patterns", req: handlers.TopicRequest{Connection: alice, Topic: "user:alice:inbox"}},
		{name: "user-scoped: another's", rules: "patterns", req: handlers.TopicRequest{Connection: bob, Topic: "user:alice:inbox"},
			want: handlers.CodeForbidden, reason: "not the user's own"},
		{name: "user-scoped: no user", rules: "patterns", req: handlers.TopicRequest{Connection: nobody, Topic: "user::inbox"},
			want: handlers.CodeForbidden, reason: "the connection has no user"},
		{name: "user-scoped: a '*' in a user id is literal", rules: "patterns", req: handlers.TopicRequest{Connection: star, Topic: "user:a*:inbox"}},
		{name: "user-scoped: a '*' in a user id is no wildcard", rules: "patterns", req: handlers.TopicRequest{Connection: star, Topic: "user:alice:inbox"},
			want: handlers.CodeForbidden},

		{name: "grant", rules: "none", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Grants: ParseGrants(`["order:42"]`)}},
		{name: "grant with {user}", rules: "none", req: handlers.TopicRequest{Connection: alice, Topic: "order:alice:7", Grants: ParseGrants(`["order:{user}:*"]`)}},
		{name: "grant with {user}, no user", rules: "none", req: handlers.TopicRequest{Connection: nobody, Topic: "order::7", Grants: ParseGrants(`["order:{user}:*"]`)},
			want: handlers.CodeForbidden, reason: "not granted at connect"},
		{name: "grant: another topic", rules: "patterns", req: handlers.TopicRequest{Connection: alice, Topic: "order:43", Grants: []string{"order:42"}},
			want: handlers.CodeForbidden, reason: "not public; not the user's own; not granted at connect"},

		{name: "HS256 token", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: hs(nil)}},
		{name: "HS256 token: {user} pattern", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:alice:7", Token: hs(nil)}},
		{name: "HS256 token: expired within the leeway", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() })}},
		{name: "HS256 token: bearer (no sub), no user", rules: "hs256", req: handlers.TopicRequest{Connection: nobody, Topic: "order:42", Token: hs(noSub)}},
		{name: "HS256 token: bearer (no sub), a user", rules: "hs256", req: handlers.TopicRequest{Connection: bob, Topic: "order:42", Token: hs(noSub)}},
		{name: "HS256 token: topic not in it", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:43", Token: hs(nil)},
			want: handlers.CodeForbidden, reason: "the token does not grant it"},
		{name: "HS256 token: another user's", rules: "hs256", req: handlers.TopicRequest{Connection: bob, Topic: "order:42", Token: hs(nil)},
			want: handlers.CodeForbidden, reason: "the token is for another user"},
		{name: "HS256 token: with sub, no user", rules: "hs256", req: handlers.TopicRequest{Connection: nobody, Topic: "order:42", Token: hs(nil)},
			want: handlers.CodeForbidden, reason: "the connection has none"},
		{name: "HS256 token: expired", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })},
			want: handlers.CodeForbidden, reason: "the token has expired"},
		{name: "HS256 token: not yet valid", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Minute).Unix() })},
			want: handlers.CodeForbidden, reason: "the token is not valid yet"},
		{name: "HS256 token: no exp", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { delete(c, "exp") })},
			want: handlers.CodeForbidden, reason: "lacks a required claim"},
		{name: "HS256 token: wrong issuer", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["iss"] = "https://elsewhere.test" })},
			want: handlers.CodeForbidden, reason: "the token's issuer is not accepted"},
		{name: "HS256 token: wrong audience", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["aud"] = []string{"another-app"} })},
			want: handlers.CodeForbidden, reason: "the token's audience is not accepted"},
		{name: "HS256 token: topics claim not an array", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: hs(func(c jwt.MapClaims) { c["topics"] = "order:42" })},
			want: handlers.CodeForbidden, reason: "the token's topics claim is not an array of strings"},
		{name: "HS256 token: bad signature", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: signHS256(t, []byte("another secret of thirty-two bytes or more"), claims(nil), nil)},
			want: handlers.CodeForbidden, reason: "the token's signature is invalid"},
		{name: "HS256 token: alg none", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: signNone(t, claims(nil))},
			want: handlers.CodeForbidden, reason: "the token's signing algorithm is not accepted"},
		{name: "HS256 rules: an RS256 token", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: sign(t, rsaKey, claims(nil))},
			want: handlers.CodeForbidden, reason: "the token's signing algorithm is not accepted"},
		{name: "HS256 token: malformed", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: "not.a-token"},
			want: handlers.CodeForbidden, reason: "the token is malformed"},
		{name: "HS256 rules: no token", rules: "hs256", req: handlers.TopicRequest{Connection: alice, Topic: "order:42"},
			want: handlers.CodeForbidden, reason: "no subscription token"},
		{name: "no token rule: a token", rules: "patterns", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: hs(nil)},
			want: handlers.CodeForbidden, reason: "subscription tokens are not taken here"},

		{name: "RS256 token from the JWKS", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: sign(t, rsaKey, claims(nil))}},
		{name: "ES256 token from the JWKS", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: sign(t, ecKey, claims(nil))}},
		{name: "JWKS token: another user's", rules: "jwks", req: handlers.TopicRequest{Connection: bob, Topic: "order:42", Token: sign(t, rsaKey, claims(nil))},
			want: handlers.CodeForbidden, reason: "the token is for another user"},
		{name: "JWKS token: expired", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: sign(t, rsaKey, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
			want: handlers.CodeForbidden, reason: "the token has expired"},
		{name: "JWKS token: bad signature (another key, same kid)", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: sign(t, signingKey{"rsa-1", keys.rsa2}, claims(nil))},
			want: handlers.CodeForbidden, reason: "the token's signature is invalid"},
		{name: "JWKS token: alg none", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: signNone(t, claims(nil))},
			want: handlers.CodeForbidden, reason: "the token's signing algorithm is not accepted"},
		{name: "JWKS token: HS256 signed with the RSA public key (algorithm confusion)", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: signHS256(t, publicPEM(t, keys.rsa1), claims(nil), map[string]any{"kid": "rsa-1"})},
			want: handlers.CodeForbidden, reason: "the token's signing algorithm is not accepted"},
		{name: "JWKS token: HS256 signed with the raw RSA modulus", rules: "jwks", req: handlers.TopicRequest{Connection: alice, Topic: "order:42",
			Token: signHS256(t, keys.rsa1.N.Bytes(), claims(nil), map[string]any{"kid": "rsa-1"})},
			want: handlers.CodeForbidden, reason: "the token's signing algorithm is not accepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := rules[tc.rules].AuthorizeTopic(t.Context(), tc.req)
			if got := code(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
			if err == nil {
				return
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("reason %q does not say %q", err, tc.reason)
			}
			if tc.req.Token != "" && strings.Contains(err.Error(), tc.req.Token) {
				t.Errorf("reason %q holds the token", err)
			}
		})
	}
}

// TestAuthorizeTopicWithoutAUser: a connection without a user (ANONYMOUS_CONNECTIONS)
// is asked about like anyone's, the hook told that it has none ("user": ""); the
// matrix above holds the other rules for it (open, public, user-scoped, grants, tokens
// with and without a sub).
func TestAuthorizeTopicWithoutAUser(t *testing.T) {
	srv := newHookServer(t)
	r := newRules(t, Config{UserScoped: []string{"user:{user}:*"}, HookURL: srv.URL})
	viewer := handlers.Connection{ConnectionID: "c-viewer"}
	if err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Connection: viewer, Topic: "hook:allow"}); err != nil {
		t.Fatalf("the hook allows: %v", err)
	}
	err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Connection: viewer, Topic: "hook:deny"})
	if code(err) != handlers.CodeForbidden || !strings.Contains(err.Error(), "the connection has no user to own it") {
		t.Errorf("the hook denies: %v, want forbidden, saying the connection has no user", err)
	}
	asked := srv.requests()
	want := map[string]string{"user": "", "connection_id": "c-viewer", "topic": "hook:allow"}
	if len(asked) != 2 || !maps.Equal(asked[0], want) {
		t.Errorf("the hook was asked %v, want %v first", asked, want)
	}
}
