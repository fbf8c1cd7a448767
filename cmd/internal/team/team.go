// Package team holds a team's options as the run modes read them: the custom.Option
// values given to cli.Main or function.Main, taken together. It is internal so that a
// team sees one way to change a mode, custom's With* functions, and the modes alone
// read the result.
package team

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Store is a connection store a team brings: the pipeline's reads and prunes, and the
// $connect and $disconnect writes. custom.Store is the same interface.
type Store interface {
	pipeline.Store
	AddConnection(ctx context.Context, c handlers.Connection) error
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// Source is a subscriber requests also come from.
type Source struct {
	Name       string
	Subscriber message.Subscriber
	Topic      string
}

// Options are a team's changes to a run mode. The zero value changes nothing.
type Options struct {
	Stages     []pipeline.Stage
	Middleware []message.HandlerMiddleware
	Sources    []Source
	Observers  []pipeline.Observer
	Poster     handlers.Poster
	Store      Store
	Logger     *slog.Logger
}

// Resolve returns the options opts set, in order; custom.Option is an O.
func Resolve[O ~func(*Options)](opts []O) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// NewPipeline returns pipeline.New's pipeline with the options' stages, middleware and
// observers: the pipeline of every mode that runs one.
func (o Options) NewPipeline(cfg pipeline.Config, store pipeline.Store, poster handlers.Poster, poison message.Publisher, logger *slog.Logger) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(cfg, store, poster, poison, logger)
	if err != nil {
		return nil, err
	}
	for _, s := range o.Stages {
		if err := p.Insert(s); err != nil {
			return nil, fmt.Errorf("custom stage: %w", err)
		}
	}
	p.Use(o.Middleware...)
	for _, obs := range o.Observers {
		p.Observe(obs)
	}
	return p, nil
}

// AddSources makes p take requests from the options' sources too.
func (o Options) AddSources(p *pipeline.Pipeline) {
	for _, s := range o.Sources {
		p.AddSource(s.Name, s.Subscriber, s.Topic)
	}
}

// LoggerOr returns the team's logger if it brought one, else own.
func (o Options) LoggerOr(own *slog.Logger) *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return own
}

// Option names an option, as Refuse reports it.
type Option string

// The options a mode may refuse, named as a team writes them.
const (
	Stages     Option = "custom.WithStage"
	Middleware Option = "custom.WithMiddleware"
	Sources    Option = "custom.WithSource"
	Observers  Option = "custom.WithObserver"
	Poster     Option = "custom.WithPoster"
	StoreOpt   Option = "custom.WithStore"
)

// Refuse returns an error naming those of which the team set, saying why mode does not
// take them, or nil when it set none: a mode refuses an option it cannot honour rather
// than run without it.
func (o Options) Refuse(mode, why string, which ...Option) error {
	var set []string
	for _, w := range which {
		if o.has(w) {
			set = append(set, string(w))
		}
	}
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s does not take %s: %s", mode, strings.Join(set, ", "), why)
}

func (o Options) has(w Option) bool {
	switch w {
	case Stages:
		return len(o.Stages) > 0
	case Middleware:
		return len(o.Middleware) > 0
	case Sources:
		return len(o.Sources) > 0
	case Observers:
		return len(o.Observers) > 0
	case Poster:
		return o.Poster != nil
	case StoreOpt:
		return o.Store != nil
	}
	return false
}
