//go:build linux

package function_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestBootstrapUnderRIE builds bootstrap as a deployment does and invokes it with an SQS
// batch through the Lambda Runtime Interface Emulator, over the runtime API.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	alice, dave := s.Connect(t, "alice", "alice"), s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})

	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"APIGW_ENDPOINT":              s.Faults.URL,
		"CONNECTIONS_TABLE_NAME":      stacktest.Table,
		"POISON_QUEUE_URL":            s.PoisonURL,
		"MAX_ATTEMPTS":                "50", // dave's post is retried past the deadline
		"AWS_LAMBDA_FUNCTION_TIMEOUT": "4",
		"DEADLINE_MARGIN":             "2s",
		"LOG_LEVEL":                   "info",
	})
	invoke := func(fixture string) (events.SQSEventResponse, time.Duration) {
		t.Helper()
		payload, err := os.ReadFile(filepath.Join("testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		body, took := rie.Invoke(t, payload)
		var out events.SQSEventResponse
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("invoke with %s: %s", fixture, body)
		}
		return out, took
	}

	// One request, cold: the first invocation starts bootstrap.
	resp, cold := invoke("sqs-sns-envelope.json")
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %v", resp.BatchItemFailures)
	}
	if got := alice.Next(t); got != `{"n":2}` {
		t.Errorf("alice got %s", got)
	}

	resp, took := invoke("sqs-batch.json")
	if want := []events.SQSBatchItemFailure{{ItemIdentifier: "d9144555-9a4f-4ec3-99a0-34ce359b4b54"}}; !slices.Equal(resp.BatchItemFailures, want) {
		t.Errorf("batch item failures %v, want %v", resp.BatchItemFailures, want)
	}
	// Not before the 4s timeout less the 2s margin, and before the timeout.
	if took < 1900*time.Millisecond || took >= 4*time.Second {
		t.Errorf("the batch took %s, want from 2s (the 4s timeout less the 2s margin) and under 4s", took)
	}
	if got := alice.Next(t); got != `{"n":1}` {
		t.Errorf("alice got %s", got)
	}
	parked := s.Parked(t, 1)
	if p := parked[0]; p.Payload != `{"users":["alice"],"data":` || p.Stage != pipeline.StageDecode {
		t.Errorf("parked %+v, want the malformed record", p)
	}
	dave.Quiet(t, 0)

	_, warm := invoke("sqs-sns-envelope.json")
	alice.Next(t)
	// The REPORT line's Init Duration is not the init's under the RIE: INIT REPORT's is,
	// from the exec of bootstrap to its first request for an event.
	initRIE := rie.Find(t, `INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initFn := rie.Find(t, `"msg":"pusher-lambda ready","init_ms":([0-9.]+)`)
	t.Logf("init: %s ms (the RIE's INIT REPORT: exec of bootstrap to its first /next), %s ms (main to ready); invocation of one request: cold %s, warm %s",
		initRIE, initFn, cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	// The RIE copies the function's stdout to its own as it comes, so the last
	// invocation's lines (its EMF documents come last) may follow its response by a
	// moment: wait for them, then count.
	stacktest.Eventually(t, "the third invocation's EMF documents", func() bool { return emfDeliveries(rie.Output()) >= 3 })
	if n := strings.Count(rie.Output(), `"msg":"invocation"`); n != 3 {
		t.Errorf("%d invocation log lines, want 3", n)
	}
	// The metrics went out as CloudWatch EMF documents, which CloudWatch Logs turns into
	// metrics: the deliveries of the three invocations add up.
	delivered := emfDeliveries(rie.Output())
	if delivered != 3 {
		t.Errorf("EMF documents count %v deliveries, want 3 (alice's frames)", delivered)
	}
}

// emfDeliveries adds up pusher_deliveries_total over the CloudWatch EMF documents of
// the pusher's namespace in the output out.
func emfDeliveries(out string) float64 {
	delivered := 0.0
	for line := range strings.Lines(out) {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct{ Namespace string } `json:"CloudWatchMetrics"`
			} `json:"_aws"`
			Deliveries float64 `json:"pusher_deliveries_total"`
		}
		if i := strings.IndexByte(line, '{'); i >= 0 && json.Unmarshal([]byte(line[i:]), &doc) == nil &&
			len(doc.AWS.CloudWatchMetrics) == 1 && doc.AWS.CloudWatchMetrics[0].Namespace == "pusher" {
			delivered += doc.Deliveries
		}
	}
	return delivered
}
