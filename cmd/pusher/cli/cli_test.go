package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunStopsOnBadSettings checks what a user sees when a command is missing a
// setting: one line naming it, and no start.
func TestRunStopsOnBadSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown command", args: []string{"deploy"}, want: `unknown command "deploy"`},
		{name: "help of an unknown command", args: []string{"help", "deploy"}, want: `unknown command "deploy"`},
		{name: "a flag no command has", args: []string{"serve", "--bogus"}, want: "flag provided but not defined: -bogus"},
		{name: "replay without a subcommand lists", args: []string{"replay"}, want: "POISON_QUEUE_URL is not set"},
		{name: "unknown replay subcommand", args: []string{"replay", "purge"}, want: `unknown replay subcommand "purge"`},
		{name: "version with an argument", args: []string{"version", "now"}, want: `unexpected argument "now": pusher version takes no arguments`},
		// Flags are read in any position: a word among them is refused, not dropped.
		{name: "replay's subcommand after its flags", args: []string{"replay", "--dev", "http://127.0.0.1:1", "send"},
			want: `unexpected argument "send": name the subcommand first (pusher replay send --dev http://127.0.0.1:1)`},
		{name: "replay's import after its flags", args: []string{"replay", "--dev", "http://127.0.0.1:1", "import", "f.jsonl"},
			want: `unexpected argument "import": name the subcommand first (pusher replay import --dev http://127.0.0.1:1 f.jsonl)`},
		{name: "replay list, then another subcommand", args: []string{"replay", "list", "--dev", "http://127.0.0.1:1", "export"},
			want: `unexpected argument "export": name the subcommand first (pusher replay export --dev http://127.0.0.1:1)`},
		{name: "replay send with an argument", args: []string{"replay", "send", "--dev", "http://127.0.0.1:1", "all"},
			want: `unexpected argument "all": pusher replay send takes no arguments, only flags`},
		{name: "replay export with an argument", args: []string{"replay", "export", "parked.jsonl"},
			want: `unexpected argument "parked.jsonl": pusher replay export takes no arguments, only flags`},
		{name: "serve with an argument", args: []string{"serve", "--", "now"}, want: `unexpected argument "now": pusher serve takes no arguments, only flags`},
		// A bad --listen too: without the check, the error would be its own, not a dev running.
		{name: "dev with an argument", args: []string{"dev", "--listen", "8080", "now"}, want: `unexpected argument "now": pusher dev takes no arguments, only flags`},
		{name: "gateway with an argument", args: []string{"gateway", "ws"}, want: `unexpected argument "ws": pusher gateway takes no arguments, only flags`},
		{name: "token with an argument", args: []string{"token", "alice"}, want: `unexpected argument "alice": pusher token takes no arguments, only flags`},
		{name: "a bad log format", args: []string{"dev", "--log-format", "xml"}, want: `LOG_FORMAT="xml" is not text or json`},
		{name: "a bad log level", args: []string{"gateway"}, env: map[string]string{"LOG_LEVEL": "loud"}, want: `LOG_LEVEL="loud" is not debug, info, warn or error`},
		{name: "serve without endpoint", args: []string{"serve"}, want: "APIGW_ENDPOINT is not set"},
		{name: "serve without a source", args: []string{"serve"},
			env:  map[string]string{"APIGW_ENDPOINT": "https://abc.execute-api.eu-west-1.amazonaws.com/prod", "CONNECTIONS_TABLE_NAME": "t", "POISON_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/p"},
			want: "NOTIFICATIONS_QUEUE_URL"},
		{name: "serve with a bad number", args: []string{"serve"}, env: map[string]string{"POST_CONCURRENCY": "many"}, want: `POST_CONCURRENCY="many" is not a whole number`},
		{name: "gateway without table", args: []string{"gateway"}, want: "CONNECTIONS_TABLE_NAME is not set"},
		{name: "dev with a bad address", args: []string{"dev", "--listen", "8080"}, want: `listen address "8080"`},
		{name: "send without data", args: []string{"send", "--dev", "http://127.0.0.1:1"}, want: "the JSON of data"},
		{name: "send with bad data", args: []string{"send", "--dev", "http://127.0.0.1:1", "{"}, want: "data is not JSON"},
	}
	for _, name := range []string{"APIGW_ENDPOINT", "CONNECTIONS_TABLE_NAME", "NOTIFICATIONS_QUEUE_URL", "NOTIFICATIONS_TOPIC_ARN", "POISON_QUEUE_URL", "POST_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT"} {
		t.Setenv(name, "")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed %q before stopping", stdout.String())
			}
		})
	}
}
