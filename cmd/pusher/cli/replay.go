package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

const replayUsage = `usage: pusher replay [list|send|export|import] [flags]
       pusher replay adopt --from QUEUE_URL [flags]

  list   [--reason R] [--stage S] [--since 1h] [--user U] [--topic T] [--json] [--wide]
  send   [filters] [--dry-run] [--rate 100/s] [--concurrency 32] [--to stage|queue]
  export [filters] > parked.jsonl
  import parked.jsonl
  adopt  --from QUEUE_URL   (the async failures queue or the SNS dead-letter queue)

With no subcommand, "pusher replay [flags]" is "pusher replay list [flags]": it changes
nothing. The poison queue is POISON_QUEUE_URL's (pusher serve), or with --dev URL the
one of a running pusher dev. "pusher replay <subcommand> --help" prints its flags;
docs/runbook.md is the on-call runbook.
`

func replayCommand() command {
	sub := func(name, usage string, define func(*settings.Flags) runFunc) command {
		return command{name: name, parent: "replay", usage: "usage: pusher replay " + usage + "\n\nflags:\n", define: define}
	}
	return command{
		name:     "replay",
		summary:  "list, send again, export or import the messages of the poison queue, or adopt lost invocations",
		usage:    replayUsage,
		fallback: "list",
		subcommands: []command{
			sub("list", "list [--reason R] [--stage S] [--since 1h] [--user U] [--topic T] [--json] [--wide]", defineReplayList),
			sub("send", "send [filters] [--dry-run] [--rate 100/s] [--concurrency 32] [--to stage|queue]", defineReplaySend),
			sub("export", "export [filters] > parked.jsonl", defineReplayExport),
			takes(sub("import", "import parked.jsonl (or - for stdin)", defineReplayImport), "FILE"),
			sub("adopt", "adopt --from QUEUE_URL (the async failures queue or the SNS dead-letter queue)", defineReplayAdopt),
		},
	}
}

// replayFlags are the flags every replay subcommand shares.
type replayFlags struct {
	cfg    replay.Config
	dev    string
	filter replay.Filter
	log    settings.Log
}

func newReplayFlags(fs *settings.Flags, filters bool) *replayFlags {
	rf := &replayFlags{}
	fs.String(&rf.cfg.PoisonQueueURL, "poison-queue-url", "POISON_QUEUE_URL", "", "SQS queue failed work is parked in")
	fs.String(&rf.dev, "dev", "", "", "base URL of a running pusher dev whose poison queue to use, such as http://127.0.0.1:8080")
	fs.Duration(&rf.cfg.VisibilityTimeout, "visibility-timeout", "", replay.DefaultVisibilityTimeout, "how long a listing hides the SQS messages it holds")
	if filters {
		fs.StringVar(&rf.filter.Reason, "reason", "", "select the messages whose reason contains this")
		fs.StringVar(&rf.filter.Stage, "stage", "", "select the messages parked by this stage (intake, decode, post, ...)")
		fs.DurationVar(&rf.filter.Since, "since", 0, "select the messages whose last failure is at most this old, such as 1h")
		fs.StringVar(&rf.filter.User, "user", "", "select the deliveries to this user")
		fs.StringVar(&rf.filter.Topic, "topic", "", "select the deliveries to this topic's subscribers and the requests that name it")
	}
	settings.LogFlags(fs, &rf.log)
	return rf
}

// open checks the filter, makes the logger and opens the poison queue the flags name.
func (rf *replayFlags) open(ctx context.Context, e env, opts []custom.Option) (*slog.Logger, replay.Queue, error) {
	if err := rf.checkFilter(opts); err != nil {
		return nil, nil, err
	}
	logger, err := rf.log.Logger(e.stderr)
	if err != nil {
		return nil, nil, err
	}
	q, err := rf.queue(ctx, logger)
	return logger, q, err
}

// checkFilter refuses a filter that cannot select anything, such as a stage of no
// name of the pipeline's or of the team's (opts).
func (rf *replayFlags) checkFilter(opts []custom.Option) error {
	var own []string
	for _, s := range team.Resolve(opts).Stages {
		own = append(own, s.Name)
	}
	return rf.filter.Validate(replay.Stages(own...))
}

