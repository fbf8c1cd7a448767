package awstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
)

// Faults is a proxy in front of the Management API that counts posts per connection and
// answers with Fail's status instead of passing a post on when Fail says so.
type Faults struct {
	// URL is the Management API as the pusher sees it (APIGW_ENDPOINT).
	URL   string
	mu    sync.Mutex
	posts map[string]int
	fail  func(id string, n int) int // status to answer the n-th post to id with; 0 passes
}

// NewFaults starts, until the test ends, a Faults proxy in front of the Management API
// at gateway, for a gateway other than a Stack's (whose proxy is Stack.Faults).
func NewFaults(t testing.TB, gateway string) *Faults {
	target, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	proxy := NewProxy(target)
	f := &Faults{posts: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/@connections/")
		if !ok || r.Method != http.MethodPost {
			proxy.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.posts[id]++
		n, fail := f.posts[id], f.fail
		f.mu.Unlock()
		if fail != nil {
			if status := fail(id, n); status != 0 {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("X-Amzn-Errortype", errorType(status))
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"message":"injected failure"}`))
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// errorType is the error the Management API names in X-Amzn-ErrorType with status: the
// errors of PostToConnection in the service's model (aws-sdk-go-v2
// service/apigatewaymanagementapi/schemas: ForbiddenException 403, GoneException 410,
// PayloadTooLargeException 413, LimitExceededException 429, the last "sending more than
// the allowed number of requests per unit of time", per
// https://docs.aws.amazon.com/AWSJavaSDK/latest/javadoc/com/amazonaws/services/apigatewaymanagementapi/model/package-summary.html),
// else API Gateway's InternalServerErrorException.
func errorType(status int) string {
	switch status {
	case http.StatusGone:
		return "GoneException"
	case http.StatusTooManyRequests:
		return "LimitExceededException"
	case http.StatusForbidden:
		return "ForbiddenException"
	case http.StatusRequestEntityTooLarge:
		return "PayloadTooLargeException"
	default:
		return "InternalServerErrorException"
	}
}

// Fail makes the n-th post to connection id answered with fail(id, n), when not 0, and
// starts the counts again. A nil fail passes every post on.
func (f *Faults) Fail(fail func(id string, n int) int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
	f.posts = map[string]int{}
}

// Count returns the posts to connection id.
func (f *Faults) Count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts[id]
}

// Total returns the posts to all connections and the number of connections posted to,
// leaving out the start-up check's post to apigw.ProbeConnectionID, which is no
// delivery.
func (f *Faults) Total() (posts, connections int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, n := range f.posts {
		if id == apigw.ProbeConnectionID {
			continue
		}
		posts += n
		connections++
	}
	return posts, connections
}
