package apigw_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestClockSkew posts to a gateway whose clock is off ours, as a host whose clock
// drifted sees AWS: each post of the first wave, signed by our clock, is refused once
// ("Signature expired", or "not yet current") and passes on its corrected retry; the
// posts after it are signed by the corrected clock and pass at once. A skew AWS
// tolerates is never corrected.
func TestClockSkew(t *testing.T) {
	tests := []struct {
		name        string
		ahead       time.Duration
		wantRefused bool
		wantMessage string
	}{
		{name: "gateway ten minutes ahead", ahead: 10 * time.Minute, wantRefused: true, wantMessage: "Signature expired: "},
		{name: "gateway ten minutes behind", ahead: -10 * time.Minute, wantRefused: true, wantMessage: "Signature not yet current: "},
		{name: "gateway two minutes ahead", ahead: 2 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &verifyingAPI{ahead: tc.ahead}
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			p := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}, apigw.Config{Endpoint: srv.URL})

			const wave = 32
			var wg sync.WaitGroup
			for i := range wave {
				wg.Go(func() {
					if err := p.PostToConnection(context.Background(), fmt.Sprint("first-", i), []byte(`{"wave":1}`)); err != nil {
						t.Errorf("first wave, post %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			_, refused := api.taken()
			switch {
			case !tc.wantRefused && len(refused) > 0:
				t.Fatalf("refused %d posts: %q", len(refused), refused[0])
			case tc.wantRefused && (len(refused) == 0 || len(refused) > wave):
				t.Fatalf("refused %d posts of the first wave of %d, want from 1 to %d (one each at most)", len(refused), wave, wave)
			case tc.wantRefused && !strings.HasPrefix(refused[0], tc.wantMessage):
				t.Fatalf("refused with %q, want %q...", refused[0], tc.wantMessage)
			}

			for i := range wave {
				if err := p.PostToConnection(context.Background(), fmt.Sprint("second-", i), []byte(`{"wave":2}`)); err != nil {
					t.Fatalf("second wave, post %d: %v", i, err)
				}
			}
			frames, again := api.taken()
			if len(again) != len(refused) {
				t.Errorf("the second wave was refused %d times, want none: the corrected clock is kept", len(again)-len(refused))
			}
			if len(frames) != 2*wave {
				t.Errorf("the gateway took %d frames, want %d", len(frames), 2*wave)
			}
		})
	}
}

// rotating returns credentials whose session token changes at each retrieval, and
// counts the retrievals.
func rotating(retrievals *atomic.Int64) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := testCreds
		c.SessionToken = fmt.Sprint("token-", retrievals.Add(1))
		return c, nil
	})
}

// TestExpiredToken posts with a session token that expires in flight, as a Lambda
// function's role credentials can: the gateway answers ExpiredTokenException, the
// Poster refreshes its cached credentials once for all the posts refused together, and
// each passes on its retry.
func TestExpiredToken(t *testing.T) {
	api := &verifyingAPI{expired: map[string]bool{"token-1": true}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	var retrievals atomic.Int64
	p := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: rotating(&retrievals)}, apigw.Config{Endpoint: srv.URL})

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := p.PostToConnection(context.Background(), fmt.Sprint("c", i), []byte(`{}`)); err != nil {
				t.Errorf("post %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	frames, refused := api.taken()
	if len(frames) != 16 || len(refused) == 0 || refused[0] != "The security token included in the request is expired" {
		t.Fatalf("the gateway took %d frames and refused %q; want 16 taken after refusing the expired token", len(frames), refused)
	}
	if n := retrievals.Load(); n != 2 {
		t.Errorf("credentials retrieved %d times, want 2: once, and once refreshed", n)
	}
}

// refusingAPI answers every call 403 with errorType, its Date header ahead of our clock
// by ahead, and counts the calls.
func refusingAPI(t *testing.T, errorType string, ahead time.Duration) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Date", time.Now().Add(ahead).UTC().Format(http.TimeFormat))
		w.Header().Set("X-Amzn-ErrorType", errorType)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message":"fake %s"}`, errorType)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// TestForbidden: a 403 for a missing grant stays permanent and is not retried, unless
// the gateway's clock explains it, as aws-sdk-go-v2 gates AccessDeniedException on the
// observed skew; a refused signature that persists is retried once, then transient.
func TestForbidden(t *testing.T) {
	tests := []struct {
		name      string
		errorType string
		ahead     time.Duration
		wantCalls int64
		wantKind  string
	}{
		{name: "forbidden", errorType: "ForbiddenException", wantCalls: 1, wantKind: "permanent"},
		{name: "access denied", errorType: "AccessDeniedException", wantCalls: 1, wantKind: "permanent"},
		{name: "access denied by a skewed gateway", errorType: "AccessDeniedException", ahead: 10 * time.Minute, wantCalls: 2, wantKind: "permanent"},
		{name: "signature refused", errorType: "InvalidSignatureException", wantCalls: 2, wantKind: "transient"},
		{name: "token expired", errorType: "ExpiredTokenException", wantCalls: 2, wantKind: "transient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint, calls := refusingAPI(t, tc.errorType, tc.ahead)
			p := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}, apigw.Config{Endpoint: endpoint})
			err := p.PostToConnection(context.Background(), "abc=", []byte(`{}`))
			if kind(err) != tc.wantKind || !strings.Contains(err.Error(), tc.errorType) {
				t.Errorf("PostToConnection: %s (%v), want %s %s", kind(err), err, tc.wantKind, tc.errorType)
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("%d calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestBroadcastThroughSkewedGateway broadcasts through the pipeline to a gateway whose
// clock runs ten minutes ahead: every frame is delivered once, nothing is parked, and
// only the posts in flight before the clock was corrected were refused, once each.
func TestBroadcastThroughSkewedGateway(t *testing.T) {
	api := &verifyingAPI{ahead: 10 * time.Minute}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	poster := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}, apigw.Config{Endpoint: srv.URL})
	store := memory.NewStore(100)
	const n = 1000
	for i := range n {
		_ = store.AddConnection(t.Context(), handlers.Connection{UserID: fmt.Sprint("u", i), ConnectionID: fmt.Sprint("c", i), ConnectedAt: time.Now().Add(-time.Hour)})
	}
	poison := memory.NewPoisonQueue()
	cfg := pipeline.Config{PostConcurrency: 64}
	p, err := pipeline.New(cfg, store, poster, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()

	reqCtx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := p.Process(reqCtx, message.NewMessage(watermill.NewUUID(), []byte(`{"data":"skewed"}`)))

	if err != nil || res.Delivered != n || res.Failed != 0 {
		t.Fatalf("Process = %+v, %v; want %d delivered, none parked", res.Stats, err, n)
	}
	if parked := poison.Messages(); len(parked) != 0 {
		t.Errorf("%d deliveries parked, want none", len(parked))
	}
	frames, refused := api.taken()
	if len(frames) != n {
		t.Errorf("the gateway took %d frames, want %d", len(frames), n)
	}
	if len(refused) == 0 || len(refused) > cfg.PostConcurrency {
		t.Errorf("%d posts refused, want from 1 to the %d in flight before the correction", len(refused), cfg.PostConcurrency)
	}
	t.Logf("%d frames delivered, %d posts refused once and retried corrected", len(frames), len(refused))
}
