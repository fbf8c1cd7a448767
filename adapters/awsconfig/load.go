//go:build !lambda.norpc

package awsconfig

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the AWS SDK's configuration as the SDK loads it everywhere,
// config.LoadDefaultConfig: the default credential chain, shared configuration files and
// profiles, and the environment. The Lambda bootstrap, built with -tags lambda.norpc,
// loads it with FromEnvironment instead (see load_lambda.go).
func Load(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx)
}
