package settings_test

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestTable reads the table settings from the environment and the flags, as every run
// mode and the Lambda function do: a flag wins over its variable, an empty variable is
// unset.
func TestTable(t *testing.T) {
	defaults := dynamodb.Config{UserKey: "user_id", ConnectionKey: "connection_id", ScanSegments: 4}
	with := func(edit func(*dynamodb.Config)) dynamodb.Config {
		c := defaults
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want dynamodb.Config
	}{
		{name: "defaults", want: defaults},
		{name: "environment", env: map[string]string{
			"CONNECTIONS_TABLE_NAME": "conns", "SUBSCRIPTIONS_TABLE_NAME": "subs", "TTL_ATTRIBUTE": "expires_at", "CONNECTION_TTL": "3h",
		}, want: with(func(c *dynamodb.Config) {
			c.Table, c.SubscriptionsTable, c.TTLAttribute, c.TTL = "conns", "subs", "expires_at", 3*time.Hour
		})},
		{name: "flags", args: []string{"--table", "conns", "--subscriptions-table", "subs"},
			want: with(func(c *dynamodb.Config) { c.Table, c.SubscriptionsTable = "conns", "subs" })},
		{name: "flag over environment", env: map[string]string{"SUBSCRIPTIONS_TABLE_NAME": "subs"}, args: []string{"--subscriptions-table", "other"},
			want: with(func(c *dynamodb.Config) { c.SubscriptionsTable = "other" })},
		{name: "empty variable: no topics", env: map[string]string{"SUBSCRIPTIONS_TABLE_NAME": ""}, want: defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := settings.New("test", io.Discard, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			var got dynamodb.Config
			settings.Table(f, &got)
			if err := f.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config\n have %+v\n want %+v", got, tt.want)
			}
		})
	}
}

// TestSecretNeverInHelp: a key read from the environment is taken, by the variable and
// by the flag, but -h shows only the variable's name.
func TestSecretNeverInHelp(t *testing.T) {
	const key = "a-secret-key-of-thirty-two-bytes!"
	env := map[string]string{"CONNECT_TOKEN_SECRET": key}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the variable", nil, key},
		{"the flag over it", []string{"--connect-token-secret", "another"}, "another"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var help strings.Builder
			f := settings.New("test", &help, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			var c settings.Connect
			settings.ConnectFlags(f, &c)
			if err := f.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.Token.Secret != tc.want {
				t.Errorf("secret %q, want %q", c.Token.Secret, tc.want)
			}
			f.PrintDefaults()
			if out := help.String(); strings.Contains(out, key) || !strings.Contains(out, "CONNECT_TOKEN_SECRET") {
				t.Errorf("help shows the key, or not its variable:\n%s", out)
			}
		})
	}
}

// TestParseHelp: -h prints the usage to the writer of HelpTo and is flag.ErrHelp, even
// with a bad variable; a bad flag prints its error and the usage to the output; a bad
// variable is reported once the flags parse.
func TestParseHelp(t *testing.T) {
	env := map[string]string{"POST_CONCURRENCY": "many"}
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		err          string
		help, output string
	}{
		{name: "-h", args: []string{"-h"}, env: env, err: flag.ErrHelp.Error(), help: "usage of test\n"},
		{name: "--help", args: []string{"--help"}, err: flag.ErrHelp.Error(), help: "usage of test\n"},
		{name: "a bad flag", args: []string{"--bogus"}, env: env, err: "flag provided but not defined: -bogus",
			output: "flag provided but not defined: -bogus\nusage of test\n"},
		{name: "a bad variable", env: env, err: `POST_CONCURRENCY="many" is not a whole number`},
		{name: "fine", args: []string{"--post-concurrency", "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var help, output strings.Builder
			f := settings.New("test", &output, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			f.HelpTo(&help)
			f.Usage = func() { fmt.Fprintln(f.Output(), "usage of test") }
			var c pipeline.Config
			settings.Pipeline(f, &c)
			err := f.Parse(tt.args)
			if got := fmt.Sprint(err); err != nil && got != tt.err || err == nil && tt.err != "" {
				t.Errorf("Parse: %v, want %q", err, tt.err)
			}
			if help.String() != tt.help || output.String() != tt.output {
				t.Errorf("help %q and output %q, want %q and %q", help.String(), output.String(), tt.help, tt.output)
			}
		})
	}
}

