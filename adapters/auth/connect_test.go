package auth

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// newConnect returns the Connect of cfg, refreshing its keys until the test ends.
func newConnect(t testing.TB, cfg ConnectConfig) *Connect {
	t.Helper()
	c, err := NewConnect(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConnectAuthorize: who a $connect token shows is connecting, and how each bad one
// is refused: Unauthorized (a TokenError) for a token that is missing, forged, out of
// date or for someone else; Forbidden for a genuine one that shows no usable user or
// grants; ErrKeysUnavailable when the keys cannot be fetched. The claims are checked in
// depth by TestVerify and TestAuthorizeTopic; here, what Connect makes of them.
func TestConnectAuthorize(t *testing.T) {
	keys := testKeys()
	rsaKey, ecKey := signingKey{"rsa-1", keys.rsa1}, signingKey{"ec-1", keys.ec}
	jwks := newJWKSServer(t, rsaKey, ecKey)
	down := newJWKSServer(t)
	down.Close()
	token := VerifierConfig{Secret: testSecret, Issuer: testIssuer, Audience: testAudience}
	connects := map[string]*Connect{
		"hs256":     newConnect(t, ConnectConfig{Token: token}),
		"email":     newConnect(t, ConnectConfig{Token: token, UserClaim: "email", TopicsClaim: "scopes"}),
		"cognito":   newConnect(t, ConnectConfig{Token: token, UserClaim: "cognito:username"}),
		"jwks":      newConnect(t, ConnectConfig{Token: VerifierConfig{JWKSURL: jwks.URL, Issuer: testIssuer, Audience: testAudience}}),
		"jwks-down": newConnect(t, ConnectConfig{Token: VerifierConfig{JWKSURL: down.URL}}),
		"param":     newConnect(t, ConnectConfig{Token: token, TokenParam: "access_token"}),
	}
	hs := func(edit func(jwt.MapClaims)) string { return signHS256(t, []byte(testSecret), claims(edit), nil) }
	grants := []string{"order:42", "order:{user}:*"}

	cases := []struct {
		name       string
		connect    string
		token      string
		wantUser   string
		wantGrants []string
		reason     string // in the TokenError's reason, "" for none
		forbidden  bool
		wantIs     error // an error the refusal wraps
	}{
		{name: "HS256: sub and topics", connect: "hs256", token: hs(nil), wantUser: "alice", wantGrants: grants},
		{name: "no topics claim: no grants", connect: "hs256", token: hs(func(c jwt.MapClaims) { delete(c, "topics") }), wantUser: "alice"},
		{name: "empty topics claim", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["topics"] = []string{} }), wantUser: "alice", wantGrants: []string{}},
		{name: "user claim email, topics claim scopes", connect: "email",
			token:    hs(func(c jwt.MapClaims) { c["email"] = "alice@example.test"; c["scopes"] = []string{"news:*"} }),
			wantUser: "alice@example.test", wantGrants: []string{"news:*"}},
		{name: "user claim cognito:username", connect: "cognito",
			token:    hs(func(c jwt.MapClaims) { c["sub"] = "0b5e6c1a-uuid"; c["cognito:username"] = "alice" }),
			wantUser: "alice", wantGrants: grants},
		{name: "a user of MaxUserLength bytes", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", MaxUserLength) }),
			wantUser: strings.Repeat("a", MaxUserLength), wantGrants: grants},
		{name: "RS256 from the JWK set", connect: "jwks", token: sign(t, rsaKey, claims(nil)), wantUser: "alice", wantGrants: grants},
		{name: "ES256 from the JWK set", connect: "jwks", token: sign(t, ecKey, claims(nil)), wantUser: "alice", wantGrants: grants},

		{name: "missing token", connect: "hs256", token: "", reason: "no token (query parameter token)", wantIs: ErrNoToken},
		{name: "missing token, another parameter", connect: "param", token: "", reason: "query parameter access_token", wantIs: ErrNoToken},
		{name: "expired", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
			reason: "expired", wantIs: jwt.ErrTokenExpired},
		{name: "not valid yet", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
			reason: "not valid yet", wantIs: jwt.ErrTokenNotValidYet},
		{name: "no exp", connect: "hs256", token: hs(func(c jwt.MapClaims) { delete(c, "exp") }), reason: "required claim"},
		{name: "wrong issuer", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }),
			reason: "issuer", wantIs: jwt.ErrTokenInvalidIssuer},
		{name: "wrong audience", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["aud"] = "another-app" }),
			reason: "audience", wantIs: jwt.ErrTokenInvalidAudience},
		{name: "alg none", connect: "hs256", token: signNone(t, claims(nil)), reason: "algorithm"},
		{name: "alg none against a JWK set", connect: "jwks", token: signNone(t, claims(nil)), reason: "algorithm"},
		{name: "HS256 signed with the RSA public key (algorithm confusion)", connect: "jwks",
			token: signHS256(t, publicPEM(t, keys.rsa1), claims(nil), map[string]any{"kid": "rsa-1"}), reason: "algorithm"},
		{name: "bad signature", connect: "hs256", token: signHS256(t, []byte(testSecret+" but another"), claims(nil), nil),
			reason: "signature", wantIs: jwt.ErrTokenSignatureInvalid},
		{name: "RS256 with a key not in the set", connect: "jwks", token: sign(t, signingKey{"rsa-2", keys.rsa2}, claims(nil)), reason: "signing key is unknown"},
		{name: "RS256 against an HS256 secret", connect: "hs256", token: sign(t, rsaKey, claims(nil)), reason: "algorithm"},
		{name: "not a JWT", connect: "hs256", token: "not.a.jwt", reason: "malformed", wantIs: jwt.ErrTokenMalformed},
		{name: "JWK set down", connect: "jwks-down", token: sign(t, rsaKey, claims(nil)), reason: "could not be fetched", wantIs: ErrKeysUnavailable},

		{name: "no sub", connect: "hs256", token: hs(func(c jwt.MapClaims) { delete(c, "sub") }), reason: "names no user", forbidden: true},
		{name: "empty sub", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["sub"] = "" }), reason: "names no user", forbidden: true},
		{name: "no email claim", connect: "email", token: hs(nil), reason: "names no user", forbidden: true},
		{name: "email claim not a string", connect: "email", token: hs(func(c jwt.MapClaims) { c["email"] = []string{"alice@example.test"} }),
			reason: "names no user", forbidden: true},
		{name: "user over MaxUserLength", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", MaxUserLength+1) }),
			reason: "too long", forbidden: true},
		{name: "topics a string", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["topics"] = "order:42" }), reason: "topics are malformed", forbidden: true},
		{name: "topics holding a number", connect: "hs256", token: hs(func(c jwt.MapClaims) { c["topics"] = []any{"order:42", 7} }),
			reason: "topics are malformed", forbidden: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := connects[tc.connect].Authorize(t.Context(), tc.token)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if id.User != tc.wantUser || !slices.Equal(id.Grants, tc.wantGrants) || (id.Grants == nil) != (tc.wantGrants == nil) {
					t.Errorf("Identity %q %#v, want %q %#v", id.User, id.Grants, tc.wantUser, tc.wantGrants)
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Authorize: %v (Identity %+v), want a TokenError saying %q", err, id, tc.reason)
			}
			if !strings.Contains(te.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q (%v)", te.Reason, tc.reason, err)
			}
			if te.Forbidden != tc.forbidden {
				t.Errorf("Forbidden %t, want %t (%v)", te.Forbidden, tc.forbidden, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err %v, want it to wrap %v", err, tc.wantIs)
			}
			if !errors.Is(tc.wantIs, ErrKeysUnavailable) && errors.Is(err, ErrKeysUnavailable) {
				t.Errorf("err %v wraps ErrKeysUnavailable: a bad token would be answered 500", err)
			}
			if id.User != "" || id.Grants != nil {
				t.Errorf("a refusal came with Identity %+v", id)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("err %q holds the token", err)
			}
		})
	}
}

