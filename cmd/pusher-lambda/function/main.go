package function

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// Main runs the function, with the team's options, in the Lambda runtime: it reads the
// configuration from the environment, builds the function and starts its pipeline,
// while the start-up checks run (see checkAtInit; STARTUP_CHECKS=false makes the init
// call nothing), then serves invocations until the runtime ends the process. Deployed with PUSHER_ROLE=authorizer, it is the
// WebSocket API's $connect authorizer instead, and reads only its settings (see
// AuthorizerConfig). A bad setting, or a start-up check refused, ends the init with one line naming it.
func Main(opts ...custom.Option) {
	start := time.Now()
	var handle func(context.Context, json.RawMessage) (any, error)
	switch role := cmp.Or(os.Getenv("PUSHER_ROLE"), RolePusher); role {
	case RolePusher:
		fn, err := initFunction(start, opts)
		exitOn(err)
		handle = fn.Handle
	case RoleAuthorizer:
		a, err := initAuthorizer(start, team.Resolve(opts))
		exitOn(err)
		handle = a.Handle
	default:
		exitOn(fmt.Errorf("PUSHER_ROLE=%q is neither %q nor %q", role, RolePusher, RoleAuthorizer))
	}
	awslambda.StartHandlerFunc(handle)
}

// exitOn ends the init on err: Lambda reports the exit with the last lines written, and
// this one names the cause.
func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pusher-lambda:", err)
		os.Exit(1)
	}
}

func initAuthorizer(start time.Time, o team.Options) (*Authorizer, error) {
	cfg, err := AuthorizerConfigFromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	logger := o.LoggerOr(newLogger(cfg.LogLevel, os.Stderr))
	// The JWK set, if any, is refreshed as long as the execution environment lives.
	a, err := BuildAuthorizer(context.Background(), cfg, logger)
	if err != nil {
		return nil, err
	}
	logger.Info("pusher-lambda ready as the $connect authorizer", "init_ms", float64(time.Since(start).Microseconds())/1000)
	return a, nil
}

func initFunction(start time.Time, opts []custom.Option) (*Function, error) {
	cfg, err := ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	logger := team.Resolve(opts).LoggerOr(NewLogger(cfg, os.Stderr))
	// The pipeline lives as long as the execution environment: neither its context nor
	// the cleanup of its parts ever ends. Metrics go to stdout as EMF documents.
	ctx := context.Background()
	// One AWS configuration for the checks and the function: one credentials cache, and
	// one HTTP client, so that the connections the checks open (and their TLS
	// handshakes) serve the first requests; the configuration of the environment has
	// none, and each client would make its own.
	awsCfg, err := onaws.NewAWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	if awsCfg.HTTPClient == nil {
		awsCfg.HTTPClient = awshttp.NewBuildableClient()
	}
	checked := checkAtInit(ctx, cfg, awsCfg, opts, logger)
	fn, _, err := BuildWithAWS(ctx, cfg, awsCfg, opts, logger, os.Stdout)
	if err != nil {
		return nil, err
	}
	if _, err := fn.Start(ctx); err != nil {
		return nil, err
	}
	if err := checked(); err != nil {
		return nil, err
	}
	logger.Info("pusher-lambda ready", "init_ms", float64(time.Since(start).Microseconds())/1000)
	return fn, nil
}
