package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestJWKS follows one JWK set server through what it does to the keys: each step a
// token and the code its topic gets, and how many times the set was fetched by then.
func TestJWKS(t *testing.T) {
	keys := testKeys()
	old, rotated := signingKey{"key-2024", keys.rsa1}, signingKey{"key-2025", keys.rsa2}
	unknown := signingKey{"key-made-up", keys.rsa2}
	alice := handlers.Connection{UserID: "alice", ConnectionID: "c-alice"}

	type step struct {
		name    string
		before  func(s *jwksServer)
		key     signingKey
		want    string // the code, "" for allowed
		reason  string
		fetches int32 // of the set, once the step is done
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{name: "unknown kid: fetched again once, then refused", steps: []step{
			{name: "known kid", key: old, fetches: 1},
			{name: "unknown kid", key: unknown, want: handlers.CodeForbidden, reason: "signing key is unknown", fetches: 2},
			{name: "unknown kid again, within the min refresh", key: unknown, want: handlers.CodeForbidden, reason: "signing key is unknown", fetches: 2},
			{name: "known kid, not fetched", key: old, fetches: 2},
			{name: "no kid: every key is tried", key: signingKey{key: keys.rsa1}, fetches: 2},
		}},
		{name: "the key rotates: the new kid is fetched and taken, the old one is gone", steps: []step{
			{name: "old kid", key: old, fetches: 1},
			{name: "new kid", before: func(s *jwksServer) { s.setKeys(rotated) }, key: rotated, fetches: 2},
			{name: "old kid, withdrawn", key: old, want: handlers.CodeForbidden, reason: "signing key is unknown", fetches: 2},
		}},
		{name: "the server fails: cached keys still verify, a new kid is unavailable", steps: []step{
			{name: "known kid", key: old, fetches: 1},
			{name: "known kid, server failing", before: func(s *jwksServer) { s.failing.Store(true) }, key: old, fetches: 1},
			{name: "new kid, server failing", key: rotated, want: handlers.CodeUnavailable, reason: "signing keys could not be fetched", fetches: 2},
		}},
		{name: "the server is down from the start: unavailable", steps: []step{
			{name: "known kid", before: func(s *jwksServer) { s.Close() }, key: old, want: handlers.CodeUnavailable, reason: "signing keys could not be fetched"},
			{name: "no kid", key: signingKey{key: keys.rsa1}, want: handlers.CodeUnavailable, reason: "signing keys could not be fetched"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, old)
			if first := tc.steps[0].before; first != nil {
				first(srv) // before the rules fetch the set
			}
			r := newRules(t, Config{Token: VerifierConfig{JWKSURL: srv.URL}})
			for i, s := range tc.steps {
				if s.before != nil && i > 0 {
					s.before(srv)
				}
				err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Connection: alice, Topic: "order:42", Token: sign(t, s.key, claims(nil))})
				if got := code(err); got != s.want {
					t.Fatalf("%s: code %q (%v), want %q", s.name, got, err, s.want)
				}
				if err != nil && !strings.Contains(err.Error(), s.reason) {
					t.Errorf("%s: reason %q does not say %q", s.name, err, s.reason)
				}
				if got := srv.fetches.Load(); got != s.fetches {
					t.Errorf("%s: the set was fetched %d times, want %d", s.name, got, s.fetches)
				}
			}
		})
	}
}

// TestJWKSUnavailableOtherRules: keys that cannot be fetched leave a topic unavailable
// only when no other rule allows it, and the hook is still asked.
func TestJWKSUnavailableOtherRules(t *testing.T) {
	srv := newJWKSServer(t)
	srv.Close()
	hook := newHookServer(t)
	r := newRules(t, Config{Public: []string{"news:*"}, Token: VerifierConfig{JWKSURL: srv.URL}, HookURL: hook.URL})
	token := sign(t, signingKey{"k", testKeys().rsa1}, claims(nil))
	alice := handlers.Connection{UserID: "alice", ConnectionID: "c-alice"}

	cases := []struct {
		topic string
		want  string
	}{
		{topic: "news:today"},
		{topic: "hook:allow"},
		{topic: "hook:deny", want: handlers.CodeUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.topic, func(t *testing.T) {
			err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Connection: alice, Topic: tc.topic, Token: token})
			if got := code(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// TestVerifierKeysUnavailable: a $connect authorizer tells keys it could not fetch
// from a bad token by ErrKeysUnavailable.
func TestVerifierKeysUnavailable(t *testing.T) {
	srv := newJWKSServer(t)
	srv.Close()
	v, err := NewVerifier(t.Context(), VerifierConfig{JWKSURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(t.Context(), sign(t, signingKey{"k", testKeys().ec}, claims(nil)))
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err %v, want ErrKeysUnavailable", err)
	}
	_, err = v.Verify(t.Context(), signNone(t, claims(func(c jwt.MapClaims) { c["sub"] = "mallory" })))
	if err == nil || errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("alg none: err %v, want a refusal", err)
	}
}
