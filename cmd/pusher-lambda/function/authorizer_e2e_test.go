//go:build linux

package function_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The issuer and audience of the authorizer's tokens in the tests.
const (
	tokenIssuer   = "https://issuer.e2e.test"
	tokenAudience = "pusher-e2e"
	// connectSecret is the HS256 key of $connect tokens, of the 32 bytes it needs.
	connectSecret = "e2e-connect-secret-of-32-bytes!!"
)

// TestAuthorizerAsDeployed runs the function as the $connect authorizer
// (PUSHER_ROLE=authorizer) under the Lambda Runtime Interface Emulator, and invokes it
// with REQUEST authorizer events as API Gateway sends them for a WebSocket API's
// $connect: it allows a good token with its user and grants in the context, and refuses
// every bad one, logging why but never the token.
func TestAuthorizerAsDeployed(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")

	t.Run("RS256 tokens of a JWK set that rotates its key", func(t *testing.T) {
		keys := newJWKS(t)
		fn := startAuthorizer(t, bootstrap, map[string]string{
			"CONNECT_TOKEN_JWKS_URL": keys.url,
			"CONNECT_TOKEN_ISSUER":   tokenIssuer,
			"CONNECT_TOKEN_AUDIENCE": tokenAudience,
		})
		good := keys.sign(t, "k1", claims("alice", nil))
		fn.allows(t, good, "alice", []string{"user:alice:*", "news"})
		fn.logInit(t)
		fetched := keys.fetches.Load()

		refused := []struct{ name, token string }{
			{"expired", keys.sign(t, "k1", claims("alice", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))},
			{"not yet valid", keys.sign(t, "k1", claims("alice", func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))},
			{"another issuer", keys.sign(t, "k1", claims("alice", func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }))},
			{"another audience", keys.sign(t, "k1", claims("alice", func(c jwt.MapClaims) { c["aud"] = "someone-else" }))},
			{"no exp", keys.sign(t, "k1", claims("alice", func(c jwt.MapClaims) { delete(c, "exp") }))},
			{"alg none", unsigned(t, claims("alice", nil))},
			{"HS256 signed with the RSA public key (algorithm confusion)", confused(t, keys.public("k1"), claims("alice", nil))},
			{"a bad signature", tamper(good)},
			{"garbage", "not.a.token"},
			{"missing", ""},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) { fn.unauthorized(t, tc.token) })
		}
		if n := keys.fetches.Load(); n != fetched {
			t.Errorf("refusing tokens of a known key fetched the JWK set %d times", n-fetched)
		}

		t.Run("a token without a user is denied", func(t *testing.T) {
			fn.denied(t, keys.sign(t, "k1", claims("", func(c jwt.MapClaims) { delete(c, "sub") })))
		})

		t.Run("the key rotates: a token of the new key fetches the set once", func(t *testing.T) {
			keys.rotate(t, "k2")
			fn.allows(t, keys.sign(t, "k2", claims("bob", nil)), "bob", []string{"user:alice:*", "news"})
			if n := keys.fetches.Load(); n != fetched+1 {
				t.Errorf("the new key took %d fetches of the JWK set, want 1", n-fetched)
			}
			fn.unauthorized(t, keys.sign(t, "k1", claims("alice", nil))) // the old key is gone
		})

		fn.neverLogged(t, good)
	})

	// HS256 tokens, their secret read at init from Secrets Manager or SSM Parameter
	// Store, as a deployment keeps it.
	secrets := awstest.StartSecrets(t)
	for _, store := range []struct{ name, arn string }{
		{"Secrets Manager", secrets.PutSecret("pusher/connect-key", connectSecret)},
		{"SSM Parameter Store", secrets.PutParameter("/pusher/connect-key", connectSecret, true)},
	} {
		t.Run("HS256 tokens, the secret from "+store.name, func(t *testing.T) {
			env := secrets.Env()
			env["CONNECT_TOKEN_SECRET_ARN"] = store.arn
			env["CONNECT_TOKEN_ISSUER"], env["CONNECT_TOKEN_AUDIENCE"] = tokenIssuer, tokenAudience
			fn := startAuthorizer(t, bootstrap, env)
			good := hs256(t, connectSecret, claims("carol", nil))
			fn.allows(t, good, "carol", []string{"user:alice:*", "news"})
			fn.logInit(t)
			for _, tc := range []struct{ name, token string }{
				{"expired", hs256(t, connectSecret, claims("carol", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))},
				{"not yet valid", hs256(t, connectSecret, claims("carol", func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))},
				{"another issuer", hs256(t, connectSecret, claims("carol", func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }))},
				{"another audience", hs256(t, connectSecret, claims("carol", func(c jwt.MapClaims) { c["aud"] = "someone-else" }))},
				{"alg none", unsigned(t, claims("carol", nil))},
				{"another secret", hs256(t, "another-secret-of-thirty-two-bytes", claims("carol", nil))},
				{"a bad signature", tamper(good)},
				{"missing", ""},
			} {
				t.Run(tc.name, func(t *testing.T) { fn.unauthorized(t, tc.token) })
			}
			fn.neverLogged(t, good)
			if strings.Contains(fn.rie.Output(), connectSecret) {
				t.Errorf("the log holds the secret")
			}
		})
	}

	t.Run("a secret that cannot be read ends the init, naming it", func(t *testing.T) {
		env := secrets.Env()
		env["CONNECT_TOKEN_SECRET_ARN"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/missing-AbCdEf"
		fn := startAuthorizer(t, bootstrap, env)
		resp, err := http.Post(fn.rie.URL(), "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		stacktest.Eventually(t, "the init error in the log", func() bool {
			return strings.Contains(fn.rie.Output(), "pusher-lambda: CONNECT_TOKEN_SECRET_ARN: get secret arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/missing-AbCdEf")
		})
	})

	t.Run("an unknown key id refreshes the set once, then is refused", func(t *testing.T) {
		keys := newJWKS(t)
		fn := startAuthorizer(t, bootstrap, map[string]string{"CONNECT_TOKEN_JWKS_URL": keys.url})
		fn.allows(t, keys.sign(t, "k1", claims("alice", nil)), "alice", []string{"user:alice:*", "news"})
		before := keys.fetches.Load()
		stranger := keys.signWith(t, "k9", newRSAKey(t), claims("alice", nil))
		fn.unauthorized(t, stranger)
		if n := keys.fetches.Load(); n != before+1 {
			t.Errorf("an unknown key id fetched the JWK set %d times, want once", n-before)
		}
		fn.unauthorized(t, stranger) // at most once a minute: no second fetch
		if n := keys.fetches.Load(); n != before+1 {
			t.Errorf("a second unknown key id fetched the JWK set again (%d fetches in all)", n-before)
		}
	})

	t.Run("a JWK set that cannot be fetched answers an error, not a refusal", func(t *testing.T) {
		keys := newJWKS(t)
		keys.down.Store(true)
		fn := startAuthorizer(t, bootstrap, map[string]string{"CONNECT_TOKEN_JWKS_URL": keys.url})
		body := fn.invoke(t, keys.sign(t, "k1", claims("alice", nil)))
		var failure struct{ ErrorMessage string }
		if json.Unmarshal(body, &failure) != nil || failure.ErrorMessage == "" || failure.ErrorMessage == "Unauthorized" {
			t.Errorf("answered %s, want a function error other than Unauthorized (API Gateway's 500)", body)
		}
	})
}

