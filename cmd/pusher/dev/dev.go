// Package dev assembles `pusher dev`: one listener serving the local WebSocket gateway,
// its Management API, the intake, the poison listing and the web console, in front of
// a pipeline on in-memory adapters. No AWS account and no Docker are needed.
// Connections are open to any user (?user_id=) unless the $connect token settings are
// given (CONNECT_TOKEN_SECRET, ...): then the gateway checks tokens as the authorizer
// function does on AWS.
package dev

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/console"
	"github.com/apigw-pusher/apigw-pusher/adapters/intake"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The defaults of Config.
const (
	// DefaultListen is the address of the listener: this machine's alone.
	DefaultListen = "127.0.0.1:8080"
	// DefaultScanPageSize is the number of connections a broadcast reads at a time.
	DefaultScanPageSize = 100
)

// Config is the configuration of `pusher dev`.
type Config struct {
	// Listen is the address of the one listener; default DefaultListen.
	Listen httpserve.Address
	// IdentityParam is the query parameter naming a connecting user; default
	// settings.DefaultIdentityParam.
	IdentityParam string
	// AnonymousConnections accepts a $connect that names no user
	// (ANONYMOUS_CONNECTIONS), such as ws://127.0.0.1:8080/?topic=news; see
	// localgateway.Config.AnonymousConnections.
	AnonymousConnections bool
	// Topics are the settings of subscriptions.
	Topics settings.Topics
	// Backend is where client messages of other actions than subscribe and unsubscribe
	// go (ROUTE_BACKEND); see localgateway.Config.Backend.
	Backend string
	// Connect are the settings of the $connect token check (CONNECT_TOKEN_SECRET or
	// CONNECT_TOKEN_JWKS_URL, ...), the authorizer function's own; unset, any client
	// connects as any user.
	Connect settings.Connect
	// ScanPageSize is the number of connections a broadcast reads at a time; default
	// DefaultScanPageSize.
	ScanPageSize int
	// ThrottleRPS is the rate, in calls per second, at which the local gateway's
	// Management API throttles calls as API Gateway's account throttle does
	// (GATEWAY_THROTTLE_RPS); 0: no throttle. See localgateway.Config.ThrottleRPS.
	ThrottleRPS int
	// ThrottleBurst is the throttle's bucket (GATEWAY_THROTTLE_BURST); 0: half a second
	// of ThrottleRPS. See localgateway.Config.ThrottleBurst.
	ThrottleBurst int
	// Pipeline tunes the pipeline.
	Pipeline pipeline.Config
}

// Flags defines the settings of c.
func Flags(f *settings.Flags, c *Config) {
	f.String((*string)(&c.Listen), "listen", "", DefaultListen, "address of the gateway, Management API and intake")
	f.String(&c.IdentityParam, "identity-param", "IDENTITY_PARAM", settings.DefaultIdentityParam, "query parameter naming the connecting user")
	settings.AnonymousFlag(f, &c.AnonymousConnections)
	settings.TopicFlags(f, &c.Topics, true)
	f.String(&c.Backend, "route-backend", "ROUTE_BACKEND", "", "URL client messages of other actions go to, as an HTTP proxy integration")
	settings.ConnectFlags(f, &c.Connect)
	f.Int(&c.ThrottleRPS, "throttle-rps", "GATEWAY_THROTTLE_RPS", 0, "Management API calls per second past which the gateway answers 429, as API Gateway's account throttle (10000 on AWS); 0: no throttle")
	f.Int(&c.ThrottleBurst, "throttle-burst", "GATEWAY_THROTTLE_BURST", 0, "calls the throttle lets through at once (5000 on AWS); 0: half a second of --throttle-rps")
	settings.Pipeline(f, &c.Pipeline)
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	if err := c.Listen.Validate(); err != nil {
		return err
	}
	if err := c.Connect.Validate(); err != nil {
		return err
	}
	return c.Pipeline.Validate()
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.Listen = cmp.Or(c.Listen, DefaultListen)
	c.IdentityParam = cmp.Or(c.IdentityParam, settings.DefaultIdentityParam)
	c.ScanPageSize = cmp.Or(max(c.ScanPageSize, 0), DefaultScanPageSize)
	c.Topics = c.Topics.WithDefaults()
	c.Connect.UserKey, c.Connect.GrantsKey = auth.DefaultUserKey, c.Topics.GrantsKey
	c.Connect.TokenParam = cmp.Or(c.Connect.TokenParam, auth.DefaultConnectTokenParam)
	return c, c.Validate()
}

