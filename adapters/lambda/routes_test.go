package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// connectedAt is the requestContext.connectedAt of the test's events: 26 Nov 2026
// 12:00:00 UTC, in milliseconds.
const connectedAt = 1795694400000

// connect is a $connect as API Gateway sends it: with the client's query string, and
// the authorizer's context when an authorizer ran (nil when none did).
func connect(id string, query map[string][]string, authorizer map[string]any) events.APIGatewayWebsocketProxyRequest {
	single := map[string]string{}
	for name, values := range query {
		single[name] = values[len(values)-1] // API Gateway keeps the last
	}
	req := events.APIGatewayWebsocketProxyRequest{
		Headers: map[string]string{"Host": "abcdef123.execute-api.us-east-1.amazonaws.com", "Sec-WebSocket-Version": "13"},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", ConnectionID: id, ConnectedAt: connectedAt,
			Stage: "prod", APIID: "abcdef123", DomainName: "abcdef123.execute-api.us-east-1.amazonaws.com",
			MessageDirection: "IN", RequestTimeEpoch: connectedAt + 123,
		},
	}
	if len(query) > 0 {
		req.QueryStringParameters, req.MultiValueQueryStringParameters = single, query
	}
	if authorizer != nil {
		req.RequestContext.Authorizer = authorizer
	}
	return req
}

// message is a client message on route, as API Gateway sends it: no query string, and
// no user without an authorizer.
func message(route, id, body string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		Body: body,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: route, EventType: "MESSAGE", ConnectionID: id, ConnectedAt: connectedAt,
			Stage: "prod", APIID: "abcdef123", MessageDirection: "IN", MessageID: "CnPq1GsnoAMFrfA=",
		},
	}
}

// disconnect is a $disconnect as API Gateway sends it without an authorizer.
func disconnect(id string) events.APIGatewayWebsocketProxyRequest {
	req := message("$disconnect", id, "")
	req.RequestContext.EventType, req.RequestContext.MessageID = "DISCONNECT", ""
	req.RequestContext.DisconnectStatusCode, req.RequestContext.DisconnectReason = 1001, new("Going away")
	return req
}

// flaky is a store whose calls fail with its errors, when set.
type flaky struct {
	*memory.Store
	add, subscribe error
}

func (s *flaky) AddConnection(ctx context.Context, c handlers.Connection) error {
	if s.add != nil {
		return s.add
	}
	return s.Store.AddConnection(ctx, c)
}

func (s *flaky) Subscribe(ctx context.Context, c handlers.Connection, topics []string, maxTopics int) error {
	if s.subscribe != nil {
		return s.subscribe
	}
	return s.Store.Subscribe(ctx, c, topics, maxTopics)
}

