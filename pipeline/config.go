package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Config tunes a Pipeline. The zero value is usable: every field has a default.
type Config struct {
	// PostConcurrency bounds the posts in flight; default 256.
	PostConcurrency int
	// StageConcurrency bounds the messages every other stage works on at once, and the
	// users a multicast looks up at once; default 16.
	StageConcurrency int
	// MaxRequests bounds the requests admitted and not yet settled; default 256.
	MaxRequests int
	// PostTimeout bounds one post attempt; default 10s.
	PostTimeout time.Duration
	// RequestTimeout bounds the time a request may take, from admission to settlement.
	// Work still in flight then is cut short and not parked: the request is reported
	// unsettled, its admission freed, and its source redelivers it. Default 15m, the
	// longest a Lambda invocation runs.
	RequestTimeout time.Duration
	// PruneGrace is how long after $connect stored it a connection answered 410 is kept
	// rather than pruned: API Gateway answers 410 until $connect completes, which its
	// integration timeout of 29s bounds. Default 60s, leaving room for clocks that
	// differ and connection times kept to the second.
	PruneGrace time.Duration
	// PageSize bounds the connections of one multicast page; default 100.
	PageSize int
	// MaxFrameBytes bounds the JSON of a request's data; default handlers.MaxFrameBytes.
	MaxFrameBytes int
	// CloseTimeout is how long Run waits, once its context is done, for the requests it
	// admitted to settle; what is still open then is redelivered by its source. Default 30s.
	CloseTimeout time.Duration
	// PoisonTopic is the topic parked messages are published to; default "poison".
	PoisonTopic string
	// Retry tunes the retries of transient errors.
	Retry RetryConfig
	// Breaker tunes the circuit breaker of the post stage.
	Breaker BreakerConfig
	// Split tunes the splitting of large broadcasts into segment tasks (see SplitTo).
	Split SplitConfig
}

// SplitConfig tunes when and how the resolve stage splits a broadcast or an exclusion
// into segment tasks that a fleet shares (see Pipeline.SplitTo). The store's estimate
// of its size decides; it is asked at most once every EstimateMaxAge.
type SplitConfig struct {
	// Above is the estimated number of connections over which a broadcast is split;
	// 0 (the default) splits none.
	Above int
	// SegmentSize is about how many connections one segment task gets: a split makes
	// one task per SegmentSize connections of the estimate; default 10,000.
	SegmentSize int
	// MaxSegments bounds the tasks of one split, up to handlers.MaxSegments; default
	// 1,000.
	MaxSegments int
	// EstimateMaxAge is how long an estimate of the store's size is used; default 1m.
	EstimateMaxAge time.Duration
}

// BreakerConfig tunes the circuit breaker in front of the gateway: after Failures posts
// in a row that got a 5xx, a 408, a 401 or 403 or no answer, it holds posts without
// making them for OpenFor, then lets Probes through; once they pass it closes and the
// posts held are made, and if one fails it opens again. A post waits for it at most
// until its request's deadline, and is not parked for it. 429s, 410s and other 4xx do
// not count.
type BreakerConfig struct {
	// Failures is how many posts in a row must fail to open the breaker; default 50.
	Failures int
	// OpenFor is how long the breaker stays open before it probes; default 5s.
	OpenFor time.Duration
	// Probes is how many posts the half-open breaker lets through; default 8.
	Probes int
	// Disabled turns the breaker off: every post is made and retried.
	Disabled bool
}

// RetryConfig tunes the exponential backoff of transient errors.
type RetryConfig struct {
	// MaxAttempts is how many times a stage runs a message before parking it; default 5.
	MaxAttempts int
	// InitialInterval is the wait before the first retry; default 100ms.
	InitialInterval time.Duration
	// MaxInterval caps the wait between retries; default 5s.
	MaxInterval time.Duration
	// Multiplier grows the wait after each retry; default 2.
	Multiplier float64
	// Jitter spreads each wait by ± this fraction; default 0.5; NoJitter for none.
	Jitter float64
}

// NoJitter, as RetryConfig.Jitter, makes each wait exactly the backoff's interval (the
// zero value means the default).
const NoJitter = -1.0