// TestAuthorizedConnectionsAsDeployed runs a deployment as the Terraform module makes
// it: the authorizer function and the pusher function (AUTHORIZER_REQUIRED), each under
// its own RIE, behind `pusher gateway --lambda-authorizer --lambda-integration` with
// live clients. The user of a connection is the token's, never the query string's, from
// its row to its subscriptions and its frames; a refused token leaves no row.
func TestAuthorizedConnectionsAsDeployed(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	keys := newJWKS(t)
	authz := startAuthorizer(t, bootstrap, map[string]string{
		"CONNECT_TOKEN_JWKS_URL": keys.url, "CONNECT_TOKEN_ISSUER": tokenIssuer, "CONNECT_TOKEN_AUDIENCE": tokenAudience,
	})
	d := deployBehind(t, s, bootstrap, map[string]string{
		"SUBSCRIPTIONS_TABLE_NAME": stacktest.SubscriptionsTable,
		"AUTHORIZER_REQUIRED":      "true",
	}, authz.rie.URL())

	t.Run("the token's user, not ?user_id=, from the row to the frames", func(t *testing.T) {
		token := keys.sign(t, "k1", claims("alice", nil)) // grants user:alice:* and news
		alice := d.dial(t, "alice", "token="+token+"&user_id=mallory&topic=user:alice:inbox")
		id := s.ConnectionID(t, "alice")
		if conns, err := s.Store.UserConnections(context.Background(), "mallory"); err != nil || len(conns) != 0 {
			t.Errorf("mallory, named by the query string, has %v %v", conns, err)
		}
		row := subscription(t, s, "user:alice:inbox", id)
		if user, _ := row["user_id"].(*types.AttributeValueMemberS); user == nil || user.Value != "alice" {
			t.Errorf("the $connect subscription is %v, want alice's", row)
		}
		// A message route carries the authorizer's context: its grants, and its user.
		alice.Send(t, `{"action":"subscribe","topic":"user:alice:orders"}`)
		if got := alice.Next(t); got != `{"type":"subscribed","topic":"user:alice:orders"}` {
			t.Errorf("a granted subscribe answered %s", got)
		}
		alice.Send(t, `{"action":"subscribe","topic":"user:bob:orders"}`)
		var frame struct{ Type, Code string }
		if got := alice.Next(t); json.Unmarshal([]byte(got), &frame) != nil || frame.Type != "error" || frame.Code != handlers.CodeForbidden {
			t.Errorf("a subscribe the token does not grant answered %s", got)
		}
		d.notify(t, `{"users":["alice"],"data":{"n":1}}`, `{"users":["mallory"],"data":{"n":2}}`)
		if got := alice.Next(t); got != `{"n":1}` {
			t.Errorf("alice got %s", got)
		}
		d.notify(t, `{"topics":["user:alice:orders"],"exclude_users":["alice"],"data":{"n":3}}`, `{"topics":["user:alice:inbox"],"data":{"n":4}}`)
		if got := alice.Next(t); got != `{"n":4}` {
			t.Errorf("alice got %s, want only the frame of the topic she follows and is not excluded from", got)
		}
		alice.Quiet(t, 300*time.Millisecond)
		alice.Close()
		stacktest.Eventually(t, "alice's row and subscriptions are deleted", func() bool {
			return connectionRow(t, s, "alice", id) == nil && subscription(t, s, "user:alice:inbox", id) == nil &&
				subscription(t, s, "user:alice:orders", id) == nil
		})
	})

	// Before the refusals: a token of a key id the set does not hold fetches it again at
	// most once a minute, and that one fetch would be the refused token's.
	t.Run("the key rotates while clients connect", func(t *testing.T) {
		keys.rotate(t, "k2")
		bob := d.dial(t, "bob", "token="+keys.sign(t, "k2", claims("bob", nil)))
		d.notify(t, `{"users":["bob"],"data":{"n":5}}`)
		if got := bob.Next(t); got != `{"n":5}` {
			t.Errorf("bob got %s", got)
		}
		bob.Close()
		gone(t, s, "bob")
	})
	t.Run("refused tokens leave no row", func(t *testing.T) { // k2 is the key now
		for _, tc := range []struct {
			name, query string
			status      int
		}{
			{"no token, a user_id", "user_id=mallory&topic=news", http.StatusUnauthorized},
			{"expired", "token=" + keys.sign(t, "k2", claims("mallory", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), http.StatusUnauthorized},
			{"another audience", "token=" + keys.sign(t, "k2", claims("mallory", func(c jwt.MapClaims) { c["aud"] = "other" })), http.StatusUnauthorized},
			{"alg none", "token=" + unsigned(t, claims("mallory", nil)), http.StatusUnauthorized},
			{"algorithm confusion", "token=" + confused(t, keys.public("k2"), claims("mallory", nil)), http.StatusUnauthorized},
			{"a key the set does not hold", "token=" + keys.signWith(t, "k7", newRSAKey(t), claims("mallory", nil)), http.StatusUnauthorized},
			{"no user", "token=" + keys.sign(t, "k2", claims("", func(c jwt.MapClaims) { delete(c, "sub") })) + "&user_id=mallory", http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d.refused(t, tc.query, tc.status)
				noRows(t, s, "mallory", "news")
			})
		}
	})

	authz.neverLogged(t, keys.sign(t, "k2", claims("bob", nil)))
}

