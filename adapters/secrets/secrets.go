// Package secrets reads a secret a deployment keeps out of its environment: a string
// in AWS Secrets Manager or a parameter of SSM Parameter Store, named by its ARN.
//
// A Store makes one call per secret, GetSecretValue or GetParameter, in the AWS JSON 1.1
// protocol both services speak (see call.go), with aws-sdk-go-v2's own pieces: the
// aws.Config's credentials, HTTP client, retry settings and endpoint settings, the SDK's
// SigV4 signer, its retryer and its error types. It does not link the SDK's
// secretsmanager and ssm clients: importing one links its service's whole model, 1.4 MiB
// of the Lambda bootstrap for the two, for one call each (issue 16).
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Store reads secrets from Secrets Manager and Parameter Store.
type Store struct {
	cfg     aws.Config
	client  aws.HTTPClient
	retryer aws.RetryerV2
	signer  *v4.Signer
	// skew is how far the services' clock is ahead of ours, in nanoseconds, as their
	// Date headers showed it: the SDK's retryer corrects it the same way, per client.
	skew atomic.Int64
}

// New returns the Store of cfg: its Region, Credentials, HTTPClient, Retryer (or
// RetryMode and RetryMaxAttempts), BaseEndpoint and ConfigSources (the per-service
// endpoint variables AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM, FIPS and
// dual-stack), as the SDK's clients made with NewFromConfig take them. It makes no
// network call.
func New(cfg aws.Config) *Store {
	client := cfg.HTTPClient
	if client == nil {
		client = awshttp.NewBuildableClient()
	}
	return &Store{cfg: cfg, client: client, retryer: newRetryer(cfg), signer: v4.NewSigner()}
}

// Validate reports whether name is the ARN of a Secrets Manager secret
// (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or of an SSM parameter
// (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME).
func Validate(name string) error {
	_, err := parse(name)
	return err
}

func parse(name string) (arn.ARN, error) {
	a, err := arn.Parse(name)
	if err != nil {
		return a, fmt.Errorf("secret %q is not an ARN: %w", name, err)
	}
	var prefix string
	switch a.Service {
	case "secretsmanager":
		prefix = "secret:"
	case "ssm":
		prefix = "parameter/"
	}
	// Neither service reads a secret of no region, no account or no name.
	rest, ok := strings.CutPrefix(a.Resource, prefix)
	if prefix == "" || !ok || rest == "" || a.Region == "" || a.AccountID == "" {
		return a, fmt.Errorf("secret %q is neither a Secrets Manager secret's ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) nor an SSM parameter's (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)", name)
	}
	return a, nil
}

// getSecretValueInput and getSecretValueOutput are the members of GetSecretValue
// (Secrets Manager API Reference) that Fetch sends and reads.
type getSecretValueInput struct {
	SecretId string
}

type getSecretValueOutput struct {
	SecretString *string
	SecretBinary []byte
}

// getParameterInput and getParameterOutput are those of GetParameter (AWS Systems
// Manager API Reference).
type getParameterInput struct {
	Name           string
	WithDecryption bool
}

type getParameterOutput struct {
	Parameter *struct {
		Value *string
	}
}

// Fetch returns the secret name names: the SecretString of a Secrets Manager secret's
// current version, or the value of an SSM parameter, decrypted if it is a
// SecureString. An empty secret is an error: it would stand for none. A failed call's
// error is the SDK's: a *smithy.OperationError wrapping an *awshttp.ResponseError and a
// smithy.APIError with the service's error code, such as ResourceNotFoundException or
// ParameterNotFound.
func (s *Store) Fetch(ctx context.Context, name string) (string, error) {
	a, err := parse(name)
	if err != nil {
		return "", err
	}
	var value *string
	if a.Service == "secretsmanager" {
		var out getSecretValueOutput
		if err := s.call(ctx, secretsManager, getSecretValueInput{SecretId: name}, &out); err != nil {
			return "", fmt.Errorf("get secret %s: %w", name, err)
		}
		if out.SecretString == nil && out.SecretBinary != nil {
			return "", fmt.Errorf("secret %s is binary: store the key as a string", name)
		}
		value = out.SecretString
	} else {
		// GetParameter takes a parameter's ARN as its name, which reaches a parameter
		// shared from another account too.
		var out getParameterOutput
		if err := s.call(ctx, parameterStore, getParameterInput{Name: name, WithDecryption: true}, &out); err != nil {
			return "", fmt.Errorf("get parameter %s: %w", name, err)
		}
		if out.Parameter != nil {
			value = out.Parameter.Value
		}
	}
	if aws.ToString(value) == "" {
		return "", errors.New("secret " + name + " is empty")
	}
	return *value, nil
}