// NewStore returns the memory store of the connections and subscriptions, read a page
// of ScanPageSize at a time.
func NewStore(cfg Config) *memory.Store { return memory.NewStore(cfg.ScanPageSize) }

// Pusher is a running `pusher dev`.
type Pusher struct {
	Listener net.Listener
	Pipeline *pipeline.Pipeline
	Gateway  *localgateway.Gateway
	Intake   *intake.Intake
	Store    *memory.Store
	Poison   *memory.PoisonQueue
	// Console is the web console at GET /, which observes Pipeline.
	Console *console.Console
	logger  *slog.Logger
	// replaying holds the UUIDs of the parked messages being replayed.
	replaying sync.Map
}

// NewGateway returns the local gateway, registering connections in store, and
// subscriptions by cfg's topic rules: every topic open unless told otherwise. It checks
// the token of each $connect when cfg.Connect names a key, and says at start that any
// client may connect as any user when it names none, and that connections without a
// user are accepted with AnonymousConnections.
func NewGateway(ctx context.Context, cfg Config, store *memory.Store, logger *slog.Logger) (*localgateway.Gateway, error) {
	topics, err := settings.NewSubscriber(ctx, cfg.Topics, store, logger)
	if err != nil {
		return nil, err
	}
	authz, err := newAuthorizer(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	lc := localgateway.Config{IdentityParam: cfg.IdentityParam, TopicParams: cfg.Topics.Params,
		TokenParam: cfg.Topics.TokenParam, Topics: &topics, Backend: cfg.Backend, Logger: logger,
		IdentitySource: cfg.Connect.TokenParam, AuthorizerUserKey: cfg.Connect.UserKey, AuthorizerGrantsKey: cfg.Connect.GrantsKey,
		AnonymousConnections: cfg.AnonymousConnections, ThrottleRPS: float64(cfg.ThrottleRPS), ThrottleBurst: cfg.ThrottleBurst}
	if authz != nil { // a nil *authorizer.Handler would be a non-nil Authorizer
		lc.Authorizer = authz
	}
	settings.WarnAnonymous(logger, cfg.AnonymousConnections)
	return localgateway.New(lc, store)
}

// newAuthorizer returns the token check of cfg.Connect, nil when it names no key. Only
// a secret named by its ARN needs AWS: the default configuration is loaded for it
// alone.
func newAuthorizer(ctx context.Context, cfg Config, logger *slog.Logger) (*authorizer.Handler, error) {
	if !cfg.Connect.Configured() {
		logger.Warn("connections are not authenticated: any client may connect as any user with ?" + cfg.IdentityParam + "=; " +
			"set CONNECT_TOKEN_SECRET or CONNECT_TOKEN_JWKS_URL to check $connect tokens")
		return nil, nil
	}
	var awsCfg aws.Config
	if cfg.Connect.SecretARN != "" {
		var err error
		if awsCfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load AWS configuration for CONNECT_TOKEN_SECRET_ARN: %w", err)
		}
	}
	return settings.NewConnectHandler(ctx, cfg.Connect, awsCfg, logger)
}

// NewPoster returns the team's poster (custom.WithPoster), else a Management API client
// aimed at the listener's own gateway, which checks no signature: no credentials needed.
func NewPoster(cfg Config, ln net.Listener, opts []custom.Option) (handlers.Poster, error) {
	if p := team.Resolve(opts).Poster; p != nil {
		return p, nil
	}
	awsCfg := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}
	return apigw.New(awsCfg, apigw.Config{
		Endpoint: "http://" + ln.Addr().String(),
		MaxConns: cfg.Pipeline.PostConcurrency,
	})
}

// NewIntake returns the HTTP intake; bodies that are not JSON are parked in poison.
func NewIntake(poison *memory.PoisonQueue, logger *slog.Logger) *intake.Intake {
	in := intake.New(logger)
	in.Poison = poison
	return in
}

