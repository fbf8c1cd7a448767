package replay_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/service"
	"github.com/apigw-pusher/apigw-pusher/adapters/stacktest"
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

// serve runs `pusher serve` on the stack until stop is called or the test ends.
func serve(t testing.TB, s *stacktest.Stack) (stop func()) {
	t.Helper()
	cfg, err := service.Defaults(service.Config{
		APIGWEndpoint:  s.Faults.URL,
		Table:          dynamodb.Config{Table: stacktest.Table},
		QueueURL:       s.QueueURL,
		PoisonQueueURL: s.PoisonURL,
		WaitTime:       time.Second,
		OpsListen:      "127.0.0.1:0",
		Pipeline:       pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := pusher.BuildService(context.Background(), cfg, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	halt := stacktest.RunUntilCleanup(t, "pusher serve", svc.Run)
	<-svc.Pipeline.Running()
	return func() { halt(); cleanup() }
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
