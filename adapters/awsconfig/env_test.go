package awsconfig_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"hash/crc32"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awsconfig"
)

// unsetAWSEnv unsets every AWS_ variable until the test ends, and points HOME at an
// empty folder: the SDK then reads no shared configuration file, as in Lambda.
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

// lambdaEnv is what Lambda sets for a function (AWS_LAMBDA_* aside).
var lambdaEnv = map[string]string{
	"AWS_REGION":            "eu-west-1",
	"AWS_DEFAULT_REGION":    "eu-west-1",
	"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
	"AWS_SECRET_ACCESS_KEY": "secret",
	"AWS_SESSION_TOKEN":     "token",
	"AWS_EXECUTION_ENV":     "AWS_Lambda_provided.al2023",
}

// resolved is what the SDK's clients take from a configuration: the aws.Config's
// fields and the options DynamoDB and SQS clients resolve from it.
type resolved struct {
	Region, AppID                                  string
	Creds                                          aws.Credentials
	CredsErr                                       bool
	BaseEndpoint                                   *string
	RetryMaxAttempts                               int
	RetryMode                                      aws.RetryMode
	DefaultsMode                                   aws.DefaultsMode
	AccountIDEndpointMode                          aws.AccountIDEndpointMode
	RequestChecksum                                aws.RequestChecksumCalculation
	ResponseChecksum                               aws.ResponseChecksumValidation
	DisableRequestCompression, DisableClockSkew    bool
	MinCompressBytes                               int64
	DynamoDBEndpoint, SQSEndpoint                  *string
	DynamoDBEndpointOptions, SQSEndpointOptions    any
	DynamoDBEndpointDiscovery                      dynamodb.EndpointDiscoveryOptions
	DynamoDBRetryMaxAttempts, SQSRetryMaxAttempts  int
	DynamoDBMaxAttempts, SQSMaxAttempts            int
	DynamoDBRetryMode                              aws.RetryMode
	DynamoDBAccountIDMode                          aws.AccountIDEndpointMode
	DynamoDBCredentialsType, SQSDisableMD5Validate string
}

func resolve(t *testing.T, cfg aws.Config) resolved {
	t.Helper()
	creds, err := cfg.Credentials.Retrieve(context.Background())
	ddb := dynamodb.NewFromConfig(cfg).Options()
	q := sqs.NewFromConfig(cfg).Options()
	return resolved{
		Region: cfg.Region, AppID: cfg.AppID, Creds: creds, CredsErr: err != nil,
		BaseEndpoint: cfg.BaseEndpoint, RetryMaxAttempts: cfg.RetryMaxAttempts, RetryMode: cfg.RetryMode,
		DefaultsMode: cfg.DefaultsMode, AccountIDEndpointMode: cfg.AccountIDEndpointMode,
		RequestChecksum: cfg.RequestChecksumCalculation, ResponseChecksum: cfg.ResponseChecksumValidation,
		DisableRequestCompression: cfg.DisableRequestCompression, DisableClockSkew: cfg.DisableClockSkewCorrection,
		MinCompressBytes: cfg.RequestMinCompressSizeBytes,
		DynamoDBEndpoint: ddb.BaseEndpoint, SQSEndpoint: q.BaseEndpoint,
		DynamoDBEndpointOptions: ddb.EndpointOptions, SQSEndpointOptions: q.EndpointOptions,
		DynamoDBEndpointDiscovery: ddb.EndpointDiscovery,
		DynamoDBRetryMaxAttempts:  ddb.RetryMaxAttempts, SQSRetryMaxAttempts: q.RetryMaxAttempts,
		DynamoDBMaxAttempts: ddb.Retryer.MaxAttempts(), SQSMaxAttempts: q.Retryer.MaxAttempts(),
		DynamoDBRetryMode: ddb.RetryMode, DynamoDBAccountIDMode: ddb.AccountIDEndpointMode,
		DynamoDBCredentialsType: reflect.TypeOf(ddb.Credentials).String(),
	}
}