// NewPipeline returns the pipeline of dev, on the memory store and poison queue, with
// the team's stages, middleware and observers. Dev keeps its connections in memory, and
// refuses a team's store (custom.WithStore).
func NewPipeline(cfg Config, store *memory.Store, poster handlers.Poster, poison *memory.PoisonQueue, opts []custom.Option, logger *slog.Logger) (*pipeline.Pipeline, error) {
	o := team.Resolve(opts)
	if err := o.Refuse("pusher dev", "it keeps connections in memory; run pusher serve or gateway for a store of your own", team.StoreOpt); err != nil {
		return nil, err
	}
	return o.NewPipeline(cfg.Pipeline, store, poster, poison, logger)
}

// NewConsole returns the web console of the listener: it lists gw's connections with
// their topics in store and poison's messages, and tells the page's test client how to
// connect by cfg.
func NewConsole(cfg Config, gw *localgateway.Gateway, store *memory.Store, poison *memory.PoisonQueue, logger *slog.Logger) (*console.Console, func(), error) {
	con, err := console.New(console.Config{
		Connections: func(ctx context.Context, limit int) (int, []console.Connection, error) {
			all := gw.List()
			shown := make([]console.Connection, 0, min(limit, len(all)))
			for _, c := range all[:min(limit, len(all))] {
				topics, err := store.Topics(ctx, handlers.Connection{UserID: c.UserID, ConnectionID: c.ID})
				if err != nil {
					return 0, nil, fmt.Errorf("topics of %s: %w", c.ID, err)
				}
				shown = append(shown, console.Connection{ID: c.ID, UserID: c.UserID, Topics: topics, ConnectedAt: c.ConnectedAt,
					LastActiveAt: c.LastActiveAt, SourceIP: c.SourceIP, UserAgent: c.UserAgent})
			}
			return len(all), shown, nil
		},
		Poison:        poison,
		IdentityParam: cfg.IdentityParam,
		TopicParams:   cfg.Topics.Params,
		Anonymous:     cfg.AnonymousConnections,
		Tokens:        cfg.Connect.Configured(),
		TokenParam:    cfg.Connect.TokenParam,
		Logger:        logger,
	})
	if err != nil {
		return nil, nil, err
	}
	return con, func() { _ = con.Close(context.Background()) }, nil
}

// New gathers the parts, making p take requests from in and the team's sources, and
// con observe p.
func New(ln net.Listener, p *pipeline.Pipeline, gw *localgateway.Gateway, in *intake.Intake,
	store *memory.Store, poison *memory.PoisonQueue, con *console.Console, opts []custom.Option, logger *slog.Logger) (*Pusher, error) {
	p.AddSource("intake", in, intake.Topic)
	team.Resolve(opts).AddSources(p)
	p.Observe(con)
	return &Pusher{Listener: ln, Pipeline: p, Gateway: gw, Intake: in, Store: store, Poison: poison, Console: con, logger: logger}, nil
}

// URL is the base URL of the listener.
func (d *Pusher) URL() string { return "http://" + d.Listener.Addr().String() }

// Handler returns the routes of the listener, behind the console's Guard. GET / is the
// console's page, but for a WebSocket upgrade: the gateway's $connect.
func (d *Pusher) Handler() http.Handler {
	mux := http.NewServeMux()
	d.Gateway.Register(mux)
	d.Intake.Register(mux)
	d.Console.Register(mux)
	mux.Handle("GET /poison", d.Poison)
	mux.HandleFunc("GET /poison/messages", d.Poison.ServeMessages)
	mux.HandleFunc("POST /poison", d.Poison.ServePark)
	mux.HandleFunc("DELETE /poison/{uuid}", d.Poison.ServeDelete)
	mux.HandleFunc("POST /poison/{uuid}/replay", d.replay)
	mux.HandleFunc("POST /poison/replay", d.replayAll)
	return console.Guard(d.Console.Page(mux))
}

// Errors of a replay, which the routes answer 404 and 409.
var (
	errNotParked = errors.New("not parked")
	errReplaying = errors.New("being replayed")
)

