// Command counter is seed 004's counter, run beside `pusher dev`: it serves the page (a
// value between - and +, shared live by every open tab) at / and, at POST /routes, the
// backend of the gateway's plus, minus and state routes (pusher dev's ROUTE_BACKEND).
//
//	go run ./cmd/counter & go run ./cmd/pusher dev --anonymous-connections --route-backend http://127.0.0.1:8081/routes
//
// then open http://127.0.0.1:8081/ in two tabs. docs/counter.md tells how it flows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// The defaults of config: beside `pusher dev` at its own default address.
const (
	defaultListen    = "127.0.0.1:8081"
	defaultPusher    = "http://127.0.0.1:8080"
	defaultWebSocket = "ws://127.0.0.1:8080/"
)

// config is the configuration of the counter.
type config struct {
	// Listen is the address of the page and the backend; default defaultListen.
	Listen string
	// Pusher is the base URL of `pusher dev`, whose POST /notifications takes the
	// broadcasts; default defaultPusher.
	Pusher string
	// WebSocket is the URL the page connects to: the gateway of `pusher dev`; default
	// defaultWebSocket.
	WebSocket string
}

// parseConfig reads the command line args, writing usage to out on -h or a bad flag.
func parseConfig(args []string, out io.Writer) (config, error) {
	var c config
	f := flag.NewFlagSet("counter", flag.ContinueOnError)
	f.SetOutput(out)
	f.StringVar(&c.Listen, "listen", defaultListen, "address of the page (/) and the route backend (POST /routes)")
	f.StringVar(&c.Pusher, "pusher", defaultPusher, "base URL of pusher dev, whose /notifications takes the broadcasts")
	f.StringVar(&c.WebSocket, "websocket", defaultWebSocket, "WebSocket URL the page connects to: pusher dev's gateway")
	if err := f.Parse(args); err != nil {
		return config{}, err
	}
	if f.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q: the settings are flags", f.Args())
	}
	return c, c.Validate()
}

// Validate reports a setting that cannot work.
func (c config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if err := checkURL("--pusher", c.Pusher, "http", "https"); err != nil {
		return err
	}
	return checkURL("--websocket", c.WebSocket, "ws", "wss")
}

// checkURL reports raw unless it is an absolute URL of one of schemes.
func checkURL(flag, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, raw, err)
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%s %q: want a %s://host:port URL", flag, raw, schemes[0])
}

// newHandler returns the counter's routes: the page at / and the backend at POST /routes,
// on counter, broadcasting through the intake of the pusher at cfg.Pusher.
func newHandler(cfg config, counter app.Counter, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", app.Page(cfg.WebSocket))
	mux.Handle("POST /routes", &app.App{Counter: counter, Notifier: intakeNotifier(cfg.Pusher), Logger: logger})
	return mux
}

// run serves the counter of cfg until ctx is done.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	h := newHandler(cfg, app.NewMemoryCounter(), logger)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	logger.Info("counter serving", "page", "http://"+ln.Addr().String()+"/", "routes", "http://"+ln.Addr().String()+"/routes",
		"pusher", cfg.Pusher, "websocket", cfg.WebSocket)
	return serve(ctx, ln, h)
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		logger.Error("bad settings", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, logger)
	stop()
	if err != nil {
		logger.Error("counter stopped", "error", err)
		os.Exit(1)
	}
	logger.Info("counter stopped")
}