// authorizerFn is the function deployed as the authorizer, under the RIE.
type authorizerFn struct {
	rie *awstest.RIE
}

// startAuthorizer runs bootstrap as the $connect authorizer under the RIE with env,
// until the test ends.
func startAuthorizer(t *testing.T, bootstrap string, env map[string]string) *authorizerFn {
	t.Helper()
	fnEnv := map[string]string{"PUSHER_ROLE": "authorizer", "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "10", "LOG_LEVEL": "info"}
	for k, v := range env {
		fnEnv[k] = v
	}
	return &authorizerFn{rie: awstest.StartRIE(t, bootstrap, fnEnv)}
}

// methodArn is the ARN of the test API's $connect route, as API Gateway gives it.
const methodArn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect"

// authorizerEvent is the REQUEST authorizer event of a $connect with token in its
// query string (none when ""), field by field as the example of "Control access to
// WebSocket APIs with AWS Lambda REQUEST authorizers" shows it.
func authorizerEvent(token string) authorizer.Event {
	headers := map[string]string{
		"Connection": "upgrade", "content-length": "0", "Host": "abcdef123.execute-api.us-east-1.amazonaws.com",
		"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13", "Upgrade": "websocket", "X-Amzn-Trace-Id": "Root=1-63c9b5f6-0123456789abcdef01234567",
		"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
	}
	ev := authorizer.Event{
		Type: "REQUEST", MethodArn: methodArn, Headers: headers, MultiValueHeaders: map[string][]string{},
		StageVariables: map[string]string{},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", ExtendedRequestID: "e2eAuthReqId=", RequestTime: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
			MessageDirection: "IN", Stage: "default", ConnectedAt: time.Now().UnixMilli(), RequestTimeEpoch: time.Now().UnixMilli(),
			Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"}, RequestID: "e2eAuthReqId=",
			DomainName: "abcdef123.execute-api.us-east-1.amazonaws.com", ConnectionID: "e2eConnId0000A=", APIID: "abcdef123",
		},
	}
	for k, v := range headers {
		ev.MultiValueHeaders[k] = []string{v}
	}
	if token != "" {
		ev.QueryStringParameters = map[string]string{"token": token}
		ev.MultiValueQueryStringParameters = map[string][]string{"token": {token}}
	}
	return ev
}

