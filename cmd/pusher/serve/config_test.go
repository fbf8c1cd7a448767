package serve_test

import (
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
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
