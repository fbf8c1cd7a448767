// Package custom is how a team makes the shipped run modes its own: options that add
// stages, middleware, sources and observers to the pipeline, or replace the poster, the
// connection store or the logger, taken alike by the pusher command (cmd/pusher/cli.Main)
// and the Lambda function (lambda.Main).
package custom

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Store is a connection store a team brings instead of the mode's own: the pipeline's
// reads and prunes, and the $connect and $disconnect writes.
type Store interface {
	pipeline.Store
	AddConnection(ctx context.Context, c handlers.Connection) error
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// Source is a subscriber requests also come from, such as any Watermill subscriber.
type Source struct {
	Name       string
	Subscriber message.Subscriber
	Topic      string
}

// Options are the changes a team makes to the shipped run modes. The zero value
// changes nothing.
type Options struct {
	// Stages are inserted into the pipeline, in order.
	Stages []pipeline.Stage
	// Middleware runs around every stage's handler.
	Middleware []message.HandlerMiddleware
	// Sources feed the pipeline besides the mode's own (`pusher serve` and `pusher dev`).
	Sources []Source
	// Observers learn what the pipeline does, besides the mode's metrics.
	Observers []pipeline.Observer
	// Poster, when set, posts instead of the mode's Management API poster.
	Poster handlers.Poster
	// Store, when set, holds the connections instead of the mode's own store.
	Store Store
	// Logger, when set, logs instead of the JSON logger of LOG_LEVEL.
	Logger *slog.Logger
}

// Option changes Options.
type Option func(*Options)

// New returns the Options of opts.
func New(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithStage inserts s into the pipeline (see pipeline.Stage).
func WithStage(s pipeline.Stage) Option {
	return func(o *Options) { o.Stages = append(o.Stages, s) }
}

// WithMiddleware runs mw around every stage's handler (see pipeline.Pipeline.Use).
func WithMiddleware(mw ...message.HandlerMiddleware) Option {
	return func(o *Options) { o.Middleware = append(o.Middleware, mw...) }
}

// WithSource makes the pipeline also take requests from sub's topic.
func WithSource(name string, sub message.Subscriber, topic string) Option {
	return func(o *Options) { o.Sources = append(o.Sources, Source{Name: name, Subscriber: sub, Topic: topic}) }
}

// WithObserver makes obs learn what the pipeline does.
func WithObserver(obs pipeline.Observer) Option {
	return func(o *Options) { o.Observers = append(o.Observers, obs) }
}

// WithPoster posts through p instead of the mode's Management API poster: for a gateway
// that is not API Gateway.
func WithPoster(p handlers.Poster) Option { return func(o *Options) { o.Poster = p } }

// WithStore keeps the connections in s instead of the mode's own store.
func WithStore(s Store) Option { return func(o *Options) { o.Store = s } }

// WithLogger logs through l instead of the JSON logger of LOG_LEVEL.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// Apply gives p the options' stages, middleware and observers.
func (o Options) Apply(p *pipeline.Pipeline) error {
	for _, s := range o.Stages {
		if err := p.Insert(s); err != nil {
			return fmt.Errorf("custom stage: %w", err)
		}
	}
	p.Use(o.Middleware...)
	for _, obs := range o.Observers {
		p.Observe(obs)
	}
	return nil
}

// AddSources makes p take requests from the options' sources too: the modes that run
// sources (`pusher serve`, `pusher dev`) call it; the others admit requests themselves.
func (o Options) AddSources(p *pipeline.Pipeline) {
	for _, s := range o.Sources {
		p.AddSource(s.Name, s.Subscriber, s.Topic)
	}
}

// PickPoster returns the team's poster if it brought one, else the mode's own.
func (o Options) PickPoster(own handlers.Poster) handlers.Poster {
	if o.Poster != nil {
		return o.Poster
	}
	return own
}

// PickStore returns the team's store if it brought one, else the mode's own.
func (o Options) PickStore(own Store) Store {
	if o.Store != nil {
		return o.Store
	}
	return own
}

// PickLogger returns the team's logger if it brought one, else the mode's own.
func (o Options) PickLogger(own *slog.Logger) *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return own
}
