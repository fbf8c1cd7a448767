package awstest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// NewProxy returns a reverse proxy to target for the fault proxies. It keeps as many
// idle connections to target as a service keeps calls in flight (net/http's default
// keeps 2, so that 256 posts in flight would open a connection each, and leave as many
// in TIME_WAIT), and answers 502 without logging to a call it could not pass on: most
// often a client that gave up, such as a long poll cancelled at shutdown.
func NewProxy(target *url.URL) *httputil.ReverseProxy {
	proxy := httputil.NewSingleHostReverseProxy(target)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 1024
	proxy.Transport = transport
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	proxy.ErrorLog = log.New(io.Discard, "", 0) // the copy of an upgraded connection that ends

	return proxy
}

// ServeUntilCleanup serves h on a local listener until the test ends and returns its
// URL. At the end it cuts the connections still open first: a long poll in flight
// would hold Close until it returned.
func ServeUntilCleanup(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}
