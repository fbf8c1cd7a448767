// Package cli is the pusher command: its subcommands, settings and run modes, with a
// team's custom.Options. cmd/pusher is `cli.Main()`; a team's own pusher is a main that
// calls Main with its options:
//
//	pusher dev [--listen 127.0.0.1:8080]   the whole pipeline in one process, no AWS needed
//	pusher serve                           SQS or SNS in, WebSocket frames out (APIGW_ENDPOINT, ...)
//	pusher gateway                         the local gateway of dev, on a DynamoDB table
//	pusher send [--users u1,u2] DATA       send a request to SQS, SNS or pusher dev
//	pusher replay list|send|export|import  the poison queue
//	pusher token --user U [--topics p1,p2] a $connect test token signed with CONNECT_TOKEN_SECRET
package cli

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
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
)

const usage = `usage: pusher <command> [flags]

commands:
  dev    run the pipeline, a local WebSocket gateway and its Management API in one process
  serve  take requests from SQS or SNS and post them through the Management API
  gateway  run the local WebSocket gateway of dev, storing connections in DynamoDB
  send   send a notification request to SQS, SNS or pusher dev
  replay list, send again, export or import the messages of the poison queue
  token  mint a $connect test token signed with CONNECT_TOKEN_SECRET
`

// Main runs the subcommand of the process's arguments with the team's options until it
// ends, or Ctrl-C or SIGTERM stops it, and exits 2 on an error, which it prints.
func Main(opts ...custom.Option) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, opts...); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pusher:", err)
		}
		stop()
		os.Exit(2)
	}
}

// Run runs the subcommand args name, with the team's options, until it ends or ctx is
// done.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, opts ...custom.Option) error {

	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr, opts)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, opts)
	case "gateway":
		return runGateway(ctx, args[1:], stdout, stderr, opts)
	case "send":
		return runSend(ctx, args[1:], stdout, stderr)
	case "replay":
		return runReplay(ctx, args[1:], stdout, stderr, opts)
	case "token":
		return runToken(args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, opts []custom.Option) error {
	var cfg dev.Config
	fs := newFlags("dev", stderr)
	dev.Flags(fs, &cfg)
	return runMode(ctx, fs, args, stderr, opts, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := dev.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		p, cleanup, err := pusher.BuildDev(ctx, cfg, opts, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, `pusher dev listening on %[1]s
  WebSocket clients:  %[2]s
  Management API:     %[1]s/@connections/{id}
  notifications:      curl -X POST %[1]s/notifications -d '{"data":{"hello":"world"}}'
  poison queue:       %[1]s/poison
`, p.URL(), clientURL(p.Listener.Addr().String(), cfg.Connect, false, cfg.IdentityParam))
		return p, cleanup, nil
	})
}
