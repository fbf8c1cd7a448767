package consoletest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCleanupWithAFullBuffer: a test that stops reading a busy stream, its buffer full,
// still ends: the cleanup stops the reader instead of waiting on it for ever.
func TestCleanupWithAFullBuffer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; r.Context().Err() == nil; i++ {
			if _, err := fmt.Fprintf(w, "event: tick\ndata: %d\n\n", i); err != nil {
				return
			}
			_ = rc.Flush()
		}
	}))
	t.Cleanup(srv.Close)

	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t.Run("a reader that stops", func(t *testing.T) {
			s := Open(t, srv.URL)
			deadline := time.Now().Add(Timeout)
			for len(s.events) < cap(s.events) {
				if time.Now().After(deadline) {
					t.Fatalf("the buffer holds %d events of %d after %s", len(s.events), cap(s.events), Timeout)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}()
	select {
	case <-ended:
	case <-time.After(Timeout):
		t.Fatalf("the test's cleanup did not end in %s with the stream's buffer full", Timeout)
	}
}
