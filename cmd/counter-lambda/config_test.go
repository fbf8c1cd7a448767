package main

import (
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

func TestConfigFromEnv(t *testing.T) {
	const (
		queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/counter-notifications"
		topic = "arn:aws:sns:eu-west-1:123456789012:counter-notifications"
		ws    = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"
	)
	cases := []struct {
		name string
		env  map[string]string
		want Config
		err  string // what the error names, "" for none
	}{
		{
			name: "defaults",
			env:  map[string]string{"NOTIFICATIONS_QUEUE_URL": queue, "COUNTER_WEBSOCKET_URL": ws},
			want: Config{Table: "websocketcounter", Target: send.Target{QueueURL: queue}, WebSocketURL: ws, LogLevel: "info"},
		},
		{
			name: "all set",
			env:  map[string]string{"COUNTER_TABLE": "counter-prod", "NOTIFICATIONS_QUEUE_URL": queue, "COUNTER_WEBSOCKET_URL": ws, "LOG_LEVEL": "debug"},
			want: Config{Table: "counter-prod", Target: send.Target{QueueURL: queue}, WebSocketURL: ws, LogLevel: "debug"},
		},
		{
			name: "the pusher's topic",
			env:  map[string]string{"NOTIFICATIONS_TOPIC_ARN": topic, "COUNTER_WEBSOCKET_URL": ws},
			want: Config{Table: "websocketcounter", Target: send.Target{TopicARN: topic}, WebSocketURL: ws, LogLevel: "info"},
		},
		{
			name: "the pusher's stream",
			env:  map[string]string{"NOTIFICATIONS_STREAM_NAME": "notifications", "COUNTER_WEBSOCKET_URL": ws},
			want: Config{Table: "websocketcounter", Target: send.Target{StreamName: "notifications"}, WebSocketURL: ws, LogLevel: "info"},
		},
		{name: "no target", env: map[string]string{"COUNTER_WEBSOCKET_URL": ws},
			err: "where the clicks are broadcast: no target: give --queue-url, --topic-arn, --stream or --dev, or set NOTIFICATIONS_QUEUE_URL, NOTIFICATIONS_TOPIC_ARN or NOTIFICATIONS_STREAM_NAME"},
		{name: "two targets", env: map[string]string{"NOTIFICATIONS_QUEUE_URL": queue, "NOTIFICATIONS_TOPIC_ARN": topic, "COUNTER_WEBSOCKET_URL": ws},
			err: "where the clicks are broadcast: both NOTIFICATIONS_QUEUE_URL and NOTIFICATIONS_TOPIC_ARN are set"},
		{name: "queue's name", env: map[string]string{"NOTIFICATIONS_QUEUE_URL": "counter-notifications", "COUNTER_WEBSOCKET_URL": ws}, err: "NOTIFICATIONS_QUEUE_URL="},
		{name: "no WebSocket URL", env: map[string]string{"NOTIFICATIONS_QUEUE_URL": queue}, err: "COUNTER_WEBSOCKET_URL is not set"},
		{name: "the API's https URL", env: map[string]string{"NOTIFICATIONS_QUEUE_URL": queue, "COUNTER_WEBSOCKET_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"}, err: "COUNTER_WEBSOCKET_URL="},
		{name: "table's name", env: map[string]string{"COUNTER_TABLE": "a b", "NOTIFICATIONS_QUEUE_URL": queue, "COUNTER_WEBSOCKET_URL": ws}, err: "COUNTER_TABLE="},
		{name: "log level", env: map[string]string{"NOTIFICATIONS_QUEUE_URL": queue, "COUNTER_WEBSOCKET_URL": ws, "LOG_LEVEL": "loud"}, err: `LOG_LEVEL="loud" is not debug, info, warn or error`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("ConfigFromEnv: %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("ConfigFromEnv: %v, want an error saying %q", err, c.err)
			case c.err == "" && got != c.want:
				t.Errorf("ConfigFromEnv = %+v, want %+v", got, c.want)
			}
		})
	}
}