// invoke invokes the authorizer with the event of token and returns its answer.
func (a *authorizerFn) invoke(t *testing.T, token string) []byte {
	t.Helper()
	payload, err := json.Marshal(authorizerEvent(token))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := a.rie.Invoke(t, payload)
	return body
}

// allows checks that token is allowed as user, with grants in the context.
func (a *authorizerFn) allows(t *testing.T, token, user string, grants []string) {
	t.Helper()
	body := a.invoke(t, token)
	resp, err := authorizer.DecodeResponse(body)
	if err != nil || !authorizer.Allows(resp, methodArn) {
		t.Fatalf("answered %s (%v), want an Allow policy for %s", body, err, methodArn)
	}
	if resp.PrincipalID != user || resp.Context["user_id"] != user {
		t.Errorf("allowed principal %q with context %v, want user %s", resp.PrincipalID, resp.Context, user)
	}
	if got := auth.ParseGrants(resp.Context["topics"]); strings.Join(got, ",") != strings.Join(grants, ",") {
		t.Errorf("granted %q, want %q", got, grants)
	}
}

// unauthorized checks that token is refused with the error API Gateway answers 401.
func (a *authorizerFn) unauthorized(t *testing.T, token string) {
	t.Helper()
	body := a.invoke(t, token)
	var failure struct{ ErrorMessage string }
	if json.Unmarshal(body, &failure) != nil || failure.ErrorMessage != "Unauthorized" {
		t.Errorf("answered %s, want the error Unauthorized", body)
	}
}

