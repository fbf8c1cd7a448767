package dynamodb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// throttler is a proxy in front of dynalite that throttles as DynamoDB does: it answers
// the calls throttle picks with a ProvisionedThroughputExceededException, and passes on
// only part of a BatchWriteItem, answering the rest as UnprocessedItems. It counts the
// calls that reach it, by operation.
type throttler struct {
	url string

	mu sync.Mutex
	// throttle picks the n-th call of op (from 1) to refuse; nil refuses none.
	throttle func(op string, n int) bool
	// process, if set, is how many of a BatchWriteItem's n requests are passed on.
	process func(n int) int
	calls   map[string]int
	// sent counts the delete requests of BatchWriteItem calls by connection id, and
	// unprocessed those answered unprocessed.
	sent, unprocessed map[string]int
}

func newThrottler(t *testing.T, dynalite string) *throttler {
	t.Helper()
	target, err := url.Parse(dynalite)
	if err != nil {
		t.Fatal(err)
	}
	th := &throttler{calls: map[string]int{}, sent: map[string]int{}, unprocessed: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		th.mu.Lock()
		th.calls[op]++
		refuse := th.throttle != nil && th.throttle(op, th.calls[op])
		process := th.process
		th.mu.Unlock()
		switch {
		case refuse:
			_, _ = io.Copy(io.Discard, r.Body)
			writeThrottled(w)
		case op == "BatchWriteItem":
			th.batchWrite(w, r, proxy, process)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	th.url = srv.URL
	return th
}

// writeThrottled answers as DynamoDB does a request over the table's throughput: HTTP
// 400, a JSON body of the exception's namespaced __type and message, and the request id
// and CRC32 headers of every DynamoDB response. See "Error handling with DynamoDB",
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
// (the error components, the example low-level response, and the message of
// ProvisionedThroughputExceededException in "Error messages and codes").
func writeThrottled(w http.ResponseWriter) {
	body := []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",` +
		`"message":"You exceeded your maximum allowed provisioned throughput for a table or for one or more global secondary indexes."}`)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", "THROTTLED0000000000000000000000000000000000000000000")
	w.Header().Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}

// batchWrite passes on the first process(n) requests of each table of a BatchWriteItem
// and answers the others as UnprocessedItems, as BatchWriteItem does when it throttles
// ("If any requested operations fail because the table's provisioned throughput is
// exceeded [...], the failed operations are returned in the UnprocessedItems response
// parameter": https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
func (th *throttler) batchWrite(w http.ResponseWriter, r *http.Request, proxy http.Handler, process func(int) int) {
	var in struct {
		RequestItems map[string][]json.RawMessage
	}
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	left := map[string][]json.RawMessage{}
	th.mu.Lock()
	for table, requests := range in.RequestItems {
		k := len(requests)
		if process != nil {
			k = process(len(requests))
		}
		in.RequestItems[table], left[table] = requests[:k], requests[k:]
		for _, req := range requests {
			th.sent[deletedID(req)]++
		}
		for _, req := range requests[k:] {
			th.unprocessed[deletedID(req)]++
		}
		if k == 0 {
			delete(in.RequestItems, table)
		}
	}
	th.mu.Unlock()
	if len(in.RequestItems) == 0 {
		writeJSON(w, map[string]any{"UnprocessedItems": left})
		return
	}
	// dynalite checks the signature's form, not its hash: the shortened body passes.
	passed, _ := json.Marshal(in)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(passed)), int64(len(passed))
	rec := httptest.NewRecorder()
	proxy.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	writeJSON(w, map[string]any{"UnprocessedItems": left})
}

func writeJSON(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	_, _ = w.Write(body)
}

// deletedID returns the connection id of a BatchWriteItem delete request.
func deletedID(req json.RawMessage) string {
	var r struct {
		DeleteRequest struct {
			Key struct {
				ConnectionID struct{ S string } `json:"connection_id"`
			}
		}
	}
	_ = json.Unmarshal(req, &r)
	return r.DeleteRequest.Key.ConnectionID.S
}

func (th *throttler) set(throttle func(op string, n int) bool, process func(int) int) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.throttle, th.process = throttle, process
	th.calls, th.sent, th.unprocessed = map[string]int{}, map[string]int{}, map[string]int{}
}

func (th *throttler) count(op string) int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.calls[op]
}

// client returns a DynamoDB client of the proxy with the SDK's standard retryer, as
// `pusher serve` has (3 attempts), waiting only a millisecond between attempts.
func (th *throttler) client() *ddb.Client {
	return ddb.NewFromConfig(awstest.Config(), func(o *ddb.Options) {
		o.BaseEndpoint = aws.String(th.url)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		})
	})
}

