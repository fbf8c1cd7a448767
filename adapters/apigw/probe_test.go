package apigw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
)

// TestProbeThroughLocalGateway: the local gateway answers the probe's post to an
// unknown connection as API Gateway does, 410, which the probe takes as an endpoint that
// works; a path with no Management API, or nothing listening, fails for good.
func TestProbeThroughLocalGateway(t *testing.T) {
	endpoint, _, _ := startGateway(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name     string
		endpoint string
		wantKind string
	}{
		{"the gateway", endpoint, "delivered"},
		{"a stage the gateway has not", endpoint + "/no-such-stage", "permanent"},
		{"nothing listening", closed.URL, "permanent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: tc.endpoint})
			if err := p.Probe(context.Background()); kind(err) != tc.wantKind {
				t.Errorf("Probe: %s (%v), want %s", kind(err), err, tc.wantKind)
			}
		})
	}
}

// TestProbeAnswers: what each answer of the Management API to the probe means.
func TestProbeAnswers(t *testing.T) {
	tests := []struct {
		status    int
		errorType string
		wantKind  string
	}{
		{410, "GoneException", "delivered"},
		{400, "BadRequestException", "delivered"},
		{403, "ForbiddenException", "permanent"},
		{404, "NotFoundException", "permanent"},
		{413, "PayloadTooLargeException", "permanent"},
		{429, "LimitExceededException", "transient"},
		{500, "InternalServerErrorException", "transient"},
		{503, "ServiceUnavailableException", "transient"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, " ", tc.errorType), func(t *testing.T) {
			endpoint, seen := fakeAPI(t, tc.status, tc.errorType, "")
			p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: endpoint})
			if err := p.Probe(context.Background()); kind(err) != tc.wantKind {
				t.Errorf("Probe: %s (%v), want %s", kind(err), err, tc.wantKind)
			}
			if req := <-seen; req.path != "/@connections/"+apigw.ProbeConnectionID {
				t.Errorf("path %s, want /@connections/%s", req.path, apigw.ProbeConnectionID)
			}
		})
	}
}

// TestProbeNetworkNotForGood: a probe that fails in the network, not at the gateway,
// fails as it is, not for good: a network unreachable (a container's, while it starts)
// and a dial cut short by the end of the checks' context (serve stopped during them)
// say nothing of the endpoint. 255.255.255.255 is the broadcast address, which Linux
// refuses a TCP connection to with ENETUNREACH; 2001:db8::/32 is the range reserved for
// documentation (RFC 3849), which no route reaches: the dial waits until it is cut.
func TestProbeNetworkNotForGood(t *testing.T) {
	tests := []struct {
		name, endpoint string
		cut            bool // the context ends during the dial
	}{
		{name: "a network unreachable", endpoint: "https://255.255.255.255/prod"},
		{name: "a dial cut short", endpoint: "https://[2001:db8::1]/prod", cut: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPoster(t, apigw.LocalConfig(""), apigw.Config{Endpoint: tc.endpoint})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cut {
				defer time.AfterFunc(50*time.Millisecond, cancel).Stop()
			}
			if err := p.Probe(ctx); kind(err) != "transient" {
				t.Errorf("Probe: %s (%v), want transient", kind(err), err)
			}
		})
	}
}
