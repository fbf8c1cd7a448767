package auth

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // in the error, "" for none
	}{
		{name: "zero"},
		{name: "all rules", cfg: Config{Open: true, Public: []string{"news:*"}, UserScoped: []string{"user:{user}:*"},
			Token: VerifierConfig{JWKSURL: "https://issuer.test/jwks.json", Issuer: "i", Audience: "a"}, HookURL: "http://127.0.0.1:1/hook"}},
		{name: "empty public pattern", cfg: Config{Public: []string{""}}, want: "public: an empty pattern"},
		{name: "public pattern with {user}", cfg: Config{Public: []string{"u:{user}"}}, want: "make it user-scoped"},
		{name: "user-scoped pattern without {user}", cfg: Config{UserScoped: []string{"news:*"}}, want: "make it public"},
		{name: "secret and JWKS", cfg: Config{Token: VerifierConfig{Secret: testSecret, JWKSURL: "https://issuer.test/jwks"}}, want: "not both"},
		{name: "short secret", cfg: Config{Token: VerifierConfig{Secret: "short"}}, want: "the secret is 5 bytes"},
		{name: "relative JWKS URL", cfg: Config{Token: VerifierConfig{JWKSURL: "/jwks.json"}}, want: "not an absolute http(s) URL"},
		{name: "negative leeway", cfg: Config{Token: VerifierConfig{Secret: testSecret, Leeway: -time.Second}}, want: "leeway is negative"},
		{name: "hook URL without scheme", cfg: Config{HookURL: "hooks.internal/topic"}, want: "hook: URL"},
		{name: "negative hook timeout", cfg: Config{HookTimeout: -time.Second}, want: "timeout is negative"},
		{name: "an issuer without a key", cfg: Config{Token: VerifierConfig{Issuer: "i"}}, want: "set a secret or a JWKS URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), testSecret):
				t.Fatalf("Validate: %v names the secret", err)
			}
		})
	}
}

func TestConfigHasRules(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want bool
	}{
		{name: "zero"},
		{name: "issuer without a key", cfg: Config{Token: VerifierConfig{Issuer: "i"}}},
		{name: "open", cfg: Config{Open: true}, want: true},
		{name: "public", cfg: Config{Public: []string{"news:*"}}, want: true},
		{name: "user-scoped", cfg: Config{UserScoped: []string{"u:{user}"}}, want: true},
		{name: "secret", cfg: Config{Token: VerifierConfig{Secret: testSecret}}, want: true},
		{name: "JWKS", cfg: Config{Token: VerifierConfig{JWKSURL: "https://issuer.test/jwks"}}, want: true},
		{name: "hook", cfg: Config{HookURL: "http://127.0.0.1:1/hook"}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.HasRules(); got != tc.want {
				t.Errorf("HasRules: %t, want %t", got, tc.want)
			}
		})
	}
}
