package function_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestAuthorizerConfigFromEnv(t *testing.T) {
	const jwks = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12/.well-known/jwks.json"
	const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pusher-connect-key-AbCdEf"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" for none
	}{
		{"a JWK set", map[string]string{"CONNECT_TOKEN_JWKS_URL": jwks}, ""},
		{"a secret's ARN", map[string]string{"CONNECT_TOKEN_SECRET_ARN": secretARN}, ""},
		{"an SSM parameter's ARN", map[string]string{"CONNECT_TOKEN_SECRET_ARN": "arn:aws:ssm:eu-west-1:123456789012:parameter/pusher/connect-key"}, ""},
		{"no key", map[string]string{"CONNECT_TOKEN_ISSUER": "https://issuer"}, "CONNECT_TOKEN_SECRET_ARN"},
		{"a secret twice", map[string]string{"CONNECT_TOKEN_SECRET_ARN": secretARN, "CONNECT_TOKEN_SECRET": strings.Repeat("k", 32)}, "both set"},
		{"an ARN of another service", map[string]string{"CONNECT_TOKEN_SECRET_ARN": "arn:aws:s3:::bucket/key"}, "CONNECT_TOKEN_SECRET_ARN"},
		{"a secret and a JWK set", map[string]string{"CONNECT_TOKEN_SECRET": strings.Repeat("k", 32), "CONNECT_TOKEN_JWKS_URL": jwks}, "not both"},
		{"a short secret", map[string]string{"CONNECT_TOKEN_SECRET": "short"}, "under the 32"},
		{"one context key for two", map[string]string{"CONNECT_TOKEN_JWKS_URL": jwks, "AUTHORIZER_USER_KEY": "topics"}, "share the context key"},
		{"a bad log level", map[string]string{"CONNECT_TOKEN_JWKS_URL": jwks, "LOG_LEVEL": "loud"}, `LOG_LEVEL="loud"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := function.AuthorizerConfigFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			case err == nil && (cfg.Connect.TokenParam != "token" || cfg.Connect.UserClaim != "sub" || cfg.Connect.UserKey != "user_id" || cfg.Connect.GrantsKey != "topics"):
				t.Errorf("defaults %+v", cfg.Connect)
			}
		})
	}
}

// TestAuthorizerRequired: a deployment with the authorizer sets AUTHORIZER_REQUIRED,
// so that a $connect the authorizer did not see is refused, whatever ?user_id= says.
func TestAuthorizerRequired(t *testing.T) {
	s := stacktest.New(t)
	fn, _ := start(t, s, func(c *function.Config) { c.AuthorizerRequired = true })
	route := func(t *testing.T, fixture string, want int) {
		t.Helper()
		out, err := invoke(t, fn, fixture, 10*time.Second)
		if resp, ok := out.(events.APIGatewayProxyResponse); err != nil || !ok || resp.StatusCode != want {
			t.Fatalf("answered %#v, %v: want status %d", out, err, want)
		}
	}
	route(t, "connect-query.json", http.StatusUnauthorized)
	if conns, err := s.Store.UserConnections(context.Background(), "erin"); err != nil || len(conns) != 0 {
		t.Errorf("the query string's user got %v %v", conns, err)
	}
	route(t, "connect-authorizer.json", http.StatusOK)
	if conns, err := s.Store.UserConnections(context.Background(), "frank"); err != nil || len(conns) != 1 {
		t.Errorf("the authorizer's user got %v %v", conns, err)
	}
}

// TestPusherRefusesAuthorizerEvents: an authorizer event carries a $connect request
// context; the pusher must not take it for the route and store a connection.
func TestPusherRefusesAuthorizerEvents(t *testing.T) {
	s := stacktest.New(t)
	fn, _ := start(t, s, nil)
	payload, _ := json.Marshal(authorizerEvent(""))
	out, err := fn.Handle(context.Background(), payload)
	if err == nil || !strings.Contains(err.Error(), "PUSHER_ROLE=authorizer") {
		t.Errorf("answered %v, %v: want an error naming PUSHER_ROLE=authorizer", out, err)
	}
	var all int
	_ = s.Store.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error { all += len(conns); return nil })
	if all != 0 {
		t.Errorf("stored %d connections", all)
	}
}
