package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
)

const testSecret = "a-cli-secret-of-at-least-32-bytes!!!"

// clearConnectEnv unsets the $connect settings a developer's shell may hold.
func clearConnectEnv(t *testing.T) {
	for _, name := range []string{"CONNECT_TOKEN_SECRET", "CONNECT_TOKEN_SECRET_ARN", "CONNECT_TOKEN_JWKS_URL", "CONNECT_TOKEN_ISSUER",
		"CONNECT_TOKEN_AUDIENCE", "CONNECT_TOKEN_PARAM", "CONNECT_USER_CLAIM", "CONNECT_TOPICS_CLAIM"} {
		t.Setenv(name, "")
	}
}

// TestToken mints tokens with `pusher token` and checks each with the $connect check
// of the authorizer, configured from the same settings: it names the user and grants
// the topics, and it expires when --ttl says.
func TestToken(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		check  auth.ConnectConfig
		want   auth.Identity
		ttl    time.Duration
		issuer string
	}{
		{name: "a user and topics", env: map[string]string{"CONNECT_TOKEN_SECRET": testSecret},
			args:  []string{"--user", "alice", "--topics", "order-*, news:*"},
			check: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: testSecret}},
			want:  auth.Identity{User: "alice", Grants: []string{"order-*", "news:*"}}, ttl: time.Hour},
		{name: "the issuer and audience of the environment", env: map[string]string{"CONNECT_TOKEN_SECRET": testSecret,
			"CONNECT_TOKEN_ISSUER": "https://issuer.test/", "CONNECT_TOKEN_AUDIENCE": "pusher"},
			args:  []string{"--user", "bob", "--ttl", "10m"},
			check: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: testSecret, Issuer: "https://issuer.test/", Audience: "pusher"}},
			want:  auth.Identity{User: "bob"}, ttl: 10 * time.Minute, issuer: "https://issuer.test/"},
		{name: "claims named otherwise, the secret as a flag",
			env:   map[string]string{"CONNECT_USER_CLAIM": "uid", "CONNECT_TOPICS_CLAIM": "scopes"},
			args:  []string{"--secret", testSecret, "--user", "carol", "--topics", "user:carol:*"},
			check: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: testSecret}, UserClaim: "uid", TopicsClaim: "scopes"},
			want:  auth.Identity{User: "carol", Grants: []string{"user:carol:*"}}, ttl: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearConnectEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), append([]string{"token"}, tt.args...), &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			token, rest, _ := strings.Cut(stdout.String(), "\n")
			if rest != "" || token == "" {
				t.Fatalf("printed %q, want the token alone on one line", stdout.String())
			}
			check, err := auth.NewConnect(t.Context(), tt.check, nil)
			if err != nil {
				t.Fatal(err)
			}
			id, err := check.Authorize(t.Context(), token)
			if err != nil {
				t.Fatalf("the authorizer refuses the token: %v", err)
			}
			if id.User != tt.want.User || !slices.Equal(id.Grants, tt.want.Grants) {
				t.Errorf("the token shows %+v, want %+v", id, tt.want)
			}
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
				t.Fatal(err)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if exp == nil || iat == nil || exp.Sub(iat.Time) != tt.ttl {
				t.Errorf("valid from %v to %v, want for %s", iat, exp, tt.ttl)
			}
			if iss, _ := claims.GetIssuer(); iss != tt.issuer {
				t.Errorf("issuer %q, want %q", iss, tt.issuer)
			}
		})
	}
}

// TestTokenRefusesBadSettings checks that `pusher token` prints no token, and says in one
// line why, when it cannot mint one the authorizer would take.
func TestTokenRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "no secret", args: []string{"--user", "alice"}, want: "CONNECT_TOKEN_SECRET is 0 bytes"},
		{name: "a short secret", env: map[string]string{"CONNECT_TOKEN_SECRET": "short"}, args: []string{"--user", "alice"}, want: "32 bytes or more"},
		{name: "no user", env: map[string]string{"CONNECT_TOKEN_SECRET": testSecret}, want: "--user is not set"},
		{name: "a ttl of zero", env: map[string]string{"CONNECT_TOKEN_SECRET": testSecret}, args: []string{"--user", "alice", "--ttl", "0s"}, want: "--ttl 0s is not positive"},
		{name: "one claim for both", env: map[string]string{"CONNECT_TOKEN_SECRET": testSecret}, args: []string{"--user", "alice", "--user-claim", "topics"}, want: "must be two names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearConnectEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), append([]string{"token"}, tt.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed %q", stdout.String())
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartUpSaysHowToConnect runs `pusher dev` and `pusher gateway` and reads what
// they print at start: how clients connect, with their user when connections are open,
// with a token when CONNECT_TOKEN_SECRET is set.
func TestStartUpSaysHowToConnect(t *testing.T) {
	const integration = "http://127.0.0.1:9/2015-03-31/functions/function/invocations"
	gateway := []string{"gateway", "--listen", "127.0.0.1:0", "--lambda-integration", integration}
	tests := []struct {
		name   string
		args   []string
		secret string
		want   []string
	}{
		{name: "dev, open", args: []string{"dev", "--listen", "127.0.0.1:0"}, want: []string{"/?user_id=USER  (not authenticated)"}},
		{name: "dev with a secret", args: []string{"dev", "--listen", "127.0.0.1:0"}, secret: testSecret,
			want: []string{"/?token=TOKEN  (pusher token --user USER mints one)"}},
		{name: "gateway, open", args: gateway,
			want: []string{"invoking " + integration + " for every route", "/?user_id=USER  (not authenticated)"}},
		{name: "gateway with a secret", args: gateway, secret: testSecret,
			want: []string{"/?token=TOKEN  (pusher token --user USER mints one)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearConnectEnv(t)
			t.Setenv("CONNECT_TOKEN_SECRET", tt.secret)
			t.Setenv("AWS_REGION", "us-east-1")
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncBuffer
			done := make(chan error, 1)
			go func() { done <- Run(ctx, tt.args, &stdout, &stderr) }()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(stdout.String(), "Management API:") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("pusher %s: %v\n%s", tt.args[0], err, stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("pusher %s printed\n%s\nwant a line with %q", tt.args[0], stdout.String(), want)
				}
			}
		})
	}
}
