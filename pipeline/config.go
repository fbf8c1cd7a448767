package pipeline

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Config tunes a Pipeline. The zero value is usable: every field has a default.
type Config struct {
	// PostConcurrency bounds the posts in flight; zero means DefaultPostConcurrency.
	PostConcurrency int
	// StageConcurrency bounds the messages every other stage works on at once, and the
	// users a multicast looks up at once; zero means DefaultStageConcurrency.
	StageConcurrency int
	// MaxRequests bounds the requests admitted and not yet settled; zero means
	// DefaultMaxRequests.
	MaxRequests int
	// PostTimeout bounds one post attempt; zero means DefaultPostTimeout.
	PostTimeout time.Duration
	// RequestTimeout bounds the time a request may take, from admission to settlement.
	// Work still in flight then is cut short and not parked: the request is reported
	// unsettled, its admission freed, and its source redelivers it. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// PruneGrace is how long after $connect stored it a connection answered 410 is kept
	// rather than pruned: API Gateway answers 410 until $connect completes, which its
	// integration timeout of 29s bounds. Zero means DefaultPruneGrace.
	PruneGrace time.Duration
	// PageSize bounds the connections of one multicast page; zero means DefaultPageSize.
	PageSize int
	// MaxFrameBytes bounds the JSON of a request's data, up to handlers.MaxFrameBytes;
	// zero means DefaultMaxFrameBytes.
	MaxFrameBytes int
	// CloseTimeout is how long Run waits, once its context is done, for the requests it
	// admitted to settle; what is still open then is redelivered by its source. Zero
	// means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// PoisonTopic is the topic parked messages are published to; "" means
	// DefaultPoisonTopic.
	PoisonTopic string
	// Retry tunes the retries of transient errors.
	Retry RetryConfig
	// Breaker tunes the circuit breaker of the post stage.
	Breaker BreakerConfig
	// Split tunes the splitting of large broadcasts into segment tasks (see SplitTo).
	Split SplitConfig
	// Pace tunes the rate of posts: the account's budget at API Gateway.
	Pace PaceConfig
	// Mappings turn the events of a source into requests, by the source a message
	// names in EventSourceKey (handlers.SourceKinesis, handlers.SourceEventBridge or a
	// team's own); a source without one sends requests (see handlers.Decoder).
	Mappings map[string]*handlers.Mapping
}

// SplitConfig tunes when and how the resolve stage splits a broadcast or an exclusion
// into segment tasks that a fleet shares (see Pipeline.SplitTo). The store's estimate
// of its size decides; it is asked at most once every EstimateMaxAge.
type SplitConfig struct {
	// Above is the estimated number of connections over which a broadcast is split;
	// 0 (the default) splits none.
	Above int
	// SegmentSize is about how many connections one segment task gets: a split makes
	// one task per SegmentSize connections of the estimate; zero means
	// DefaultSplitSegmentSize.
	SegmentSize int
	// MaxSegments bounds the tasks of one split, up to handlers.MaxSegments; zero
	// means DefaultSplitMaxSegments.
	MaxSegments int
	// EstimateMaxAge is how long an estimate of the store's size is used; zero means
	// DefaultSplitEstimateMaxAge.
	EstimateMaxAge time.Duration
}

// PaceConfig paces posts to API Gateway's account throttle: 10,000 requests/s with a
// burst of 5,000 by default, per account and region, shared by every API of the account,
// PostToConnection included (see docs/pacing.md). Unset, posts are unpaced: as fast as
// PostConcurrency and the gateway allow.
//
// The rate is adaptive: a post the gateway throttles (429) lowers it to 0.7 of what it
// was, at most once per 500ms, and posts that pass raise it back by a twentieth of Rate
// a second, never above Rate nor below a fiftieth of it.
type PaceConfig struct {
	// Rate is the posts per second of this process (POST_RATE); 0 leaves posts unpaced.
	Rate float64
	// Burst is how many posts may go at once after a pause; zero means a twentieth of
	// Rate (50ms of posts), at least 1.
	Burst int
	// FleetRate is the posts per second that the segment tasks of one split broadcast
	// share, across the fleet (FLEET_POST_RATE): each task carries FleetRate divided by
	// the number of tasks (handlers.Segment.PostRate) and posts no faster, so that the
	// tasks stay under it together however many instances run them at once. 0 gives
	// tasks no share: each is paced by its process's Rate alone.
	FleetRate float64
}

