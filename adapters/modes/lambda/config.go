package lambda

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/serve"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Config is the configuration of the function, read from the environment variables of
// `pusher serve` by ConfigFromEnv. The AWS SDK's own settings (credentials, AWS_REGION,
// AWS_ENDPOINT_URL_*) are read by the SDK.
type Config struct {
	// APIGWEndpoint is the Management API endpoint (APIGW_ENDPOINT).
	APIGWEndpoint string
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys).
	Table dynamodb.Config
	// PoisonQueueURL is the SQS queue parked messages go to (POISON_QUEUE_URL).
	PoisonQueueURL string
	// Pipeline tunes the pipeline (POST_CONCURRENCY, MAX_ATTEMPTS).
	Pipeline pipeline.Config
	// IdentityParam is the $connect query parameter naming the user when no authorizer
	// does (IDENTITY_PARAM); default user_id.
	IdentityParam string
	// AuthorizerKey is the key of the authorizer context naming the user, before its
	// principalId (AUTHORIZER_USER_KEY); default user_id.
	AuthorizerKey string
	// DeadlineMargin is how long before the invocation's deadline the records still in
	// flight are given up and reported as failures (DEADLINE_MARGIN); default 2s.
	DeadlineMargin time.Duration
	// LogLevel is debug, info, warn or error (LOG_LEVEL); default info.
	LogLevel string
}

func (c *Config) setDefaults() {
	if c.IdentityParam == "" {
		c.IdentityParam = "user_id"
	}
	if c.AuthorizerKey == "" {
		c.AuthorizerKey = "user_id"
	}
	if c.DeadlineMargin == 0 {
		c.DeadlineMargin = 2 * time.Second
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that init stops with one clear line.
func (c Config) Validate() error {
	if err := ServiceConfig(c).ValidateOutputs(); err != nil {
		return err
	}
	var level slog.Level
	switch {
	case c.DeadlineMargin < 0:
		return fmt.Errorf("DEADLINE_MARGIN=%s is negative", c.DeadlineMargin)
	case level.UnmarshalText([]byte(c.LogLevel)) != nil:
		return fmt.Errorf("LOG_LEVEL=%q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.setDefaults()
	return c, c.Validate()
}

// ConfigFromEnv reads the configuration from the environment through lookup (such as
// os.LookupEnv), with defaults, validated.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	e := env{lookup: lookup}
	c := Config{
		APIGWEndpoint:  e.str("APIGW_ENDPOINT"),
		PoisonQueueURL: e.str("POISON_QUEUE_URL"),
		IdentityParam:  e.str("IDENTITY_PARAM"),
		AuthorizerKey:  e.str("AUTHORIZER_USER_KEY"),
		DeadlineMargin: e.duration("DEADLINE_MARGIN"),
		LogLevel:       e.str("LOG_LEVEL"),
		Table: dynamodb.Config{
			Table:         e.str("CONNECTIONS_TABLE_NAME"),
			UserKey:       e.str("USER_KEY"),
			ConnectionKey: e.str("CONNECTION_KEY"),
			TTLAttribute:  e.str("TTL_ATTRIBUTE"),
			TTL:           e.duration("CONNECTION_TTL"),
			ScanSegments:  e.int("SCAN_SEGMENTS"),
		},
		Pipeline: pipeline.Config{
			PostConcurrency: e.int("POST_CONCURRENCY"),
			Retry:           pipeline.RetryConfig{MaxAttempts: e.int("MAX_ATTEMPTS")},
		},
	}
	if e.err != nil {
		return c, e.err
	}
	return Defaults(c)
}

// ServiceConfig is the part of cfg that the providers of package service read, so that
// the function builds its store, poster and poison queue as `pusher serve` does.
func ServiceConfig(cfg Config) serve.Config {
	return serve.Config{
		APIGWEndpoint:  cfg.APIGWEndpoint,
		Table:          cfg.Table,
		PoisonQueueURL: cfg.PoisonQueueURL,
		Pipeline:       cfg.Pipeline,
	}
}

// NewLogger returns the JSON logger of cfg.LogLevel.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Validate checked it
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// env reads environment variables, keeping the first that does not parse.
type env struct {
	lookup func(string) (string, bool)
	err    error
}

func (e *env) str(name string) string {
	v, _ := e.lookup(name)
	return v
}

func (e *env) int(name string) int {
	v := e.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n
}

func (e *env) duration(name string) time.Duration {
	v := e.str(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not a duration such as 30s", name, v)
	}
	return d
}
