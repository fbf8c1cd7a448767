package awstest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestOneAtATime invokes a function eight times at once through OneAtATime: each gets
// its own answer, and the function never has two invocations under way.
func TestOneAtATime(t *testing.T) {
	var inFlight, most atomic.Int32
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"echo":%s}`, body)
	}))
	t.Cleanup(fn.Close)
	url := awstest.OneAtATime(t, fn.URL)
	if !strings.HasSuffix(url, "/2015-03-31/functions/function/invocations") {
		t.Errorf("URL %s, want an invocation URL", url)
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprint(i)))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if want := fmt.Sprintf(`{"echo":%d}`, i); resp.StatusCode != http.StatusOK || string(body) != want {
				t.Errorf("invocation %d answered %s %s, want %s", i, resp.Status, body, want)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d invocations under way at once, want 1", m)
	}
}
