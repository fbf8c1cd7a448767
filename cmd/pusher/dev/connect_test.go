package dev_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

const connectSecret = "a-dev-secret-of-at-least-32-bytes!!!"

// TestDevConnectTokens runs `pusher dev` with CONNECT_TOKEN_SECRET: a client connects
// with a token of alice, whatever ?user_id= says, and gets a multicast to alice; a
// client without a token, or with a bad one, is refused as API Gateway's authorizer
// refuses it.
func TestDevConnectTokens(t *testing.T) {
	p := startDev(t, dev.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: connectSecret}}}})
	addr := p.Listener.Addr().String()
	sign := func(key string, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()

	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"no token", "user_id=alice", http.StatusUnauthorized},
		{"a bad signature", "token=" + sign("another-secret-of-at-least-32-bytes!", jwt.MapClaims{"sub": "alice", "exp": exp}), http.StatusUnauthorized},
		{"no sub", "token=" + sign(connectSecret, jwt.MapClaims{"exp": exp}), http.StatusForbidden},
	} {
		if status, body := gatewaytest.Refused(t, addr, tc.query); status != tc.status {
			t.Errorf("%s: answered %d %s, want %d", tc.name, status, body, tc.status)
		}
	}
	if n := p.Store.Len(); n != 0 {
		t.Fatalf("refused connections left %d rows", n)
	}

	alice := gatewaytest.DialQuery(t, addr, "alice", "token="+sign(connectSecret, jwt.MapClaims{"sub": "alice", "exp": exp})+"&user_id=mallory")
	if conns, _ := p.Store.UserConnections(t.Context(), "alice"); len(conns) != 1 || p.Store.Len() != 1 {
		t.Errorf("alice has %v of %d connections, want 1 of 1", conns, p.Store.Len())
	}
	notify(t, p, `{"users":["mallory"],"data":{"hello":"mallory"}}`)
	notify(t, p, `{"users":["alice"],"data":{"hello":"alice"}}`)
	if f := alice.Next(t); f != `{"hello":"alice"}` {
		t.Errorf("alice got %s, want alice's multicast alone", f)
	}
}

// TestDevStartsOpen checks what `pusher dev` says at start without the token settings:
// that topics are open, and in the same voice, that anyone may connect as anyone.
func TestDevStartsOpen(t *testing.T) {
	tests := []struct {
		name    string
		cfg     dev.Config
		warning bool
	}{
		{name: "without settings", warning: true},
		{name: "with a secret", cfg: dev.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: connectSecret}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &awstest.Buffer{}
			cfg := tt.cfg
			cfg.Listen = "127.0.0.1:0"
			cfg.Topics.Auth.Open = true // TOPICS_OPEN's default in pusher dev
			cfg, err := dev.Defaults(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, cleanup, err := pusher.BuildDev(t.Context(), cfg, nil, slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			cleanup()
			var open, unauthenticated int
			for _, line := range strings.Split(logs.String(), "\n") {
				if !strings.Contains(line, "level=WARN") {
					continue
				}
				if strings.Contains(line, "topics are open") {
					open++
				}
				if strings.Contains(line, "connections are not authenticated: any client may connect as any user with ?user_id=") &&
					strings.Contains(line, "CONNECT_TOKEN_SECRET") {
					unauthenticated++
				}
			}
			want := 0
			if tt.warning {
				want = 1
			}
			if open != 1 || unauthenticated != want {
				t.Errorf("start-up says topics are open %d times and connections unauthenticated %d times, want 1 and %d:\n%s", open, unauthenticated, want, logs)
			}
		})
	}
}
