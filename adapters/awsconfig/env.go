// Package awsconfig loads the AWS SDK's configuration of a run mode (see Load): the
// SDK's own config.LoadDefaultConfig, but in the Lambda bootstrap, which reads it from
// the environment alone with FromEnvironment.
//
// Why: importing aws-sdk-go-v2/config links every credential provider it can chain, and
// with them the SDK's STS, SSO, SSO OIDC and Sign-In clients and the EC2 metadata
// client, 1.7 MiB of the arm64 bootstrap (issue 16: it must stay under 10 MiB), for
// providers a Lambda function never uses: Lambda hands a function its role's
// credentials, and its Region, in the environment, and has no shared configuration
// files.
package awsconfig

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// unsupported are the variables config.LoadDefaultConfig reads that FromEnvironment
// does not, and which would change what the SDK's clients do: FromEnvironment refuses
// them rather than ignore them.
var unsupported = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"AWS_AUTH_SCHEME_PREFERENCE",
}

// unsupportedWithoutKeys are the credential sources config.LoadDefaultConfig falls back
// to when the environment holds no keys: FromEnvironment refuses them too.
var unsupportedWithoutKeys = []string{
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
}

// FromEnvironment returns the configuration config.LoadDefaultConfig(ctx) returns for a
// process whose settings are all in its environment, as a Lambda function's are
// (TestFromEnvironmentAsTheSDK compares the two). The variables are read by the SDK's
// own parser, config.NewEnvConfig, and handed to the clients as their ConfigSources, so
// that each resolves its endpoint (AWS_ENDPOINT_URL_<SERVICE>), FIPS, dual-stack and
// endpoint discovery as it does from LoadDefaultConfig; what LoadDefaultConfig resolves
// itself (the Region, the keys, retries, checksums, compression, clock skew) is copied
// from it here.
//
// AWS_CA_BUNDLE, as for LoadDefaultConfig, makes the certificates of that file the only
// ones trusted. It reads no shared configuration file and chains no other credential
// provider: a profile, a web identity or container credentials without keys, or
// AWS_DEFAULTS_MODE other than legacy, is an error naming the variable. Without keys, a
// call fails saying the environment has none. It makes no network call.
func FromEnvironment(context.Context) (aws.Config, error) {
	for _, k := range unsupported {
		if os.Getenv(k) != "" {
			return aws.Config{}, fmt.Errorf("%s is set: the Lambda build of the pusher reads its AWS configuration from the environment alone, without profiles, configuration files or a CA bundle", k)
		}
	}
	env, err := config.NewEnvConfig()
	if err != nil {
		return aws.Config{}, err
	}
	if m := env.DefaultsMode; m != "" && !strings.EqualFold(string(m), string(aws.DefaultsModeLegacy)) {
		return aws.Config{}, fmt.Errorf("AWS_DEFAULTS_MODE=%s: the Lambda build of the pusher uses the SDK's legacy defaults only", m)
	}
	var provider aws.CredentialsProvider = credentials.StaticCredentialsProvider{Value: env.Credentials, Source: []aws.CredentialSource{aws.CredentialSourceEnvVars}}
	if !env.Credentials.HasKeys() {
		for _, k := range unsupportedWithoutKeys {
			if os.Getenv(k) != "" {
				return aws.Config{}, fmt.Errorf("%s is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the Lambda build of the pusher takes its credentials from the keys in the environment only", k)
			}
		}
		provider = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
		})
	}
	cfg := aws.Config{
		Region:                      env.Region,
		Credentials:                 aws.NewCredentialsCache(provider),
		Logger:                      logging.NewStandardLogger(os.Stderr),
		ConfigSources:               []any{env},
		DefaultsMode:                aws.DefaultsModeLegacy,
		AppID:                       env.AppID,
		RetryMaxAttempts:            env.RetryMaxAttempts,
		RetryMode:                   env.RetryMode,
		AccountIDEndpointMode:       cmp.Or(env.AccountIDEndpointMode, aws.AccountIDEndpointModePreferred),
		RequestChecksumCalculation:  cmp.Or(env.RequestChecksumCalculation, aws.RequestChecksumCalculationWhenSupported),
		ResponseChecksumValidation:  cmp.Or(env.ResponseChecksumValidation, aws.ResponseChecksumValidationWhenSupported),
		RequestMinCompressSizeBytes: 10240,
	}
	if env.DisableRequestCompression != nil {
		cfg.DisableRequestCompression = *env.DisableRequestCompression
	}
	if env.RequestMinCompressSizeBytes != nil {
		cfg.RequestMinCompressSizeBytes = *env.RequestMinCompressSizeBytes
	}
	if env.CustomCABundle != "" {
		client, err := caBundleClient(env.CustomCABundle)
		if err != nil {
			return aws.Config{}, err
		}
		cfg.HTTPClient = client
	}
	if env.DisableClockSkewCorrection != nil {
		cfg.DisableClockSkewCorrection = *env.DisableClockSkewCorrection
	}
	if env.BaseEndpoint != "" && (env.IgnoreConfiguredEndpoints == nil || !*env.IgnoreConfiguredEndpoints) {
		cfg.BaseEndpoint = aws.String(env.BaseEndpoint)
	}
	return cfg, nil
}

// caBundleClient returns the SDK's HTTP client trusting the certificates of the PEM file
// at path alone, as config.LoadDefaultConfig makes it for AWS_CA_BUNDLE.
func caBundleClient(path string) (*awshttp.BuildableClient, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE=%s holds no PEM certificate", path)
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = roots
	}), nil
}
