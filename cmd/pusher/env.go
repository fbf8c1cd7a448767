package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// flags is a flag set whose flags default to environment variables: the Python
// original's names (APIGW_ENDPOINT, CONNECTIONS_TABLE_NAME) and this project's.
type flags struct {
	*flag.FlagSet
	bad []error // environment values that do not parse
}

func newFlags(name string) *flags {
	return &flags{FlagSet: flag.NewFlagSet("pusher "+name, flag.ContinueOnError)}
}

func (f *flags) usage(env, usage string) string {
	if env == "" {
		return usage
	}
	return usage + " (env " + env + ")"
}

// String defines a string flag defaulting to $env, else def.
func (f *flags) String(p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok && env != "" {
		def = v
	}
	f.StringVar(p, name, def, f.usage(env, usage))
}

// Int defines an int flag defaulting to $env, else def.
func (f *flags) Int(p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok && env != "" {
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
	if v, ok := os.LookupEnv(env); ok && env != "" {
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
