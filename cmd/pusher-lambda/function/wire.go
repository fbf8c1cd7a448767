//go:build wireinject

package function

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// Build builds the function from cfg (already defaulted with Defaults) and the team's
// options, with the AWS configuration of the environment (onaws.NewAWSConfig), writing
// its metrics to metrics, such as os.Stdout. It makes no network call. The Lambda
// binary's own wiring: it links what the function runs and nothing of the pusher
// binary's modes.
func Build(ctx context.Context, cfg Config, opts []custom.Option, logger *slog.Logger, metrics io.Writer) (*Function, func(), error) {
	wire.Build(onaws.NewAWSConfig, BuildWithAWS)
	return nil, nil, nil
}

// BuildWithAWS is Build with the AWS configuration awsCfg, which the init shares with
// the start-up checks: one credentials cache and, with its HTTP client, one pool of
// connections for both.
func BuildWithAWS(ctx context.Context, cfg Config, awsCfg aws.Config, opts []custom.Option, logger *slog.Logger, metrics io.Writer) (*Function, func(), error) {
	wire.Build(
		wire.FieldsOf(new(Config), "Config"),
		onaws.NewDynamoDBClient,
		onaws.NewStore,
		onaws.NewPoster,
		onaws.NewPoisonQueue,
		onaws.NewPipeline,
		emf.New,
		NewTaskQueue,
		wire.Bind(new(lambda.Registry), new(custom.Store)),
		NewTopics,
		New,
	)
	return nil, nil, nil
}

// BuildAuthorizer builds the function deployed as the $connect authorizer from cfg
// (already read with AuthorizerConfigFromEnv). It reads the secret of the tokens, or
// fetches their JWK set, and makes no other network call.
func BuildAuthorizer(ctx context.Context, cfg AuthorizerConfig, logger *slog.Logger) (*Authorizer, error) {
	wire.Build(onaws.NewAWSConfig, NewAuthorizer)
	return nil, nil
}
