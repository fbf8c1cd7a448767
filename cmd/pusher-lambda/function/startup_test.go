//go:build linux

package function_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// TestInitRefusesAMissingTable runs bootstrap under the RIE with a connections table
// that does not exist: the init logs the start-up check's line naming it and ends, so
// the invocation fails and SQS would keep its messages.
func TestInitRefusesAMissingTable(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"APIGW_ENDPOINT":         s.Faults.URL,
		"CONNECTIONS_TABLE_NAME": "nope",
		"POISON_QUEUE_URL":       s.PoisonURL,
	})
	payload, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(rie.URL(), "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	const line = `"msg":"start-up check failed","check":"CONNECTIONS_TABLE_NAME=nope","permanent":true,"warning":false,"error":"table not found (ResourceNotFoundException) in us-east-1"`
	stacktest.EventuallyWithin(t, 10*time.Second, "the line of the missing table", func() bool { return strings.Contains(rie.Output(), line) })
	stacktest.EventuallyWithin(t, 10*time.Second, "the init's end", func() bool {
		return strings.Contains(rie.Output(), "pusher-lambda: start-up checks refused: CONNECTIONS_TABLE_NAME=nope: table not found")
	})
	if n := strings.Count(rie.Output(), `"msg":"start-up check failed"`); n != 1 {
		t.Errorf("%d failed checks logged, want 1:\n%s", n, rie.Output())
	}
	if strings.Contains(rie.Output(), `"msg":"pusher-lambda ready"`) {
		t.Errorf("the function said it was ready:\n%s", rie.Output())
	}
}

// TestInitSharesItsConnections: the start-up checks and the function share one AWS
// configuration and its HTTP client, so the connection the check of the table opens
// serves the first invocation's Query: one connection to DynamoDB in all, not one each
// (each a TLS handshake on AWS).
func TestInitSharesItsConnections(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	alice := s.Connect(t, "alice", "alice")
	target, err := url.Parse(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	dynamodb := httptest.NewUnstartedServer(awstest.NewProxy(target))
	dynamodb.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	dynamodb.Start()
	t.Cleanup(dynamodb.Close)
	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"APIGW_ENDPOINT":            s.Faults.URL,
		"CONNECTIONS_TABLE_NAME":    stacktest.Table,
		"POISON_QUEUE_URL":          s.PoisonURL,
		"AWS_ENDPOINT_URL_DYNAMODB": dynamodb.URL,
	})
	payload, err := os.ReadFile(filepath.Join("testdata", "sqs-sns-envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	rie.Invoke(t, payload)
	if got := alice.Next(t); got != `{"n":2}` {
		t.Errorf("alice got %s", got)
	}
	if !strings.Contains(rie.Output(), `"msg":"start-up checks done"`) {
		t.Fatalf("no start-up checks ran:\n%s", rie.Output())
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to DynamoDB, want 1: the check's, reused by the invocation", n)
	}
}