// queue returns the poison queue the flags name.
func (rf *replayFlags) queue(ctx context.Context, logger *slog.Logger) (replay.Queue, error) {
	switch {
	case rf.dev != "":
		return replay.NewDevQueue(rf.dev, nil)
	case rf.cfg.PoisonQueueURL == "":
		// Said before the AWS settings: the bare `pusher replay` of a newcomer.
		return nil, errors.New("POISON_QUEUE_URL is not set: the SQS queue failed work is parked in (or give --dev URL for a running pusher dev)")
	}
	return pusher.BuildReplayQueue(ctx, rf.cfg, logger)
}

func defineReplayList(fs *settings.Flags) runFunc {
	rf := newReplayFlags(fs, true)
	asJSON := fs.Bool("json", false, "write JSON lines of the parked messages instead of a table")
	wide := fs.Bool("wide", false, "write the reasons whole; otherwise a long one is cut in its middle, keeping what failed and the cause")
	return func(ctx context.Context, e env, opts []custom.Option) error {
		_, q, err := rf.open(ctx, e, opts)
		if err != nil {
			return err
		}
		parked, err := replay.Select(ctx, q, rf.filter)
		if err != nil {
			return err
		}
		if *asJSON {
			return replay.WriteJSON(e.stdout, parked)
		}
		return replay.WriteTable(e.stdout, parked, *wide)
	}
}

func defineReplaySend(fs *settings.Flags) runFunc {
	rf := newReplayFlags(fs, true)
	var send replay.SendConfig
	fs.BoolVar(&send.DryRun, "dry-run", false, "change nothing: print what would be sent")
	rate := fs.FlagSet.String("rate", "", "most messages sent per second, such as 100/s (default: no limit)")
	fs.FlagSet.IntVar(&send.Concurrency, "concurrency", replay.DefaultSendConcurrency, "messages replayed at once")
	to := fs.FlagSet.String("to", string(replay.ToStage), "stage: re-inject each message at the stage it failed in; queue: send parked requests back to NOTIFICATIONS_QUEUE_URL")
	fs.String(&rf.cfg.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue of notification requests, for --to queue")
	fs.String(&rf.cfg.APIGWEndpoint, "apigw-endpoint", "APIGW_ENDPOINT", "", "Management API endpoint the replayed deliveries are posted to")
	settings.Table(fs, &rf.cfg.Table)
	settings.Pipeline(fs, &rf.cfg.Pipeline)
	settings.Mappings(fs, &rf.cfg.Pipeline.Mappings)
	return func(ctx context.Context, e env, opts []custom.Option) error {
		return runReplaySend(ctx, e, opts, rf, send, *rate, replay.Target(*to))
	}
}

func runReplaySend(ctx context.Context, e env, opts []custom.Option, rf *replayFlags, send replay.SendConfig, rate string, to replay.Target) error {
	if err := rf.checkFilter(opts); err != nil {
		return err
	}
	logger, err := rf.log.Logger(e.stderr)
	if err != nil {
		return err
	}
	send.Filter, send.Target, send.Logger = rf.filter, to, logger
	if send.Rate, err = parseRate(rate); err != nil {
		return err
	}
	if rf.cfg.Pipeline.CloseTimeout > 0 {
		send.Timeout = rf.cfg.Pipeline.CloseTimeout
	}
	if f, ok := e.stdout.(*os.File); ok && !send.DryRun {
		send.Progress = replay.NewProgress(f, logger, 5*time.Second)
	}

	// build validates the settings of pusher serve's queues and table, and assembles
	// what a replay through them needs.
	build := func() (*replay.Service, func(), error) {
		if err := rf.cfg.Validate(); err != nil {
			return nil, nil, err
		}
		return pusher.BuildReplay(ctx, rf.cfg, opts, logger)
	}
	var q replay.Queue
	var r replay.Replayer
	switch {
	case rf.dev != "" && send.Target == replay.ToQueue:
		return errors.New("--to queue needs the SQS queues of pusher serve, not --dev")
	case rf.dev != "":
		dq, err := replay.NewDevQueue(rf.dev, nil)
		if err != nil {
			return err
		}
		q, r = dq, dq
	case send.Target == replay.ToQueue || send.DryRun:
		sq, err := pusher.BuildReplayQueue(ctx, rf.cfg, logger)
		if err != nil {
			return err
		}
		q, r = sq, nil
		if send.Target == replay.ToQueue && !send.DryRun {
			if rf.cfg.QueueURL == "" {
				return errors.New("NOTIFICATIONS_QUEUE_URL is not set: where --to queue sends the requests")
			}
			svc, cleanup, err := build()
			if err != nil {
				return err
			}
			defer cleanup()
			q, r = svc.Queue, svc.Forwarder
		}
	default:
		svc, cleanup, err := build()
		if err != nil {
			return err
		}
		defer cleanup()
		stop, err := svc.Start()
		if err != nil {
			return err
		}
		defer func() { _ = stop() }()
		q, r = svc.Queue, replay.PipelineReplayer{Pipeline: svc.Pipeline}
	}
	rep, err := replay.Send(ctx, q, r, send)
	if send.DryRun {
		fmt.Fprintf(e.stdout, "dry run: %d selected would be sent, %d skipped; nothing changed\n", rep.Selected-rep.Skipped, rep.Skipped)
		return err
	}
	if werr := replay.WriteSummary(e.stdout, rep); err == nil {
		err = werr
	}
	if err == nil && rep.Failed > 0 {
		err = fmt.Errorf("%d messages failed to replay and stay parked: the log says why", rep.Failed)
	}
	return err
}

// parseRate reads "100/s", "100" or "6000/m".
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	n, unit, _ := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("rate %q is not a number of messages per second, such as 100/s", s)
	}
	switch unit {
	case "", "s":
		return v, nil
	case "m":
		return v / 60, nil
	default:
		return 0, fmt.Errorf("rate %q: unit %q is not s or m", s, unit)
	}
}

