package authorizer_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
)

// The HS256 secret, issuer and audience of the tests.
const (
	testSecret   = "a test secret of thirty-two bytes or more"
	testIssuer   = "https://issuer.test"
	testAudience = "pusher"
)

// documentedEvent is the $connect authorizer event of testdata/connect-request.json,
// the example of "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html)
// with its "..." filled in, carrying token in its query string as a client's
// wss://HOST/STAGE?token=JWT does ("" for none).
func documentedEvent(t *testing.T, token string) authorizer.Event {
	t.Helper()
	b, err := os.ReadFile("testdata/connect-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev authorizer.Event
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // every field AWS documents has its place in Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode the documented event: %v", err)
	}
	if token != "" {
		ev.QueryStringParameters["token"] = token
		ev.MultiValueQueryStringParameters["token"] = []string{token}
	}
	return ev
}

// TestDocumentedEvent: the event as AWS documents it decodes into Event.
func TestDocumentedEvent(t *testing.T) {
	ev := documentedEvent(t, "")
	rc := ev.RequestContext
	checks := []struct{ name, got, want string }{
		{"type", ev.Type, "REQUEST"},
		{"methodArn", ev.MethodArn, connectArn},
		{"header", ev.Headers["HeaderAuth1"], "headerValue1"},
		{"multi-value header", strings.Join(ev.MultiValueHeaders["Sec-WebSocket-Version"], ","), "13"},
		{"query parameter", ev.QueryStringParameters["QueryString1"], "queryValue1"},
		{"multi-value query parameter", strings.Join(ev.MultiValueQueryStringParameters["QueryString1"], ","), "queryValue1"},
		{"routeKey", rc.RouteKey, "$connect"},
		{"eventType", rc.EventType, "CONNECT"},
		{"messageDirection", rc.MessageDirection, "IN"},
		{"stage", rc.Stage, "default"},
		{"connectionId", rc.ConnectionID, "ZkW0bfdyoAMCJ2A="},
		{"requestId", rc.RequestID, "ZkW0bHsFoAMF3cw="},
		{"apiId", rc.APIID, "abcdef123"},
		{"domainName", rc.DomainName, "abcdef123.execute-api.us-east-1.amazonaws.com"},
		{"sourceIp", rc.Identity.SourceIP, "203.0.113.7"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if rc.ConnectedAt != 1674162806344 || rc.RequestTimeEpoch != 1674162806345 {
		t.Errorf("connectedAt %d, requestTimeEpoch %d; want 1674162806344, 1674162806345", rc.ConnectedAt, rc.RequestTimeEpoch)
	}
	if ev.StageVariables == nil || len(ev.StageVariables) != 0 {
		t.Errorf("stageVariables %v, want {}", ev.StageVariables)
	}
}

// hs256 returns claims, from testIssuer for testAudience and valid for an hour, signed
// with testSecret; edit changes them.
func hs256(t *testing.T, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix(), "topics": []string{"order:42", "order:{user}:*"}}
	if edit != nil {
		edit(c)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newHandler returns the Handler of cfg, logging as JSON to the buffer it returns.
func newHandler(t *testing.T, cfg auth.ConnectConfig) (*authorizer.Handler, *bytes.Buffer) {
	t.Helper()
	connect, err := auth.NewConnect(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h, err := authorizer.New(connect, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return h, &logs
}

// TestAuthorize answers the documented event with each kind of token: Allow with the
// user and grants, Deny for a genuine token naming no user, Unauthorized for a bad one.
// Each answer is logged once, with its outcome and reason, never with the token.
func TestAuthorize(t *testing.T) {
	tokenCfg := auth.VerifierConfig{Secret: testSecret, Issuer: testIssuer, Audience: testAudience}
	cases := []struct {
		name        string
		token       string
		wantUser    string // the principal and the context's user of an Allow
		wantGrants  string // the context's grants of an Allow
		wantOutcome string // allow, deny or unauthorized
		wantReason  string // in the log line's reason
	}{
		{name: "valid", token: hs256(t, nil), wantUser: "alice", wantGrants: `["order:42","order:{user}:*"]`, wantOutcome: "allow"},
		{name: "valid, no topics", token: hs256(t, func(c jwt.MapClaims) { delete(c, "topics") }), wantUser: "alice", wantGrants: `[]`, wantOutcome: "allow"},
		{name: "no token", wantOutcome: "unauthorized", wantReason: "no token"},
		{name: "expired", token: hs256(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), wantOutcome: "unauthorized", wantReason: "expired"},
		{name: "not valid yet", token: hs256(t, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), wantOutcome: "unauthorized", wantReason: "not valid yet"},
		{name: "wrong issuer", token: hs256(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }), wantOutcome: "unauthorized", wantReason: "issuer"},
		{name: "wrong audience", token: hs256(t, func(c jwt.MapClaims) { c["aud"] = "another" }), wantOutcome: "unauthorized", wantReason: "audience"},
		{name: "bad signature", token: func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "mallory",
				"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(testSecret + " but another"))
			return s
		}(), wantOutcome: "unauthorized", wantReason: "signature"},
		{name: "alg none", token: func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}).
				SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), wantOutcome: "unauthorized", wantReason: "algorithm"},
		{name: "no user", token: hs256(t, func(c jwt.MapClaims) { delete(c, "sub") }), wantOutcome: "deny", wantReason: "names no user"},
		{name: "malformed topics", token: hs256(t, func(c jwt.MapClaims) { c["topics"] = "order:42" }), wantOutcome: "deny", wantReason: "topics are malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newHandler(t, auth.ConnectConfig{Token: tokenCfg})
			ev := documentedEvent(t, tc.token)
			resp, err := h.Authorize(t.Context(), ev)
			switch tc.wantOutcome {
			case "allow":
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if !authorizer.Allows(resp, ev.MethodArn) || resp.PrincipalID != tc.wantUser {
					t.Fatalf("answer %+v, want an Allow of %s for %s", resp, ev.MethodArn, tc.wantUser)
				}
				if authorizer.Allows(resp, disconnectArn) {
					t.Errorf("the Allow of $connect allows $disconnect too: %+v", resp.PolicyDocument)
				}
				if resp.Context[auth.DefaultUserKey] != tc.wantUser || resp.Context[auth.DefaultGrantsKey] != tc.wantGrants {
					t.Errorf("context %v, want %s: %s and %s: %s", resp.Context, auth.DefaultUserKey, tc.wantUser, auth.DefaultGrantsKey, tc.wantGrants)
				}
			case "deny":
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if authorizer.Allows(resp, ev.MethodArn) || resp.PrincipalID != "anonymous" || len(resp.PolicyDocument.Statement) == 0 {
					t.Fatalf("answer %+v, want a Deny policy for anonymous", resp)
				}
				if resp.Context != nil {
					t.Errorf("a Deny carries the context %v", resp.Context)
				}
			case "unauthorized":
				if !errors.Is(err, authorizer.ErrUnauthorized) || err.Error() != "Unauthorized" {
					t.Fatalf("Authorize: %v, want the error Unauthorized", err)
				}
			}

			line := logLine(t, logs)
			if line["outcome"] != tc.wantOutcome {
				t.Errorf("logged outcome %v, want %s: %v", line["outcome"], tc.wantOutcome, line)
			}
			if reason, _ := line["reason"].(string); !strings.Contains(reason, tc.wantReason) || (tc.wantReason == "") != (reason == "") {
				t.Errorf("logged reason %q, want it to say %q", reason, tc.wantReason)
			}
			if line["connection_id"] != ev.RequestContext.ConnectionID || line["request_id"] != ev.RequestContext.RequestID ||
				line["source_ip"] != ev.RequestContext.Identity.SourceIP {
				t.Errorf("log line %v does not name the connection, request and source IP", line)
			}
			if tc.wantOutcome == "allow" && line["user_id"] != tc.wantUser {
				t.Errorf("logged user_id %v, want %s", line["user_id"], tc.wantUser)
			}
			assertNoToken(t, logs, tc.token)
		})
	}
}

