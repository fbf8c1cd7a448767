//go:build linux

package lambda_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/internal/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// RIEInstall installs the Lambda Runtime Interface Emulator where the test looks for it.
const RIEInstall = "go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// TestBootstrapUnderRIE builds bootstrap as a deployment does and invokes it with an SQS
// batch through the Lambda Runtime Interface Emulator, over the runtime API.
func TestBootstrapUnderRIE(t *testing.T) {
	rie := os.Getenv("AWS_LAMBDA_RIE")
	if rie == "" {
		gopath, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			t.Fatal(err)
		}
		rie = filepath.Join(filepath.SplitList(strings.TrimSpace(string(gopath)))[0], "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(rie); err != nil {
		t.Fatalf("aws-lambda-rie is not installed (%v): run `%s`, or set AWS_LAMBDA_RIE to its binary", err, RIEInstall)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bootstrap, "./cmd/pusher-lambda")
	build.Dir = awstest.ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	s := stacktest.New(t)
	alice, dave := s.Connect(t, "alice", "alice"), s.Connect(t, "dave", "dave")
	daveID := s.ConnectionID(t, "dave")
	s.Faults.Fail(func(id string, _ int) int {
		if id == daveID {
			return 500
		}
		return 0
	})

	port := awstest.FreePort(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", awstest.FreePort(t)),
		bootstrap)
	cmd.Env = append(os.Environ(), // the stack's AWS_* settings among them
		"APIGW_ENDPOINT="+s.Faults.URL,
		"CONNECTIONS_TABLE_NAME="+stacktest.Table,
		"POISON_QUEUE_URL="+s.PoisonURL,
		"MAX_ATTEMPTS=50", // dave's post is retried past the deadline
		"AWS_LAMBDA_FUNCTION_TIMEOUT=4",
		"DEADLINE_MARGIN=2s",
		"LOG_LEVEL=info",
	)
	logs := run(t, cmd, port)

	url := fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)
	invoke := func(fixture string) (events.SQSEventResponse, time.Duration) {
		t.Helper()
		payload, err := os.ReadFile(filepath.Join("testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		took := time.Since(began)
		var out events.SQSEventResponse
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
			t.Fatalf("invoke with %s: %s %s", fixture, resp.Status, body)
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
	initRIE := logs.find(t, `INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initFn := logs.find(t, `"msg":"pusher-lambda ready","init_ms":([0-9.]+)`)
	t.Logf("init: %s ms (the RIE's INIT REPORT: exec of bootstrap to its first /next), %s ms (main to ready); invocation of one request: cold %s, warm %s",
		initRIE, initFn, cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if n := strings.Count(logs.String(), `"msg":"invocation"`); n != 3 {
		t.Errorf("%d invocation log lines, want 3", n)
	}
	// The metrics went out as CloudWatch EMF documents, which CloudWatch Logs turns into
	// metrics: the deliveries of the three invocations add up.
	delivered := 0.0
	for line := range strings.Lines(logs.String()) {
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
	if delivered != 3 {
		t.Errorf("EMF documents count %v deliveries, want 3 (alice's frames)", delivered)
	}
}

// run starts cmd, the RIE and its bootstrap, in a process group of their own, killed
// with the test, and waits until the RIE listens on port. It returns their output.
func run(t *testing.T, cmd *exec.Cmd, port int) *output {
	t.Helper()
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	// The RIE leaves its bootstrap running when killed: kill the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("aws-lambda-rie and bootstrap:\n%s", out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return out
		}
		select {
		case <-exited:
			t.Fatalf("aws-lambda-rie exited:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie does not listen after 10s:\n%s", out)
		}
	}
}

// output collects a process's output.
type output struct{ stacktest.Buffer }

// find returns the first group of the first match of pattern.
func (o *output) find(t *testing.T, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(o.String())
	if m == nil {
		t.Errorf("no %s in the output:\n%s", pattern, o)
		return ""
	}
	return m[1]
}
