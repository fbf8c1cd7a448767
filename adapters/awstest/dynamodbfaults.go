package awstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// DynamoDB's throttling errors, as DynamoDBFaults answers them.
const (
	// ProvisionedThroughputExceeded is what DynamoDB answers a data-plane call (Query,
	// Scan, DeleteItem, BatchWriteItem, ...) over the throughput of a table, a
	// partition's key range, or an on-demand table's maximum.
	ProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	// ThrottlingException is what DynamoDB answers control-plane calls made too fast
	// ("Rate of requests exceeds the allowed throughput").
	ThrottlingException = "ThrottlingException"
)

// DynamoDBFaults is a proxy in front of DynamoDB (dynalite) that, while Throttle is on,
// answers a share of the calls with DynamoDB's throttling error instead of passing them
// on. Point a client at URL (AWS_ENDPOINT_URL_DYNAMODB) to have it throttled.
//
// The error is DynamoDB's own, per "Error handling with DynamoDB"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
// HTTP 400, Content-Type application/x-amz-json-1.0, an x-amzn-RequestId, and a body
// {"__type":"com.amazonaws.dynamodb.v20120810#<exception>","message":...}; DynamoDB also
// sends the CRC32 of the body in X-Amz-Crc32, which aws-sdk-go-v2 checks. Throttling is
// a 400, not a 5xx: the SDK retries it by its code, and spends its retry quota on it.
type DynamoDBFaults struct {
	// URL is the DynamoDB endpoint as the throttled client sees it.
	URL string

	mu        sync.Mutex
	share     float64 // of the calls throttled; 0 passes every call
	code      string
	rng       *mathrand.Rand
	calls     int
	throttled int
}

// NewDynamoDBFaults starts, until the test ends, a DynamoDBFaults proxy in front of the
// DynamoDB endpoint, such as the stack's AWS_ENDPOINT_URL_DYNAMODB. It starts off.
func NewDynamoDBFaults(t testing.TB, endpoint string) *DynamoDBFaults {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := NewProxy(target)
	// A fixed seed: the same share of calls is throttled run after run, if not the same
	// calls, which depend on the order the service makes them in.
	f := &DynamoDBFaults{rng: mathrand.New(mathrand.NewPCG(1, 2)), code: ProvisionedThroughputExceeded}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, throttle := f.decide()
		if !throttle {
			proxy.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		writeDynamoDBError(w, code)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Throttle makes the proxy answer share (0 to 1) of the calls with code, such as
// ProvisionedThroughputExceeded; a share of 0 passes every call on.
func (f *DynamoDBFaults) Throttle(share float64, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.share, f.code = share, code
}

// Counts returns the calls the proxy got and how many of them it throttled.
func (f *DynamoDBFaults) Counts() (calls, throttled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.throttled
}

func (f *DynamoDBFaults) decide() (code string, throttle bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.share <= 0 || f.rng.Float64() >= f.share {
		return "", false
	}
	f.throttled++
	return f.code, true
}

// writeDynamoDBError answers as DynamoDB does a call it throttled.
func writeDynamoDBError(w http.ResponseWriter, code string) {
	msg := "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
	if code == ThrottlingException {
		msg = "Rate of requests exceeds the allowed throughput."
	}
	body := fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%s}`, code, strconv.Quote(msg))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, body)
}

// requestID returns an id shaped like AWS's x-amzn-RequestId.
func requestID() string {
	var b [26]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))[:52]
}
