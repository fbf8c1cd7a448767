package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func gatewayCommand() command {
	return command{
		name:    "gateway",
		summary: "run the local WebSocket gateway of dev, storing connections in DynamoDB",
		usage:   "usage: pusher gateway [flags]\n\nflags:\n",
		define:  defineGateway,
	}
}

func defineGateway(fs *settings.Flags) runFunc {
	var cfg gateway.Config
	gateway.Flags(fs, &cfg)
	return mode(fs, func(ctx context.Context, e env, opts []custom.Option, logger *slog.Logger) (runner, func(), error) {
		cfg, err := gateway.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		g, cleanup, err := pusher.BuildGateway(ctx, cfg, opts, logger)
		if err != nil {
			return nil, nil, err
		}
		backing := "storing connections in " + cfg.Table.Table
		if cfg.Integration != "" {
			backing = "invoking " + cfg.Integration + " for every route"
		}
		fmt.Fprintf(e.stdout, `pusher gateway listening on %[1]s, %[2]s
  WebSocket clients:  %[3]s
  Management API:     %[1]s  (APIGW_ENDPOINT for pusher serve)
`, g.URL(), backing, clientURL(g.Listener.Addr().String(), cfg.Connect, cfg.LambdaAuthorizer != "", cfg.IdentityParam,
			anonymousParam(cfg.AnonymousConnections && cfg.Integration == "", cfg.Topics.Params)))
		return g, cleanup, nil
	})
}

// clientURL is the URL WebSocket clients connect to at addr: with a token when
// $connect is authorized (by the token check of c, or an authorizer function), else
// naming their user, or, when topicParam is not "" (see anonymousParam), naming a topic
// and no user.
func clientURL(addr string, c settings.Connect, authorizerFunction bool, identityParam, topicParam string) string {
	switch {
	case c.Token.Secret != "":
		return fmt.Sprintf("ws://%s/?%s=TOKEN  (pusher token --user USER mints one)", addr, c.TokenParam)
	case c.Configured() || authorizerFunction:
		return fmt.Sprintf("ws://%s/?%s=TOKEN", addr, cmp.Or(c.TokenParam, auth.DefaultConnectTokenParam))
	case topicParam != "":
		return fmt.Sprintf("ws://%[1]s/?%[2]s=USER, or without a user ws://%[1]s/?%[3]s=TOPIC  (not authenticated)", addr, identityParam, topicParam)
	}
	return fmt.Sprintf("ws://%s/?%s=USER  (not authenticated)", addr, identityParam)
}

// anonymousParam is the topic parameter a client without a user connects with, when
// the gateway accepts such clients (anonymous): the first of params; "" otherwise.
func anonymousParam(anonymous bool, params []string) string {
	if !anonymous || len(params) == 0 {
		return ""
	}
	return params[0]
}
