package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzConnectAuthorize feeds the $connect check any token, as a client may send any
// query string: it never panics; a token it takes names a user within MaxUserLength
// and verifies HS256 with the secret by itself, so that nothing but a token signed
// with the key passes; and a refusal is a *TokenError that never holds the token.
func FuzzConnectAuthorize(f *testing.F) {
	f.Add(signHS256(f, []byte(testSecret), claims(nil), nil))
	f.Add(signHS256(f, []byte(testSecret), claims(func(c jwt.MapClaims) { c["topics"] = "not a list" }), nil))
	f.Add(signHS256(f, []byte(testSecret), claims(func(c jwt.MapClaims) { delete(c, "sub") }), nil))
	f.Add(signNone(f, claims(nil)))
	f.Add(signHS256(f, []byte("another secret of thirty-two bytes!!"), claims(nil), nil))
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	c, err := NewConnect(f.Context(), ConnectConfig{Token: VerifierConfig{Secret: testSecret, Issuer: testIssuer, Audience: testAudience}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := c.Authorize(t.Context(), token)
		if err != nil {
			var refused *TokenError
			if !errors.As(err, &refused) {
				t.Fatalf("refused with %T %v, not a *TokenError", err, err)
			}
			if len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatalf("the refusal %q holds the token", err)
			}
			return
		}
		if id.User == "" || len(id.User) > MaxUserLength {
			t.Fatalf("took a token of user %q", id.User)
		}
		if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()); err != nil {
			t.Fatalf("took a token that does not verify with the key: %v", err)
		}
	})
}