// BreakerConfig tunes the circuit breaker in front of the gateway: after Failures posts
// in a row that got a 5xx, a 408, a 401 or 403 or no answer, it holds posts without
// making them for OpenFor, then lets Probes through; once they pass it closes and the
// posts held are made, and if one fails it opens again. A post waits for it at most
// until its request's deadline, and is not parked for it. 429s, 410s and other 4xx do
// not count.
type BreakerConfig struct {
	// Failures is how many posts in a row must fail to open the breaker; zero means
	// DefaultBreakerFailures.
	Failures int
	// OpenFor is how long the breaker stays open before it probes; zero means
	// DefaultBreakerOpenFor.
	OpenFor time.Duration
	// Probes is how many posts the half-open breaker lets through; zero means
	// DefaultBreakerProbes.
	Probes int
	// Disabled turns the breaker off: every post is made and retried.
	Disabled bool
}

// RetryConfig tunes the exponential backoff of transient errors.
type RetryConfig struct {
	// MaxAttempts is how many times a stage runs a message before parking it; zero
	// means DefaultRetryMaxAttempts.
	MaxAttempts int
	// InitialInterval is the wait before the first retry; zero means
	// DefaultRetryInitialInterval.
	InitialInterval time.Duration
	// MaxInterval caps the wait between retries; zero means DefaultRetryMaxInterval.
	MaxInterval time.Duration
	// Multiplier grows the wait after each retry; zero means DefaultRetryMultiplier.
	Multiplier float64
	// Jitter spreads each wait by ± this fraction; zero means DefaultRetryJitter, and
	// NoJitter no spread at all.
	Jitter float64
}

// NoJitter, as RetryConfig.Jitter, makes each wait exactly the backoff's interval (the
// zero value means the default).
const NoJitter = -1.0

