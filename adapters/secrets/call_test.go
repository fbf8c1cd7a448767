package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/secrets"
)

// errCaptured ends a captured request without an answer.
var errCaptured = errors.New("captured")

// capture is an HTTP client that records the request it is handed and answers none.
type capture struct{ url, scope string }

var scopeRE = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.url = r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
	if m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.scope = m[1] + "/" + m[2]
	}
	return nil, errCaptured
}

// unsetAWSEnv unsets every AWS_ variable until the test ends, and points HOME at an
// empty folder: the SDK then reads no shared configuration file.
func unsetAWSEnv(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v) // restored when the test ends
			os.Unsetenv(k)
		}
	}
}

// TestEndpointAsTheSDK: a Store calls the URL the SDK's Secrets Manager and SSM clients
// call, and signs for the same region and service, in every region of every partition,
// FIPS, dual-stack, with the endpoint variables or a BaseEndpoint; where a client
// refuses the configuration before sending, so does the Store.
func TestEndpointAsTheSDK(t *testing.T) {
	regions := []string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2",
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
		"ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
		"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
		"eu-west-3", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1",
		"sa-east-1", "sa-west-1", "us-gov-east-1", "us-gov-west-1", "cn-north-1",
		"cn-northwest-1", "us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1",
		"eu-isoe-west-1", "us-isof-east-1", "us-isof-south-1", "eusc-de-east-1",
		// A region the rules do not know yet, in aws, and the pseudo-regions of FIPS.
		"xx-newplace-1", "fips-us-east-1", "us-gov-west-1-fips",
	}
	type env map[string]string
	variants := []struct {
		name string
		env  env
		base string // the aws.Config's BaseEndpoint, "" for none
	}{
		{name: "standard"},
		{name: "fips", env: env{"AWS_USE_FIPS_ENDPOINT": "true"}},
		{name: "dual-stack", env: env{"AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "fips dual-stack", env: env{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		{name: "fips off", env: env{"AWS_USE_FIPS_ENDPOINT": "false"}},
		{name: "AWS_ENDPOINT_URL", env: env{"AWS_ENDPOINT_URL": "http://global.example:4566"}},
		{name: "per-service", env: env{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm.example:1", "AWS_ENDPOINT_URL_SSM": "http://ssm.example:2"}},
		{name: "per-service and global", env: env{"AWS_ENDPOINT_URL": "http://global.example", "AWS_ENDPOINT_URL_SSM": "http://ssm.example/path"}},
		{name: "ignored", env: env{"AWS_ENDPOINT_URL": "http://global.example", "AWS_ENDPOINT_URL_SSM": "http://ssm.example", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}},
		{name: "BaseEndpoint", base: "https://base.example/prefix"},
		{name: "BaseEndpoint and per-service", base: "https://base.example", env: env{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm.example"}},
		{name: "custom endpoint with fips", env: env{"AWS_ENDPOINT_URL": "http://global.example", "AWS_USE_FIPS_ENDPOINT": "true"}},
		{name: "custom endpoint with dual-stack", base: "http://base.example", env: env{"AWS_USE_DUALSTACK_ENDPOINT": "true"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			unsetAWSEnv(t)
			for k, val := range v.env {
				t.Setenv(k, val)
			}
			for _, region := range regions {
				cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion(region),
					config.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
						return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
					})),
					config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
				if err != nil {
					t.Fatal(err)
				}
				if v.base != "" {
					cfg.BaseEndpoint = aws.String(v.base)
				}
				for _, arn := range []string{
					"arn:aws:secretsmanager:" + region + ":123456789012:secret:pusher/key-AbCdEf",
					"arn:aws:ssm:" + region + ":123456789012:parameter/pusher/key",
				} {
					var sdk, ours capture
					cfg.HTTPClient = &sdk
					var sdkErr error
					if strings.Contains(arn, ":secretsmanager:") {
						_, sdkErr = secretsmanager.NewFromConfig(cfg).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
					} else {
						_, sdkErr = ssm.NewFromConfig(cfg).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(arn), WithDecryption: aws.Bool(true)})
					}
					cfg.HTTPClient = &ours
					_, err := secrets.New(cfg).Fetch(t.Context(), arn)
					if sdk != ours {
						t.Errorf("%s: Store called %+v, the SDK %+v", arn, ours, sdk)
					}
					if sent := errors.Is(sdkErr, errCaptured); sent != errors.Is(err, errCaptured) {
						t.Errorf("%s: Store: %v; SDK: %v", arn, err, sdkErr)
					}
				}
			}
		})
	}
}

// throttler answers GetSecretValue with ThrottlingException n times, then with a secret.
type throttler struct {
	n     int32
	calls atomic.Int32
}

func (th *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", "req-1")
	if th.calls.Add(1) <= th.n {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.secretsmanager#ThrottlingException","Message":"Rate exceeded"}`)
		return
	}
	fmt.Fprint(w, `{"SecretString":"a key"}`)
}

