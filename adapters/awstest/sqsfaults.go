package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// SQSFault is an error SQS answers a call with, as SQSFaults sends it.
type SQSFault string

// The SQS errors SQSFaults can answer with.
const (
	// SQSThrottled is RequestThrottled: "the request was denied due to request
	// throttling", which SendMessage and the other calls of a queue may answer over
	// the queue's request rate.
	SQSThrottled SQSFault = "RequestThrottled"
	// SQSUnavailable is ServiceUnavailable, 503: "a temporary failure of the server".
	SQSUnavailable SQSFault = "ServiceUnavailable"
	// SQSInternalFailure is InternalFailure, 500: "an unknown error, exception or
	// failure".
	SQSInternalFailure SQSFault = "InternalFailure"
	// SQSAccessDenied is IAM's refusal, 400 AccessDeniedException (query code
	// AccessDenied): the role may not make the call on the queue.
	SQSAccessDenied SQSFault = "AccessDenied"
)

// response returns the HTTP status, the query-protocol code (x-amzn-query-error), who
// is at fault in it (Sender or Receiver), and the message of f. The statuses are those
// of the SQS model (aws-sdk-go-v2 service/sqs/schemas: RequestThrottled is an httpError
// 403 with the awsQueryError code RequestThrottled) and of SQS's common errors
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
func (f SQSFault) response() (status int, queryCode, fault, msg string) {
	switch f {
	case SQSThrottled:
		return http.StatusForbidden, "RequestThrottled", "Sender", "Request is throttled."
	case SQSUnavailable:
		return http.StatusServiceUnavailable, "ServiceUnavailable", "Receiver", "The request has failed due to a temporary failure of the server."
	case SQSAccessDenied:
		return http.StatusBadRequest, "AccessDenied", "Sender", "User is not authorized to perform: sqs:sendmessage on the queue."
	default:
		return http.StatusInternalServerError, "InternalFailure", "Receiver", "The request processing has failed because of an unknown error, exception or failure."
	}
}

// SQSFaults is a proxy in front of an SQS endpoint (GoAWS's) that, while FailQueue is
// on, answers every call to one queue with an SQS error instead of passing it on: a
// poison queue that cannot be written to, while the notifications queue works. Point
// a client at URL (AWS_ENDPOINT_URL_SQS) to have it see the fault. Calls of other
// services (SNS) and of other queues pass.
//
// The errors are in SQS's JSON protocol, per "Interpreting Amazon SQS JSON API
// responses"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html):
// the status, an x-amzn-RequestId, x-amzn-query-error "<code>;Sender|Receiver", and a
// body {"__type":"com.amazonaws.sqs#<shape>","message":...}.
type SQSFaults struct {
	// URL is the SQS endpoint as the client sees it.
	URL string

	mu     sync.Mutex
	queue  string // the queue URL failed; "" fails none
	fault  SQSFault
	failed int
}

// NewSQSFaults starts, until the test ends, an SQSFaults proxy in front of the SQS
// endpoint, such as the stack's AWS_ENDPOINT_URL_SQS. It starts off.
func NewSQSFaults(t testing.TB, endpoint string) *SQSFaults {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := NewProxy(target)
	f := &SQSFaults{}
	f.URL = ServeUntilCleanup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
			proxy.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client is gone
		}
		var call struct{ QueueUrl string }
		_ = json.Unmarshal(body, &call)
		if fault, fail := f.decide(call.QueueUrl); fail {
			writeSQSFault(w, fault)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	return f
}

// FailQueue answers every call to the queue at queueURL with fault; an empty queueURL
// passes every call on.
func (f *SQSFaults) FailQueue(queueURL string, fault SQSFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.fault = queueURL, fault
}

// Failed returns how many calls the proxy answered with a fault.
func (f *SQSFaults) Failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *SQSFaults) decide(queueURL string) (SQSFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queue == "" || queueURL != f.queue {
		return "", false
	}
	f.failed++
	return f.fault, true
}

// writeSQSFault answers as SQS's JSON protocol does an error.
func writeSQSFault(w http.ResponseWriter, f SQSFault) {
	status, code, fault, msg := f.response()
	typ := "com.amazonaws.sqs#" + code
	if f == SQSAccessDenied { // not of SQS's model: AWS's common error
		typ = "com.amazon.coral.service#AccessDeniedException"
	}
	body := fmt.Sprintf(`{"__type":%q,"message":%s}`, typ, strconv.Quote(msg))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