// TestFromEnvironmentAsTheSDK: in an environment such as Lambda's, FromEnvironment
// returns what config.LoadDefaultConfig returns, as the DynamoDB and SQS clients made
// from it see it, for each variable it reads; a bad value is an error for both.
func TestFromEnvironmentAsTheSDK(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
	}{
		{name: "Lambda"},
		{name: "no session token", env: map[string]string{"AWS_SESSION_TOKEN": ""}},
		{name: "old key names", env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_KEY": "old"}},
		{name: "account id", env: map[string]string{"AWS_ACCOUNT_ID": "123456789012"}},
		{name: "AWS_DEFAULT_REGION only", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2"}},
		{name: "no region", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}},
		{name: "emulators", env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100"}},
		{name: "AWS_ENDPOINT_URL", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}},
		{name: "AWS_ENDPOINT_URL and one service", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100"}},
		{name: "configured endpoints ignored", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE"}},
		{name: "configured endpoints not ignored", env: map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false"}},
		{name: "retries", env: map[string]string{"AWS_MAX_ATTEMPTS": "7", "AWS_RETRY_MODE": "adaptive"}},
		{name: "standard retries", env: map[string]string{"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}},
		{name: "fips and dual-stack", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "True"}},
		{name: "fips off", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "false", "AWS_USE_DUALSTACK_ENDPOINT": "false"}},
		{name: "endpoint discovery", env: map[string]string{"AWS_ENABLE_ENDPOINT_DISCOVERY": "true"}},
		{name: "endpoint discovery auto", env: map[string]string{"AWS_ENABLE_ENDPOINT_DISCOVERY": "auto"}},
		{name: "the rest", env: map[string]string{
			"AWS_SDK_UA_APP_ID": "pusher", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
			"AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED", "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
			"AWS_DISABLE_REQUEST_COMPRESSION": "true", "AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES": "100",
			"AWS_DISABLE_CLOCK_SKEW_CORRECTION": "true", "AWS_DEFAULTS_MODE": "legacy",
		}},
		{name: "account id endpoints required", env: map[string]string{"AWS_ACCOUNT_ID": "123456789012", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "required"}},
		{name: "bad max attempts", env: map[string]string{"AWS_MAX_ATTEMPTS": "three"}},
		{name: "bad retry mode", env: map[string]string{"AWS_RETRY_MODE": "eager"}},
		{name: "bad fips", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes"}},
		{name: "bad dual-stack", env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "1"}},
		{name: "bad ignore", env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "1"}},
		{name: "bad endpoint discovery", env: map[string]string{"AWS_ENABLE_ENDPOINT_DISCOVERY": "maybe"}},
		{name: "bad account id endpoint mode", env: map[string]string{"AWS_ACCOUNT_ID_ENDPOINT_MODE": "Preferred"}},
		{name: "bad checksum", env: map[string]string{"AWS_REQUEST_CHECKSUM_CALCULATION": "always"}},
		{name: "bad response checksum", env: map[string]string{"AWS_RESPONSE_CHECKSUM_VALIDATION": "always"}},
		{name: "bad compression", env: map[string]string{"AWS_DISABLE_REQUEST_COMPRESSION": "on"}},
		{name: "bad min compression", env: map[string]string{"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES": "-1"}},
		{name: "too big min compression", env: map[string]string{"AWS_REQUEST_MIN_COMPRESSION_SIZE_BYTES": "10485761"}},
		{name: "bad clock skew", env: map[string]string{"AWS_DISABLE_CLOCK_SKEW_CORRECTION": "no"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			unsetAWSEnv(t)
			for k, v := range lambdaEnv {
				t.Setenv(k, v)
			}
			for k, v := range tc.env {
				if v == "" {
					os.Unsetenv(k)
				} else {
					t.Setenv(k, v)
				}
			}
			want, wantErr := config.LoadDefaultConfig(t.Context())
			got, err := awsconfig.FromEnvironment(t.Context())
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("FromEnvironment: %v; LoadDefaultConfig: %v", err, wantErr)
			}
			if err != nil {
				return
			}
			if g, w := resolve(t, got), resolve(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("FromEnvironment resolves\n%+v\nLoadDefaultConfig\n%+v", g, w)
			}
		})
	}
}

// TestFromEnvironmentRefuses: what config.LoadDefaultConfig would read that
// FromEnvironment does not is an error naming the variable, not ignored.
func TestFromEnvironmentRefuses(t *testing.T) {
	cases := []struct {
		env    map[string]string
		noKeys bool
		want   string
	}{
		{env: map[string]string{"AWS_PROFILE": "dev"}, want: "AWS_PROFILE"},
		{env: map[string]string{"AWS_DEFAULT_PROFILE": "dev"}, want: "AWS_DEFAULT_PROFILE"},
		{env: map[string]string{"AWS_CONFIG_FILE": "/var/task/config"}, want: "AWS_CONFIG_FILE"},
		{env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/var/task/credentials"}, want: "AWS_SHARED_CREDENTIALS_FILE"},
		{env: map[string]string{"AWS_CA_BUNDLE": "/var/task/no-such-ca.pem"}, want: "AWS_CA_BUNDLE"},
		{env: map[string]string{"AWS_AUTH_SCHEME_PREFERENCE": "sigv4a"}, want: "AWS_AUTH_SCHEME_PREFERENCE"},
		{env: map[string]string{"AWS_DEFAULTS_MODE": "in-region"}, want: "AWS_DEFAULTS_MODE"},
		{env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r"}, noKeys: true, want: "AWS_WEB_IDENTITY_TOKEN_FILE"},
		{env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9000/creds"}, noKeys: true, want: "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{env: map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds"}, noKeys: true, want: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			unsetAWSEnv(t)
			for k, v := range lambdaEnv {
				t.Setenv(k, v)
			}
			if tc.noKeys {
				os.Unsetenv("AWS_ACCESS_KEY_ID")
				os.Unsetenv("AWS_SECRET_ACCESS_KEY")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if _, err := awsconfig.FromEnvironment(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("FromEnvironment: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	// With the keys, a web identity or container credentials are not read, by the SDK
	// either: nothing to refuse.
	unsetAWSEnv(t)
	for k, v := range lambdaEnv {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9000/creds")
	if _, err := awsconfig.FromEnvironment(t.Context()); err != nil {
		t.Errorf("FromEnvironment with keys and AWS_CONTAINER_CREDENTIALS_FULL_URI: %v", err)
	}
}

// TestFromEnvironmentNoKeys: without keys, FromEnvironment loads, and a call fails
// saying the environment has none.
func TestFromEnvironmentNoKeys(t *testing.T) {
	unsetAWSEnv(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := awsconfig.FromEnvironment(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(t.Context()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("Retrieve: %v, want an error naming AWS_ACCESS_KEY_ID", err)
	}
}

// TestFromEnvironmentCABundle: with AWS_CA_BUNDLE, a client trusts the certificates of
// that file alone, as LoadDefaultConfig's does: it reaches an endpoint the bundle holds
// the certificate of, and refuses one whose certificate it does not hold.
func TestFromEnvironmentCABundle(t *testing.T) {
	const body = `{"TableNames":[]}`
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(server.Close)
	for _, tc := range []struct {
		name string
		cert []byte
		ok   bool
	}{
		{"the endpoint's certificate in the bundle", server.Certificate().Raw, true},
		{"another certificate in the bundle", selfSigned(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bundle := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.cert}), 0o600); err != nil {
				t.Fatal(err)
			}
			unsetAWSEnv(t)
			for k, v := range lambdaEnv {
				t.Setenv(k, v)
			}
			t.Setenv("AWS_CA_BUNDLE", bundle)
			t.Setenv("AWS_ENDPOINT_URL", server.URL)
			t.Setenv("AWS_MAX_ATTEMPTS", "1")
			cfg, err := awsconfig.FromEnvironment(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			_, err = dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{})
			if ok := err == nil; ok != tc.ok {
				t.Errorf("ListTables: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// selfSigned returns the DER of a fresh self-signed certificate for 127.0.0.1.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
