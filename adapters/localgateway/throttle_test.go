package localgateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestThrottleConfig(t *testing.T) {
	tests := []struct {
		name    string
		rps     float64
		burst   int
		wantErr string
	}{
		{name: "no throttle"},
		{name: "a rate alone", rps: 10},
		{name: "a rate and a burst", rps: 10, burst: 100},
		{name: "a fraction of a call per second", rps: 0.5},
		{name: "negative rate", rps: -1, wantErr: "throttle rate -1"},
		{name: "rate not a number", rps: math.NaN(), wantErr: "throttle rate NaN"},
		{name: "infinite rate", rps: math.Inf(1), wantErr: "throttle rate +Inf"},
		{name: "negative burst", rps: 10, burst: -1, wantErr: "throttle burst -1 is negative"},
		{name: "a burst without a rate", burst: 5, wantErr: "throttle burst 5 without a throttle rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := localgateway.New(localgateway.Config{ThrottleRPS: tc.rps, ThrottleBurst: tc.burst}, newRegistry())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("New: error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// calls is a run of Management API calls made after a wait, each expected to be
// answered want: 410 for a call the throttle let through (no connection has the id),
// 429 for one it refused.
type calls struct {
	after  time.Duration
	method string
	n      int
	want   int
}

// TestThrottleBucket checks the bucket on a fake clock: a full bucket lets a burst of
// calls through at once, the next is answered 429 LimitExceededException as the
// Management API answers it, and tokens come back at the rate, never more than the
// burst. The calls go to an unknown connection: a call let through is answered 410,
// which no throttled one is.
func TestThrottleBucket(t *testing.T) {
	const post, get, del = http.MethodPost, http.MethodGet, http.MethodDelete
	tests := []struct {
		name  string
		rps   float64
		burst int
		calls []calls
	}{
		{name: "burst, then 429, then refills at the rate", rps: 10, burst: 5, calls: []calls{
			{method: post, n: 5, want: http.StatusGone},
			{method: post, n: 2, want: http.StatusTooManyRequests},
			{after: 100 * time.Millisecond, method: post, n: 1, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
			{after: 250 * time.Millisecond, method: post, n: 2, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
		}},
		{name: "a long quiet spell refills the burst, not more", rps: 10, burst: 5, calls: []calls{
			{method: post, n: 5, want: http.StatusGone},
			{after: time.Minute, method: post, n: 5, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
		}},
		{name: "default burst: half a second of the rate", rps: 10, calls: []calls{
			{method: post, n: 5, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
		}},
		{name: "default burst of a slow rate: one call", rps: 0.5, calls: []calls{
			{method: post, n: 1, want: http.StatusGone},
			{after: time.Second, method: post, n: 1, want: http.StatusTooManyRequests},
			{after: time.Second, method: post, n: 1, want: http.StatusGone},
		}},
		{name: "GET and DELETE take tokens of the same bucket", rps: 1, burst: 3, calls: []calls{
			{method: post, n: 1, want: http.StatusGone},
			{method: get, n: 1, want: http.StatusGone},
			{method: del, n: 1, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
			{method: get, n: 1, want: http.StatusTooManyRequests},
			{method: del, n: 1, want: http.StatusTooManyRequests},
			{after: time.Second, method: get, n: 1, want: http.StatusGone},
			{method: post, n: 1, want: http.StatusTooManyRequests},
		}},
		{name: "no throttle", calls: []calls{
			{method: post, n: 1000, want: http.StatusGone},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gw, err := localgateway.New(localgateway.Config{ThrottleRPS: tc.rps, ThrottleBurst: tc.burst}, newRegistry())
				if err != nil {
					t.Fatal(err)
				}
				mux := http.NewServeMux()
				gw.Register(mux)
				var admitted, throttled int64
				for i, step := range tc.calls {
					time.Sleep(step.after)
					for range step.n {
						req := httptest.NewRequest(step.method, "/@connections/Xyz1AbCdIAMCJkQ=", strings.NewReader(`{"n":1}`))
						rec := httptest.NewRecorder()
						mux.ServeHTTP(rec, req)
						if rec.Code != step.want {
							t.Fatalf("step %d: %s after %v answered %d %s, want %d", i, step.method, step.after, rec.Code, rec.Body, step.want)
						}
						if rec.Code == http.StatusTooManyRequests {
							checkThrottled(t, rec.Result())
							throttled++
						} else {
							admitted++
						}
					}
				}
				if gw.Throttled() != throttled || gw.Admitted() != admitted {
					t.Errorf("Throttled() = %d, Admitted() = %d; want %d and %d", gw.Throttled(), gw.Admitted(), throttled, admitted)
				}
			})
		})
	}
}

// checkThrottled fails the test unless resp is the Management API's answer to a
// throttled call: 429, LimitExceededException in X-Amzn-ErrorType (where the SDKs read
// the error's type) and a JSON body with the type and a message.
func checkThrottled(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("X-Amzn-ErrorType"); got != "LimitExceededException" {
		t.Errorf("X-Amzn-ErrorType %q, want LimitExceededException", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body: %v", err)
	}
	want := map[string]string{"__type": "LimitExceededException", "message": "Limit Exceeded"}
	if len(body) != len(want) || body["__type"] != want["__type"] || body["message"] != want["message"] {
		t.Errorf("body %v, want %v", body, want)
	}
}

// TestThrottleEndToEnd runs a throttled gateway on a real listener with live clients,
// and posts through the pusher's own poster: the posts within the burst are delivered,
// those past it are throttled (handlers.ErrThrottled, which the post stage retries) and
// deliver nothing, and the SDK's client reads the throttle as its
// LimitExceededException. The rate is so slow that no token comes back during the test.
func TestThrottleEndToEnd(t *testing.T) {
	reg := newRegistry()
	gw, srv := serveGateway(t, localgateway.Config{ThrottleRPS: 0.001, ThrottleBurst: 4}, reg)
	addr := strings.TrimPrefix(srv.URL, "http://")
	alice := gatewaytest.Dial(t, addr, "alice", "alice")
	bob := gatewaytest.Dial(t, addr, "bob", "bob")
	ids := map[*gatewaytest.Client]string{alice: reg.idOf("alice"), bob: reg.idOf("bob")}

	poster, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	posts := []struct {
		to        *gatewaytest.Client
		frame     string
		throttled bool
	}{
		{to: alice, frame: `{"n":1}`},
		{to: bob, frame: `{"n":2}`},
		{to: alice, frame: `{"n":3}`},
		{to: bob, frame: `{"n":4}`},
		{to: alice, frame: `{"n":5}`, throttled: true},
		{to: bob, frame: `{"n":6}`, throttled: true},
	}
	for _, p := range posts {
		err := poster.PostToConnection(t.Context(), ids[p.to], []byte(p.frame))
		if !p.throttled {
			if err != nil {
				t.Fatalf("post %s to %s: %v", p.frame, p.to.Name, err)
			}
			continue
		}
		var apiErr *apigw.Error
		if !errors.Is(err, handlers.ErrThrottled) || !errors.As(err, &apiErr) {
			t.Fatalf("post %s to %s past the burst: %v, want handlers.ErrThrottled", p.frame, p.to.Name, err)
		}
		if apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "LimitExceededException" || apiErr.Message != "Limit Exceeded" {
			t.Errorf("post %s to %s past the burst: %+v", p.frame, p.to.Name, apiErr)
		}
	}
	// DeleteConnection takes a token too: throttled, alice stays connected.
	if err := poster.DeleteConnection(t.Context(), ids[alice]); !errors.Is(err, handlers.ErrThrottled) {
		t.Errorf("delete past the burst: %v, want handlers.ErrThrottled", err)
	}
	client := apigatewaymanagementapi.NewFromConfig(apigw.LocalConfig(""), func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = aws.NopRetryer{}
	})
	_, err = client.GetConnection(t.Context(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(ids[bob])})
	if got := errorType(err); got != "*types.LimitExceededException" {
		t.Errorf("GetConnection past the burst: %s, want *types.LimitExceededException", got)
	}
	if gw.Throttled() != 4 || gw.Admitted() != 4 {
		t.Errorf("Throttled() = %d, Admitted() = %d; want 4 and 4", gw.Throttled(), gw.Admitted())
	}
	if n := gw.Connections(); n != 2 {
		t.Errorf("%d connections after a throttled DeleteConnection, want 2", n)
	}

	// Closing the gateway sends each client a close frame after every frame it was
	// posted: what a client has read when its connection closes is all it ever got.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := gw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[*gatewaytest.Client][]string{alice: {`{"n":1}`, `{"n":3}`}, bob: {`{"n":2}`, `{"n":4}`}}
	for c, frames := range want {
		var got []string
		for f := range c.Frames {
			got = append(got, f)
		}
		if !slices.Equal(got, frames) {
			t.Errorf("%s received %q, want %q", c.Name, got, frames)
		}
	}
}