// The defaults of Config: what a field left zero becomes. Flags and settings that set
// a field name these as their defaults, so that each is written once.
const (
	// DefaultPostConcurrency is Config.PostConcurrency's default: posts in flight.
	DefaultPostConcurrency = 256
	// DefaultStageConcurrency is Config.StageConcurrency's default: messages each
	// other stage works on at once.
	DefaultStageConcurrency = 16
	// DefaultMaxRequests is Config.MaxRequests's default: requests admitted and not
	// yet settled.
	DefaultMaxRequests = 256
	// DefaultPostTimeout is Config.PostTimeout's default: one post attempt.
	DefaultPostTimeout = 10 * time.Second
	// DefaultRequestTimeout is Config.RequestTimeout's default: the longest a Lambda
	// invocation runs.
	DefaultRequestTimeout = 15 * time.Minute
	// DefaultPruneGrace is Config.PruneGrace's default: the 29s that bound $connect,
	// with room for clocks that differ and connection times kept to the second.
	DefaultPruneGrace = time.Minute
	// DefaultPageSize is Config.PageSize's default: connections of one multicast page.
	DefaultPageSize = 100
	// DefaultMaxFrameBytes is Config.MaxFrameBytes's default: the gateway's own bound.
	DefaultMaxFrameBytes = handlers.MaxFrameBytes
	// DefaultCloseTimeout is Config.CloseTimeout's default: how long Run waits for the
	// requests it admitted to settle once its context is done.
	DefaultCloseTimeout = 30 * time.Second
	// DefaultPoisonTopic is Config.PoisonTopic's default.
	DefaultPoisonTopic = "poison"

	// DefaultRetryMaxAttempts is RetryConfig.MaxAttempts's default: runs of a message
	// before it is parked.
	DefaultRetryMaxAttempts = 5
	// DefaultRetryInitialInterval is RetryConfig.InitialInterval's default: the wait
	// before the first retry.
	DefaultRetryInitialInterval = 100 * time.Millisecond
	// DefaultRetryMaxInterval is RetryConfig.MaxInterval's default: the longest wait
	// between retries.
	DefaultRetryMaxInterval = 5 * time.Second
	// DefaultRetryMultiplier is RetryConfig.Multiplier's default: each wait doubles.
	DefaultRetryMultiplier = 2.0
	// DefaultRetryJitter is RetryConfig.Jitter's default: each wait spread by ± half.
	DefaultRetryJitter = 0.5

	// DefaultBreakerFailures is BreakerConfig.Failures's default: posts in a row that
	// must fail to open the breaker.
	DefaultBreakerFailures = 50
	// DefaultBreakerOpenFor is BreakerConfig.OpenFor's default: how long the breaker
	// stays open before it probes.
	DefaultBreakerOpenFor = 5 * time.Second
	// DefaultBreakerProbes is BreakerConfig.Probes's default: posts the half-open
	// breaker lets through.
	DefaultBreakerProbes = 8

	// DefaultSplitSegmentSize is SplitConfig.SegmentSize's default: about how many
	// connections one segment task gets.
	DefaultSplitSegmentSize = 10_000
	// DefaultSplitMaxSegments is SplitConfig.MaxSegments's default: the most tasks of
	// one split.
	DefaultSplitMaxSegments = 1_000
	// DefaultSplitEstimateMaxAge is SplitConfig.EstimateMaxAge's default: how long an
	// estimate of the store's size is used.
	DefaultSplitEstimateMaxAge = time.Minute
)

func (c *Config) setDefaults() {
	c.PostConcurrency = cmp.Or(c.PostConcurrency, DefaultPostConcurrency)
	c.StageConcurrency = cmp.Or(c.StageConcurrency, DefaultStageConcurrency)
	c.MaxRequests = cmp.Or(c.MaxRequests, DefaultMaxRequests)
	c.PostTimeout = cmp.Or(c.PostTimeout, DefaultPostTimeout)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.PruneGrace = cmp.Or(c.PruneGrace, DefaultPruneGrace)
	c.PageSize = cmp.Or(c.PageSize, DefaultPageSize)
	c.MaxFrameBytes = cmp.Or(c.MaxFrameBytes, DefaultMaxFrameBytes)
	c.CloseTimeout = cmp.Or(c.CloseTimeout, DefaultCloseTimeout)
	c.PoisonTopic = cmp.Or(c.PoisonTopic, DefaultPoisonTopic)
	c.Retry.MaxAttempts = cmp.Or(c.Retry.MaxAttempts, DefaultRetryMaxAttempts)
	c.Retry.InitialInterval = cmp.Or(c.Retry.InitialInterval, DefaultRetryInitialInterval)
	c.Retry.MaxInterval = cmp.Or(c.Retry.MaxInterval, DefaultRetryMaxInterval)
	c.Retry.Multiplier = cmp.Or(c.Retry.Multiplier, DefaultRetryMultiplier)
	c.Retry.Jitter = cmp.Or(c.Retry.Jitter, DefaultRetryJitter)
	c.Breaker.Failures = cmp.Or(c.Breaker.Failures, DefaultBreakerFailures)
	c.Breaker.OpenFor = cmp.Or(c.Breaker.OpenFor, DefaultBreakerOpenFor)
	c.Breaker.Probes = cmp.Or(c.Breaker.Probes, DefaultBreakerProbes)
	c.Split.SegmentSize = cmp.Or(c.Split.SegmentSize, DefaultSplitSegmentSize)
	c.Split.MaxSegments = cmp.Or(c.Split.MaxSegments, DefaultSplitMaxSegments)
	c.Split.EstimateMaxAge = cmp.Or(c.Split.EstimateMaxAge, DefaultSplitEstimateMaxAge)
}

