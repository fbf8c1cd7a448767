package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// flags is a flag set whose flags default to environment variables: the Python
// original's names (APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME) and this project's.
type flags struct {
	*flag.FlagSet
	bad []error // environment values that do not parse
}

func newFlags(name string, output io.Writer) *flags {
	fs := &flags{FlagSet: flag.NewFlagSet("pusher "+name, flag.ContinueOnError)}
	fs.SetOutput(output)
	return fs
}

func (f *flags) usage(env, usage string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// String defines a string flag defaulting to $env, else def.
func (f *flags) String(p *string, name, env, def, usage string) {
	if v := os.Getenv(env); env != "" && v != "" { // empty means unset
		def = v
	}
	f.StringVar(p, name, def, f.usage(env, usage))
}

// Int defines an int flag defaulting to $env, else def.
func (f *flags) Int(p *int, name, env string, def int, usage string) {
	if v := os.Getenv(env); env != "" && v != "" { // empty means unset
		n, err := strconv.Atoi(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is not a whole number", env, v))
		}
		def = n
	}
	f.IntVar(p, name, def, f.usage(env, usage))
}

// Duration defines a duration flag defaulting to $env, else def.
func (f *flags) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v := os.Getenv(env); env != "" && v != "" { // empty means unset
		d, err := time.ParseDuration(v)
		if err != nil {
			f.bad = append(f.bad, fmt.Errorf("%s=%q is not a duration such as 30s", env, v))
		}
		def = d
	}
	f.DurationVar(p, name, def, f.usage(env, usage))
}

// Parse parses args and reports the first environment value that did not parse.
func (f *flags) Parse(args []string) error {
	if len(f.bad) > 0 {
		return f.bad[0]
	}
	return f.FlagSet.Parse(args)
}

// tableFlags defines the flags of the connections table.
func tableFlags(fs *flags, t *dynamodb.Config) {
	fs.String(&t.Table, "table", "CONNECTIONS_TABLE_NAME", "", "DynamoDB table of connections")
	fs.String(&t.UserKey, "user-key", "USER_KEY", "user_id", "the table's hash key")
	fs.String(&t.ConnectionKey, "connection-key", "CONNECTION_KEY", "connection_id", "the table's range key")
	fs.String(&t.TTLAttribute, "ttl-attribute", "TTL_ATTRIBUTE", "", "attribute $connect writes an expiry to, for the table's TTL")
	fs.Duration(&t.TTL, "ttl", "CONNECTION_TTL", 0, "how long after $connect a connection expires, with --ttl-attribute")
	fs.Int(&t.ScanSegments, "scan-segments", "SCAN_SEGMENTS", 4, "parallel segments of a broadcast's Scan")
}

// logLevelFlag defines --log-level.
func logLevelFlag(fs *flags) *string {
	level := new(string)
	fs.String(level, "log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	return level
}

// pipelineFlags defines the flags that tune the pipeline.
func pipelineFlags(fs *flags, c *pipeline.Config) {
	fs.Int(&c.PostConcurrency, "post-concurrency", "POST_CONCURRENCY", 256, "posts kept in flight")
	fs.Int(&c.Retry.MaxAttempts, "max-attempts", "MAX_ATTEMPTS", 5, "attempts of a transient failure before the work is parked")
	fs.Duration(&c.CloseTimeout, "grace", "SHUTDOWN_GRACE", 30*time.Second, "on SIGTERM, how long accepted requests may take to settle")
	fs.Duration(&c.RequestTimeout, "request-timeout", "REQUEST_TIMEOUT", 15*time.Minute, "how long a request may take before what is left of it is redelivered")
}
