package custom_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/cli"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
)

// TestModesRefuseWhatTheyCannotHonour starts each mode with an option it cannot honour,
// as a team's binary would: the start fails with one line naming the option and why,
// rather than running without it.
func TestModesRefuseWhatTheyCannotHonour(t *testing.T) {
	source := gochannel.NewGoChannel(gochannel.Config{}, nil)
	t.Cleanup(func() { _ = source.Close() })
	tests := []struct {
		name  string
		start func(opts ...custom.Option) error
		opt   custom.Option
		want  string
	}{
		{
			name: "pusher dev, a store",
			start: func(opts ...custom.Option) error {
				// Stopped before it starts: it builds, then returns at once.
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return cli.Run(ctx, []string{"dev", "--listen", "127.0.0.1:0"}, io.Discard, io.Discard, opts...)
			},
			opt:  custom.WithStore(memory.NewStore(0)),
			want: "pusher dev does not take custom.WithStore: it keeps connections in memory",
		},
		{
			name: "the Lambda, a source",
			start: func(opts ...custom.Option) error {
				t.Setenv("AWS_REGION", "us-east-1")
				cfg, err := function.ConfigFromEnv(func(k string) (string, bool) {
					v, ok := map[string]string{
						"APIGW_ENDPOINT":         "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
						"CONNECTIONS_TABLE_NAME": "connections",
						"POISON_QUEUE_URL":       "https://sqs.us-east-1.amazonaws.com/123456789012/poison",
					}[k]
					return v, ok
				})
				if err != nil {
					return err
				}
				_, cleanup, err := function.Build(context.Background(), cfg, opts, slog.New(slog.DiscardHandler), io.Discard)
				if err == nil {
					cleanup()
				}
				return err
			},
			opt:  custom.WithSource("team", source, "requests"),
			want: "the Lambda function does not take custom.WithSource: its requests come in its invocations",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.start(); err != nil {
				t.Fatalf("without the option: %v", err)
			}
			err := tt.start(tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("with the option: %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the refusal is more than one line: %q", err)
			}
		})
	}
}

// TestGatewayTakesTheTeamsStore runs `pusher gateway` with a team's store: a client
// that connects is registered there, and gone from it once it closes.
func TestGatewayTakesTheTeamsStore(t *testing.T) {
	store := memory.NewStore(0)
	// The connections table is still a required setting; the team's store stands in for it.
	cfg, err := gateway.Defaults(gateway.Config{Listen: "127.0.0.1:0", Table: dynamodb.Config{Table: "connections"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	g, cleanup, err := pusher.BuildGateway(t.Context(), cfg, []custom.Option{custom.WithStore(store)}, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stacktest.RunUntilCleanup(t, "pusher gateway", g.Run)

	dana := gatewaytest.Dial(t, g.Listener.Addr().String(), "dana", "dana")
	stacktest.Eventually(t, "dana in the team's store", func() bool {
		conns, err := store.UserConnections(t.Context(), "dana")
		return err == nil && len(conns) == 1
	})
	dana.Close()
	stacktest.Eventually(t, "dana gone from the team's store", func() bool {
		conns, err := store.UserConnections(t.Context(), "dana")
		return err == nil && len(conns) == 0
	})
}
