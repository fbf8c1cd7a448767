// Package secrets reads a secret a deployment keeps out of its environment: a string
// in AWS Secrets Manager or a parameter of SSM Parameter Store, named by its ARN.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretsManagerAPI is the Secrets Manager call Fetch makes; *secretsmanager.Client
// implements it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ParameterStoreAPI is the SSM call Fetch makes; *ssm.Client implements it.
type ParameterStoreAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Store reads secrets from Secrets Manager and Parameter Store.
type Store struct {
	SecretsManager SecretsManagerAPI
	ParameterStore ParameterStoreAPI
}

// New returns the Store of cfg's clients. It makes no network call.
func New(cfg aws.Config) *Store {
	return &Store{SecretsManager: secretsmanager.NewFromConfig(cfg), ParameterStore: ssm.NewFromConfig(cfg)}
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

// Fetch returns the secret name names: the SecretString of a Secrets Manager secret's
// current version, or the value of an SSM parameter, decrypted if it is a
// SecureString. An empty secret is an error: it would stand for none.
func (s *Store) Fetch(ctx context.Context, name string) (string, error) {
	a, err := parse(name)
	if err != nil {
		return "", err
	}
	var value *string
	if a.Service == "secretsmanager" {
		out, err := s.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("get secret %s: %w", name, err)
		}
		if out.SecretString == nil && out.SecretBinary != nil {
			return "", fmt.Errorf("secret %s is binary: store the key as a string", name)
		}
		value = out.SecretString
	} else {
		// GetParameter takes a parameter's ARN as its name, which reaches a parameter
		// shared from another account too.
		out, err := s.ParameterStore.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
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
