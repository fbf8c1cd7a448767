package function

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// DefaultDeadlineMargin is DeadlineMargin's default (DEADLINE_MARGIN): time enough for
// the response naming the records given up to make it back before Lambda ends the
// invocation.
const DefaultDeadlineMargin = 2 * time.Second

// Config is the configuration of the function, read from the environment variables of
// `pusher serve` by ConfigFromEnv. The AWS SDK's own settings (credentials, AWS_REGION,
// AWS_ENDPOINT_URL_*) are read by the SDK.
type Config struct {
	// Config is where the work goes: the Management API, the table, the poison queue.
	onaws.Config
	// IdentityParam is the $connect query parameter naming the user when no authorizer
	// does (IDENTITY_PARAM); default lambda.DefaultIdentityParam, user_id.
	IdentityParam string
	// AuthorizerKey is the key of the authorizer context naming the user, before its
	// principalId (AUTHORIZER_USER_KEY); default auth.DefaultUserKey, user_id.
	AuthorizerKey string
	// AuthorizerRequired refuses a $connect that no authorizer named a user for, with
	// 401, and never reads IdentityParam (AUTHORIZER_REQUIRED): what a deployment with
	// the $connect authorizer sets, so that a route left without it fails closed.
	AuthorizerRequired bool
	// AnonymousConnections accepts a $connect that names no user
	// (ANONYMOUS_CONNECTIONS): reached by topics and broadcasts, never by users; see
	// lambda.RoutesConfig.
	AnonymousConnections bool
	// Topics are the settings of subscriptions.
	Topics settings.Topics
	// QueueURL is the notifications queue the function reads (NOTIFICATIONS_QUEUE_URL):
	// where the segment tasks of the broadcasts it splits go, for the function's
	// concurrent invocations to share. Required when Pipeline.Split.Above is set.
	QueueURL string
	// DeadlineMargin is how long before the invocation's deadline the records still in
	// flight are given up and reported as failures (DEADLINE_MARGIN); default
	// DefaultDeadlineMargin. It is at most half the time an invocation has left: a
	// larger one is cut to that, with a warning, rather than failing every record.
	DeadlineMargin time.Duration
	// LogLevel is debug, info, warn or error (LOG_LEVEL); default
	// settings.DefaultLogLevel.
	LogLevel string
	// SkipStartupChecks makes the init call nothing (STARTUP_CHECKS=false): see Main.
	SkipStartupChecks bool
}

// Flags defines the settings of c, which the function reads from its environment.
func Flags(f *settings.Flags, c *Config) {
	onaws.Flags(f, &c.Config)
	f.String(&c.IdentityParam, "identity-param", "IDENTITY_PARAM", lambda.DefaultIdentityParam, "$connect query parameter naming the user when no authorizer does")
	f.String(&c.AuthorizerKey, "authorizer-user-key", "AUTHORIZER_USER_KEY", auth.DefaultUserKey, "key of the authorizer context naming the user")
	f.Boolean(&c.AuthorizerRequired, "authorizer-required", "AUTHORIZER_REQUIRED", false, "refuse a $connect no authorizer named a user for; never read the identity parameter")
	settings.AnonymousFlag(f, &c.AnonymousConnections)
	settings.TopicFlags(f, &c.Topics, false)
	f.String(&c.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue of notification requests the function reads, where split broadcasts' segment tasks go")
	settings.Split(f, &c.Pipeline)
	f.Duration(&c.DeadlineMargin, "deadline-margin", "DEADLINE_MARGIN", DefaultDeadlineMargin, "how long before the deadline the records in flight are given up")
	f.String(&c.LogLevel, "log-level", "LOG_LEVEL", settings.DefaultLogLevel, "debug, info, warn or error")
	settings.StartupChecks(f, &c.SkipStartupChecks)
}

// ConfigFromEnv reads the configuration from the environment through lookup (such as
// os.LookupEnv), with defaults, validated.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	var c Config
	f := settings.New("pusher-lambda", io.Discard, lookup)
	Flags(f, &c)
	if err := f.Parse(nil); err != nil {
		return c, err
	}
	return Defaults(c)
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that init stops with one clear line.
func (c Config) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	var level slog.Level
	switch {
	case c.Pipeline.Split.Above > 0 && c.QueueURL == "":
		return fmt.Errorf("BROADCAST_SPLIT_ABOVE=%d is set without NOTIFICATIONS_QUEUE_URL, the queue its segment tasks go on", c.Pipeline.Split.Above)
	case c.QueueURL != "" && !onaws.AbsoluteURL(c.QueueURL):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is not an http(s) URL", c.QueueURL)
	case c.Pipeline.Split.Above > 0 && strings.HasSuffix(c.QueueURL, ".fifo"):
		return fmt.Errorf("BROADCAST_SPLIT_ABOVE=%d is set with the FIFO queue %q: segment tasks would break its order", c.Pipeline.Split.Above, c.QueueURL)
	case c.DeadlineMargin < 0:
		return fmt.Errorf("DEADLINE_MARGIN=%s is negative", c.DeadlineMargin)
	case level.UnmarshalText([]byte(c.LogLevel)) != nil:
		return fmt.Errorf("LOG_LEVEL=%q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.IdentityParam = cmp.Or(c.IdentityParam, lambda.DefaultIdentityParam)
	c.AuthorizerKey = cmp.Or(c.AuthorizerKey, auth.DefaultUserKey)
	c.DeadlineMargin = cmp.Or(c.DeadlineMargin, DefaultDeadlineMargin)
	c.LogLevel = cmp.Or(c.LogLevel, settings.DefaultLogLevel)
	c.Topics = c.Topics.WithDefaults()
	return c, c.Validate()
}

// NewLogger returns the JSON logger of cfg.LogLevel.
func NewLogger(cfg Config, w io.Writer) *slog.Logger { return newLogger(cfg.LogLevel, w) }

func newLogger(level string, w io.Writer) *slog.Logger {
	logger, err := settings.Logger(w, level)
	if err != nil { // Validate checked the level
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return logger
}