// denied checks that token is answered with a policy that does not allow $connect.
func (a *authorizerFn) denied(t *testing.T, token string) {
	t.Helper()
	body := a.invoke(t, token)
	resp, err := authorizer.DecodeResponse(body)
	if err != nil || resp.PrincipalID == "" || len(resp.PolicyDocument.Statement) == 0 || authorizer.Allows(resp, methodArn) {
		t.Errorf("answered %s (%v), want a Deny policy", body, err)
	}
}

// logInit logs how long the authorizer's init took, its key fetched: the RIE's INIT
// REPORT (exec of bootstrap to its first /next) and main to ready. See them with
// go test -count=1 -v -run TestAuthorizerAsDeployed ./cmd/pusher-lambda/function/ | grep init:
func (a *authorizerFn) logInit(t *testing.T) {
	t.Helper()
	t.Logf("init: %s ms (INIT REPORT), %s ms (main to ready)",
		a.rie.Find(t, `INIT REPORT\(durationMs: ([0-9.]+)\)`), a.rie.Find(t, `"init_ms":([0-9.]+)`))
}

// neverLogged checks that the function's output does not hold token, nor its
// signature alone.
func (a *authorizerFn) neverLogged(t *testing.T, token string) {
	t.Helper()
	out := a.rie.Output()
	if !strings.Contains(out, `"outcome":"allow"`) || !strings.Contains(out, `"outcome":"unauthorized"`) {
		t.Errorf("the log has no outcome of the answers:\n%s", out)
	}
	if strings.Contains(out, token) || strings.Contains(out, token[strings.LastIndex(token, ".")+1:]) {
		t.Errorf("the log holds a token:\n%s", out)
	}
}

// claims are a token's claims for user (no sub when ""), valid for an hour, of the
// test's issuer and audience, granting user:alice:* and news; edit changes them.
func claims(user string, edit func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": tokenIssuer, "aud": tokenAudience, "sub": user,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"topics": []string{"user:alice:*", "news"},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

// hs256 returns c signed HS256 with secret.
func hs256(t *testing.T, secret string, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned returns c as a token of alg none.
func unsigned(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// confused returns c signed HS256 with the PEM of an RSA public key as the secret: the
// algorithm confusion attack on a verifier that takes the key's bytes for any alg.
func confused(t *testing.T, pub *rsa.PublicKey, c jwt.MapClaims) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return hs256(t, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), c)
}

// tamper returns token with the last character of its signature changed.
func tamper(token string) string {
	last := token[len(token)-2]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	return token[:len(token)-2] + string(swap) + token[len(token)-1:]
}

// jwks is a JWK set served over HTTP, counting its fetches, whose key can rotate.
type jwks struct {
	url     string
	fetches atomic.Int64
	down    atomic.Bool // answer 503

	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // by kid: every key made, published or not
	kid  string                     // the published one
}

// newJWKS serves, until the test ends, a JWK set publishing the key k1.
func newJWKS(t *testing.T) *jwks {
	k := &jwks{keys: map[string]*rsa.PrivateKey{}}
	k.rotate(t, "k1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		if k.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		k.mu.Lock()
		pub := k.keys[k.kid].PublicKey
		kid := k.kid
		k.mu.Unlock()
		b64 := base64.RawURLEncoding.EncodeToString
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	}))
	t.Cleanup(srv.Close)
	k.url = srv.URL + "/.well-known/jwks.json"
	return k
}

// rotate makes a new key kid and publishes it in place of the last.
func (k *jwks) rotate(t *testing.T, kid string) {
	key := newRSAKey(t)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[kid], k.kid = key, kid
}

// public returns the public key kid.
func (k *jwks) public(kid string) *rsa.PublicKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return &k.keys[kid].PublicKey
}

// sign returns c signed RS256 with the key kid.
func (k *jwks) sign(t *testing.T, kid string, c jwt.MapClaims) string {
	k.mu.Lock()
	key := k.keys[kid]
	k.mu.Unlock()
	return k.signWith(t, kid, key, c)
}

// signWith returns c signed RS256 with key, under the key id kid.
func (k *jwks) signWith(t *testing.T, kid string, key *rsa.PrivateKey, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
