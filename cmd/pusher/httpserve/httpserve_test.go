package httpserve_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
)

func TestAddressValidate(t *testing.T) {
	tests := []struct {
		name string
		addr httpserve.Address
		// wantErr is what the error says after naming the address; "" for none.
		wantErr string
	}{
		{name: "host and port", addr: "127.0.0.1:8080"},
		{name: "port alone", addr: ":9090"},
		{name: "any port", addr: "localhost:0"},
		{name: "IPv6", addr: "[::1]:8080"},
		{name: "service name", addr: "0.0.0.0:http"},
		{name: "empty", addr: "", wantErr: "missing port in address"},
		{name: "no host", addr: "8080", wantErr: "missing port in address"},
		{name: "no port", addr: "127.0.0.1", wantErr: "missing port in address"},
		{name: "IPv6 without brackets", addr: "::1:8080", wantErr: "too many colons in address"},
		{name: "URL", addr: "http://127.0.0.1:8080", wantErr: "too many colons in address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.addr.Validate()
			switch prefix := fmt.Sprintf("listen address %q: ", tt.addr); {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr == "":
			case err == nil:
				t.Errorf("Validate() = nil, want an error saying %q", tt.wantErr)
			case !strings.HasPrefix(err.Error(), prefix) || !strings.HasSuffix(err.Error(), tt.wantErr):
				t.Errorf("Validate() = %q, want %q...%q", err, prefix, tt.wantErr)
			}
		})
	}
}

// listen listens on 127.0.0.1:0 and closes the listener when the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, cleanup, err := httpserve.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return ln
}

func TestListen(t *testing.T) {
	ln, cleanup, err := httpserve.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) || addr.Port == 0 {
		t.Fatalf("listening on %v, want 127.0.0.1 and a port of its own", addr)
	}
	conn, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	conn.Close()

	cleanup()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after the cleanup: %v, want net.ErrClosed", err)
	}
	// The port is free again: a restarted mode can listen on it.
	again, cleanupAgain, err := httpserve.Listen(httpserve.Address(addr.String()))
	if err != nil {
		t.Fatalf("listen again on %v after the cleanup: %v", addr, err)
	}
	cleanupAgain()
	again.Close()
}

func TestListenOnAnAddressInUse(t *testing.T) {
	taken := listen(t).Addr().String()
	ln, cleanup, err := httpserve.Listen(httpserve.Address(taken))
	if err == nil {
		cleanup()
		ln.Close()
		t.Fatalf("Listen(%s) while it is in use: no error", taken)
	}
	if want := "listen on " + taken + ": "; !strings.Contains(err.Error(), want) {
		t.Errorf("Listen(%s) = %v, want it to say %q", taken, err, want)
	}
}

// get GETs url with a client of its own, so that no idle connection outlives the call.
func get(url string) (int, string, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestStartServes(t *testing.T) {
	ln := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := httpserve.Start(ln, mux)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })

	for _, tt := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/healthz", http.StatusOK, "ok\n"},
		{"/nothing", http.StatusNotFound, "404 page not found\n"},
	} {
		status, body, err := get("http://" + ln.Addr().String() + tt.path)
		if err != nil || status != tt.wantStatus || body != tt.wantBody {
			t.Errorf("GET %s = %d %q, %v; want %d %q", tt.path, status, body, err, tt.wantStatus, tt.wantBody)
		}
	}
}

// TestStopLetsARequestInFlightFinish stops the server while a handler is at work: the
// client gets its whole answer, Stop waits for it and returns nil, and the listener
// takes no more connections.
func TestStopLetsARequestInFlightFinish(t *testing.T) {
	ln := listen(t)
	url := "http://" + ln.Addr().String() + "/slow"
	entered, release := make(chan struct{}), make(chan struct{})
	srv := httpserve.Start(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done\n")
	}))

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		status, body, err := get(url)
		answered <- answer{status, body, err}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)

	if a := <-answered; a.err != nil || a.status != http.StatusOK || a.body != "done\n" {
		t.Errorf("the request in flight got %d %q, %v; want 200 \"done\\n\"", a.status, a.body, a.err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop has not returned 5s after the last request finished")
	}
	if _, _, err := get(url); err == nil {
		t.Error("a request after Stop was answered")
	}
}

// TestStopDoesNotWaitLong checks that Stop gives up on what would hold it: a handler
// that does not finish, and a connection a client dialled but never used (which
// http.Server.Shutdown takes for busy for 5s). It waits about a second, closes them,
// and returns nil: the service still exits.
func TestStopDoesNotWaitLong(t *testing.T) {
	tests := []struct {
		name string
		// hold makes the server busy at addr; it returns what the client of the busy
		// connection gets once Stop returned, or nil for none to check.
		hold func(t *testing.T, addr string, entered <-chan struct{}) <-chan error
	}{
		{
			name: "a handler that does not finish",
			hold: func(t *testing.T, addr string, entered <-chan struct{}) <-chan error {
				failed := make(chan error, 1)
				go func() {
					_, _, err := get("http://" + addr + "/hang")
					failed <- err
				}()
				<-entered
				return failed
			},
		},
		{
			name: "a connection dialled and never used",
			hold: func(t *testing.T, addr string, _ <-chan struct{}) <-chan error {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				// Let the server accept it, so that Shutdown counts it.
				time.Sleep(100 * time.Millisecond)
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t)
			entered, hung := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(hung) })
			srv := httpserve.Start(ln, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				close(entered)
				select {
				case <-hung:
				case <-r.Context().Done():
				}
			}))
			client := tt.hold(t, ln.Addr().String(), entered)

			start := time.Now()
			if err := srv.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if took := time.Since(start); took < 900*time.Millisecond || took > 3*time.Second {
				t.Errorf("Stop took %v, want about a second", took)
			}
			if client != nil {
				select {
				case err := <-client:
					if err == nil {
						t.Error("the request Stop gave up on was answered")
					}
				case <-time.After(5 * time.Second):
					t.Error("the request Stop gave up on is still open 5s later")
				}
			}
		})
	}
}

// brokenListener is a listener whose Accept fails for good, as one does that the
// system took away; accepted is closed once it has.
type brokenListener struct {
	net.Listener
	accepted chan struct{}
}

var errBroken = errors.New("accept tcp 127.0.0.1: the listener broke")

func (l brokenListener) Accept() (net.Conn, error) {
	close(l.accepted)
	return nil, errBroken
}

// TestStopReportsAFailedListener checks that Stop reports why serving ended when it was
// not Stop: here the listener failing.
func TestStopReportsAFailedListener(t *testing.T) {
	ln := brokenListener{Listener: listen(t), accepted: make(chan struct{})}
	srv := httpserve.Start(ln, http.NotFoundHandler())
	<-ln.accepted
	// Serve returns the error just after Accept; a Stop in between would be taken for
	// the cause.
	time.Sleep(50 * time.Millisecond)
	if err := srv.Stop(context.Background()); !errors.Is(err, errBroken) {
		t.Errorf("Stop = %v, want the listener's error %q", err, errBroken)
	}
}
