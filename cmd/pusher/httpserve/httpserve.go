// Package httpserve serves an http.Handler on a listener until told to stop, the way
// every listener of the pusher does: the gateway, the intake, the ops endpoints.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Address is the host:port a mode listens on, a type of its own so that wire tells it
// from other strings.
type Address string

// Listen opens the listener of addr, closed by the cleanup.
func Listen(addr Address) (net.Listener, func(), error) {
	ln, err := net.Listen("tcp", string(addr))
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, func() { _ = ln.Close() }, nil
}

// Validate reports an address that is not host:port.
func (a Address) Validate() error {
	if _, _, err := net.SplitHostPort(string(a)); err != nil {
		return fmt.Errorf("listen address %q: %w", a, err)
	}
	return nil
}

// Server is a running HTTP server.
type Server struct {
	srv    *http.Server
	served chan error
}

// Start serves h on ln until Stop.
func Start(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, served: make(chan error, 1)}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s
}

// Stop stops taking connections and waits up to a second for requests in progress,
// then closes what is left: a connection a client dialled but never used counts as busy
// for 5s in http.Server.Shutdown, and hijacked WebSockets are their owner's to close.
func (s *Server) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var err error
	if s.srv.Shutdown(ctx) != nil {
		err = s.srv.Close()
	}
	if served := <-s.served; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}