// TestOneRetryLayer throttles every call: the calls of the pipeline are made once, for
// the pipeline retries them; those of the $connect and $disconnect routes are retried
// by the client's retryer, since nothing else retries them.
func TestOneRetryLayer(t *testing.T) {
	e := newEmulator(t)
	th := newThrottler(t, e.endpoint)
	old := at(conn("alice", "a1"), time.Now().Add(-time.Hour))
	tests := []struct {
		name  string
		call  func(ctx context.Context, s *dynamodb.Store) error
		op    string
		calls int
	}{
		{name: "Query of a multicast", op: "Query", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			_, err := s.UserConnections(ctx, "alice")
			return err
		}},
		{name: "Scan of a broadcast", op: "Scan", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.ScanConnections(ctx, "", func([]handlers.Connection, string) error { return nil })
		}},
		{name: "batch delete of a prune", op: "BatchWriteItem", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.PruneConnections(ctx, []handlers.Connection{old}, time.Now().Add(-grace))
		}},
		{name: "conditional delete of a prune", op: "DeleteItem", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.PruneConnections(ctx, []handlers.Connection{old.Key()}, time.Now().Add(-grace))
		}},
		{name: "PutItem of $connect", op: "PutItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.AddConnection(ctx, conn("alice", "a2"))
		}},
		{name: "DeleteItem of $disconnect", op: "DeleteItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.RemoveConnection(ctx, old)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := e.table(t)
			seed(t, e.client, table, []handlers.Connection{old})
			s, err := dynamodb.New(th.client(), dynamodb.Config{Table: table, ScanSegments: 1})
			if err != nil {
				t.Fatal(err)
			}
			th.set(func(string, int) bool { return true }, nil)
			defer th.set(nil, nil)

			err = tt.call(t.Context(), s)
			var throttled *types.ProvisionedThroughputExceededException
			if !errors.As(err, &throttled) {
				t.Fatalf("error %v, want a ProvisionedThroughputExceededException", err)
			}
			if handlers.IsPermanent(err) {
				t.Errorf("error %v is permanent; throttling is transient", err)
			}
			if n := th.count(tt.op); n != tt.calls {
				t.Errorf("%d %s calls, want %d", n, tt.op, tt.calls)
			}
		})
	}

	t.Run("$connect passes a throttle", func(t *testing.T) {
		table := e.table(t)
		s, err := dynamodb.New(th.client(), dynamodb.Config{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		th.set(func(op string, n int) bool { return op == "PutItem" && n <= 2 }, nil)
		defer th.set(nil, nil)
		c := conn("alice", "a2")
		if err := s.AddConnection(t.Context(), c); err != nil {
			t.Fatalf("AddConnection after 2 throttles: %v", err)
		}
		if item(t, e.client, table, c) == nil {
			t.Error("the connection is not stored")
		}
	})
}

// TestPruneLeavesUnprocessedToItsCallers has DynamoDB process only half of each
// BatchWriteItem: a batch is sent once, and what is left unprocessed fails only the
// prunes whose connections it holds, with a transient error, for the pipeline to retry.
func TestPruneLeavesUnprocessedToItsCallers(t *testing.T) {
	e := newEmulator(t)
	th := newThrottler(t, e.endpoint)
	half := func(n int) int { return n / 2 }
	oldConnections := func(n int) []handlers.Connection {
		conns := connections(3, n)
		for i := range conns {
			conns[i] = at(conns[i], time.Now().Add(-time.Hour))
		}
		return conns
	}
	cutoff := time.Now().Add(-grace)

	t.Run("concurrent prunes of one connection each", func(t *testing.T) {
		conns := oldConnections(40)
		table := e.table(t)
		seed(t, e.client, table, conns)
		s, err := dynamodb.New(th.client(), dynamodb.Config{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		th.set(nil, half)
		defer th.set(nil, nil)
		errs := make([]error, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() { errs[i] = s.PruneConnections(t.Context(), []handlers.Connection{c}, cutoff) })
		}
		wg.Wait()

		var failed []handlers.Connection
		for i, c := range conns {
			th.mu.Lock()
			sent, unprocessed := th.sent[c.ConnectionID], th.unprocessed[c.ConnectionID]
			th.mu.Unlock()
			if sent != 1 {
				t.Errorf("%v sent in %d batches, want 1", c, sent)
			}
			switch err := errs[i]; {
			case unprocessed == 0 && err != nil:
				t.Errorf("%v was deleted, yet its prune failed: %v", c, err)
			case unprocessed > 0 && (err == nil || !strings.Contains(err.Error(), "left unprocessed")):
				t.Errorf("%v was left unprocessed, yet its prune returned %v", c, err)
			case unprocessed > 0 && handlers.IsPermanent(err):
				t.Errorf("prune of %v: %v is permanent; unprocessed items are transient", c, err)
			case unprocessed > 0:
				failed = append(failed, c)
			}
		}
		sameConnections(t, flatten(scan(t, s, "")), failed)
		t.Logf("%d BatchWriteItem calls; %d of %d prunes failed", th.count("BatchWriteItem"), len(failed), len(conns))
		if len(failed) == 0 {
			t.Fatal("no prune was left unprocessed")
		}

		// The pipeline retries the failed prunes; with DynamoDB well again they pass.
		th.set(nil, nil)
		for _, c := range failed {
			if err := s.PruneConnections(t.Context(), []handlers.Connection{c}, cutoff); err != nil {
				t.Errorf("retry of %v: %v", c, err)
			}
		}
		sameConnections(t, flatten(scan(t, s, "")), nil)
	})

	t.Run("one prune of several batches", func(t *testing.T) {
		conns := oldConnections(30) // a batch of 25, then one of 5
		table := e.table(t)
		seed(t, e.client, table, conns)
		s, err := dynamodb.New(th.client(), dynamodb.Config{Table: table})
		if err != nil {
			t.Fatal(err)
		}
		th.set(nil, half)
		defer th.set(nil, nil)
		err = s.PruneConnections(t.Context(), conns, cutoff)
		if err == nil || !strings.Contains(err.Error(), "13 of 25 left unprocessed") || !strings.Contains(err.Error(), "3 of 5 left unprocessed") {
			t.Fatalf("PruneConnections = %v, want 13 of 25 and 3 of 5 left unprocessed", err)
		}
		if handlers.IsPermanent(err) {
			t.Errorf("PruneConnections = %v, permanent; unprocessed items are transient", err)
		}
		if n := th.count("BatchWriteItem"); n != 2 {
			t.Errorf("%d BatchWriteItem calls, want 2: one per batch, no retry", n)
		}
		if n := len(flatten(scan(t, s, ""))); n != 16 {
			t.Errorf("%d connections left, want the 16 unprocessed", n)
		}
	})
}
