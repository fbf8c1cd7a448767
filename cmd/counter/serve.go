package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// serve serves h on ln until ctx is done, then lets the requests in progress finish.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	var fresh freshConns
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: fresh.track}
	srv.RegisterOnShutdown(fresh.close)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("stop serving on %s: %w", ln.Addr(), err)
	}
	return nil
}

// freshConns are the connections that have sent no request yet. Shutdown closes the
// idle connections at once but waits for these, up to 5 s, as if a request might come:
// a browser opens one beside the page's, in case it needs another (Chromium does), and
// leaves it so; stopping the counter with a page open would then take 5 s and fail.
// They carry no request, so they are closed when the server shuts down.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track is the server's ConnState hook.
func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state != http.StateNew {
		delete(f.conns, c)
		return
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	f.conns[c] = struct{}{}
}

// close closes the connections that have sent no request; Shutdown calls it once it
// has closed the listener.
func (f *freshConns) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}
