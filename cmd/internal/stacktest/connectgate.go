package stacktest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// ConnectGate makes the stack's gateway do what API Gateway does while a client is in
// $connect: "Until execution of the integration associated with the $connect route is
// completed, the upgrade request is pending and the actual connection will not be
// established"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html),
// so a post to it is answered 410 GoneException, though its row is already in the
// table: the $connect integration wrote it, then took a while to return. `pusher
// gateway` instead holds such a post until the upgrade is over.
//
// Clients connect through the gate (Addr), which holds each upgrade's answer for the
// integration time after the gateway has stored the connection; the gate's Status,
// given to the stack's Faults, answers 410 to posts to connections not yet
// established. A connection is established once the gate has let its upgrade answer
// go, so a client whose dial returned is established. Clients name their user in the
// query parameter user_id, the gateway's default; a user's connections should connect
// one at a time, as the gate establishes all of a user's stored connections at once.
type ConnectGate struct {
	s           *Stack
	addr        string
	integration time.Duration

	mu          sync.Mutex
	established map[string]bool
}

// NewConnectGate starts, until the test ends, a ConnectGate in front of the stack's
// gateway, whose $connect integration returns integration after storing the
// connection. It makes the stack's Faults answer 410 to posts to connections in
// $connect, in place of any Fail before.
func NewConnectGate(t testing.TB, s *Stack, integration time.Duration) *ConnectGate {
	t.Helper()
	target, err := url.Parse(s.Gateway.URL())
	if err != nil {
		t.Fatal(err)
	}
	g := &ConnectGate{s: s, integration: integration, established: map[string]bool{}}
	proxy := awstest.NewProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode != http.StatusSwitchingProtocols {
			return nil
		}
		return g.establish(resp.Request.Context(), resp.Request.URL.Query().Get("user_id"))
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(func() {
		srv.CloseClientConnections() // WebSocket connections would hold Close
		srv.Close()
	})
	g.addr = strings.TrimPrefix(srv.URL, "http://")
	s.Faults.Fail(g.Status)
	return g
}

// Addr is the host:port WebSocket clients dial (Stack.Connect dials the gateway
// itself, bypassing the gate).
func (g *ConnectGate) Addr() string { return g.addr }

// Status is what the Management API answers the n-th post to connection id instead of
// passing it on: 410 if the connection is not established, else 0 (pass). It is a
// Faults.Fail function.
func (g *ConnectGate) Status(id string, _ int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.established[id] {
		return 0
	}
	return http.StatusGone
}

// establish waits out the $connect integration of a connection of user, whose row the
// gateway has stored, then marks the user's stored connections established. A row that
// is gone by then (pruned after a post answered 410) leaves its connection pending: it
// is open, but nothing will post to it.
func (g *ConnectGate) establish(ctx context.Context, user string) error {
	select {
	case <-time.After(g.integration):
	case <-ctx.Done():
		return ctx.Err()
	}
	conns, err := g.s.Store.UserConnections(ctx, user)
	if err != nil {
		return fmt.Errorf("connect gate: connections of %s: %w", user, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range conns {
		g.established[c.ConnectionID] = true
	}
	return nil
}
