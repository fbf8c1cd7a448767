package serve_test

import (
	"io"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

func TestConfigNamesTheBadSetting(t *testing.T) {
	good := serve.Config{
		Config: onaws.Config{
			APIGWEndpoint:  "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
			Table:          dynamodb.Config{Table: "ws-connections"},
			PoisonQueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/poison",
		},
		QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/notifications",
	}
	tests := []struct {
		name   string
		change func(*serve.Config)
		want   string // in the error; empty: no error
	}{
		{name: "all set", change: func(*serve.Config) {}},
		{name: "topic instead of queue", change: func(c *serve.Config) { c.QueueURL, c.TopicARN = "", "arn:aws:sns:eu-west-1:123456789012:n" }},
		{name: "no endpoint", change: func(c *serve.Config) { c.APIGWEndpoint = "" }, want: "APIGW_ENDPOINT is not set"},
		{name: "endpoint not a URL", change: func(c *serve.Config) { c.APIGWEndpoint = "abc123" }, want: "APIGW_ENDPOINT="},
		{name: "no table", change: func(c *serve.Config) { c.Table.Table = "" }, want: "CONNECTIONS_TABLE_NAME is not set"},
		{name: "no source", change: func(c *serve.Config) { c.QueueURL = "" }, want: "NOTIFICATIONS_QUEUE_URL"},
		{name: "no poison queue", change: func(c *serve.Config) { c.PoisonQueueURL = "" }, want: "POISON_QUEUE_URL is not set"},
		{name: "FIFO queue", change: func(c *serve.Config) { c.QueueURL += ".fifo" }, want: "is a FIFO queue"},
		{name: "split", change: func(c *serve.Config) { c.Pipeline.Split.Above = 50_000 }},
		{name: "split onto a topic's queue", change: func(c *serve.Config) {
			c.QueueURL, c.TopicARN, c.Pipeline.Split.Above = "", "arn:aws:sns:eu-west-1:123456789012:n", 50_000
		}},
		{name: "negative split", change: func(c *serve.Config) { c.Pipeline.Split.Above = -1 }, want: "Split.Above is -1"},
		{name: "paced", change: func(c *serve.Config) {
			c.Pipeline.Pace = pipeline.PaceConfig{Rate: 2000, Burst: 100, FleetRate: 10_000}
		}},
		{name: "a burst without a rate", change: func(c *serve.Config) { c.Pipeline.Pace.Burst = 100 }, want: "Pace.Burst is set without a Pace.Rate"},
		{name: "bad ops address", change: func(c *serve.Config) { c.OpsListen = "9090" }, want: `OPS_LISTEN: listen address "9090"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := serve.Defaults(c)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one naming %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestFlagsReadPacing: serve reads POST_RATE and POST_BURST with the pipeline's
// settings, and FLEET_POST_RATE with the split's, the flags over the variables.
func TestFlagsReadPacing(t *testing.T) {
	env := map[string]string{"POST_RATE": "2000", "POST_BURST": "100", "FLEET_POST_RATE": "10000"}
	f := settings.New("serve", io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	var c serve.Config
	serve.Flags(f, &c)
	if err := f.Parse([]string{"--fleet-post-rate", "7500.5"}); err != nil {
		t.Fatal(err)
	}
	if want := (pipeline.PaceConfig{Rate: 2000, Burst: 100, FleetRate: 7500.5}); c.Pipeline.Pace != want {
		t.Errorf("pace %+v, want %+v", c.Pipeline.Pace, want)
	}
}
