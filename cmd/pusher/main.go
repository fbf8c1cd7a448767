// Command pusher pushes notification requests to API Gateway WebSocket connections.
//
//	pusher dev [--listen 127.0.0.1:8080]   the whole pipeline in one process, no AWS needed
//	pusher serve                           SQS or SNS in, WebSocket frames out (APIGW_ENDPOINT, ...)
//	pusher gateway                         the local gateway of dev, on a DynamoDB table
//	pusher send [--users u1,u2] DATA       send a request to SQS, SNS or pusher dev
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/dev"
)

const usage = `usage: pusher <command> [flags]

commands:
  dev    run the pipeline, a local WebSocket gateway and its Management API in one process
  serve  take requests from SQS or SNS and post them through the Management API
  gateway  run the local WebSocket gateway of dev, storing connections in DynamoDB
  send   send a notification request to SQS, SNS or pusher dev
  replay list, send again, export or import the messages of the poison queue
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pusher:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "gateway":
		return runGateway(ctx, args[1:], stdout, stderr)
	case "send":
		return runSend(ctx, args[1:], stdout, stderr)
	case "replay":
		return runReplay(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg dev.Config
	fs := newFlags("dev", stderr)
	dev.Flags(fs, &cfg)
	return runMode(ctx, fs, args, stderr, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := dev.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		p, cleanup, err := pusher.BuildDev(cfg, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, `pusher dev listening on %[1]s
  WebSocket clients:  ws://%[2]s/?%[3]s=USER
  Management API:     %[1]s/@connections/{id}
  notifications:      curl -X POST %[1]s/notifications -d '{"data":{"hello":"world"}}'
  poison queue:       %[1]s/poison
`, p.URL(), p.Listener.Addr(), cfg.IdentityParam)
		return p, cleanup, nil
	})
}
