//go:build lambda.norpc

package awsconfig

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Load returns the configuration of a run mode. Built with lambda.norpc, as the Lambda
// bootstrap is, it is FromEnvironment: the environment alone, without the credential
// providers a function never uses.
func Load(ctx context.Context) (aws.Config, error) {
	return FromEnvironment(ctx)
}
