package function_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

func TestSNS(t *testing.T) {
	s := stacktest.New(t)
	alice, dave := s.Connect(t, "alice", "alice"), s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})
	fn, logs := start(t, s, nil)

	t.Run("settled", func(t *testing.T) {
		out, err := invoke(t, fn, "sns.json", 10*time.Second)
		if err != nil || out != nil {
			t.Fatalf("answered %v, %v; want nothing", out, err)
		}
		if got := alice.Next(t); got != `{"n":4}` {
			t.Errorf("alice got %s", got)
		}
		settled := logs.lines(t, "request settled")
		if len(settled) != 1 || settled[0]["correlation_id"] != "sns-alice" {
			t.Errorf("settled %v, want one request with the correlation_id attribute", settled)
		}
	})
	t.Run("not settled", func(t *testing.T) {
		_, err := invoke(t, fn, "sns-unsettled.json", 2500*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b") {
			t.Fatalf("answered %v, want an error naming the SNS message, for Lambda to retry it", err)
		}
		dave.Quiet(t, 0)
	})
}