func (c *Config) setDefaults() {
	c.PostConcurrency = cmp.Or(c.PostConcurrency, 256)
	c.StageConcurrency = cmp.Or(c.StageConcurrency, 16)
	c.MaxRequests = cmp.Or(c.MaxRequests, 256)
	c.PostTimeout = cmp.Or(c.PostTimeout, 10*time.Second)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, 15*time.Minute)
	c.PruneGrace = cmp.Or(c.PruneGrace, time.Minute)
	c.PageSize = cmp.Or(c.PageSize, 100)
	c.MaxFrameBytes = cmp.Or(c.MaxFrameBytes, handlers.MaxFrameBytes)
	c.CloseTimeout = cmp.Or(c.CloseTimeout, 30*time.Second)
	c.PoisonTopic = cmp.Or(c.PoisonTopic, "poison")
	c.Retry.MaxAttempts = cmp.Or(c.Retry.MaxAttempts, 5)
	c.Retry.InitialInterval = cmp.Or(c.Retry.InitialInterval, 100*time.Millisecond)
	c.Retry.MaxInterval = cmp.Or(c.Retry.MaxInterval, 5*time.Second)
	c.Retry.Multiplier = cmp.Or(c.Retry.Multiplier, 2)
	c.Retry.Jitter = cmp.Or(c.Retry.Jitter, 0.5)
	c.Breaker.Failures = cmp.Or(c.Breaker.Failures, 50)
	c.Breaker.OpenFor = cmp.Or(c.Breaker.OpenFor, 5*time.Second)
	c.Breaker.Probes = cmp.Or(c.Breaker.Probes, 8)
	c.Split.SegmentSize = cmp.Or(c.Split.SegmentSize, 10_000)
	c.Split.MaxSegments = cmp.Or(c.Split.MaxSegments, 1_000)
	c.Split.EstimateMaxAge = cmp.Or(c.Split.EstimateMaxAge, time.Minute)
}

// Validate reports every setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	for name, v := range map[string]int{
		"PostConcurrency": c.PostConcurrency, "StageConcurrency": c.StageConcurrency,
		"MaxRequests": c.MaxRequests, "PageSize": c.PageSize, "MaxFrameBytes": c.MaxFrameBytes,
		"Retry.MaxAttempts": c.Retry.MaxAttempts, "Breaker.Failures": c.Breaker.Failures, "Breaker.Probes": c.Breaker.Probes,
		"Split.Above": c.Split.Above, "Split.SegmentSize": c.Split.SegmentSize, "Split.MaxSegments": c.Split.MaxSegments,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d, below 0", name, v))
		}
	}
	if c.Retry.Multiplier != 0 && c.Retry.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("Retry.Multiplier is %v, below 1", c.Retry.Multiplier))
	}
	if c.Retry.Jitter != NoJitter && (c.Retry.Jitter < 0 || c.Retry.Jitter >= 1) {
		errs = append(errs, fmt.Errorf("Retry.Jitter is %v, outside [0, 1) and not NoJitter", c.Retry.Jitter))
	}
	for name, d := range map[string]time.Duration{
		"PostTimeout": c.PostTimeout, "RequestTimeout": c.RequestTimeout, "PruneGrace": c.PruneGrace, "CloseTimeout": c.CloseTimeout, "Breaker.OpenFor": c.Breaker.OpenFor,
		"Split.EstimateMaxAge": c.Split.EstimateMaxAge,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s is %s, below 0", name, d))
		}
	}
	if c.Split.MaxSegments > handlers.MaxSegments {
		errs = append(errs, fmt.Errorf("Split.MaxSegments is %d, over DynamoDB's %d segments of a Scan", c.Split.MaxSegments, handlers.MaxSegments))
	}
	if c.Split.MaxSegments == 1 {
		errs = append(errs, errors.New("Split.MaxSegments is 1: a split makes at least 2 tasks"))
	}
	if c.MaxFrameBytes > handlers.MaxFrameBytes {
		errs = append(errs, fmt.Errorf("MaxFrameBytes is %d, over the gateway's %d", c.MaxFrameBytes, handlers.MaxFrameBytes))
	}
	return errors.Join(errs...)
}
