package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelp checks what a user sees who asks for help: the usage, or the command's
// flags, on stdout, nothing on stderr, and no error (exit 0).
func TestHelp(t *testing.T) {
	usage := []string{"usage: pusher <command> [flags]", "  version  ", "  help     ", "  replay   "}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "no command", args: nil, want: usage},
		{name: "help", args: []string{"help"}, want: usage},
		{name: "-h", args: []string{"-h"}, want: usage},
		{name: "--help", args: []string{"--help"}, want: usage},
		{name: "-help", args: []string{"-help"}, want: usage},
		{name: "help help", args: []string{"help", "help"}, want: usage},
		{name: "serve --help", args: []string{"serve", "--help"},
			want: []string{"usage: pusher serve", "-apigw-endpoint string", "(env APIGW_ENDPOINT)", "-log-format string", "(env LOG_FORMAT)"}},
		{name: "serve -h", args: []string{"serve", "-h"}, want: []string{"usage: pusher serve", "(default 256)"}},
		{name: "help serve", args: []string{"help", "serve"}, want: []string{"usage: pusher serve", "-post-concurrency int"}},
		{name: "dev --help", args: []string{"dev", "--help"}, want: []string{"usage: pusher dev", "-listen string", `(default "127.0.0.1:8080")`, "-topic-params list"}},
		{name: "gateway --help", args: []string{"gateway", "--help"}, want: []string{"usage: pusher gateway", "(env GATEWAY_LISTEN)"}},
		{name: "send --help", args: []string{"send", "--help"}, want: []string{"usage: pusher send", "-dev URL", "-topic-arn string"}},
		{name: "token --help", args: []string{"token", "--help"}, want: []string{"usage: pusher token", "-secret secret", "(env CONNECT_TOKEN_SECRET)"}},
		{name: "replay --help", args: []string{"replay", "--help"}, want: []string{"usage: pusher replay [list|send|export|import]"}},
		{name: "replay help", args: []string{"replay", "help"}, want: []string{"usage: pusher replay [list|send|export|import]"}},
		{name: "help replay", args: []string{"help", "replay"}, want: []string{"usage: pusher replay [list|send|export|import]"}},
		{name: "replay send --help", args: []string{"replay", "send", "--help"}, want: []string{"usage: pusher replay send", "-concurrency int", "(default 32)"}},
		{name: "help replay list", args: []string{"help", "replay", "list"}, want: []string{"usage: pusher replay list", "-json"}},
		{name: "version --help", args: []string{"version", "--help"}, want: []string{"usage: pusher version"}},
		{name: "help version", args: []string{"help", "version"}, want: []string{"usage: pusher version"}},
	}
	// Help prints the defaults of the environment, but never a secret.
	const secret = "a-secret-that-help-must-not-print!!"
	t.Setenv("CONNECT_TOKEN_SECRET", secret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), tt.args, &stdout, &stderr); err != nil {
				t.Fatalf("pusher %s: %v, want no error", strings.Join(tt.args, " "), err)
			}
			for _, want := range tt.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout\n%s\nwant it to contain %q", stdout.String(), want)
				}
			}
			if strings.Contains(stdout.String(), secret) {
				t.Errorf("stdout shows the secret:\n%s", stdout.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
		})
	}
}

// TestHelpOfACommandIsItsFlags: `pusher help X` and `pusher X --help` print the same.
func TestHelpOfACommandIsItsFlags(t *testing.T) {
	for _, path := range [][]string{{"dev"}, {"serve"}, {"gateway"}, {"send"}, {"token"}, {"version"}, {"replay"}, {"replay", "send"}, {"replay", "import"}} {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			var help, flag, stderr bytes.Buffer
			if err := Run(context.Background(), append([]string{"help"}, path...), &help, &stderr); err != nil {
				t.Fatal(err)
			}
			if err := Run(context.Background(), append(path, "--help"), &flag, &stderr); err != nil {
				t.Fatal(err)
			}
			if help.String() != flag.String() || help.Len() == 0 {
				t.Errorf("pusher help %[1]s printed\n%[2]s\npusher %[1]s --help\n%[3]s", strings.Join(path, " "), help.String(), flag.String())
			}
		})
	}
}

// TestMistakesShowTheUsageOnStderr: a command or flag pusher does not know is an
// error (exit 2), with the usage on stderr and nothing on stdout.
func TestMistakesShowTheUsageOnStderr(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "unknown command", args: []string{"deploy"}, want: []string{"usage: pusher <command> [flags]"}},
		{name: "a flag before the command", args: []string{"--verbose"}, want: []string{"usage: pusher <command> [flags]"}},
		{name: "help of an unknown command", args: []string{"help", "deploy"}, want: []string{"usage: pusher <command> [flags]"}},
		{name: "unknown flag", args: []string{"serve", "--bogus"}, want: []string{"flag provided but not defined: -bogus", "usage: pusher serve"}},
		{name: "replay with an unknown subcommand", args: []string{"replay", "lst"}, want: []string{"usage: pusher replay"}},
		{name: "send without data", args: []string{"send", "--dev", "http://127.0.0.1:1"}, want: []string{"usage: pusher send"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), tt.args, &stdout, &stderr); err == nil {
				t.Fatalf("pusher %s: no error", strings.Join(tt.args, " "))
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr\n%s\nwant it to contain %q", stderr.String(), want)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}
