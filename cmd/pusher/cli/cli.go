// Package cli is the pusher command: its subcommands, settings and run modes, with a
// team's options (package custom). cmd/pusher is `cli.Main()`; a team's own pusher is a main that
// calls Main with its options:
//
//	pusher dev [--listen 127.0.0.1:8080]   the whole pipeline in one process, no AWS needed
//	pusher serve                           SQS or SNS in, WebSocket frames out (APIGW_ENDPOINT, ...)
//	pusher gateway                         the local gateway of dev, on a DynamoDB table
//	pusher send [--users|--topics L] DATA  send a request to SQS, SNS or pusher dev
//	pusher connect URL                     a WebSocket client: prints the frames it receives
//	pusher replay [list|send|export|import] the poison queue; bare, it lists
//	pusher token --user U [--topics p1,p2] a $connect test token signed with CONNECT_TOKEN_SECRET
//	pusher version                         the module version, VCS revision and Go version
//	pusher help [command]                  the usage, or a command's flags
//
// Every flag defaults to its environment variable (`pusher help serve` names them).
// The modes log text when stderr is a terminal and JSON lines otherwise; --log-format
// (LOG_FORMAT) chooses.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

const usageHead = `usage: pusher <command> [flags]

commands:
`

const usageTail = `
Every flag defaults to an environment variable; "pusher help <command>" (or
"pusher <command> --help") prints a command's flags and their variables.
`

// Main runs the subcommand of the process's arguments with the team's options until it
// ends, or Ctrl-C or SIGTERM stops it, and exits 2 on an error, which it prints.
func Main(opts ...custom.Option) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "pusher:", err)
		stop()
		os.Exit(2)
	}
}

// Run runs the subcommand args name, with the team's options, until it ends or ctx is
// done. With no command, or help, -h or --help, it prints the usage to stdout; a
// command's -h or --help prints its flags to stdout. Neither is an error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, opts ...custom.Option) error {
	return run(ctx, args, env{stdout: stdout, stderr: stderr, lookup: os.LookupEnv}, opts)
}

// env is the process as a command sees it: stdout takes its output and the help asked
// for; stderr its logs, and the usage after a mistake; lookup reads its environment
// variables.
type env struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

// run is Run in e.
func run(ctx context.Context, args []string, e env, opts []custom.Option) error {
	if len(args) == 0 || isHelp(args[0]) {
		printUsage(e.stdout)
		return nil
	}
	if args[0] == "help" {
		return help(args[1:], e)
	}
	c, ok := find(args[0])
	if !ok {
		printUsage(e.stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.exec(ctx, args[1:], e, opts)
}

// isHelp reports whether arg asks for help, as the flag package reads -h and -help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

// command is a subcommand of pusher.
type command struct {
	name string
	// parent is the name of the command it is a subcommand of, if it is one.
	parent string
	// summary is its line in the usage.
	summary string
	// usage is the first lines of its help; its flags follow.
	usage string
	// define defines the command's flags on fs and returns what it runs once they are
	// parsed; help calls it alone, to print the flags.
	define func(fs *settings.Flags) runFunc
	// subcommands are those of a command that has them, such as replay's; it then has
	// no define.
	subcommands []command
	// fallback is the subcommand run when none is named (no argument, or a flag
	// first), such as replay's read-only list; empty: a subcommand is needed.
	fallback string
	// args names the positional arguments the command takes, such as "DATA"; empty:
	// none, and one given is refused (see strayArgument).
	args string
}

// runFunc runs a command whose flags are parsed.
type runFunc func(ctx context.Context, e env, opts []custom.Option) error

// commands are pusher's subcommands but help, in the order of the usage.
func commands() []command {
	return []command{
		devCommand(),
		serveCommand(),
		gatewayCommand(),
		takes(sendCommand(), "DATA"),
		takes(connectCommand(), "URL"),
		replayCommand(),
		tokenCommand(),
		versionCommand(),
	}
}

// takes returns c taking the positional arguments args names.
func takes(c command, args string) command {
	c.args = args
	return c
}

// find returns the command or subcommand of path, such as "replay send".
func find(path ...string) (command, bool) {
	list := commands()
	var c command
	for i, name := range path {
		found := false
		for _, sub := range list {
			if sub.name == name {
				c, found = sub, true
				break
			}
		}
		if !found {
			return command{}, false
		}
		if i < len(path)-1 {
			list = c.subcommands
		}
	}
	return c, len(path) > 0
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-8s %s\n", "help", "print this, or a command's flags: pusher help <command>")
	fmt.Fprint(w, usageTail)
}

// flags returns the flags of c in e and what c runs once they are parsed.
func (c command) flags(e env) (*settings.Flags, runFunc) {
	name := "pusher " + c.name
	if c.parent != "" {
		name = "pusher " + c.parent + " " + c.name
	}
	fs := settings.New(name, e.stderr, e.lookup)
	fs.HelpTo(e.stdout)
	r := c.define(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), c.usage)
		fs.PrintDefaults()
	}
	return fs, r
}