// TestDefaultsOfTheFlags: the flags' defaults are the constants of the packages that
// own the settings, and -h prints a list's as it is written.
func TestDefaultsOfTheFlags(t *testing.T) {
	var help strings.Builder
	f := settings.New("test", &help, func(string) (string, bool) { return "", false })
	var c pipeline.Config
	var topics settings.Topics
	settings.Pipeline(f, &c)
	settings.Split(f, &c)
	settings.TopicFlags(f, &topics, false)
	if err := f.Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := pipeline.Config{PostConcurrency: pipeline.DefaultPostConcurrency, RequestTimeout: pipeline.DefaultRequestTimeout,
		CloseTimeout: pipeline.DefaultCloseTimeout, Retry: pipeline.RetryConfig{MaxAttempts: pipeline.DefaultRetryMaxAttempts},
		Split: pipeline.SplitConfig{SegmentSize: pipeline.DefaultSplitSegmentSize, MaxSegments: pipeline.DefaultSplitMaxSegments}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("pipeline\n have %+v\n want %+v", c, want)
	}
	wantTopics := settings.Topics{}.WithDefaults()
	wantTopics.Auth.TokenClaim, wantTopics.Auth.HookTimeout = auth.DefaultTokenClaim, auth.DefaultHookTimeout
	if !reflect.DeepEqual(topics, wantTopics) {
		t.Errorf("topics\n have %+v\n want %+v", topics, wantTopics)
	}
	f.PrintDefaults()
	if want := "-topic-params list\n"; !strings.Contains(help.String(), want) || !strings.Contains(help.String(), "(default topic)") {
		t.Errorf("help\n%s\nwant %q and (default topic)", help.String(), want)
	}
}

// TestFloat reads a rate from the environment and the flags: a whole number or a
// fraction, the flag over the variable; NaN, infinities, negatives and words are
// refused, naming the variable or the flag.
func TestFloat(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want float64
		err  string // "" for none
	}{
		{name: "the default", want: 0.5},
		{name: "a whole number", env: map[string]string{"RATE": "2000"}, want: 2000},
		{name: "a fraction", env: map[string]string{"RATE": "0.25"}, want: 0.25},
		{name: "an exponent", args: []string{"--rate", "1e4"}, want: 10_000},
		{name: "zero: off", env: map[string]string{"RATE": "0"}, want: 0},
		{name: "the flag over the variable", env: map[string]string{"RATE": "2000"}, args: []string{"--rate", "300"}, want: 300},
		{name: "an empty variable is unset", env: map[string]string{"RATE": ""}, want: 0.5},
		{name: "a word", env: map[string]string{"RATE": "fast"}, err: `RATE="fast" is not a number such as 2000 or 0.5`},
		{name: "NaN", env: map[string]string{"RATE": "NaN"}, err: `RATE="NaN" is not a number such as 2000 or 0.5`},
		{name: "infinity", env: map[string]string{"RATE": "+Inf"}, err: `RATE="+Inf" is not a number such as 2000 or 0.5`},
		{name: "negative", env: map[string]string{"RATE": "-1"}, err: `RATE="-1" is below 0`},
		{name: "a negative flag", args: []string{"--rate", "-5"}, err: `invalid value "-5" for flag -rate: below 0`},
		{name: "an infinite flag", args: []string{"--rate", "inf"}, err: `invalid value "inf" for flag -rate: not a number such as 2000 or 0.5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := settings.New("test", io.Discard, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			var got float64
			f.Float(&got, "rate", "RATE", 0.5, "a rate")
			err := f.Parse(tt.args)
			switch {
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Fatalf("Parse: %v, want %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.err == "" && got != tt.want:
				t.Errorf("rate %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPace reads the pacing settings as serve and the function do: POST_RATE and
// POST_BURST with the pipeline's, FLEET_POST_RATE with the split's; unset, posts are
// unpaced.
func TestPace(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want pipeline.PaceConfig
	}{
		{name: "unset: unpaced"},
		{name: "environment", env: map[string]string{"POST_RATE": "2500", "POST_BURST": "100", "FLEET_POST_RATE": "9000.5"},
			want: pipeline.PaceConfig{Rate: 2500, Burst: 100, FleetRate: 9000.5}},
		{name: "flags", args: []string{"--post-rate", "0.5", "--fleet-post-rate", "10000"},
			want: pipeline.PaceConfig{Rate: 0.5, FleetRate: 10_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := settings.New("test", io.Discard, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			var c pipeline.Config
			settings.Pipeline(f, &c)
			settings.Split(f, &c)
			if err := f.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if c.Pace != tt.want {
				t.Errorf("pace %+v, want %+v", c.Pace, tt.want)
			}
		})
	}
}
