// Package console serves the web console of `pusher dev`: a page (static/, embedded in
// the binary, plain HTML, CSS and JavaScript that work offline) and the Server-Sent
// Events stream it reads, GET /console/events: the live connections, each request as it
// settles, the poison queue and per-second metrics of the pipeline.
//
// The console is a pipeline.Observer: it learns what the pipeline does from the calls the
// pipeline makes on its hot path, keeps the last requests and samples in memory, and
// never waits for a browser there. What it lists (connections, parked messages) it reads
// through the small interfaces of Config, polled for changes.
//
// Guard protects the whole listener from other sites' pages: see its doc.
package console

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

//go:embed static
var static embed.FS

// The defaults of Config.
const (
	// DefaultRecentRequests is how many settled requests a new stream gets first.
	DefaultRecentRequests = 50
	// DefaultHistory is how many per-second samples a new stream gets first.
	DefaultHistory = 60
	// DefaultShownConnections is how many connections, the oldest, an event lists.
	DefaultShownConnections = 500
	// DefaultShownPoison is how many parked messages, the oldest, an event lists.
	DefaultShownPoison = 200
	// DefaultPayloadBytes is where a parked message's payload is cut in an event.
	DefaultPayloadBytes = 4096
	// DefaultPoll is how often a stream checks the connections and the poison queue
	// for changes.
	DefaultPoll = 250 * time.Millisecond
	// DefaultKeepAlive is how often a quiet stream sends a comment line, so that no
	// proxy or browser takes it for dead.
	DefaultKeepAlive = 15 * time.Second
	// DefaultWriteTimeout bounds one write to a stream: a browser that takes no bytes
	// for that long is dropped.
	DefaultWriteTimeout = 5 * time.Second
)

// backlog is how many settled requests the console keeps for streams that fall behind:
// a stream that falls further behind skips the oldest of them.
const backlog = 1024

// Connection is an established WebSocket connection as the console lists it.
type Connection struct {
	ID string
	// UserID is its user, empty for a connection without one.
	UserID string
	// Topics are the topics it is subscribed to.
	Topics       []string
	ConnectedAt  time.Time
	LastActiveAt time.Time
	SourceIP     string
	UserAgent    string
}

// ConnectionsFunc returns how many connections are established, and the oldest limit
// of them with their topics, oldest first.
type ConnectionsFunc func(ctx context.Context, limit int) (total int, oldest []Connection, err error)

// PoisonQueue is the poison queue the console lists, such as *memory.PoisonQueue.
type PoisonQueue interface {
	// Messages returns the parked messages, oldest first.
	Messages() []*message.Message
	// Changes returns a number that grows with every change of the queue: the console
	// reads Messages only when it has moved.
	Changes() uint64
}

// Config configures a Console.
type Config struct {
	// Connections lists the connections; required.
	Connections ConnectionsFunc
	// Poison is the poison queue; required.
	Poison PoisonQueue
	// IdentityParam is the $connect query parameter naming the user, which the page's
	// test client uses; default lambda.DefaultIdentityParam, the gateway's.
	IdentityParam string
	// TopicParams are the $connect query parameters subscribing to topics; default
	// lambda.DefaultTopicParam alone.
	TopicParams []string
	// Anonymous says that connections without a user are accepted
	// (ANONYMOUS_CONNECTIONS).
	Anonymous bool
	// Tokens says that $connect needs a token (CONNECT_TOKEN_*), in the query
	// parameter TokenParam.
	Tokens bool
	// TokenParam is the $connect query parameter carrying the token; default
	// auth.DefaultConnectTokenParam.
	TokenParam string
	// RecentRequests, History, ShownConnections, ShownPoison and PayloadBytes bound
	// what the events carry; defaults DefaultRecentRequests, DefaultHistory,
	// DefaultShownConnections, DefaultShownPoison, DefaultPayloadBytes.
	RecentRequests   int
	History          int
	ShownConnections int
	ShownPoison      int
	PayloadBytes     int
	// Poll, KeepAlive and WriteTimeout time the streams; defaults DefaultPoll,
	// DefaultKeepAlive, DefaultWriteTimeout.
	Poll         time.Duration
	KeepAlive    time.Duration
	WriteTimeout time.Duration
	// Logger receives the streams' openings and closings at debug level; nil discards
	// them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	c.IdentityParam = cmp.Or(c.IdentityParam, lambda.DefaultIdentityParam)
	c.TokenParam = cmp.Or(c.TokenParam, auth.DefaultConnectTokenParam)
	if len(c.TopicParams) == 0 {
		c.TopicParams = []string{lambda.DefaultTopicParam}
	}
	c.RecentRequests = cmp.Or(c.RecentRequests, DefaultRecentRequests)
	c.History = cmp.Or(c.History, DefaultHistory)
	c.ShownConnections = cmp.Or(c.ShownConnections, DefaultShownConnections)
	c.ShownPoison = cmp.Or(c.ShownPoison, DefaultShownPoison)
	c.PayloadBytes = cmp.Or(c.PayloadBytes, DefaultPayloadBytes)
	c.Poll = cmp.Or(c.Poll, DefaultPoll)
	c.KeepAlive = cmp.Or(c.KeepAlive, DefaultKeepAlive)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Connections == nil {
		errs = append(errs, errors.New("console: no Connections to list"))
	}
	if c.Poison == nil {
		errs = append(errs, errors.New("console: no Poison queue to list"))
	}
	if c.RecentRequests < 0 || c.RecentRequests > backlog {
		errs = append(errs, errors.New("console: RecentRequests must be between 0 and 1024"))
	}
	if c.History < 0 || c.ShownConnections < 0 || c.ShownPoison < 0 || c.PayloadBytes < 0 {
		errs = append(errs, errors.New("console: History, ShownConnections, ShownPoison and PayloadBytes cannot be negative"))
	}
	if c.Poll < 0 || c.KeepAlive < 0 || c.WriteTimeout < 0 {
		errs = append(errs, errors.New("console: Poll, KeepAlive and WriteTimeout cannot be negative"))
	}
	return errors.Join(errs...)
}

// Console is the web console: the page, its event stream, and the pipeline.Observer
// that feeds it. Observe the pipeline with it before the pipeline runs.
type Console struct {
	pipeline.NopObserver

	cfg    Config
	static fs.FS
	meter  *meter
	recent *recent

	// mu orders the streams' start (streams.Add) before Close's wait for them.
	mu      sync.Mutex
	done    chan struct{}
	streams sync.WaitGroup
}

// New returns a Console of cfg.
func New(cfg Config) (*Console, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err // cannot happen: static is embedded
	}
	cfg.TopicParams = slices.Clone(cfg.TopicParams)
	return &Console{cfg: cfg, static: sub, meter: newMeter(cfg.History, time.Now), recent: newRecent(backlog),
		done: make(chan struct{})}, nil
}

// Close ends the open event streams, and refuses new ones, so that the server can stop
// at once: a stream never ends by itself. It waits for the streams to return, at most
// until ctx is done.
func (c *Console) Close(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed() {
		close(c.done)
	}
	c.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		c.streams.Wait()
		close(ended)
	}()
	select {
	case <-ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startStream counts a stream in, reporting false once the console is closed.
func (c *Console) startStream() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return false
	}
	c.streams.Add(1)
	return true
}

// closed reports whether Close was called.
func (c *Console) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