// exec parses args with c's flags and runs c; a subcommand's name comes first in args.
func (c command) exec(ctx context.Context, args []string, e env, opts []custom.Option) error {
	if c.subcommands != nil {
		switch {
		case len(args) > 0 && (isHelp(args[0]) || args[0] == "help"):
			fmt.Fprint(e.stdout, c.usage)
			return nil
		case c.fallback != "" && (len(args) == 0 || strings.HasPrefix(args[0], "-")):
			sub, _ := find(c.name, c.fallback)
			return sub.exec(ctx, args, e, opts)
		case len(args) == 0:
			fmt.Fprint(e.stderr, c.usage)
			return fmt.Errorf("%s needs a subcommand: %s", c.name, names(c.subcommands))
		}
		if sub, ok := find(c.name, args[0]); ok {
			return sub.exec(ctx, args[1:], e, opts)
		}
		fmt.Fprint(e.stderr, c.usage)
		return fmt.Errorf("unknown %s subcommand %q", c.name, args[0])
	}
	fs, r := c.flags(e)
	if err := parseInterspersed(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // asked for: the usage is printed
		}
		return err
	}
	if c.args == "" && fs.NArg() > 0 {
		return c.strayArgument(fs.Arg(0), args)
	}
	return r(ctx, e, opts)
}

// strayArgument is the error of arg given to c, which takes no positional argument, in
// args: now that flags are read in any position, a word among them must not be dropped
// silently, such as the subcommand of `pusher replay --dev URL send`, which would list
// instead of sending. A subcommand's name is to be named first: the error says how.
func (c command) strayArgument(arg string, args []string) error {
	if c.parent != "" {
		if _, ok := find(c.parent, arg); ok {
			rest := slices.Clone(args)
			rest = slices.Delete(rest, slices.Index(rest, arg), slices.Index(rest, arg)+1)
			return fmt.Errorf("unexpected argument %q: name the subcommand first (%s)", arg,
				strings.Join(append([]string{"pusher", c.parent, arg}, rest...), " "))
		}
		return fmt.Errorf("unexpected argument %q: pusher %s %s takes no arguments, only flags", arg, c.parent, c.name)
	}
	return fmt.Errorf("unexpected argument %q: pusher %s takes no arguments, only flags", arg, c.name)
}

// parseInterspersed parses args with fs, taking flags before, between and after the
// positional arguments, so that `pusher send DATA --users bob` reads as `pusher send
// --users bob DATA`: the flag package stops at the first argument that is not a flag,
// so it parses again after each one. "--" ends the flags; what follows is positional,
// such as data that starts with "-". fs.Args() then holds the positional arguments.
func parseInterspersed(fs *settings.Flags, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Parsing "--" and the positional arguments sets fs.Args() and no flag.
	return fs.FlagSet.Parse(append([]string{"--"}, positional...))
}

// help prints the usage, or the flags of the command args name.
func help(args []string, e env) error {
	switch {
	case len(args) == 0 || args[0] == "help":
		printUsage(e.stdout)
		return nil
	}
	c, ok := find(args...)
	switch {
	case !ok:
		printUsage(e.stderr)
		return fmt.Errorf("unknown command %q", strings.Join(args, " "))
	case c.subcommands != nil:
		fmt.Fprint(e.stdout, c.usage)
		return nil
	}
	fs, _ := c.flags(e)
	fs.SetOutput(e.stdout)
	fs.Usage()
	return nil
}

// names lists the names of cs, "a, b or c".
func names(cs []command) string {
	var out strings.Builder
	for i, c := range cs {
		switch {
		case i == 0:
		case i == len(cs)-1:
			out.WriteString(" or ")
		default:
			out.WriteString(", ")
		}
		out.WriteString(c.name)
	}
	return out.String()
}
