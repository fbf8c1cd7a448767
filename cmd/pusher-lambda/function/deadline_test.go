package function_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
)

// TestDeadlineMarginOverTheTimeout sets DEADLINE_MARGIN above the invocation's time, as
// a function deployed with a 2s timeout and the 5s margin of a longer one would be: the
// margin is cut to half the time left, with a warning, so the batch is still worked on
// (alice's record delivered, the malformed one parked) and only the record whose posts
// keep failing is reported, about a second in, rather than every record at once.
func TestDeadlineMarginOverTheTimeout(t *testing.T) {
	s := stacktest.New(t)
	alice := s.Connect(t, "alice-1", "alice")
	s.Connect(t, "alice-2", "alice")
	s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})
	fn, logs := start(t, s, func(c *function.Config) { c.DeadlineMargin = 5 * time.Second })

	const timeout = 2 * time.Second
	began := time.Now()
	out, err := invoke(t, fn, "sqs-batch.json", timeout)
	took := time.Since(began)

	if err != nil {
		t.Fatal(err)
	}
	if want := []events.SQSBatchItemFailure{{ItemIdentifier: failingRecord}}; !slices.Equal(out.(events.SQSEventResponse).BatchItemFailures, want) {
		t.Errorf("batch item failures %v, want only the record whose posts fail", out.(events.SQSEventResponse).BatchItemFailures)
	}
	if took < timeout/2-100*time.Millisecond || took >= timeout {
		t.Errorf("answered after %s, want about %s (half the time left) and before the %s deadline", took, timeout/2, timeout)
	}
	if got := alice.Next(t); got != `{"n":1}` {
		t.Errorf("alice got %s", got)
	}
	s.Parked(t, 1)
	warned := logs.lines(t, "DEADLINE_MARGIN is over half the invocation's time: half of it is used")
	if len(warned) != 1 || warned[0]["deadline_margin"] != "5s" {
		t.Errorf("warnings %v, want one naming the 5s margin", warned)
	}
}
