// Package settings reads a run mode's settings the one way every command and the Lambda
// function read them: flags whose defaults come from environment variables, under the
// Python original's names (APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME) and the pusher's own.
// The Lambda function parses no arguments, so its settings are the environment's.
package settings

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Flags is a flag set whose flags default to environment variables.
type Flags struct {
	*flag.FlagSet
	lookup func(string) (string, bool)
	bad    []error   // environment values that do not parse
	help   io.Writer // where -h prints the usage; nil: the output
}

// New returns the flags of the command name, printing usage to output and reading the
// environment with lookup, such as os.LookupEnv.
func New(name string, output io.Writer, lookup func(string) (string, bool)) *Flags {
	fs := &Flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), lookup: lookup}
	fs.SetOutput(output)
	return fs
}

// HelpTo makes -h and --help print the usage to w, such as stdout: help asked for is
// the command's output, while the usage after a bad flag goes with the error.
func (f *Flags) HelpTo(w io.Writer) { f.help = w }

// env returns the value of the variable env, "" for none; an empty variable counts as
// unset.
func (f *Flags) env(env string) string {
	if env == "" {
		return ""
	}
	v, _ := f.lookup(env)
	return v
}

func usage(env, usage string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// String defines a string flag defaulting to $env, else def.
func (f *Flags) String(p *string, name, env, def, help string) {
	if v := f.env(env); v != "" {
		def = v
	}
	f.StringVar(p, name, def, usage(env, help))
}

// Secret defines a string flag defaulting to $env, whose value -h never prints: a
// key's help shows the variable's name, not the key.
func (f *Flags) Secret(p *string, name, env, help string) {
	*p = f.env(env)
	f.Var((*secretValue)(p), name, usage(env, help))
}

// secretValue is a flag.Value that shows no value.
type secretValue string

func (s *secretValue) String() string { return "" }

func (s *secretValue) Set(v string) error {
	*s = secretValue(v)
	return nil
}

// Get returns the value, for flag.Getter; -h prints String's.
func (s *secretValue) Get() any { return string(*s) }

// Int defines an int flag defaulting to $env, else def.
func (f *Flags) Int(p *int, name, env string, def int, help string) {
	if v := f.env(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is not a whole number", env, v))
		}
		def = n
	}
	f.IntVar(p, name, def, usage(env, help))
}

// Float defines a flag of a finite number of 0 or more, such as a rate, defaulting to
// $env, else def: NaN, an infinity or a negative number is refused, from the variable
// as from the flag.
func (f *Flags) Float(p *float64, name, env string, def float64, help string) {
	if v := f.env(env); v != "" {
		x, err := parseFloat(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is %w", env, v, err))
		}
		def = x
	}
	*p = def
	f.Var((*floatValue)(p), name, usage(env, help))
}

// floatValue is a flag.Value of a finite number of 0 or more.
type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

func (v *floatValue) Set(s string) error {
	x, err := parseFloat(s)
	if err != nil {
		return err
	}
	*v = floatValue(x)
	return nil
}

// Get returns the number, for flag.Getter.
func (v *floatValue) Get() any { return float64(*v) }

// parseFloat reads s as a finite number of 0 or more.
func parseFloat(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
		return 0, errors.New("not a number such as 2000 or 0.5")
	case x < 0:
		return 0, errors.New("below 0")
	}
	return x, nil
}

// Duration defines a duration flag defaulting to $env, else def.
func (f *Flags) Duration(p *time.Duration, name, env string, def time.Duration, help string) {
	if v := f.env(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is not a duration such as 30s", env, v))
		}
		def = d
	}
	f.DurationVar(p, name, def, usage(env, help))
}

// Boolean defines a bool flag defaulting to $env, else def.
func (f *Flags) Boolean(p *bool, name, env string, def bool, help string) {
	if v := f.env(env); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is not true or false", env, v))
		}
		def = b
	}
	f.BoolVar(p, name, def, usage(env, help))
}

// Parse parses args, then reports the first environment value that did not parse. On
// -h or --help it prints the usage to the writer of HelpTo and returns flag.ErrHelp.
func (f *Flags) Parse(args []string) error {
	// The usage is printed inside FlagSet.Parse, before it tells help from a bad flag.
	out := f.Output()
	var printed bytes.Buffer
	f.SetOutput(&printed)
	err := f.FlagSet.Parse(args)
	f.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) && f.help != nil {
		out = f.help
	}
	_, _ = printed.WriteTo(out)
	if err != nil {
		return err
	}
	if len(f.bad) > 0 {
		return f.bad[0]
	}
	return nil
}

