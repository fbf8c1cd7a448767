// Package custom is how a team makes the shipped run modes its own: options that add
// stages, middleware, sources and observers to the pipeline, or replace the poster, the
// connection store or the logger. The pusher command (cli.Main) and the Lambda function
// (function.Main) take them alike:
//
//	func main() { cli.Main(custom.WithStage(stage)) }
//
// A mode honours every option that concerns it, and refuses at start-up, with one line,
// one it cannot honour (pusher dev keeps its connections in memory, so it refuses
// WithStore). Options that concern no part of a mode, such as a stage for `pusher
// gateway`, which runs no pipeline, are left aside.
package custom

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Option changes how the run modes run; the With* functions make them.
type Option func(*team.Options)

// Store is a connection store a team brings instead of the mode's own: the pipeline's
// reads and prunes, and the $connect and $disconnect writes.
type Store interface {
	pipeline.Store
	AddConnection(ctx context.Context, c handlers.Connection) error
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// WithStage inserts s into the pipeline (see pipeline.Stage), after the stages inserted
// before it: pusher dev, serve and replay, and the Lambda.
func WithStage(s pipeline.Stage) Option {
	return func(o *team.Options) { o.Stages = append(o.Stages, s) }
}

// WithMiddleware runs mw around every stage's handler (see pipeline.Pipeline.Use): pusher
// dev, serve and replay, and the Lambda.
func WithMiddleware(mw ...message.HandlerMiddleware) Option {
	return func(o *team.Options) { o.Middleware = append(o.Middleware, mw...) }
}

// WithSource makes the pipeline also take requests from sub's topic: pusher dev and
// serve. The Lambda, whose requests come in its invocations, refuses it.
func WithSource(name string, sub message.Subscriber, topic string) Option {
	return func(o *team.Options) {
		o.Sources = append(o.Sources, team.Source{Name: name, Subscriber: sub, Topic: topic})
	}
}

// WithObserver makes obs learn what the pipeline does, besides the mode's metrics:
// pusher dev, serve and replay, and the Lambda.
func WithObserver(obs pipeline.Observer) Option {
	return func(o *team.Options) { o.Observers = append(o.Observers, obs) }
}

// WithPoster posts through p instead of the mode's Management API poster, for a gateway
// that is not API Gateway: pusher dev, serve and replay, and the Lambda.
func WithPoster(p handlers.Poster) Option { return func(o *team.Options) { o.Poster = p } }

// WithStore keeps the connections in s instead of the DynamoDB table: pusher serve,
// replay and gateway, and the Lambda. pusher dev refuses it.
func WithStore(s Store) Option { return func(o *team.Options) { o.Store = s } }

// WithLogger logs through l instead of the logger of LOG_LEVEL and --log-format: every
// mode.
func WithLogger(l *slog.Logger) Option { return func(o *team.Options) { o.Logger = l } }