// TestConnectContext: the authorizer context of an identity, under the configured keys,
// the grants as FormatGrants writes them, so ParseGrants reads them back.
func TestConnectContext(t *testing.T) {
	cases := []struct {
		name       string
		cfg        ConnectConfig
		id         Identity
		userKey    string
		grantsKey  string
		wantGrants string
	}{
		{name: "default keys", id: Identity{User: "alice", Grants: []string{"order:42", "news:*"}},
			userKey: "user_id", grantsKey: "topics", wantGrants: `["order:42","news:*"]`},
		{name: "no grants", id: Identity{User: "alice"}, userKey: "user_id", grantsKey: "topics", wantGrants: `[]`},
		{name: "configured keys", cfg: ConnectConfig{UserKey: "uid", GrantsKey: "patterns"}, id: Identity{User: "bob", Grants: []string{`a"b`}},
			userKey: "uid", grantsKey: "patterns", wantGrants: `["a\"b"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Token = VerifierConfig{Secret: testSecret}
			ctx := newConnect(t, tc.cfg).Context(tc.id)
			if len(ctx) != 2 || ctx[tc.userKey] != tc.id.User || ctx[tc.grantsKey] != tc.wantGrants {
				t.Fatalf("Context %#v, want %s: %q and %s: %q", ctx, tc.userKey, tc.id.User, tc.grantsKey, tc.wantGrants)
			}
			if got := ParseGrants(ctx[tc.grantsKey]); !slices.Equal(got, tc.id.Grants) {
				t.Errorf("ParseGrants of the context = %q, want %q", got, tc.id.Grants)
			}
		})
	}
}

// TestConnectConfig: the configurations NewConnect refuses, checked after the defaults
// are applied, and the token parameter it reads.
func TestConnectConfig(t *testing.T) {
	token := VerifierConfig{Secret: testSecret}
	cases := []struct {
		name string
		cfg  ConnectConfig
		want string // in the error, "" for none
	}{
		{name: "a secret", cfg: ConnectConfig{Token: token}},
		{name: "a JWK set and every setting", cfg: ConnectConfig{Token: VerifierConfig{JWKSURL: "http://127.0.0.1:1/jwks.json"},
			TokenParam: "t", UserClaim: "email", TopicsClaim: "scopes", UserKey: "uid", GrantsKey: "patterns"}},
		{name: "no key", cfg: ConnectConfig{}, want: "set a secret or a JWKS URL"},
		{name: "a short secret", cfg: ConnectConfig{Token: VerifierConfig{Secret: "short"}}, want: "the secret is 5 bytes"},
		{name: "one key for user and grants", cfg: ConnectConfig{Token: token, UserKey: "who", GrantsKey: "who"}, want: `share the context key "who"`},
		{name: "grants under the default user key", cfg: ConnectConfig{Token: token, GrantsKey: DefaultUserKey}, want: "share the context key"},
		{name: "user under the default grants key", cfg: ConnectConfig{Token: token, UserKey: DefaultGrantsKey}, want: "share the context key"},
		{name: "user under principalId", cfg: ConnectConfig{Token: token, UserKey: "principalId"}, want: "principalId is API Gateway's"},
		{name: "grants under principalId", cfg: ConnectConfig{Token: token, GrantsKey: "principalId"}, want: "principalId is API Gateway's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConnect(t.Context(), tc.cfg, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("NewConnect: %v", err)
				}
				if want := cmp.Or(tc.cfg.TokenParam, DefaultConnectTokenParam); c.TokenParam() != want {
					t.Errorf("TokenParam %q, want %q", c.TokenParam(), want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewConnect: %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("err %q names the secret", err)
			}
			if verr := tc.cfg.WithDefaults().Validate(); verr == nil {
				t.Errorf("Validate of the config with its defaults passes; NewConnect said %v", err)
			}
		})
	}
}
