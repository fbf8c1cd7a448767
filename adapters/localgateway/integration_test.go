//go:build linux

package localgateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
)

// echoFunction is a Lambda function for the gateway to invoke under the Runtime
// Interface Emulator: it posts each event it gets, as it got it, to RECORD_URL, and
// answers $connect with the status of the query parameter answer (200 by default, an
// error for "fail"), and a message with the event itself as the body, after sleeping
// the message's "sleep" milliseconds; the actions "fail", "panic" and "quiet" make it
// fail, panic, or answer without a body.
const echoFunction = `package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
		if resp, err := http.Post(os.Getenv("RECORD_URL"), "application/json", bytes.NewReader(raw)); err == nil {
			resp.Body.Close()
		}
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		switch ev.RequestContext.RouteKey {
		case "$connect":
			switch answer := ev.QueryStringParameters["answer"]; answer {
			case "":
				return events.APIGatewayProxyResponse{StatusCode: 200}, nil
			case "fail":
				return events.APIGatewayProxyResponse{}, errors.New("connect failed")
			default:
				status, _ := strconv.Atoi(answer)
				return events.APIGatewayProxyResponse{StatusCode: status, Body: "refused"}, nil
			}
		case "$disconnect":
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}
		var msg struct {
			Action string ` + "`json:\"action\"`" + `
			Sleep  int    ` + "`json:\"sleep\"`" + `
		}
		_ = json.Unmarshal([]byte(ev.Body), &msg)
		time.Sleep(time.Duration(msg.Sleep) * time.Millisecond)
		switch msg.Action {
		case "fail":
			return events.APIGatewayProxyResponse{}, errors.New("message failed")
		case "panic":
			panic("message panicked")
		case "quiet":
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(raw)}, nil
	})
}
`

// recorder keeps the events the echo function was invoked with.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev map[string]any
	body, _ := io.ReadAll(req.Body)
	if json.Unmarshal(body, &ev) == nil {
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.mu.Unlock()
	}
}

// last returns the last event of the route, waiting for it up to 5s.
func (r *recorder) last(t *testing.T, route string) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, "a "+route+" event", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ev := range r.events {
			if field(ev, "requestContext", "routeKey") == route {
				found = ev
			}
		}
		return found != nil
	})
	return found
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// echoRIE runs the echo function under the Runtime Interface Emulator until the test
// ends, recording its events.
func echoRIE(t *testing.T) (*awstest.RIE, *recorder) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte(echoFunction), 0o644); err != nil {
		t.Fatal(err)
	}
	bootstrap := awstest.BuildBootstrap(t, src)
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return awstest.StartRIE(t, bootstrap, map[string]string{"RECORD_URL": srv.URL}), rec
}

