package function_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The records of testdata/sqs-batch.json.
const (
	goodRecord      = "059f36b4-87a3-44ab-83d2-661975830a7d" // to alice, correlation_id order-42
	malformedRecord = "2e1424d4-f796-459a-8184-9c92662be6da"
	failingRecord   = "d9144555-9a4f-4ec3-99a0-34ce359b4b54" // to dave, whose posts fail
	malformedBody   = `{"users":["alice"],"data":`
)

func TestSQSBatch(t *testing.T) {
	s := stacktest.New(t)
	alice1, alice2, dave := s.Connect(t, "alice-1", "alice"), s.Connect(t, "alice-2", "alice"), s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})
	fn, logs := start(t, s, nil)

	const timeout = 3 * time.Second // the deadline margin is 1s
	began := time.Now()
	out, err := invoke(t, fn, "sqs-batch.json", timeout)
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("answered a %T", out)
	}
	if want := []events.SQSBatchItemFailure{{ItemIdentifier: failingRecord}}; !slices.Equal(resp.BatchItemFailures, want) {
		t.Errorf("batch item failures %v, want %v", resp.BatchItemFailures, want)
	}
	// Not before the deadline less its margin (the failing record was worked on until
	// then), and before the deadline (Lambda would end the invocation).
	if took < timeout-time.Second-100*time.Millisecond || took >= timeout {
		t.Errorf("answered after %s, want from %s on and before the %s deadline", took, timeout-time.Second, timeout)
	}
	for _, c := range []*gatewaytest.Client{alice1, alice2} {
		if got := c.Next(t); got != `{"n":1}` {
			t.Errorf("%s got %s", c.Name, got)
		}
	}
	parked := s.Parked(t, 1)
	if p := parked[0]; p.Payload != malformedBody || p.Stage != pipeline.StageDecode || p.Class != "permanent" || p.CorrelationID != malformedRecord {
		t.Errorf("parked %+v, want the malformed record, correlated by its message id", p)
	}
	if n := s.Faults.Count(daveID); n < 2 {
		t.Errorf("dave's connection was posted to %d times: the failing post is not retried", n)
	}
	lines := logs.lines(t, "invocation")
	if len(lines) != 1 || lines[0]["event"] != "sqs" || lines[0]["records"] != 3.0 || lines[0]["settled"] != 2.0 || lines[0]["failures"] != 1.0 {
		t.Errorf("invocation log lines %v, want one of 3 records, 2 settled, 1 failure", lines)
	}
	settled := logs.lines(t, "request settled")
	if !slices.ContainsFunc(settled, func(l map[string]any) bool { return l["correlation_id"] == "order-42" }) {
		t.Errorf("no request settled with the correlation_id attribute of the good record: %v", settled)
	}
	alice1.Quiet(t, 200*time.Millisecond)
	dave.Quiet(t, 0)
	// The record reported unsettled is redelivered by SQS: the work on it stopped with
	// the response, so it is not also retried on, or frozen with the environment and
	// resumed at the next invocation. Posts to dave were 200ms apart: none in a second.
	posted := s.Faults.Count(daveID)
	dave.Quiet(t, time.Second)
	if n := s.Faults.Count(daveID); n != posted {
		t.Errorf("dave's connection was posted to %d more times after the response", n-posted)
	}
}

// TestSQSFIFOKeepsGroupOrder works on a batch of a FIFO queue whose group-a starts with a
// record that cannot be settled: the rest of group-a is not worked on and is reported
// with it, in order, while group-b goes on.
func TestSQSFIFOKeepsGroupOrder(t *testing.T) {
	s := stacktest.New(t)
	alice, dave := s.Connect(t, "alice", "alice"), s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})
	fn, _ := start(t, s, nil)

	out, err := invoke(t, fn, "sqs-fifo.json", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []events.SQSBatchItemFailure{
		{ItemIdentifier: "8a1f0d3e-0000-4000-8000-00000000a001"},
		{ItemIdentifier: "8a1f0d3e-0000-4000-8000-00000000a002"},
	}
	if got := out.(events.SQSEventResponse).BatchItemFailures; !slices.Equal(got, want) {
		t.Errorf("batch item failures %v, want group-a's two records in order", got)
	}
	if got := alice.Next(t); got != `{"n":"b1"}` {
		t.Errorf("alice got %s, want group-b's frame", got)
	}
	alice.Quiet(t, 200*time.Millisecond) // group-a's second record was not worked on
	dave.Quiet(t, 0)
}

// An SNS envelope in the body, as a topic delivers to a queue without raw delivery.
func TestSQSUnwrapsSNSEnvelopes(t *testing.T) {
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	fn, _ := start(t, s, nil)
	out, err := invoke(t, fn, "sqs-sns-envelope.json", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %v", resp.BatchItemFailures)
	}
	if got := alice.Next(t); got != `{"n":2}` {
		t.Errorf("alice got %s", got)
	}
}
