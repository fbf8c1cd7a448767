package awstest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// OneAtATime serves, until the test ends, the invocations of the function at
// functionURL (the RIE's, RIE.URL) one at a time, and returns the invocation URL to
// give everything that invokes the function, such as `pusher gateway
// --lambda-integration` and a KinesisMapping: the RIE takes one invocation at a time
// and crashes on one that comes meanwhile, where Lambda would run another execution
// environment.
func OneAtATime(t TB, functionURL string) string {
	t.Helper()
	var turn sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		turn.Lock()
		defer turn.Unlock()
		// Not on the caller's context: an invocation the RIE began is let end, whoever
		// stopped waiting for it.
		req, err := http.NewRequest(http.MethodPost, functionURL, bytes.NewReader(payload))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/2015-03-31/functions/function/invocations"
}
