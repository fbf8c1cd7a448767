package lambda_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/modes/lambda"
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lambda.ConfigFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
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
	cfg, err := lambda.ConfigFromEnv(func(k string) (string, bool) { v, ok := with("POST_CONCURRENCY", "64")[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DeadlineMargin != 2*time.Second || cfg.IdentityParam != "user_id" || cfg.AuthorizerKey != "user_id" || cfg.Pipeline.PostConcurrency != 64 || cfg.LogLevel != "info" {
		t.Errorf("config %+v", cfg)
	}
}