// TestIntegration runs a Lambda function under the Runtime Interface Emulator behind
// the gateway, as API Gateway's Lambda proxy integration invokes one, and checks the
// events it gets and how the gateway reads its answers. The subtests share the
// emulator, so they run one after the other.
func TestIntegration(t *testing.T) {
	rie, rec := echoRIE(t)

	t.Run("events are shaped as API Gateway's", func(t *testing.T) {
		rec.reset()
		_, url := serveIntegration(t, localgateway.Config{Integration: rie.URL()})
		began := time.Now()
		ws := dialIntegration(t, url+"?user_id=erin&topic=a&topic=b")

		connect := rec.last(t, "$connect")
		ctx := connect["requestContext"].(map[string]any)
		id, _ := ctx["connectionId"].(string)
		host := strings.TrimPrefix(url, "ws://")
		host = strings.TrimSuffix(host, "/")
		for _, check := range []struct {
			name      string
			got, want any
		}{
			{"eventType", ctx["eventType"], "CONNECT"},
			{"messageDirection", ctx["messageDirection"], "IN"},
			{"stage", ctx["stage"], "local"},
			{"requestId", ctx["requestId"], ctx["extendedRequestId"]},
			{"domainName", ctx["domainName"], host},
			{"identity.sourceIp", field(ctx, "identity", "sourceIp"), "127.0.0.1"},
			{"identity.userAgent", field(ctx, "identity", "userAgent"), "test-client/1"},
			{"headers.Host", field(connect, "headers", "Host"), host},
			{"headers.X-Test", field(connect, "headers", "X-Test"), "2"},
			{"headers.X-Forwarded-For", field(connect, "headers", "X-Forwarded-For"), "127.0.0.1"},
			{"multiValueHeaders.X-Test", strings.Join(asStrings(field(connect, "multiValueHeaders", "X-Test")), ","), "1,2"},
			{"queryStringParameters.topic", field(connect, "queryStringParameters", "topic"), "b"},
			{"queryStringParameters.user_id", field(connect, "queryStringParameters", "user_id"), "erin"},
			{"multiValueQueryStringParameters.topic", strings.Join(asStrings(field(connect, "multiValueQueryStringParameters", "topic")), ","), "a,b"},
			{"authorizer", ctx["authorizer"], nil},
			{"messageId", ctx["messageId"], nil},
			{"body", connect["body"], nil},
		} {
			if check.got != check.want {
				t.Errorf("CONNECT %s = %v, want %v", check.name, check.got, check.want)
			}
		}
		if len(id) != 16 || len(ctx["apiId"].(string)) != 10 || ctx["requestTime"] == "" {
			t.Errorf("connectionId %q, apiId %v, requestTime %v", id, ctx["apiId"], ctx["requestTime"])
		}
		connectedAt := time.UnixMilli(int64(ctx["connectedAt"].(float64)))
		requested := time.UnixMilli(int64(ctx["requestTimeEpoch"].(float64)))
		if connectedAt.Before(began.Truncate(time.Millisecond)) || requested.Before(connectedAt) || time.Since(connectedAt) > 5*time.Second {
			t.Errorf("connectedAt %s, requestTimeEpoch %s, dialled at %s", connectedAt, requested, began)
		}

		for _, tc := range []struct{ name, msg, route string }{
			{"a route's action", `{"action":"subscribe","topic":"news"}`, "subscribe"},
			{"another route's action", `{"action":"unsubscribe","topic":"news"}`, "unsubscribe"},
			{"an action without a route", `{"action":"ping"}`, "$default"},
			{"no action", `{"topic":"news"}`, "$default"},
			{"not JSON", `hello`, "$default"},
		} {
			ev := exchange(t, ws, tc.msg)
			mctx, _ := ev["requestContext"].(map[string]any)
			for _, check := range []struct {
				name      string
				got, want any
			}{
				{"routeKey", mctx["routeKey"], tc.route},
				{"eventType", mctx["eventType"], "MESSAGE"},
				{"connectionId", mctx["connectionId"], id},
				{"connectedAt", mctx["connectedAt"], ctx["connectedAt"]},
				{"body", ev["body"], tc.msg},
				{"isBase64Encoded", ev["isBase64Encoded"], false},
				{"headers", ev["headers"], nil},
				{"multiValueHeaders", ev["multiValueHeaders"], nil},
				{"queryStringParameters", ev["queryStringParameters"], nil},
				{"multiValueQueryStringParameters", ev["multiValueQueryStringParameters"], nil},
				{"authorizer", mctx["authorizer"], nil},
			} {
				if check.got != check.want {
					t.Errorf("%s: MESSAGE %s = %v, want %v", tc.name, check.name, check.got, check.want)
				}
			}
			if m, _ := mctx["messageId"].(string); m == "" || mctx["requestId"] == ctx["requestId"] {
				t.Errorf("%s: messageId %v, requestId %v (the CONNECT's %v)", tc.name, mctx["messageId"], mctx["requestId"], ctx["requestId"])
			}
		}

		if err := ws.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatal(err)
		}
		disconnect := rec.last(t, "$disconnect")
		dctx := disconnect["requestContext"].(map[string]any)
		for _, check := range []struct {
			name      string
			got, want any
		}{
			{"eventType", dctx["eventType"], "DISCONNECT"},
			{"connectionId", dctx["connectionId"], id},
			{"disconnectStatusCode", dctx["disconnectStatusCode"], float64(websocket.StatusNormalClosure)},
			{"disconnectReason", dctx["disconnectReason"], "bye"},
			{"headers.Host", field(disconnect, "headers", "Host"), host},
			{"queryStringParameters", disconnect["queryStringParameters"], nil},
			{"multiValueQueryStringParameters", disconnect["multiValueQueryStringParameters"], nil},
			{"body", disconnect["body"], nil},
			{"authorizer", dctx["authorizer"], nil},
		} {
			if check.got != check.want {
				t.Errorf("DISCONNECT %s = %v, want %v", check.name, check.got, check.want)
			}
		}
	})

	t.Run("$connect is refused as the function answers", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close() // its address refuses connections
		for _, tc := range []struct {
			name        string
			integration string
			query       string
			want        int
		}{
			{"a 403 response", rie.URL(), "?answer=403", http.StatusForbidden},
			{"a 400 response", rie.URL(), "?answer=400", http.StatusBadRequest},
			{"a function error", rie.URL(), "?answer=fail", http.StatusBadGateway},
			{"an invocation refused", dead.URL + "/2015-03-31/functions/function/invocations", "", http.StatusInternalServerError},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec.reset()
				gw, url := serveIntegration(t, localgateway.Config{Integration: tc.integration})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				ws, resp, err := websocket.Dial(ctx, url+tc.query, nil)
				if err == nil {
					ws.CloseNow()
					t.Fatal("the handshake passed")
				}
				if resp == nil || resp.StatusCode != tc.want {
					t.Fatalf("handshake answered %v (%v), want %d", resp, err, tc.want)
				}
				if n := gw.Connections(); n != 0 {
					t.Errorf("%d connections", n)
				}
			})
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, ev := range rec.events {
			if field(ev, "requestContext", "routeKey") == "$disconnect" {
				t.Errorf("a refused $connect was followed by $disconnect")
			}
		}
	})

	t.Run("a failed message is answered as API Gateway answers it", func(t *testing.T) {
		_, url := serveIntegration(t, localgateway.Config{Integration: rie.URL(), BackendTimeout: 500 * time.Millisecond})
		ws := dialIntegration(t, url+"?user_id=erin")
		for _, tc := range []struct{ name, msg, want string }{
			{"a function error", `{"action":"fail"}`, "Internal server error"},
			{"a panic", `{"action":"panic"}`, "Internal server error"},
			{"past the integration timeout", `{"action":"slow","sleep":1500}`, "Endpoint request timed out"},
		} {
			got := exchange(t, ws, tc.msg)
			if got["message"] != tc.want || got["connectionId"] == "" || got["requestId"] == "" || len(got) != 3 {
				t.Errorf("%s: answered %v, want message %q with the connection and request ids", tc.name, got, tc.want)
			}
		}
		// The next invocation waits for the one that timed out: the emulator takes one at
		// a time, and the connection is still open.
		began := time.Now()
		if ev := exchange(t, ws, `{"action":"ping"}`); field(ev, "requestContext", "routeKey") != "$default" {
			t.Errorf("answered %v after the failures", ev)
		}
		if waited := time.Since(began); waited < 500*time.Millisecond {
			t.Errorf("answered after %s: did not wait for the invocation still running", waited)
		}
		// A message whose function answers no body gets no frame.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, msg := range []string{`{"action":"quiet"}`, `{"action":"ping"}`} {
			if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
		_, frame, err := ws.Read(ctx)
		if err != nil || !strings.Contains(string(frame), `"routeKey":"$default"`) {
			t.Errorf("after a quiet answer, got %.80s %v, want the next message's echo", frame, err)
		}
	})

	t.Run("concurrent invocations are made one at a time", func(t *testing.T) {
		_, url := serveIntegration(t, localgateway.Config{Integration: rie.URL()})
		const clients = 8
		conns := make([]*websocket.Conn, clients)
		for i := range conns {
			conns[i] = dialIntegration(t, url+"?user_id=u")
		}
		began := time.Now()
		var wg sync.WaitGroup
		for _, ws := range conns {
			wg.Go(func() {
				if ev := exchange(t, ws, `{"action":"ping","sleep":50}`); field(ev, "requestContext", "routeKey") != "$default" {
					t.Errorf("answered %v", ev)
				}
			})
		}
		wg.Wait()
		// One at a time: at least the sum of the sleeps. The emulator crashes on the
		// second of two concurrent invocations, and then no client gets an answer.
		if took := time.Since(began); took < clients*50*time.Millisecond {
			t.Errorf("%d invocations of 50ms took %s: they overlapped", clients, took)
		}
	})
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

func TestNewWithIntegration(t *testing.T) {
	const url = "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
	tests := []struct {
		name    string
		cfg     localgateway.Config
		wantErr bool
	}{
		{name: "no registry", cfg: localgateway.Config{Integration: url}},
		{name: "routes", cfg: localgateway.Config{Integration: url, Routes: []string{"sendmessage"}}},
		{name: "not a URL", cfg: localgateway.Config{Integration: "127.0.0.1:9000"}, wantErr: true},
		{name: "and a backend", cfg: localgateway.Config{Integration: url, Backend: "http://127.0.0.1:8081"}, wantErr: true},
		{name: "a reserved route", cfg: localgateway.Config{Integration: url, Routes: []string{"$default"}}, wantErr: true},
		{name: "an empty route", cfg: localgateway.Config{Integration: url, Routes: []string{""}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := localgateway.New(tc.cfg, nil)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