func defineReplayExport(fs *settings.Flags) runFunc {
	rf := newReplayFlags(fs, true)
	return func(ctx context.Context, e env, opts []custom.Option) error {
		logger, q, err := rf.open(ctx, e, opts)
		if err != nil {
			return err
		}
		n, err := replay.Export(ctx, q, rf.filter, e.stdout)
		logger.Info("exported", "messages", n)
		return err
	}
}

func defineReplayImport(fs *settings.Flags) runFunc {
	rf := newReplayFlags(fs, false)
	return func(ctx context.Context, e env, opts []custom.Option) error {
		if fs.NArg() != 1 {
			fs.Usage()
			return errors.New("import takes one argument: the JSON lines file, or - for stdin")
		}
		_, q, err := rf.open(ctx, e, opts)
		if err != nil {
			return err
		}
		in := io.Reader(os.Stdin)
		if name := fs.Arg(0); name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		got, err := replay.Import(ctx, q, in)
		fmt.Fprintf(e.stdout, "imported %d messages, skipped %d parked already (same uuid)\n", got.Parked, got.Duplicates)
		return err
	}
}

func defineReplayAdopt(fs *settings.Flags) runFunc {
	rf := newReplayFlags(fs, false)
	var cfg replay.AdoptConfig
	fs.StringVar(&cfg.From, "from", "", "URL of the SQS queue to adopt from: the async failures queue (output async_failures_queue_url) or the SNS dead-letter queue (sns_dlq_url)")
	return func(ctx context.Context, e env, opts []custom.Option) error {
		cfg.VisibilityTimeout = rf.cfg.VisibilityTimeout
		if err := cfg.Validate(); err != nil {
			return err
		}
		logger, q, err := rf.open(ctx, e, opts)
		if err != nil {
			return err
		}
		cfg.Logger = logger
		awsCfg, err := onaws.NewAWSConfig(ctx)
		if err != nil {
			return err
		}
		got, err := replay.Adopt(ctx, replay.NewSQSClient(awsCfg), q, cfg)
		if werr := replay.WriteAdoption(e.stdout, got); err == nil {
			err = werr
		}
		if err == nil && got.Kept() > 0 {
			err = fmt.Errorf("%d messages left in %s: the log says why", got.Kept(), cfg.From)
		}
		return err
	}
}
