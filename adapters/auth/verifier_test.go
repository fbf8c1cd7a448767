package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerify: what a $connect authorizer gets of a token it verifies.
func TestVerify(t *testing.T) {
	v, err := NewVerifier(t.Context(), VerifierConfig{Secret: testSecret, Issuer: testIssuer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := func(edit func(jwt.MapClaims)) string { return signHS256(t, []byte(testSecret), claims(edit), nil) }

	cases := []struct {
		name        string
		token       string
		wantErr     string // in the TokenError's reason, "" for none
		wantSubject string
		claim       string
		wantStrings []string
		stringsErr  bool
		wantString  string
	}{
		{name: "subject and topics", token: hs(nil), wantSubject: "alice", claim: "topics", wantStrings: []string{"order:42", "order:{user}:*"}},
		{name: "a user claim", token: hs(func(c jwt.MapClaims) { c["email"] = "alice@example.test" }), wantSubject: "alice",
			claim: "email", stringsErr: true, wantString: "alice@example.test"},
		{name: "no such claim", token: hs(nil), wantSubject: "alice", claim: "scopes"},
		{name: "an array holding a number", token: hs(func(c jwt.MapClaims) { c["topics"] = []any{"a", 1} }), wantSubject: "alice",
			claim: "topics", stringsErr: true},
		{name: "no sub", token: hs(func(c jwt.MapClaims) { delete(c, "sub") }), claim: "topics", wantStrings: []string{"order:42", "order:{user}:*"}},
		{name: "sub not a string", token: hs(func(c jwt.MapClaims) { c["sub"] = 42 }), wantErr: "sub is not a string"},
		{name: "too long", token: hs(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", MaxTokenLength) }), wantErr: "too long"},
		{name: "empty", token: "", wantErr: "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(t.Context(), tc.token)
			if tc.wantErr != "" {
				var te *TokenError
				if !errors.As(err, &te) || !strings.Contains(te.Reason, tc.wantErr) {
					t.Fatalf("err %v, want a TokenError saying %q", err, tc.wantErr)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Errorf("err %q holds the token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != tc.wantSubject {
				t.Errorf("Subject %q, want %q", c.Subject, tc.wantSubject)
			}
			got, err := c.Strings(tc.claim)
			if (err != nil) != tc.stringsErr || !slices.Equal(got, tc.wantStrings) {
				t.Errorf("Strings(%q) = %q, %v; want %q, error %t", tc.claim, got, err, tc.wantStrings, tc.stringsErr)
			}
			if got := c.String(tc.claim); got != tc.wantString {
				t.Errorf("String(%q) = %q, want %q", tc.claim, got, tc.wantString)
			}
		})
	}
}
