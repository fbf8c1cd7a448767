package function_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

func TestConfigFromEnv(t *testing.T) {
	complete := map[string]string{
		"APIGW_ENDPOINT":         "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		"CONNECTIONS_TABLE_NAME": "ws-connections",
		"POISON_QUEUE_URL":       "https://sqs.eu-west-1.amazonaws.com/123456789012/poison",
	}
	with := func(k, v string) map[string]string {
		env := map[string]string{}
		for k, v := range complete {
			env[k] = v
		}
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
		return env
	}
	withAll := func(vars map[string]string) map[string]string {
		env := with("", "")
		for k, v := range vars {
			env[k] = v
		}
		return env
	}
	const queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/notifications"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" for none
	}{
		{"complete", complete, ""},
		{"no endpoint", with("APIGW_ENDPOINT", ""), "APIGW_ENDPOINT is not set"},
		{"endpoint not a URL", with("APIGW_ENDPOINT", "abc123"), "APIGW_ENDPOINT="},
		{"no table", with("CONNECTIONS_TABLE_NAME", ""), "CONNECTIONS_TABLE_NAME is not set"},
		{"no poison queue", with("POISON_QUEUE_URL", ""), "POISON_QUEUE_URL is not set"},
		{"bad number", with("MAX_ATTEMPTS", "five"), `MAX_ATTEMPTS="five" is not a whole number`},
		{"bad duration", with("DEADLINE_MARGIN", "2"), `DEADLINE_MARGIN="2" is not a duration`},
		{"bad log level", with("LOG_LEVEL", "loud"), `LOG_LEVEL="loud"`},
		{"ttl without attribute", with("CONNECTION_TTL", "1h"), "ttl is set without a ttl attribute"},
		{"split without a queue", with("BROADCAST_SPLIT_ABOVE", "50000"), "BROADCAST_SPLIT_ABOVE=50000 is set without NOTIFICATIONS_QUEUE_URL"},
		{"split on a FIFO queue", withAll(map[string]string{"BROADCAST_SPLIT_ABOVE": "50000", "NOTIFICATIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/n.fifo"}), "FIFO queue"},
		{"queue not a URL", with("NOTIFICATIONS_QUEUE_URL", "notifications"), `NOTIFICATIONS_QUEUE_URL="notifications"`},
		{"negative segment size", withAll(map[string]string{"BROADCAST_SPLIT_ABOVE": "5", "BROADCAST_SEGMENT_SIZE": "-1", "NOTIFICATIONS_QUEUE_URL": queue}), "Split.SegmentSize is -1"},
		{"a rate below 0", with("POST_RATE", "-5"), `POST_RATE="-5" is below 0`},
		{"a fleet rate that is no number", with("FLEET_POST_RATE", "max"), `FLEET_POST_RATE="max" is not a number`},
		{"a burst without a rate", with("POST_BURST", "100"), "Pace.Burst is set without a Pace.Rate"},
		{"seed 002's and 003's mappings", withAll(map[string]string{
			"KINESIS_MAPPING": `{topics: [VehicleID]}`, "EVENTBRIDGE_MAPPING": `{topics: [detail.entityId], data: detail.message}`,
		}), ""},
		{"a mapping left open", with("KINESIS_MAPPING", `{topics: [VehicleID`), `KINESIS_MAPPING: mapping "{topics: [VehicleID": SyntaxError: Expected TOKComma, received: TOKEOF`},
		{"a mapping that is no hash", with("KINESIS_MAPPING", `VehicleID`), `KINESIS_MAPPING: mapping "VehicleID": not a multiselect hash`},
		{"a mapping of an unknown key", with("EVENTBRIDGE_MAPPING", `{topic: x}`), `EVENTBRIDGE_MAPPING: mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
		{"a mapping over lines left open", with("EVENTBRIDGE_MAPPING", "{\n  topics: [detail.entityId\n}"), `EVENTBRIDGE_MAPPING: mapping "{\n  topics: [detail.entityId\n}": SyntaxError`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := function.ConfigFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one with %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error of more than one line: %q", err)
			}
		})
	}
	cfg, err := function.ConfigFromEnv(func(k string) (string, bool) { v, ok := with("POST_CONCURRENCY", "64")[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DeadlineMargin != 2*time.Second || cfg.IdentityParam != "user_id" || cfg.AuthorizerKey != "user_id" || cfg.Pipeline.PostConcurrency != 64 || cfg.LogLevel != "info" {
		t.Errorf("config %+v", cfg)
	}
	if s := cfg.Pipeline.Split; s.Above != 0 || s.SegmentSize != 10_000 || s.MaxSegments != 1_000 {
		t.Errorf("split settings %+v, want none split by default", s)
	}
	mapped := withAll(map[string]string{"KINESIS_MAPPING": `{topics: [VehicleID]}`, "EVENTBRIDGE_MAPPING": ""})
	cfg, err = function.ConfigFromEnv(func(k string) (string, bool) { v, ok := mapped[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Pipeline.Mappings; len(m) != 1 || m[handlers.SourceKinesis].String() != `{topics: [VehicleID]}` {
		t.Errorf("mappings %v, want KINESIS_MAPPING's alone", m)
	}
	split := withAll(map[string]string{"BROADCAST_SPLIT_ABOVE": "50000", "BROADCAST_SEGMENT_SIZE": "20000", "NOTIFICATIONS_QUEUE_URL": queue})
	cfg, err = function.ConfigFromEnv(func(k string) (string, bool) { v, ok := split[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Pipeline.Split; s.Above != 50_000 || s.SegmentSize != 20_000 || s.MaxSegments != 1_000 || cfg.QueueURL != queue {
		t.Errorf("split settings %+v of queue %q", s, cfg.QueueURL)
	}
	if p := cfg.Pipeline.Pace; p != (pipeline.PaceConfig{}) {
		t.Errorf("pace %+v, want unpaced by default", p)
	}
	// Each instance's share of the account's budget, and the tasks' share of the fleet's.
	paced := withAll(map[string]string{"POST_RATE": "312.5", "POST_BURST": "16", "FLEET_POST_RATE": "8000",
		"BROADCAST_SPLIT_ABOVE": "50000", "NOTIFICATIONS_QUEUE_URL": queue})
	cfg, err = function.ConfigFromEnv(func(k string) (string, bool) { v, ok := paced[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if p, want := cfg.Pipeline.Pace, (pipeline.PaceConfig{Rate: 312.5, Burst: 16, FleetRate: 8000}); p != want {
		t.Errorf("pace %+v, want %+v", p, want)
	}
}