// logLine returns the one line logged in logs, decoded.
func logLine(t *testing.T, logs *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines logged, want 1:\n%s", len(lines), logs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line %q: %v", lines[0], err)
	}
	return line
}

// assertNoToken fails the test if logs hold token or its signature.
func assertNoToken(t *testing.T, logs *bytes.Buffer, token string) {
	t.Helper()
	if token == "" {
		return
	}
	parts := strings.Split(token, ".")
	for _, s := range []string{token, parts[len(parts)-1]} {
		if s != "" && strings.Contains(logs.String(), s) {
			t.Errorf("the logs hold the token:\n%s", logs)
		}
	}
}

// TestAuthorizeTokenParam: the token is read from the configured query parameter only.
func TestAuthorizeTokenParam(t *testing.T) {
	h, _ := newHandler(t, auth.ConnectConfig{Token: auth.VerifierConfig{Secret: testSecret}, TokenParam: "access_token"})
	token := hs256(t, nil)

	ev := documentedEvent(t, token) // under "token"
	if _, err := h.Authorize(t.Context(), ev); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("a token under token: %v, want Unauthorized", err)
	}
	ev.QueryStringParameters["access_token"] = token
	if resp, err := h.Authorize(t.Context(), ev); err != nil || !authorizer.Allows(resp, ev.MethodArn) {
		t.Errorf("a token under access_token: %+v, %v; want an Allow", resp, err)
	}
}

// TestAuthorizeKeysUnavailable: when the JWK set cannot be fetched, the answer is an
// error that is not Unauthorized (API Gateway answers 500, and the client may retry)
// and says why.
func TestAuthorizeKeysUnavailable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	h, logs := newHandler(t, auth.ConnectConfig{Token: auth.VerifierConfig{JWKSURL: down.URL}})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "ec-1"
	token, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	ev := documentedEvent(t, token)
	resp, err := h.Authorize(t.Context(), ev)
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || !errors.Is(err, auth.ErrKeysUnavailable) {
		t.Fatalf("Authorize: %+v, %v; want an error wrapping ErrKeysUnavailable, not Unauthorized", resp, err)
	}
	if authorizer.Allows(resp, ev.MethodArn) {
		t.Errorf("the answer with the error allows: %+v", resp)
	}
	if !strings.Contains(err.Error(), ev.RequestContext.ConnectionID) {
		t.Errorf("err %q does not name the connection", err)
	}
	line := logLine(t, logs)
	if reason, _ := line["reason"].(string); line["outcome"] != "error" || !strings.Contains(reason, "could not be fetched") {
		t.Errorf("log line %v, want outcome error and the reason", line)
	}
	assertNoToken(t, logs, token)
}

// TestNew: a Handler needs a token check; a nil logger discards.
func TestNew(t *testing.T) {
	if _, err := authorizer.New(nil, nil); err == nil {
		t.Error("New without a token check succeeded")
	}
	connect, err := auth.NewConnect(t.Context(), auth.ConnectConfig{Token: auth.VerifierConfig{Secret: testSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := authorizer.New(connect, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Authorize(t.Context(), documentedEvent(t, "")); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("Authorize without a token: %v, want Unauthorized", err)
	}
}