// noDelay makes the SDK's standard retryer retry at once.
func noDelay(o *retry.StandardOptions) {
	o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
}

// TestRetriesAsTheSDK: a Store retries as the SDK's client does with the same
// configuration, its standard retryer (three attempts), RetryMaxAttempts or a
// Retryer of its own, and its error says so as the SDK's does.
func TestRetriesAsTheSDK(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/key-AbCdEf"
	cases := []struct {
		name      string
		throttles int32
		cfg       func(*aws.Config)
		wantCalls int32
		wantErr   bool
	}{
		{name: "two throttles, then the secret", throttles: 2, wantCalls: 3},
		{name: "three throttles: the standard retryer's three attempts", throttles: 3, wantCalls: 3, wantErr: true},
		{name: "RetryMaxAttempts 5", throttles: 4, cfg: func(c *aws.Config) { c.RetryMaxAttempts = 5 }, wantCalls: 5},
		{name: "RetryMaxAttempts 1", throttles: 1, cfg: func(c *aws.Config) { c.RetryMaxAttempts = 1 }, wantCalls: 1, wantErr: true},
		{name: "a Retryer of the configuration", throttles: 1, cfg: func(c *aws.Config) {
			c.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		}, wantCalls: 1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := func(fetch func(aws.Config) (string, error)) (int32, string, error) {
				th := &throttler{n: tc.throttles}
				srv := httptest.NewServer(th)
				defer srv.Close()
				cfg := awstest.Config()
				cfg.BaseEndpoint = aws.String(srv.URL)
				cfg.Retryer = func() aws.Retryer { return retry.NewStandard(noDelay) }
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				got, err := fetch(cfg)
				return th.calls.Load(), got, err
			}
			sdkCalls, _, sdkErr := run(func(cfg aws.Config) (string, error) {
				out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
				if err != nil {
					return "", err
				}
				return aws.ToString(out.SecretString), nil
			})
			calls, got, err := run(func(cfg aws.Config) (string, error) { return secrets.New(cfg).Fetch(t.Context(), arn) })
			if calls != tc.wantCalls || sdkCalls != tc.wantCalls {
				t.Errorf("Store called %d times, the SDK %d, want %d", calls, sdkCalls, tc.wantCalls)
			}
			if (err != nil) != tc.wantErr || (sdkErr != nil) != tc.wantErr {
				t.Fatalf("Fetch = %q, %v; the SDK: %v; want an error: %v", got, err, sdkErr, tc.wantErr)
			}
			if !tc.wantErr {
				if got != "a key" {
					t.Errorf("Fetch = %q, want %q", got, "a key")
				}
				return
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" || apiErr.ErrorMessage() != "Rate exceeded" {
				t.Errorf("err %v, want the API error ThrottlingException: Rate exceeded", err)
			}
			var maxErr *retry.MaxAttemptsError
			if errors.As(sdkErr, &maxErr) != errors.As(err, &maxErr) {
				t.Errorf("err %v; the SDK's %v: one says the attempts ran out, the other not", err, sdkErr)
			}
			// The SDK's own wording.
			if got, want := strings.TrimPrefix(err.Error(), "get secret "+arn+": "), sdkErr.Error(); got != want {
				t.Errorf("err\n%s\nthe SDK's\n%s", got, want)
			}
		})
	}
}

// TestClockSkew: a call the service refuses for a clock more than four minutes off is
// signed again with the service's clock, as the SDK's retryer corrects it, and the
// Store keeps the correction.
func TestClockSkew(t *testing.T) {
	ahead := time.Now().Add(time.Hour).UTC()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		signed, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil || signed.Sub(ahead).Abs() > time.Minute {
			w.Header().Set("Date", ahead.Format(http.TimeFormat))
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"InvalidSignatureException","message":"Signature expired"}`)
			return
		}
		fmt.Fprint(w, `{"Parameter":{"Value":"a key"}}`)
	}))
	defer srv.Close()
	cfg := awstest.Config()
	cfg.BaseEndpoint = aws.String(srv.URL)
	cfg.Retryer = func() aws.Retryer { return retry.NewStandard(noDelay) }
	store := secrets.New(cfg)
	const arn = "arn:aws:ssm:us-east-1:123456789012:parameter/pusher/key"
	for i, want := range []int32{2, 3} {
		if got, err := store.Fetch(t.Context(), arn); err != nil || got != "a key" {
			t.Fatalf("Fetch %d = %q, %v", i+1, got, err)
		}
		if calls.Load() != want {
			t.Errorf("after Fetch %d, %d calls, want %d", i+1, calls.Load(), want)
		}
	}
	cfg.DisableClockSkewCorrection = true
	if _, err := secrets.New(cfg).Fetch(t.Context(), arn); err == nil {
		t.Errorf("Fetch with DisableClockSkewCorrection: no error, want InvalidSignatureException")
	}
}
