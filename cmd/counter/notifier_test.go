package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// recorded is a request an intake got.
type recorded struct {
	method, path, contentType, body string
}

// recordingIntake starts an HTTP server that records each request and answers status and
// answer, until the test ends.
func recordingIntake(t *testing.T, status int, answer string) (*httptest.Server, <-chan recorded) {
	t.Helper()
	got := make(chan recorded, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- recorded{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body)}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// TestIntakeNotifier: one POST /notifications of {"data": frame}, the broadcast form;
// anything but 202 is an error that says what the intake answered.
func TestIntakeNotifier(t *testing.T) {
	tests := []struct {
		name    string
		base    func(srv string) string
		status  int
		answer  string
		wantErr string
	}{
		{name: "accepted", base: func(s string) string { return s }, status: 202, answer: `{"message_id":"m-1"}`},
		{name: "base with a slash", base: func(s string) string { return s + "/" }, status: 202},
		{name: "refused", base: func(s string) string { return s }, status: 400, answer: `{"error":"body is not JSON"}`,
			wantErr: `/notifications: 400 Bad Request: body is not JSON`},
		{name: "unavailable", base: func(s string) string { return s }, status: 503, answer: `{"error":"intake is closing"}`,
			wantErr: "503 Service Unavailable: intake is closing"},
		{name: "OK is not accepted", base: func(s string) string { return s }, status: 200, wantErr: "200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := recordingIntake(t, tt.status, tt.answer)
			err := intakeNotifier(tt.base(srv.URL)).Broadcast(t.Context(), app.State{Value: 4, Seq: 9, Epoch: 1796637600123}.Frame())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Broadcast: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Broadcast: %v, want an error saying %q", err, tt.wantErr)
			}
			want := recorded{"POST", "/notifications", "application/json", `{"data":{"type":"state","value":4,"seq":9,"epoch":1796637600123}}`}
			if got := <-requests; got != want {
				t.Errorf("the intake got %+v, want %+v", got, want)
			}
		})
	}
}
