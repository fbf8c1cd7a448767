package replay_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// patience is how long the replay tests wait for the stack to settle.
const patience = 30 * time.Second

// newStack stands up the shared end-to-end stack with its own poison queue for the
// replay tests: goaws now and then leaves a message hidden after
// ChangeMessageVisibility 0, and a short visibility timeout brings it back soon.
// s.PoisonURL is that queue, for `pusher serve`, the replay and stacktest's helpers.
func newStack(t testing.TB) *stacktest.Stack {
	t.Helper()
	s := stacktest.New(t)
	s.PoisonURL = awstest.CreateQueue(t, s.SQS, "replay-poison", map[string]string{"VisibilityTimeout": "5"})
	return s
}

// retry is the short retry of the tests: two attempts, then the delivery is parked.
var retry = pipeline.RetryConfig{MaxAttempts: 2, InitialInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond}

// runServe runs `pusher serve` on the stack, with the short retry, until stop is called or
// the test ends.
func runServe(t testing.TB, s *stacktest.Stack) (stop func()) {
	_, stop = s.Serve(t, func(c *serve.Config) { c.Pipeline.Retry = retry })
	return stop
}

// failing answers 500 to every post to the connections ids.
func failing(ids ...string) func(string, int) int {
	return func(id string, _ int) int {
		for _, x := range ids {
			if x == id {
				return http.StatusInternalServerError
			}
		}
		return 0
	}
}
