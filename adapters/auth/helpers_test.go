package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The HS256 secret, issuer and audience of the tests.
const (
	testSecret   = "a test secret of thirty-two bytes or more"
	testIssuer   = "https://issuer.test"
	testAudience = "pusher"
)

// testKeys are the key pairs of the tests, made once: RSA keys are slow to make under
// the race detector.
var testKeys = sync.OnceValue(func() (k struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec         *ecdsa.PrivateKey
}) {
	var err error
	if k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// signingKey is a private key and the id it is published under.
type signingKey struct {
	kid string
	key crypto.Signer
}

// claims are a token's claims, valid for an hour from now, for user alice, granting
// order:42 and order:{user}:*, from testIssuer for testAudience; edit lets a case
// change them.
func claims(edit func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":    testIssuer,
		"aud":    testAudience,
		"sub":    "alice",
		"exp":    time.Now().Add(time.Hour).Unix(),
		"topics": []string{"order:42", "order:{user}:*"},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// signHS256 returns c signed HS256 with secret.
func signHS256(t testing.TB, secret []byte, c jwt.MapClaims, headers map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	for k, v := range headers {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sign returns c signed with k, RS256 or ES256 as its key is, with its kid if it has
// one.
func sign(t testing.TB, k signingKey, c jwt.MapClaims) string {
	t.Helper()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := k.key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, c)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signNone returns c with alg none, unsigned.
func signNone(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publicPEM is the PEM of k's public key, as an attacker may use it for an HS256
// secret.
func publicPEM(t testing.TB, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// newRules returns the Rules of cfg, refreshing their keys until the test ends.
func newRules(t testing.TB, cfg Config) *Rules {
	t.Helper()
	r, err := NewRules(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// code is the code of err, a *handlers.ClientError, "" for nil and "not a client
// error" for another error.
func code(err error) string {
	var ce *handlers.ClientError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return ce.Code
	}
	return "not a client error: " + err.Error()
}

// jwksServer serves a JWK set on 127.0.0.1, counts its fetches, and can change its keys
// or fail.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32
	failing atomic.Bool

	mu   sync.Mutex
	keys []signingKey
}

func newJWKSServer(t testing.TB, keys ...signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// setKeys makes the server publish keys instead of the ones it had.
func (s *jwksServer) setKeys(keys ...signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) serve(w http.ResponseWriter, _ *http.Request) {
	s.fetches.Add(1)
	if s.failing.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, publicJWK(k))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// publicJWK is k's public key as a JWK (RFC 7518 6.2 and 6.3).
func publicJWK(k signingKey) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		return map[string]string{"kty": "RSA", "kid": k.kid, "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}
	case *ecdsa.PrivateKey:
		point, err := key.PublicKey.Bytes() // 0x04 || X || Y, each 32 bytes for P-256
		if err != nil {
			panic(err)
		}
		return map[string]string{"kty": "EC", "kid": k.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": b64(point[1:33]), "y": b64(point[33:])}
	}
	panic("unknown key type")
}
