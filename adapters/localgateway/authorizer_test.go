package localgateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// fakeAuthorizer answers each authorizer event with answer, and keeps the events.
type fakeAuthorizer struct {
	answer func(ev authorizer.Event) (authorizer.Response, error)

	mu     sync.Mutex
	events []authorizer.Event
}

func (f *fakeAuthorizer) Authorize(_ context.Context, ev authorizer.Event) (authorizer.Response, error) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	return f.answer(ev)
}

func (f *fakeAuthorizer) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// allow answers with an Allow of the event's methodArn to principal, with context.
func allow(principal string, context map[string]any) func(authorizer.Event) (authorizer.Response, error) {
	return func(ev authorizer.Event) (authorizer.Response, error) {
		return authorizer.Allow(ev.MethodArn, principal, context), nil
	}
}

// handshake dials url and returns the status of the handshake's answer and its body,
// 101 and "" for a connection, which it closes when the test ends.
func handshake(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil {
		t.Cleanup(func() { _ = ws.CloseNow() })
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// refusal is the body of a handshake that API Gateway refuses.
func refusal(message string) string { return fmt.Sprintf(`{"message":%q}`, message) }

// TestAuthorizer connects clients to a gateway whose authorizer answers as each case
// says, and checks what the client sees and what the registry keeps: the user the
// authorizer names, whatever ?user_id= says, or no row and API Gateway's refusal.
func TestAuthorizer(t *testing.T) {
	wildcard := func(effect string) func(authorizer.Event) (authorizer.Response, error) {
		return func(ev authorizer.Event) (authorizer.Response, error) {
			resp := authorizer.Allow("arn:aws:execute-api:*:*:*/*/*", "carol", nil)
			resp.PolicyDocument.Statement[0].Effect = effect
			return resp, nil
		}
	}
	tests := []struct {
		name     string
		query    string
		answer   func(authorizer.Event) (authorizer.Response, error)
		status   int
		body     string // for a refusal
		user     string // for a connection
		invoked  bool
		register bool
	}{
		{name: "allowed: the context's user", query: "?token=t&user_id=mallory",
			answer: allow("principal-1", map[string]any{"user_id": "alice", "topics": `["order-*"]`}),
			status: http.StatusSwitchingProtocols, user: "alice", invoked: true},
		{name: "allowed: the principal when the context names no user", query: "?token=t&user_id=mallory",
			answer: allow("bob", nil), status: http.StatusSwitchingProtocols, user: "bob", invoked: true},
		{name: "allowed: the principal when the context's user is empty", query: "?token=t",
			answer: allow("bob", map[string]any{"user_id": ""}), status: http.StatusSwitchingProtocols, user: "bob", invoked: true},
		{name: "allowed: the principal when the context's user is a number", query: "?token=t",
			answer: allow("bob", map[string]any{"user_id": 7.0}), status: http.StatusSwitchingProtocols, user: "bob", invoked: true},
		{name: "allowed by a wildcard resource", query: "?token=t",
			answer: wildcard("Allow"), status: http.StatusSwitchingProtocols, user: "carol", invoked: true},
		{name: "denied", query: "?token=t&user_id=mallory",
			answer: func(ev authorizer.Event) (authorizer.Response, error) {
				return authorizer.Deny(ev.MethodArn, "anonymous"), nil
			},
			status: http.StatusForbidden, body: refusal("Forbidden"), invoked: true},
		{name: "denied by a wildcard resource", query: "?token=t",
			answer: wildcard("Deny"), status: http.StatusForbidden, body: refusal("Forbidden"), invoked: true},
		{name: "allowed another route only", query: "?token=t",
			answer: func(ev authorizer.Event) (authorizer.Response, error) {
				return authorizer.Allow(strings.TrimSuffix(ev.MethodArn, "$connect")+"$default", "alice", nil), nil
			},
			status: http.StatusForbidden, body: refusal("Forbidden"), invoked: true},
		{name: "no statement", query: "?token=t",
			answer: func(authorizer.Event) (authorizer.Response, error) {
				return authorizer.Response{PrincipalID: "alice"}, nil
			},
			status: http.StatusForbidden, body: refusal("Forbidden"), invoked: true},
		{name: "unauthorized", query: "?token=t",
			answer: func(authorizer.Event) (authorizer.Response, error) {
				return authorizer.Response{}, authorizer.ErrUnauthorized
			},
			status: http.StatusUnauthorized, body: refusal("Unauthorized"), invoked: true},
		{name: "an error of the message Unauthorized", query: "?token=t",
			answer: func(authorizer.Event) (authorizer.Response, error) {
				return authorizer.Response{}, errors.New("Unauthorized")
			},
			status: http.StatusUnauthorized, body: refusal("Unauthorized"), invoked: true},
		{name: "an error wrapping Unauthorized: API Gateway reads the message", query: "?token=t",
			answer: func(authorizer.Event) (authorizer.Response, error) {
				return authorizer.Response{}, fmt.Errorf("check: %w", authorizer.ErrUnauthorized)
			},
			status: http.StatusInternalServerError, body: refusal("Internal server error"), invoked: true},
		{name: "another error", query: "?token=t",
			answer: func(authorizer.Event) (authorizer.Response, error) {
				return authorizer.Response{}, auth.ErrKeysUnavailable
			},
			status: http.StatusInternalServerError, body: refusal("Internal server error"), invoked: true},
		{name: "no principal", query: "?token=t",
			answer: allow("", map[string]any{"user_id": "alice"}),
			status: http.StatusInternalServerError, body: refusal("Internal server error"), invoked: true},
		{name: "an object in the context", query: "?token=t",
			answer: allow("alice", map[string]any{"claims": map[string]any{"sub": "alice"}}),
			status: http.StatusInternalServerError, body: refusal("Internal server error"), invoked: true},
		{name: "no identity source", query: "?user_id=alice",
			answer: allow("alice", nil), status: http.StatusUnauthorized, body: refusal("Unauthorized")},
		{name: "an empty identity source", query: "?token=&user_id=alice",
			answer: allow("alice", nil), status: http.StatusUnauthorized, body: refusal("Unauthorized")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry()
			fake := &fakeAuthorizer{answer: tt.answer}
			_, srv := serveGateway(t, localgateway.Config{Authorizer: fake}, reg)
			status, body := handshake(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/"+tt.query)
			if status != tt.status || body != tt.body {
				t.Fatalf("handshake answered %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			if invoked := fake.calls() > 0; invoked != tt.invoked {
				t.Errorf("authorizer invoked: %v, want %v", invoked, tt.invoked)
			}
			if tt.status != http.StatusSwitchingProtocols {
				if n := reg.len(); n != 0 {
					t.Errorf("a refused connection left %d rows", n)
				}
				return
			}
			if id := reg.idOf(tt.user); id == "" || reg.len() != 1 {
				t.Errorf("rows: %d, none of %s", reg.len(), tt.user)
			}
		})
	}
}

// TestAuthorizerEvent checks the event the authorizer gets, field by field, against
// the example of "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers".
func TestAuthorizerEvent(t *testing.T) {
	reg := newRegistry()
	fake := &fakeAuthorizer{answer: allow("alice", nil)}
	_, srv := serveGateway(t, localgateway.Config{Authorizer: fake, IdentitySource: "jwt"}, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?jwt=t1&tag=a&tag=b",
		&websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"test-client/1"}, "X-Test": {"1", "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })

	raw, err := json.Marshal(fake.events[0])
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	apiID := field(ev, "requestContext", "apiId")
	arn := regexp.MustCompile(`^arn:aws:execute-api:us-east-1:123456789012:([a-z0-9]{10})/local/\$connect$`).FindStringSubmatch(fmt.Sprint(ev["methodArn"]))
	if arn == nil || arn[1] != apiID {
		t.Errorf("methodArn %v, want arn:aws:execute-api:REGION:ACCOUNT:%v/local/$connect", ev["methodArn"], apiID)
	}
	for _, tc := range []struct {
		path []string
		want any
	}{
		{[]string{"type"}, "REQUEST"},
		{[]string{"queryStringParameters", "jwt"}, "t1"},
		{[]string{"queryStringParameters", "tag"}, "b"},
		{[]string{"multiValueQueryStringParameters", "tag"}, []any{"a", "b"}},
		{[]string{"headers", "User-Agent"}, "test-client/1"},
		{[]string{"headers", "X-Test"}, "2"},
		{[]string{"multiValueHeaders", "X-Test"}, []any{"1", "2"}},
		{[]string{"headers", "Host"}, strings.TrimPrefix(srv.URL, "http://")},
		{[]string{"headers", "X-Forwarded-For"}, "127.0.0.1"},
		{[]string{"stageVariables"}, map[string]any{}},
		{[]string{"requestContext", "routeKey"}, "$connect"},
		{[]string{"requestContext", "eventType"}, "CONNECT"},
		{[]string{"requestContext", "stage"}, "local"},
		{[]string{"requestContext", "connectionId"}, reg.idOf("alice")},
		{[]string{"requestContext", "identity", "sourceIp"}, "127.0.0.1"},
		{[]string{"requestContext", "authorizer"}, nil},
	} {
		if got := field(ev, tc.path...); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s = %v, want %v", strings.Join(tc.path, "."), got, tc.want)
		}
	}
}

// TestAuthorizerGrants checks that the topic patterns an authorizer grants are what the
// connection may follow, at $connect and by message, when no other rule opens a topic.
func TestAuthorizerGrants(t *testing.T) {
	store := memory.NewStore(100)
	rules, err := auth.NewRules(t.Context(), auth.Config{}, nil) // no rule: only grants
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeAuthorizer{answer: allow("alice", map[string]any{"user_id": "alice", "topics": auth.FormatGrants([]string{"order-*"})})}
	_, srv := serveGateway(t, localgateway.Config{Authorizer: fake, Topics: &handlers.Subscriber{Store: store, Authorizer: rules}}, store)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/?token=t"

	if status, body := handshake(t, url+"&topic=news"); status != http.StatusForbidden {
		t.Errorf("a $connect topic not granted: %d %s, want 403", status, body)
	}
	if conns, _ := store.UserConnections(t.Context(), "alice"); len(conns) != 0 {
		t.Errorf("a $connect refused its topic left %v", conns)
	}
	ws := dialIntegration(t, url+"&topic=order-7")
	if n := topicConnections(t, store, "order-7"); n != 1 {
		t.Errorf("order-7 has %d subscribers after a granted $connect topic, want 1", n)
	}
	for _, tc := range []struct{ msg, want string }{
		{`{"action":"subscribe","topic":"order-8"}`, "subscribed"},
		{`{"action":"subscribe","topic":"secret"}`, "error"},
	} {
		if got := exchange(t, ws, tc.msg); got["type"] != tc.want {
			t.Errorf("%s answered %v, want type %s", tc.msg, got, tc.want)
		}
	}
	if n := topicConnections(t, store, "secret"); n != 0 {
		t.Errorf("a topic not granted has %d subscribers", n)
	}
}

func topicConnections(t *testing.T, store *memory.Store, topic string) int {
	t.Helper()
	n := 0
	err := store.TopicConnections(t.Context(), topic, "", func(page []handlers.Connection, _ string) error {
		n += len(page)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAuthorizerContextReachesIntegration checks that, behind an authorizer, every
// event of a connection to a Lambda proxy integration carries the authorizer's context,
// principalId and integrationLatency in requestContext.authorizer, and that a
// connection the authorizer refuses never reaches the function.
func TestAuthorizerContextReachesIntegration(t *testing.T) {
	var mu sync.Mutex
	var events []map[string]any
	function := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"statusCode":200}`)
	}))
	t.Cleanup(function.Close)
	fake := &fakeAuthorizer{answer: func(ev authorizer.Event) (authorizer.Response, error) {
		if ev.QueryStringParameters["token"] != "good" {
			return authorizer.Response{}, authorizer.ErrUnauthorized
		}
		return authorizer.Allow(ev.MethodArn, "alice", map[string]any{"user_id": "alice", "topics": `["order-*"]`}), nil
	}}
	_, url := serveIntegration(t, localgateway.Config{Integration: function.URL, Authorizer: fake})

	if status, _ := handshake(t, url+"?token=bad"); status != http.StatusUnauthorized {
		t.Fatalf("a bad token: %d, want 401", status)
	}
	ws := dialIntegration(t, url+"?token=good")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","topic":"order-7"}`)); err != nil {
		t.Fatal(err)
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "$connect, a message and $disconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	for i, route := range []string{"$connect", "subscribe", "$disconnect"} {
		ev := events[i]
		if got := field(ev, "requestContext", "routeKey"); got != route {
			t.Errorf("event %d is of %v, want %s (a refused $connect reached the function?)", i, got, route)
		}
		authz, _ := field(ev, "requestContext", "authorizer").(map[string]any)
		latency, isNumber := authz["integrationLatency"].(float64)
		if authz["principalId"] != "alice" || authz["user_id"] != "alice" || authz["topics"] != `["order-*"]` || !isNumber || latency < 0 {
			t.Errorf("%s: requestContext.authorizer = %v, want principalId, user_id, topics and integrationLatency", route, authz)
		}
	}
}

// rieAnswer is what the fake emulator answers an authorizer event with: a status, a
// function error header (AWS's X-Amz-Function-Error), a body, after a delay.
type rieAnswer struct {
	status int
	header string
	body   func(ev authorizer.Event) string
	delay  time.Duration
}

// fakeRIE serves the Invoke API as the Runtime Interface Emulator does, answering each
// invocation with answer and counting the invocations running at once.
func fakeRIE(t *testing.T, answer rieAnswer) (url string, maxConcurrent func() int) {
	t.Helper()
	var mu sync.Mutex
	running, most := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		var ev authorizer.Event
		if r.URL.Path != "/2015-03-31/functions/function/invocations" || json.NewDecoder(r.Body).Decode(&ev) != nil {
			http.Error(w, "not an invocation", http.StatusBadRequest)
			return
		}
		time.Sleep(answer.delay)
		if answer.header != "" {
			w.Header().Set("X-Amz-Function-Error", answer.header)
		}
		w.WriteHeader(cmpStatus(answer.status))
		_, _ = io.WriteString(w, answer.body(ev))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/2015-03-31/functions/function/invocations", func() int {
		mu.Lock()
		defer mu.Unlock()
		return most
	}
}

func cmpStatus(status int) int {
	if status == 0 {
		return http.StatusOK
	}
	return status
}

func constant(body string) func(authorizer.Event) string {
	return func(authorizer.Event) string { return body }
}

// TestLambdaAuthorizer stands a fake Runtime Interface Emulator where the authorizer
// function would run, answering as the emulator does (a handler's error as a 200
// {"errorMessage","errorType"} body, a panic 502) or as AWS does (X-Amz-Function-Error),
// and checks how the gateway reads each answer.
func TestLambdaAuthorizer(t *testing.T) {
	policy := func(effect string) func(authorizer.Event) string {
		return func(ev authorizer.Event) string {
			return fmt.Sprintf(`{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[`+
				`{"Action":"execute-api:Invoke","Effect":%q,"Resource":%q}]},"context":{"user_id":"alice","topics":"[]","exp":1700000000}}`,
				effect, ev.MethodArn)
		}
	}
	tests := []struct {
		name   string
		answer rieAnswer
		status int
		body   string
	}{
		{name: "Allow", answer: rieAnswer{body: policy("Allow")}, status: http.StatusSwitchingProtocols},
		{name: "Deny", answer: rieAnswer{body: policy("Deny")}, status: http.StatusForbidden, body: refusal("Forbidden")},
		{name: "the error Unauthorized, as the emulator answers it",
			answer: rieAnswer{body: constant(`{"errorMessage":"Unauthorized","errorType":"errorString"}`)},
			status: http.StatusUnauthorized, body: refusal("Unauthorized")},
		{name: "the error Unauthorized, as AWS answers it",
			answer: rieAnswer{header: "Unhandled", body: constant(`{"errorMessage":"Unauthorized","errorType":"errorString"}`)},
			status: http.StatusUnauthorized, body: refusal("Unauthorized")},
		{name: "another error",
			answer: rieAnswer{body: constant(`{"errorMessage":"the signing keys could not be fetched","errorType":"wrapError"}`)},
			status: http.StatusInternalServerError, body: refusal("Internal server error")},
		{name: "a panic", answer: rieAnswer{status: http.StatusBadGateway, body: constant(`{"errorMessage":"boom","errorType":"string","stackTrace":[]}`)},
			status: http.StatusInternalServerError, body: refusal("Internal server error")},
		{name: "an answer that is not JSON", answer: rieAnswer{body: constant(`Allow`)},
			status: http.StatusInternalServerError, body: refusal("Internal server error")},
		{name: "an answer without a principal", answer: rieAnswer{body: constant(`{}`)},
			status: http.StatusInternalServerError, body: refusal("Internal server error")},
		{name: "no answer in time", answer: rieAnswer{body: policy("Allow"), delay: time.Second},
			status: http.StatusInternalServerError, body: refusal("Internal server error")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := fakeRIE(t, tt.answer)
			a, err := localgateway.NewLambdaAuthorizer(url, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			reg := newRegistry()
			_, srv := serveGateway(t, localgateway.Config{Authorizer: a}, reg)
			status, body := handshake(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?token=t&user_id=mallory")
			if status != tt.status || body != tt.body {
				t.Fatalf("handshake answered %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			want := 0
			if tt.status == http.StatusSwitchingProtocols {
				want = 1
				if reg.idOf("alice") == "" {
					t.Error("the connection is not alice's")
				}
			}
			if n := reg.len(); n != want {
				t.Errorf("%d rows, want %d", n, want)
			}
		})
	}
}

// TestLambdaAuthorizerOneAtATime connects clients at once through an authorizer
// function that takes a while: the emulator must get one invocation at a time.
func TestLambdaAuthorizerOneAtATime(t *testing.T) {
	url, maxConcurrent := fakeRIE(t, rieAnswer{delay: 20 * time.Millisecond, body: func(ev authorizer.Event) string {
		user := ev.QueryStringParameters["token"]
		b, _ := json.Marshal(authorizer.Allow(ev.MethodArn, user, nil))
		return string(b)
	}})
	a, err := localgateway.NewLambdaAuthorizer(url, 0)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry()
	_, srv := serveGateway(t, localgateway.Config{Authorizer: a}, reg)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if status, body := handshake(t, fmt.Sprintf("ws%s/?token=user-%d", strings.TrimPrefix(srv.URL, "http"), i)); status != http.StatusSwitchingProtocols {
				t.Errorf("user-%d: %d %s", i, status, body)
			}
		})
	}
	wg.Wait()
	if n, most := reg.len(), maxConcurrent(); n != 8 || most != 1 {
		t.Errorf("%d connections, %d invocations at once at most; want 8 and 1", n, most)
	}
}

func TestNewLambdaAuthorizer(t *testing.T) {
	for _, tc := range []struct {
		url     string
		timeout time.Duration
	}{
		{"127.0.0.1:9001", 0},
		{"ftp://127.0.0.1:9001/", 0},
		{"http://127.0.0.1:9001/", -time.Second},
	} {
		if _, err := localgateway.NewLambdaAuthorizer(tc.url, tc.timeout); err == nil {
			t.Errorf("NewLambdaAuthorizer(%q, %s) took it", tc.url, tc.timeout)
		}
	}
}