// Validate reports every setting that cannot work, in the order of Config's fields, so
// that the same settings always read the same.
func (c Config) Validate() error {
	var frameOver error
	if c.MaxFrameBytes > handlers.MaxFrameBytes {
		frameOver = fmt.Errorf("MaxFrameBytes is %d, over the gateway's %d", c.MaxFrameBytes, handlers.MaxFrameBytes)
	}
	return errors.Join(
		belowZero("PostConcurrency", c.PostConcurrency),
		belowZero("StageConcurrency", c.StageConcurrency),
		belowZero("MaxRequests", c.MaxRequests),
		belowZero("PostTimeout", c.PostTimeout),
		belowZero("RequestTimeout", c.RequestTimeout),
		belowZero("PruneGrace", c.PruneGrace),
		belowZero("PageSize", c.PageSize),
		belowZero("MaxFrameBytes", c.MaxFrameBytes),
		frameOver,
		belowZero("CloseTimeout", c.CloseTimeout),
		c.Retry.validate(),
		c.Breaker.validate(),
		c.Split.validate(),
		c.Pace.validate(),
	)
}

// validate reports the settings of r that cannot work, in the order of its fields.
func (r RetryConfig) validate() error {
	var multiplier, jitter error
	if r.Multiplier != 0 && r.Multiplier < 1 {
		multiplier = fmt.Errorf("Retry.Multiplier is %v, below 1", r.Multiplier)
	}
	if r.Jitter != NoJitter && (r.Jitter < 0 || r.Jitter >= 1) {
		jitter = fmt.Errorf("Retry.Jitter is %v, outside [0, 1) and not NoJitter", r.Jitter)
	}
	return errors.Join(
		belowZero("Retry.MaxAttempts", r.MaxAttempts),
		multiplier,
		jitter,
	)
}

// validate reports the settings of b that cannot work, in the order of its fields.
func (b BreakerConfig) validate() error {
	return errors.Join(
		belowZero("Breaker.Failures", b.Failures),
		belowZero("Breaker.OpenFor", b.OpenFor),
		belowZero("Breaker.Probes", b.Probes),
	)
}

// validate reports the settings of s that cannot work, in the order of its fields.
func (s SplitConfig) validate() error {
	var over, one error
	if s.MaxSegments > handlers.MaxSegments {
		over = fmt.Errorf("Split.MaxSegments is %d, over DynamoDB's %d segments of a Scan", s.MaxSegments, handlers.MaxSegments)
	}
	if s.MaxSegments == 1 {
		one = errors.New("Split.MaxSegments is 1: a split makes at least 2 tasks")
	}
	return errors.Join(
		belowZero("Split.Above", s.Above),
		belowZero("Split.SegmentSize", s.SegmentSize),
		belowZero("Split.MaxSegments", s.MaxSegments),
		over,
		one,
		belowZero("Split.EstimateMaxAge", s.EstimateMaxAge),
	)
}

// validate reports the settings of p that cannot work, in the order of its fields.
func (p PaceConfig) validate() error {
	var burst error
	if p.Burst > 0 && p.Rate == 0 {
		burst = errors.New("Pace.Burst is set without a Pace.Rate")
	}
	return errors.Join(
		notRate("Pace.Rate", p.Rate),
		belowZero("Pace.Burst", p.Burst),
		burst,
		notRate("Pace.FleetRate", p.FleetRate),
	)
}

// notRate says that the setting name is v, not a rate of 0 or more, if it is not.
func notRate(name string, v float64) error {
	if v >= 0 && !math.IsInf(v, 0) {
		return nil
	}
	return fmt.Errorf("%s is %v, not a rate of 0 or more a second", name, v)
}

// belowZero says that the setting name is v, below 0, if it is; nil otherwise.
func belowZero[T int | time.Duration](name string, v T) error {
	if v >= 0 {
		return nil
	}
	return fmt.Errorf("%s is %v, below 0", name, v)
}
