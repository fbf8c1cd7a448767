package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/golang-jwt/jwt/v5"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

const (
	table         = "ws-connections"
	subscriptions = "ws-subscriptions"
	secret        = "a-test-secret-of-at-least-32-bytes!!"
	issuer        = "https://issuer.test/"
	audience      = "pusher"
)

// dynamo is dynalite with the gateway's tables, and the environment that makes the
// gateway's AWS SDK use it.
type dynamo struct {
	client *ddb.Client
}

func newDynamo(t *testing.T) dynamo {
	t.Helper()
	endpoint := awstest.Dynalite(t)
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	d := dynamo{client: awstest.DynamoDBClient(endpoint)}
	awstest.CreateConnectionsTable(t, d.client, table)
	awstest.CreateSubscriptionsTable(t, d.client, subscriptions)
	return d
}

// items counts the items of a table: a refused connection must leave none.
func (d dynamo) items(t *testing.T, name string) int32 {
	t.Helper()
	out, err := d.client.Scan(t.Context(), &ddb.ScanInput{TableName: aws.String(name), Select: "COUNT", ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}

// startGateway runs `pusher gateway` of cfg on the tables until the test ends, its logs
// kept in logs.
func startGateway(t *testing.T, cfg gateway.Config, logs io.Writer) *gateway.Gateway {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Table = dynamodb.Config{Table: table, SubscriptionsTable: subscriptions}
	cfg, err := gateway.Defaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, cleanup, err := pusher.BuildGateway(t.Context(), cfg, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stacktest.RunUntilCleanup(t, "pusher gateway", g.Run)
	return g
}

// hs256 signs claims with the gateway's secret, or with key when one is given.
func hs256(t *testing.T, claims jwt.MapClaims, key ...string) string {
	t.Helper()
	k := secret
	if len(key) > 0 {
		k = key[0]
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are those of a good token of user, with changes applied.
func claims(user string, changes jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": user, "iss": issuer, "aud": audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func topicConnections(t *testing.T, store *dynamodb.Store, topic string) []string {
	t.Helper()
	var users []string
	err := store.TopicConnections(t.Context(), topic, "", func(page []handlers.Connection, _ string) error {
		for _, c := range page {
			users = append(users, c.UserID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func userConnections(t *testing.T, store pipeline.Store, user string) int {
	t.Helper()
	conns, err := store.UserConnections(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	return len(conns)
}

// TestConnectTokens runs `pusher gateway` with the $connect token settings of the
// authorizer function (an HS256 secret, an issuer and an audience) on DynamoDB, and
// connects live clients with tokens good and bad: a good one connects as its sub,
// whatever ?user_id= says, with the topics its claim grants; every other is refused as
// API Gateway refuses it, with no row written and no token in the logs.
func TestConnectTokens(t *testing.T) {
	d := newDynamo(t)
	logs := &awstest.Buffer{}
	g := startGateway(t, gateway.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{
		Token: auth.VerifierConfig{Secret: secret, Issuer: issuer, Audience: audience}}}}, logs)
	addr := g.Listener.Addr().String()
	var tokens []string
	token := func(c jwt.MapClaims, key ...string) string {
		s := hs256(t, c, key...)
		tokens = append(tokens, s)
		return s
	}

	const unauthorized, forbidden = `{"message":"Unauthorized"}`, `{"message":"Forbidden"}`
	refused := []struct {
		name   string
		query  string
		status int
		body   string // "" for any
	}{
		{"no token", "user_id=alice", http.StatusUnauthorized, unauthorized},
		{"an empty token", "token=&user_id=alice", http.StatusUnauthorized, unauthorized},
		{"expired", "token=" + token(claims("alice", jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})), http.StatusUnauthorized, unauthorized},
		{"not yet valid", "token=" + token(claims("alice", jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()})), http.StatusUnauthorized, unauthorized},
		{"without exp", "token=" + token(claims("alice", jwt.MapClaims{"exp": nil})), http.StatusUnauthorized, unauthorized},
		{"a bad signature", "token=" + token(claims("alice", nil), "another-secret-of-at-least-32-bytes!"), http.StatusUnauthorized, unauthorized},
		{"another issuer", "token=" + token(claims("alice", jwt.MapClaims{"iss": "https://evil.test/"})), http.StatusUnauthorized, unauthorized},
		{"another audience", "token=" + token(claims("alice", jwt.MapClaims{"aud": "other"})), http.StatusUnauthorized, unauthorized},
		{"not a JWT", "token=alice", http.StatusUnauthorized, unauthorized},
		{"no sub", "token=" + token(claims("alice", jwt.MapClaims{"sub": nil})), http.StatusForbidden, forbidden},
		{"a sub that is not a string: a malformed token", "token=" + token(claims("alice", jwt.MapClaims{"sub": 7})), http.StatusUnauthorized, unauthorized},
		// Allowed by the authorizer, refused by the $connect route in its own words.
		{"a topic the token does not grant", "token=" + token(claims("alice", jwt.MapClaims{"topics": []string{"order-*"}})) + "&topic=secret",
			http.StatusForbidden, ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			status, body := gatewaytest.Refused(t, addr, tt.query)
			if status != tt.status || (tt.body != "" && body != tt.body) {
				t.Errorf("answered %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			if rows, subs := d.items(t, table), d.items(t, subscriptions); rows != 0 || subs != 0 {
				t.Errorf("a refused connection left %d rows and %d subscription items", rows, subs)
			}
		})
	}

	t.Run("a good token connects as its sub", func(t *testing.T) {
		good := token(claims("alice", jwt.MapClaims{"topics": []string{"order-*"}}))
		c := gatewaytest.DialQuery(t, addr, "alice", "token="+good+"&user_id=mallory&topic=order-7")
		if n, m := userConnections(t, g.Store, "alice"), userConnections(t, g.Store, "mallory"); n != 1 || m != 0 {
			t.Errorf("rows: %d of alice, %d of mallory; want 1 and 0", n, m)
		}
		if users := topicConnections(t, g.Store.(*dynamodb.Store), "order-7"); len(users) != 1 || users[0] != "alice" {
			t.Errorf("order-7 is followed by %v, want alice", users)
		}
		c.Send(t, `{"action":"subscribe","topic":"order-8"}`)
		if f := c.Next(t); !strings.Contains(f, `"subscribed"`) {
			t.Errorf("a granted topic by message: %s", f)
		}
		c.Send(t, `{"action":"subscribe","topic":"secret"}`)
		if f := c.Next(t); !strings.Contains(f, `"forbidden"`) {
			t.Errorf("a topic not granted by message: %s", f)
		}
		c.Close()
		stacktest.Eventually(t, "the row removed at $disconnect", func() bool { return d.items(t, table) == 0 })
	})

	for _, tok := range tokens {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token is in the logs:\n%s", logs)
		}
	}
	if !strings.Contains(logs.String(), "connection refused by the authorizer") {
		t.Errorf("the refusals are not logged:\n%s", logs)
	}
}

// jwks serves the public key of key as a JWK set, under kid, until it is closed.
func jwks(t *testing.T, key *rsa.PrivateKey, kid string) *httptest.Server {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	set := map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func rs256(t *testing.T, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConnectTokensJWKS runs `pusher gateway` checking RS256 tokens with the keys of a
// JWK set served on 127.0.0.1, as Cognito's or Auth0's: a good token connects; when the
// set cannot be fetched, a token cannot be checked and the connection is refused 500,
// as API Gateway answers an authorizer that failed, with no row.
func TestConnectTokensJWKS(t *testing.T) {
	d := newDynamo(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	up := jwks(t, key, "k1")
	down := jwks(t, key, "k1")
	down.Close()

	for _, tc := range []struct {
		name   string
		url    string
		status int
	}{
		{"the set is served", up.URL, http.StatusSwitchingProtocols},
		{"the set's server is down", down.URL, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, gateway.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{
				Token: auth.VerifierConfig{JWKSURL: tc.url, Issuer: issuer, Audience: audience}}}}, io.Discard)
			addr := g.Listener.Addr().String()
			query := "token=" + rs256(t, key, "k1", claims("bob", nil))
			if tc.status == http.StatusSwitchingProtocols {
				gatewaytest.DialQuery(t, addr, "bob", query)
				if n := userConnections(t, g.Store, "bob"); n != 1 {
					t.Errorf("%d rows of bob, want 1", n)
				}
				return
			}
			if status, body := gatewaytest.Refused(t, addr, query); status != tc.status || body != `{"message":"Internal server error"}` {
				t.Errorf("answered %d %s, want %d", status, body, tc.status)
			}
			if rows := d.items(t, table); rows != 0 {
				t.Errorf("a refused connection left %d rows", rows)
			}
		})
	}
}

// TestLambdaAuthorizerSetting runs `pusher gateway` with LAMBDA_AUTHORIZER_URL aimed at
// a stand-in for the authorizer function under the emulator, which allows the token
// "good" as alice and fails every other with "Unauthorized".
func TestLambdaAuthorizerSetting(t *testing.T) {
	newDynamo(t)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev authorizer.Event
		_ = json.NewDecoder(r.Body).Decode(&ev)
		if ev.QueryStringParameters["token"] != "good" {
			_, _ = io.WriteString(w, `{"errorMessage":"Unauthorized","errorType":"errorString"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(authorizer.Allow(ev.MethodArn, "alice", map[string]any{"user_id": "alice", "topics": "[]"}))
	}))
	t.Cleanup(fn.Close)
	g := startGateway(t, gateway.Config{LambdaAuthorizer: fn.URL}, io.Discard)
	addr := g.Listener.Addr().String()
	if status, body := gatewaytest.Refused(t, addr, "token=bad&user_id=alice"); status != http.StatusUnauthorized {
		t.Errorf("a bad token: %d %s, want 401", status, body)
	}
	gatewaytest.DialQuery(t, addr, "alice", "token=good&user_id=mallory")
	if n := userConnections(t, g.Store, "alice"); n != 1 {
		t.Errorf("%d rows of alice, want 1", n)
	}
}

// TestUnauthenticatedWarning checks what `pusher gateway` says at start without an
// authorizer: one warning that anyone may connect as anyone, naming the settings.
func TestUnauthenticatedWarning(t *testing.T) {
	newDynamo(t)
	logs := &awstest.Buffer{}
	g := startGateway(t, gateway.Config{}, logs)
	var warnings []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "not authenticated") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "?user_id=") || !strings.Contains(warnings[0], "CONNECT_TOKEN_SECRET") ||
		!strings.Contains(warnings[0], "LAMBDA_AUTHORIZER_URL") {
		t.Errorf("start-up warnings %q, want one naming ?user_id= and the settings", warnings)
	}
	gatewaytest.Dial(t, g.Listener.Addr().String(), "anyone", "alice") // and it is so
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  gateway.Config
		want string // "" for none
	}{
		{name: "no table", cfg: gateway.Config{}, want: "CONNECTIONS_TABLE_NAME is not set"},
		{name: "no table behind an integration", cfg: gateway.Config{Integration: "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"}},
		{name: "a token check and an authorizer function",
			cfg: gateway.Config{Table: dynamodb.Config{Table: table}, LambdaAuthorizer: "http://127.0.0.1:9001/",
				Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: secret}}}},
			want: "LAMBDA_AUTHORIZER_URL are set"},
		{name: "a secret and its ARN",
			cfg: gateway.Config{Table: dynamodb.Config{Table: table}, Connect: settings.Connect{SecretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
				ConnectConfig: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: secret}}}},
			want: "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.Defaults(tt.cfg)
			if got := fmt.Sprint(err); (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(got, tt.want)) {
				t.Errorf("Defaults: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestIntegrationNeedsNoTable builds `pusher gateway` in front of a Lambda function
// without a connections table: the function stores the connections.
func TestIntegrationNeedsNoTable(t *testing.T) {
	t.Setenv("AWS_REGION", awstest.Region)
	cfg, err := gateway.Defaults(gateway.Config{Listen: "127.0.0.1:0", Integration: "http://127.0.0.1:9/2015-03-31/functions/function/invocations"})
	if err != nil {
		t.Fatal(err)
	}
	g, cleanup, err := pusher.BuildGateway(context.Background(), cfg, nil, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if g.Store != nil {
		t.Error("a store without a table")
	}
}
