package apigw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// kind names the class the post stage sees in err.
func kind(err error) string {
	switch {
	case err == nil:
		return "delivered"
	case errors.Is(err, handlers.ErrGone):
		return "gone"
	case handlers.IsPermanent(err):
		return "permanent"
	case errors.Is(err, handlers.ErrThrottled):
		return "throttled"
	default:
		return "transient"
	}
}

func newPoster(t *testing.T, awsCfg aws.Config, cfg apigw.Config) *apigw.Poster {
	t.Helper()
	p, err := apigw.New(awsCfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     apigw.Config
		wantErr bool
	}{
		{name: "aws endpoint", cfg: apigw.Config{Endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com/prod"}},
		{name: "local endpoint", cfg: apigw.Config{Endpoint: "http://127.0.0.1:8080/"}},
		{name: "no endpoint", wantErr: true},
		{name: "no scheme", cfg: apigw.Config{Endpoint: "127.0.0.1:8080"}, wantErr: true},
		{name: "no host", cfg: apigw.Config{Endpoint: "https:///prod"}, wantErr: true},
		{name: "a port without a host", cfg: apigw.Config{Endpoint: "http://:80/prod"}, wantErr: true},
		{name: "a user", cfg: apigw.Config{Endpoint: "https://me@abc.execute-api.eu-west-1.amazonaws.com/prod"}, wantErr: true},
		{name: "an empty user and no host", cfg: apigw.Config{Endpoint: "http://@:80"}, wantErr: true},
		{name: "other scheme", cfg: apigw.Config{Endpoint: "wss://abc.execute-api.eu-west-1.amazonaws.com/prod"}, wantErr: true},
		{name: "query", cfg: apigw.Config{Endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com/prod?stage=1"}, wantErr: true},
		{name: "fragment", cfg: apigw.Config{Endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com/prod#x"}, wantErr: true},
		{name: "negative max conns", cfg: apigw.Config{Endpoint: "http://127.0.0.1:8080", MaxConns: -1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apigw.New(apigw.LocalConfig(""), tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// startGateway serves a local gateway, connects one client as user u1, and returns the
// gateway's URL, the client's socket and its connection id.
func startGateway(t *testing.T) (string, *websocket.Conn, string) {
	t.Helper()
	store := memory.NewStore(0)
	gw, err := localgateway.New(localgateway.Config{}, store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	gw.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = gw.Close(context.Background()) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?user_id=u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	conns, _ := store.UserConnections(ctx, "u1")
	if len(conns) != 1 {
		t.Fatalf("u1 has %d connections, want 1", len(conns))
	}
	return srv.URL, ws, conns[0].ConnectionID
}

func TestPostThroughLocalGateway(t *testing.T) {
	tests := []struct {
		name     string
		unknown  bool // post to an id the gateway never gave
		frame    []byte
		wantKind string
	}{
		{name: "delivered", frame: []byte(`{"msg":"hello"}`), wantKind: "delivered"},
		{name: "gone", unknown: true, frame: []byte(`{}`), wantKind: "gone"},
		{name: "too large", frame: make([]byte, handlers.MaxFrameBytes+1), wantKind: "permanent"},
		{name: "no frame", frame: nil, wantKind: "permanent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint, ws, id := startGateway(t)
			p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: endpoint})
			if tc.unknown {
				id = "AAAAAAAAAAAAAAA="
			}
			err := p.PostToConnection(context.Background(), id, tc.frame)
			if got := kind(err); got != tc.wantKind {
				t.Fatalf("PostToConnection: %s (%v), want %s", got, err, tc.wantKind)
			}
			if err != nil {
				if !strings.Contains(err.Error(), id) {
					t.Errorf("error %q does not name the connection", err)
				}
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			typ, got, err := ws.Read(ctx)
			if err != nil || typ != websocket.MessageText || string(got) != string(tc.frame) {
				t.Fatalf("client read %v %q %v, want text %q", typ, got, err, tc.frame)
			}
		})
	}
}

func TestDeleteThroughLocalGateway(t *testing.T) {
	endpoint, ws, id := startGateway(t)
	p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: endpoint})
	if err := p.DeleteConnection(context.Background(), id); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("client read error = %v, want a normal closure", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := p.DeleteConnection(context.Background(), id)
		if kind(err) == "gone" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DeleteConnection of a closed connection: %v, want gone", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// request is what a fake Management API saw of a call.
type request struct {
	path          string // escaped, as sent
	authorization string
}

// fakeAPI answers every call with status, in AWS's REST-JSON error shape when errorType
// is set, and with body otherwise.
func fakeAPI(t *testing.T, status int, errorType, body string) (string, <-chan request) {
	t.Helper()
	seen := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- request{path: r.URL.EscapedPath(), authorization: r.Header.Get("Authorization")}
		if errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", errorType)
			w.Header().Set("Content-Type", "application/json")
			body = fmt.Sprintf(`{"message":"fake %s"}`, errorType)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, seen
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		status    int
		errorType string
		body      string
		wantKind  string
	}{
		{status: 200, wantKind: "delivered"},
		{status: 410, errorType: "GoneException", wantKind: "gone"},
		{status: 413, errorType: "PayloadTooLargeException", wantKind: "permanent"},
		{status: 403, errorType: "ForbiddenException", wantKind: "permanent"},
		{status: 400, errorType: "BadRequestException", wantKind: "permanent"},
		{status: 408, body: "request timeout", wantKind: "transient"},
		{status: 429, errorType: "LimitExceededException", wantKind: "throttled"},
		{status: 500, errorType: "InternalServerErrorException", wantKind: "transient"},
		{status: 503, body: "<html>Service Unavailable</html>", wantKind: "transient"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, " ", tc.errorType), func(t *testing.T) {
			endpoint, seen := fakeAPI(t, tc.status, tc.errorType, tc.body)
			p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: endpoint})
			err := p.PostToConnection(context.Background(), "abc=", []byte(`{}`))
			if got := kind(err); got != tc.wantKind {
				t.Fatalf("PostToConnection: %s (%v), want %s", got, err, tc.wantKind)
			}
			req := <-seen
			if req.path != "/@connections/abc%3D" {
				t.Errorf("path = %s, want /@connections/abc%%3D", req.path)
			}
			if req.authorization != "" {
				t.Errorf("anonymous call was signed: Authorization %q", req.authorization)
			}
		})
	}
}

func TestTransientWithoutResponse(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: srv.URL})
		if err := p.PostToConnection(context.Background(), "abc=", []byte(`{}`)); kind(err) != "transient" {
			t.Fatalf("PostToConnection: %s (%v), want transient", kind(err), err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		stop := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-stop // the request context would only end once the unread body was read
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(stop) })
		p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // the pipeline's PostTimeout
		defer cancel()
		err := p.PostToConnection(ctx, "abc=", []byte(`{}`))
		if kind(err) != "transient" || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PostToConnection: %s (%v), want a transient deadline error", kind(err), err)
		}
	})
}