// routes returns the routes of cfg on a store that keeps subscriptions, every topic
// open, logging to the buffer it returns.
func routes(t *testing.T, cfg lambda.RoutesConfig) (*lambda.Routes, *flaky, *awstest.Buffer) {
	t.Helper()
	store := &flaky{Store: memory.NewStore(0)}
	logs := &awstest.Buffer{}
	r, err := lambda.NewRoutes(cfg, store, handlers.Subscriber{Store: store}, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r, store, logs
}

// serve serves req and checks the answer's status.
func serve(t *testing.T, r *lambda.Routes, req events.APIGatewayWebsocketProxyRequest, status int) events.APIGatewayProxyResponse {
	t.Helper()
	resp, err := r.Serve(context.Background(), req)
	if err != nil || resp.StatusCode != status {
		t.Fatalf("%s answered %d %q, %v: want %d", req.RequestContext.RouteKey, resp.StatusCode, resp.Body, err, status)
	}
	return resp
}

// users returns the users of the stored connections, by connection id.
func users(t *testing.T, s *flaky) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
		for _, c := range conns {
			out[c.ConnectionID] = c.UserID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func topics(t *testing.T, s *flaky, id string) []string {
	t.Helper()
	got, err := s.Topics(context.Background(), handlers.Connection{ConnectionID: id})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestConnectNamesTheUser(t *testing.T) {
	const id = "CnPq2eHgoAMCLsR="
	for _, tc := range []struct {
		name   string
		cfg    lambda.RoutesConfig
		req    events.APIGatewayWebsocketProxyRequest
		status int
		user   string // stored; "" for none
	}{
		{"no user", lambda.RoutesConfig{}, connect(id, nil, nil), http.StatusUnauthorized, ""},
		{"the query string's", lambda.RoutesConfig{}, connect(id, map[string][]string{"user_id": {"erin"}}, nil), http.StatusOK, "erin"},
		{"another identity parameter", lambda.RoutesConfig{IdentityParam: "uid"}, connect(id, map[string][]string{"uid": {"erin"}, "user_id": {"mallory"}}, nil), http.StatusOK, "erin"},
		{"the authorizer's, not the query string's", lambda.RoutesConfig{},
			connect(id, map[string][]string{"user_id": {"erin"}}, map[string]any{"principalId": "key-7f3a", "user_id": "frank"}), http.StatusOK, "frank"},
		{"the authorizer's principalId", lambda.RoutesConfig{}, connect(id, nil, map[string]any{"principalId": "grace"}), http.StatusOK, "grace"},
		{"the authorizer's own key", lambda.RoutesConfig{UserKey: "sub"},
			connect(id, nil, map[string]any{"principalId": "key-7f3a", "sub": "heidi", "user_id": "mallory"}), http.StatusOK, "heidi"},
		{"the query string's, the authorizer required", lambda.RoutesConfig{AuthorizerRequired: true},
			connect(id, map[string][]string{"user_id": {"erin"}}, nil), http.StatusUnauthorized, ""},
		{"the authorizer's, the authorizer required", lambda.RoutesConfig{AuthorizerRequired: true},
			connect(id, map[string][]string{"user_id": {"erin"}}, map[string]any{"user_id": "frank"}), http.StatusOK, "frank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, store, logs := routes(t, tc.cfg)
			serve(t, r, tc.req, tc.status)
			want := map[string]string{}
			if tc.user != "" {
				want[id] = tc.user
			}
			got := users(t, store)
			if len(got) != len(want) || got[id] != want[id] {
				t.Errorf("stored %v, want %v", got, want)
			}
			if tc.user != "" {
				conns, _ := store.UserConnections(context.Background(), tc.user)
				if len(conns) != 1 || !conns[0].ConnectedAt.Equal(time.UnixMilli(connectedAt)) {
					t.Errorf("stored %v, connected at the event's connectedAt", conns)
				}
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line["msg"] != "invocation" || line["event"] != "websocket" || line["route"] != "$connect" || line["connection_id"] != id ||
				line["user_id"] != tc.user || line["status"] != float64(tc.status) {
				t.Errorf("logged %v", line)
			}
			if _, refused := line["refused"]; refused != (tc.status >= 400) {
				t.Errorf("logged %v: the reason given to a refused client, and only then", line)
			}
		})
	}
}

func TestConnectSubscribes(t *testing.T) {
	cfg := lambda.RoutesConfig{TopicParams: []string{"topic", "vehicle"}, TokenParam: "topic_token"}
	t.Run("to its topic parameters, each repeatable", func(t *testing.T) {
		r, store, _ := routes(t, cfg)
		serve(t, r, connect("CnPq5hKjoAMCOvU=", map[string][]string{"user_id": {"heidi"}, "topic": {"news", "sport"}, "vehicle": {"vehicle-7"}}, nil), http.StatusOK)
		if got := topics(t, store, "CnPq5hKjoAMCOvU="); !slices.Equal(got, []string{"news", "sport", "vehicle-7"}) {
			t.Errorf("subscribed to %v", got)
		}
	})
	t.Run("a topic refused refuses the connection and stores nothing", func(t *testing.T) {
		r, store, _ := routes(t, cfg)
		resp := serve(t, r, connect("CnPq6iLkoAMCPwV=", map[string][]string{"user_id": {"ivan"}, "topic": {strings.Repeat("x", 2000)}}, nil), http.StatusBadRequest)
		if resp.Body == "" || len(users(t, store)) != 0 || len(topics(t, store, "CnPq6iLkoAMCPwV=")) != 0 {
			t.Errorf("answered %q, stored %v", resp.Body, users(t, store))
		}
	})
	t.Run("a connection it cannot subscribe is taken back", func(t *testing.T) {
		r, store, _ := routes(t, cfg)
		store.subscribe = errors.New("throttled")
		resp, err := r.Serve(context.Background(), connect("CnPq7jMloAMCQxW=", map[string][]string{"user_id": {"judy"}, "topic": {"news"}}, nil))
		if resp.StatusCode != http.StatusInternalServerError || !errors.Is(err, store.subscribe) || !strings.Contains(err.Error(), "CnPq7jMloAMCQxW=") {
			t.Errorf("answered %d, %v: want 500 and the error, naming the connection", resp.StatusCode, err)
		}
		if got := users(t, store); len(got) != 0 {
			t.Errorf("stored %v", got)
		}
	})
	t.Run("a store that fails fails the invocation", func(t *testing.T) {
		r, store, logs := routes(t, cfg)
		store.add = errors.New("dynamodb: 500")
		resp, err := r.Serve(context.Background(), connect("CnPq8kNmoAMCRyX=", map[string][]string{"user_id": {"ken"}}, nil))
		if resp.StatusCode != http.StatusInternalServerError || !errors.Is(err, store.add) {
			t.Errorf("answered %d, %v: want 500 and the error", resp.StatusCode, err)
		}
		if !strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("logged %s, want an error", logs.String())
		}
	})
}

func TestMessageRoutes(t *testing.T) {
	const id = "CnPq2eHgoAMCLsR="
	grants := auth.FormatGrants([]string{"news"})
	r, store, _ := routes(t, lambda.RoutesConfig{})
	serve(t, r, connect(id, map[string][]string{"user_id": {"erin"}}, nil), http.StatusOK)

	resp := serve(t, r, message("subscribe", id, `{"action":"subscribe","topic":"news"}`), http.StatusOK)
	if !strings.Contains(resp.Body, `"subscribed"`) || !strings.Contains(resp.Body, `"news"`) {
		t.Errorf("subscribe answered %s, want an ack frame", resp.Body)
	}
	serve(t, r, message("subscribe", id, `{"action":"subscribe","entityId":"order-42"}`), http.StatusOK)
	if got := topics(t, store, id); !slices.Equal(got, []string{"news", "order-42"}) {
		t.Errorf("subscribed to %v", got)
	}
	resp = serve(t, r, message("unsubscribe", id, `{"action":"unsubscribe","topic":"news"}`), http.StatusOK)
	if !strings.Contains(resp.Body, `"unsubscribed"`) {
		t.Errorf("unsubscribe answered %s, want an ack frame", resp.Body)
	}
	if got := topics(t, store, id); !slices.Equal(got, []string{"order-42"}) {
		t.Errorf("subscribed to %v after unsubscribing news", got)
	}
	resp = serve(t, r, message("subscribe", id, `{"action":"subscribe"}`), http.StatusBadRequest)
	if !strings.Contains(resp.Body, `"error"`) {
		t.Errorf("subscribe without a topic answered %s, want an error frame", resp.Body)
	}
	if resp := serve(t, r, message("$default", id, `{"action":"ping"}`), http.StatusOK); resp.Body != "" {
		t.Errorf("$default answered %q: a two-way route would send it to the client", resp.Body)
	}

	// The store names the user of a route that carries none: gone with its subscriptions.
	serve(t, r, disconnect(id), http.StatusOK)
	if got, left := topics(t, store, id), users(t, store); len(got) != 0 || len(left) != 0 {
		t.Errorf("still subscribed to %v, stored %v", got, left)
	}

	t.Run("the authorizer's grants, under its key", func(t *testing.T) {
		rules, err := auth.NewRules(context.Background(), auth.Config{}, nil) // allows only what is granted
		if err != nil {
			t.Fatal(err)
		}
		store := &flaky{Store: memory.NewStore(0)}
		r, err := lambda.NewRoutes(lambda.RoutesConfig{GrantsKey: "scopes"}, store, handlers.Subscriber{Store: store, Authorizer: rules}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		withAuthorizer := func(req events.APIGatewayWebsocketProxyRequest) events.APIGatewayWebsocketProxyRequest {
			req.RequestContext.Authorizer = map[string]any{"principalId": "erin", "scopes": grants, "topics": auth.FormatGrants([]string{"*"})}
			return req
		}
		serve(t, r, withAuthorizer(connect(id, nil, nil)), http.StatusOK)
		serve(t, r, withAuthorizer(message("subscribe", id, `{"action":"subscribe","topic":"news"}`)), http.StatusOK)
		serve(t, r, withAuthorizer(message("subscribe", id, `{"action":"subscribe","topic":"sport"}`)), http.StatusBadRequest)
	})
}

func TestNewRoutesNeedsARegistry(t *testing.T) {
	if _, err := lambda.NewRoutes(lambda.RoutesConfig{}, nil, handlers.Subscriber{}, nil); err == nil {
		t.Error("no error without a registry")
	}
}

func TestAnonymousConnections(t *testing.T) {
	const id = "CnPq9lOnoAMCSzY="
	news := map[string][]string{"topic": {"news"}}
	// An authorizer that allowed the connection without naming a user: API Gateway
	// hands on its context, with the principalId it answered ("Control access to
	// WebSocket APIs with AWS Lambda REQUEST authorizers", API Gateway Developer Guide).
	unnamed := map[string]any{"principalId": "", "integrationLatency": float64(12)}
	on := lambda.RoutesConfig{AnonymousConnections: true, TopicParams: []string{"topic"}}
	required := on
	required.AuthorizerRequired = true
	for _, tc := range []struct {
		name   string
		cfg    lambda.RoutesConfig
		req    events.APIGatewayWebsocketProxyRequest
		status int
		stored bool     // stored without a user
		topics []string // it follows
	}{
		{"off: refused", lambda.RoutesConfig{TopicParams: []string{"topic"}}, connect(id, news, nil), http.StatusUnauthorized, false, nil},
		{"off: an authorizer that names no user", lambda.RoutesConfig{AuthorizerRequired: true}, connect(id, nil, unnamed), http.StatusUnauthorized, false, nil},
		{"on: stored without a user", on, connect(id, news, nil), http.StatusOK, true, []string{"news"}},
		{"on: no query string at all", on, connect(id, nil, nil), http.StatusOK, true, nil},
		{"on: an authorizer that names no user", required, connect(id, news, unnamed), http.StatusOK, true, []string{"news"}},
		{"on, the authorizer required: none ran", required, connect(id, news, nil), http.StatusUnauthorized, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, store, logs := routes(t, tc.cfg)
			serve(t, r, tc.req, tc.status)
			got := users(t, store)
			if user, ok := got[id]; ok != tc.stored || user != "" || len(got) > 1 {
				t.Errorf("stored %v, want %s without a user: %v", got, id, tc.stored)
			}
			if got := topics(t, store, id); !slices.Equal(got, tc.topics) {
				t.Errorf("follows %v, want %v", got, tc.topics)
			}
			if !strings.Contains(logs.String(), `"user_id":""`) {
				t.Errorf("logged %s, want the connection without a user", logs.String())
			}
		})
	}

	t.Run("subscribes by message and is removed at $disconnect", func(t *testing.T) {
		r, store, _ := routes(t, on)
		serve(t, r, connect(id, nil, nil), http.StatusOK)
		resp := serve(t, r, message("subscribe", id, `{"action":"subscribe","entityId":"order-42"}`), http.StatusOK)
		if !strings.Contains(resp.Body, `"subscribed"`) {
			t.Errorf("subscribe answered %s, want an ack frame", resp.Body)
		}
		if got := topics(t, store, id); !slices.Equal(got, []string{"order-42"}) {
			t.Errorf("follows %v", got)
		}
		if c, found, err := store.Connection(context.Background(), id); err != nil || !found || c.UserID != "" {
			t.Errorf("the record of %s: %v, %v, %v: want one without a user", id, c, found, err)
		}
		serve(t, r, disconnect(id), http.StatusOK)
		if got, left := topics(t, store, id), users(t, store); len(got) != 0 || len(left) != 0 {
			t.Errorf("still follows %v, stored %v", got, left)
		}
	})
}

func TestConnectRefusesReservedUsers(t *testing.T) {
	const id = "CnPqAmPooAMCTaZ="
	for _, tc := range []struct {
		name string
		cfg  lambda.RoutesConfig
		req  events.APIGatewayWebsocketProxyRequest
	}{
		{"the query string's", lambda.RoutesConfig{}, connect(id, map[string][]string{"user_id": {"$anonymous:CnPq9lOnoAMCSzY="}}, nil)},
		{"the query string's, anonymous connections on", lambda.RoutesConfig{AnonymousConnections: true}, connect(id, map[string][]string{"user_id": {"$connection:x"}}, nil)},
		{"the authorizer's principalId", lambda.RoutesConfig{AuthorizerRequired: true}, connect(id, nil, map[string]any{"principalId": "$admin"})},
		{"the authorizer's user key", lambda.RoutesConfig{AuthorizerRequired: true}, connect(id, nil, map[string]any{"principalId": "key-7f3a", "user_id": "$anonymous:x"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, store, logs := routes(t, tc.cfg)
			resp := serve(t, r, tc.req, http.StatusBadRequest)
			if !strings.Contains(resp.Body, `user ids starting with "$" are reserved`) {
				t.Errorf("answered %q, want the reason", resp.Body)
			}
			if got := users(t, store); len(got) != 0 {
				t.Errorf("stored %v", got)
			}
			if !strings.Contains(logs.String(), `"refused":"user ids starting with`) {
				t.Errorf("logged %s, want the reason", logs.String())
			}
		})
	}
}