// Table defines the settings of the connections table, and of the subscriptions table
// that requests to topics need.
func Table(f *Flags, t *dynamodb.Config) {
	f.String(&t.Table, "table", "CONNECTIONS_TABLE_NAME", "", "DynamoDB table of connections")
	f.String(&t.UserKey, "user-key", "USER_KEY", dynamodb.DefaultUserKey, "the table's hash key")
	f.String(&t.ConnectionKey, "connection-key", "CONNECTION_KEY", dynamodb.DefaultConnectionKey, "the table's range key")
	f.String(&t.TTLAttribute, "ttl-attribute", "TTL_ATTRIBUTE", "", "attribute $connect writes an expiry to, for the table's TTL")
	f.Duration(&t.TTL, "ttl", "CONNECTION_TTL", 0, "how long after $connect a connection expires, with --ttl-attribute")
	f.Int(&t.ScanSegments, "scan-segments", "SCAN_SEGMENTS", dynamodb.DefaultScanSegments, "parallel segments of a broadcast's Scan")
	f.String(&t.SubscriptionsTable, "subscriptions-table", "SUBSCRIPTIONS_TABLE_NAME", "",
		"DynamoDB table of topic subscriptions (hash key topic, range key connection_id, index by-connection); empty: no topics")
}

// Pipeline defines the settings that tune the pipeline.
func Pipeline(f *Flags, c *pipeline.Config) {
	f.Int(&c.PostConcurrency, "post-concurrency", "POST_CONCURRENCY", pipeline.DefaultPostConcurrency, "posts kept in flight")
	f.Int(&c.Retry.MaxAttempts, "max-attempts", "MAX_ATTEMPTS", pipeline.DefaultRetryMaxAttempts, "attempts of a transient failure before the work is parked")
	f.Duration(&c.CloseTimeout, "grace", "SHUTDOWN_GRACE", pipeline.DefaultCloseTimeout, "on SIGTERM, how long accepted requests may take to settle")
	f.Duration(&c.RequestTimeout, "request-timeout", "REQUEST_TIMEOUT", pipeline.DefaultRequestTimeout, "how long a request may take before what is left of it is redelivered")
	f.Float(&c.Pace.Rate, "post-rate", "POST_RATE", 0,
		"`posts` per second of this process, under API Gateway's account throttle: lowered on 429s, raised back as posts pass (docs/pacing.md); 0: unpaced")
	f.Int(&c.Pace.Burst, "post-burst", "POST_BURST", 0, "posts that may go at once after a pause; 0: a twentieth of --post-rate")
}

// Split defines the settings of splitting large broadcasts into segment tasks, and of
// the posts the tasks share, for the modes with a fleet to share them: `pusher serve`
// and the Lambda function.
func Split(f *Flags, p *pipeline.Config) {
	c := &p.Split
	f.Int(&c.Above, "broadcast-split-above", "BROADCAST_SPLIT_ABOVE", 0,
		"split a broadcast over about this many connections into segment tasks on the notifications queue, for the fleet to share; 0: never")
	f.Int(&c.SegmentSize, "broadcast-segment-size", "BROADCAST_SEGMENT_SIZE", pipeline.DefaultSplitSegmentSize, "connections of one segment task")
	f.Int(&c.MaxSegments, "broadcast-max-segments", "BROADCAST_MAX_SEGMENTS", pipeline.DefaultSplitMaxSegments, "most segment tasks of one broadcast")
	f.Float(&p.Pace.FleetRate, "fleet-post-rate", "FLEET_POST_RATE", 0,
		"`posts` per second the segment tasks of one split broadcast share across the fleet: each task posts at most this over the number of tasks; 0: no share")
}

// StringList defines a flag of comma-separated values defaulting to $env, else def.
func (f *Flags) StringList(p *[]string, name, env string, def []string, help string) {
	*p = def
	if v := f.env(env); v != "" {
		*p = splitList(v)
	}
	f.Var((*listValue)(p), name, usage(env, help)+" (a comma-separated `list`)")
}

// listValue is a flag.Value of comma-separated values.
type listValue []string

func (l *listValue) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *listValue) Set(v string) error {
	*l = splitList(v)
	return nil
}

// Get returns the values, for flag.Getter.
func (l *listValue) Get() any { return []string(*l) }

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