// replay re-injects the parked message named by the path value "uuid" at the stage it
// failed in and, once it is settled (delivered, pruned or parked again as a new
// message), removes it; a replay that reached only connections still in $connect
// delivered nothing, and the message stays parked, as it was (see stillConnecting). It
// answers 200 with the pipeline.Result's counts, failed > 0 saying it was parked
// again, and only connecting ones that it stays; 404 when it is not parked; 409 while
// it is being replayed already; 502 when it did not settle, the message then staying
// parked.
func (d *Pusher) replay(w http.ResponseWriter, r *http.Request) {
	// A replay that began finishes even if the client goes: the pipeline bounds it.
	stats, err := d.replayOne(context.WithoutCancel(r.Context()), r.PathValue("uuid"))
	switch {
	case errors.Is(err, errNotParked):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, errReplaying):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, stats)
	}
}

// replayAll replays every parked message, oldest first, one after the other, as replay
// does each: 200 with how many settled with nothing parked again (replayed), how many
// settled but parked something again (parked_again: the replay failed as the message
// had, and is a new parked message now), how many reached only connections still in
// $connect (connecting: kept parked) and, for each that did not settle, why. Those
// parked again while it runs wait for the next call; it starts no replay once the
// client has gone.
func (d *Pusher) replayAll(w http.ResponseWriter, r *http.Request) {
	type failure struct {
		UUID  string `json:"uuid"`
		Error string `json:"error"`
	}
	out := struct {
		Replayed    int       `json:"replayed"`
		ParkedAgain int       `json:"parked_again"`
		Connecting  int       `json:"connecting"`
		Failed      []failure `json:"failed"`
	}{Failed: []failure{}}
	for _, msg := range d.Poison.Messages() {
		if r.Context().Err() != nil {
			return
		}
		stats, err := d.replayOne(context.WithoutCancel(r.Context()), msg.UUID)
		switch {
		case err != nil:
			out.Failed = append(out.Failed, failure{UUID: msg.UUID, Error: err.Error()})
		case stats.Failed > 0:
			out.ParkedAgain++
		case stillConnecting(stats):
			out.Connecting++
		default:
			out.Replayed++
		}
	}
	d.logger.Info("poison queue replayed", "replayed", out.Replayed, "parked_again", out.ParkedAgain, "connecting", out.Connecting, "failed", len(out.Failed))
	writeJSON(w, http.StatusOK, out)
}

// replayOne replays the parked message id at the stage it failed in and, once it is
// settled, removes it, unless it reached only connections still connecting. It fails with errNotParked, errReplaying, or the pipeline's
// error when the replay did not settle, the message then staying parked.
func (d *Pusher) replayOne(ctx context.Context, id string) (pipeline.Stats, error) {
	if _, busy := d.replaying.LoadOrStore(id, struct{}{}); busy {
		return pipeline.Stats{}, errReplaying
	}
	defer d.replaying.Delete(id)
	msg, ok := d.Poison.Get(id)
	if !ok {
		return pipeline.Stats{}, errNotParked
	}
	res, err := d.Pipeline.Replay(ctx, msg)
	if err != nil {
		return pipeline.Stats{}, err
	}
	if !stillConnecting(res.Stats) {
		d.Poison.Remove(id)
	}
	return res.Stats, nil
}

// stillConnecting reports whether a replay reached only connections still in $connect
// (410 while the gateway holds the handshake): nothing was delivered, pruned or parked,
// so the message stays parked for a later replay, as `pusher replay send` keeps it.
func stillConnecting(s pipeline.Stats) bool {
	return replay.Classify(s) == replay.Connecting
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Run serves until ctx is done, then stops taking requests, lets the admitted ones
// settle (the gateway keeps serving meanwhile) or parks those that do not, and closes
// the connections and the console's event streams.
func (d *Pusher) Run(ctx context.Context) error {
	srv := httpserve.Start(d.Listener, d.Handler())
	err := d.Pipeline.Run(ctx)
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.Intake.Close()
	// The console's streams never end by themselves: closed first, they do not hold up
	// the server's stop.
	return errors.Join(err, d.Intake.Wait(closeCtx), d.Gateway.Close(closeCtx), d.Console.Close(closeCtx), srv.Stop(closeCtx))
}
