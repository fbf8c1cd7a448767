package apigw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

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
