package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// service is one of the two services a Store calls, and its one operation.
type service struct {
	// id is the SDK's ServiceID, which its errors and per-service endpoint settings
	// name: "Secrets Manager" reads AWS_ENDPOINT_URL_SECRETS_MANAGER.
	id string
	// endpointEnv is the per-service endpoint variable of id.
	endpointEnv string
	// name is the endpoint prefix and the SigV4 signing name.
	name      string
	operation string
	target    string // X-Amz-Target
}

var (
	secretsManager = service{
		id: "Secrets Manager", endpointEnv: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
		name: "secretsmanager", operation: "GetSecretValue", target: "secretsmanager.GetSecretValue",
	}
	parameterStore = service{
		id: "SSM", endpointEnv: "AWS_ENDPOINT_URL_SSM",
		name: "ssm", operation: "GetParameter", target: "AmazonSSM.GetParameter",
	}
)

// maxBody bounds what is read of an answer: a secret is at most 64 KiB, a parameter
// 8 KiB.
const maxBody = 1 << 20

// skewThreshold is how far the service's clock, as its Date header shows it, must be
// from the signing time for a failed call to be put down to the clock and retried with
// it: aws-sdk-go-v2's (aws/retry: skewThreshold).
const skewThreshold = 4 * time.Minute

// newRetryer returns the retryer a client NewFromConfig(cfg) makes: cfg.Retryer, else
// the standard or adaptive retryer of cfg.RetryMode, with cfg.RetryMaxAttempts.
func newRetryer(cfg aws.Config) aws.RetryerV2 {
	var r aws.Retryer
	switch {
	case cfg.Retryer != nil:
		r = cfg.Retryer()
	case cfg.RetryMode == aws.RetryModeAdaptive:
		r = retry.NewAdaptiveMode()
	default:
		r = retry.NewStandard()
	}
	if cfg.RetryMaxAttempts != 0 {
		r = retry.AddWithMaxAttempts(r, cfg.RetryMaxAttempts)
	}
	if v2, ok := r.(aws.RetryerV2); ok {
		return v2
	}
	return retryerV2{r}
}

// retryerV2 is an aws.Retryer as an aws.RetryerV2, as the SDK wraps one.
type retryerV2 struct{ aws.Retryer }

func (r retryerV2) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}

// call makes the operation of svc with in as its JSON body and decodes the answer into
// out, retrying as the SDK's retry middleware does. Its error is an operation error as
// the SDK's clients return.
func (s *Store) call(ctx context.Context, svc service, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return svc.error(&smithy.SerializationError{Err: err})
	}
	endpoint, err := s.endpoint(ctx, svc)
	if err != nil {
		return svc.error(err)
	}
	maxAttempts := s.retryer.MaxAttempts()
	releaseRetryToken := func(error) error { return nil }
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return svc.error(err)
		}
		releaseAttemptToken, err := s.retryer.GetAttemptToken(ctx)
		if err != nil {
			return svc.error(fmt.Errorf("failed to get retry Send token, %w", err))
		}
		err = s.send(ctx, svc, endpoint, body, out)
		_ = releaseRetryToken(err)
		_ = releaseAttemptToken(err)
		if err == nil {
			return nil
		}
		if !s.retryer.IsErrorRetryable(err) {
			return svc.error(err)
		}
		if maxAttempts > 0 && attempt >= maxAttempts {
			return svc.error(&retry.MaxAttemptsError{Attempt: attempt, Err: err})
		}
		var tokenErr error
		releaseRetryToken, tokenErr = s.retryer.GetRetryToken(ctx, err)
		if tokenErr != nil {
			return svc.error(errors.Join(err, tokenErr))
		}
		delay, err := s.retryer.RetryDelay(attempt, err)
		if err != nil {
			return svc.error(err)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return svc.error(&aws.RequestCanceledError{Err: ctx.Err()})
		case <-timer.C:
		}
	}
}

// send makes one attempt of the operation: a POST of body to endpoint, signed with
// SigV4 for the service and the Region (a pseudo-region such as fips-us-east-1 too, as
// the SDK signs it).
func (s *Store) send(ctx context.Context, svc service, endpoint string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &smithy.SerializationError{Err: err}
	}
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", svc.target)
	skew := time.Duration(s.skew.Load())
	signedAt := time.Now().Add(skew)
	if s.cfg.Credentials == nil {
		return errors.New("no AWS credentials in the configuration")
	}
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("failed to retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := s.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc.name, s.cfg.Region, signedAt); err != nil {
		return fmt.Errorf("failed to sign request: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		err := responseError(resp, data)
		if !s.cfg.DisableClockSkewCorrection {
			err = s.correctClock(err, resp.Header.Get("Date"), signedAt, skew)
		}
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &smithy.DeserializationError{Err: err, Snapshot: data}
	}
	return nil
}

// responseError is the error of an answer of status 300 or more, as the SDK's AWS JSON
// 1.1 deserializer makes it: the code of the X-Amzn-ErrorType header, else the body's
// __type or code, sanitized ("aws.protocoltests#Code:http://..." is Code); the body's
// message, whichever its case.
func responseError(resp *http.Response, data []byte) error {
	var info struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(data, &info)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = info.Type
	}
	if code == "" {
		code = info.Code
	}
	if code = sanitizeErrorCode(code); code == "" {
		code = "UnknownError"
	}
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: resp},
			Err:      &smithy.GenericAPIError{Code: code, Message: info.Message},
		},
		RequestID: resp.Header.Get("X-Amzn-RequestId"),
	}
}

func sanitizeErrorCode(code string) string {
	code, _, _ = strings.Cut(code, ":")
	if _, after, ok := strings.Cut(code, "#"); ok {
		code = after
	}
	return code
}

// correctClock learns the service's clock from the Date of a failed answer: if it is
// more than skewThreshold from the time the call was signed with, the Store signs with
// it from then on and the call is retryable, as the SDK's retryer corrects a skew.
func (s *Store) correctClock(err error, date string, signedAt time.Time, skew time.Duration) error {
	server, perr := http.ParseTime(date)
	if perr != nil {
		return err
	}
	if d := server.Sub(signedAt); d > -skewThreshold && d < skewThreshold {
		return err
	}
	s.skew.Store(int64(server.Sub(signedAt.Add(-skew))))
	return clockSkewError{err}
}

// clockSkewError is a failed call the clock explains: the retryer retries it.
type clockSkewError struct{ error }

func (e clockSkewError) Unwrap() error        { return e.error }
func (e clockSkewError) RetryableError() bool { return true }

// error returns err as the SDK's clients return an operation's error.
func (svc service) error(err error) error {
	return &smithy.OperationError{ServiceID: svc.id, OperationName: svc.operation, Err: err}
}

// endpoint returns the URL the Store calls for svc, resolved as a client
// NewFromConfig(cfg) resolves it: the per-service endpoint of the
// configuration (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM or a profile's
// services section), else cfg.BaseEndpoint (AWS_ENDPOINT_URL), else the service's
// endpoint in the Region's partition, FIPS or dual-stack as the configuration asks (or
// FIPS for a pseudo-region such as fips-us-east-1).
func (s *Store) endpoint(ctx context.Context, svc service) (string, error) {
	base := aws.ToString(s.cfg.BaseEndpoint)
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv(svc.endpointEnv)
	if (!global || own) && !s.ignoreConfiguredEndpoints(ctx) {
		for _, src := range s.cfg.ConfigSources {
			if p, ok := src.(interface {
				GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
			}); ok {
				v, found, err := p.GetServiceBaseEndpoint(ctx, svc.id)
				if err == nil && found {
					base = v
				}
				if err != nil || found {
					break
				}
			}
		}
	}
	fips, dualStack := s.endpointVariants(ctx)
	region := s.cfg.Region
	if r := strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(region, "-fips-", "-"), "fips-", ""), "-fips", ""); r != region {
		region, fips = r, true
	}
	if base != "" {
		switch {
		case fips:
			return "", errors.New("Invalid Configuration: FIPS and custom endpoint are not supported")
		case dualStack:
			return "", errors.New("Invalid Configuration: Dualstack and custom endpoint are not supported")
		}
		return base, nil
	}
	if region == "" {
		return "", errors.New("Invalid Configuration: Missing Region")
	}
	return serviceEndpoint(svc.name, region, fips, dualStack), nil
}

// ignoreConfiguredEndpoints reports whether the configuration says to ignore its
// endpoints (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or a profile's
// ignore_configured_endpoint_urls), the first source that says winning.
func (s *Store) ignoreConfiguredEndpoints(ctx context.Context) bool {
	for _, src := range s.cfg.ConfigSources {
		if p, ok := src.(interface {
			GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
		}); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(ctx); err != nil || found {
				return found && v
			}
		}
	}
	return false
}

// endpointVariants returns whether the configuration asks for FIPS and dual-stack
// endpoints (AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, or a profile's
// use_fips_endpoint, use_dualstack_endpoint), the first source that says winning.
func (s *Store) endpointVariants(ctx context.Context) (fips, dualStack bool) {
	var fipsFound, dualStackFound bool
	for _, src := range s.cfg.ConfigSources {
		if p, ok := src.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		}); ok && !fipsFound {
			if v, found, err := p.GetUseFIPSEndpoint(ctx); err == nil && found {
				fips, fipsFound = v == aws.FIPSEndpointStateEnabled, true
			}
		}
		if p, ok := src.(interface {
			GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
		}); ok && !dualStackFound {
			if v, found, err := p.GetUseDualStackEndpoint(ctx); err == nil && found {
				dualStack, dualStackFound = v == aws.DualStackEndpointStateEnabled, true
			}
		}
	}
	return fips, dualStack
}

// partition is the DNS of an AWS partition's endpoints.
type partition struct {
	id, dnsSuffix, dualStackDNSSuffix string
}

// partitions are the partitions of aws-sdk-go-v2's endpoint rules (partitions.json), by
// the prefix of their regions' names; a region of none is in aws, as the rules have it.
var partitions = []struct {
	regionPrefix string
	partition
}{
	{"cn-", partition{"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"}},
	{"us-gov-", partition{"aws-us-gov", "amazonaws.com", "api.aws"}},
	{"us-iso-", partition{"aws-iso", "c2s.ic.gov", "api.aws.ic.gov"}},
	{"us-isob-", partition{"aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud"}},
	{"eu-isoe-", partition{"aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"}},
	{"us-isof-", partition{"aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov"}},
	{"eusc-", partition{"aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu"}},
}

var awsPartition = partition{"aws", "amazonaws.com", "api.aws"}

func partitionOf(region string) partition {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.regionPrefix) {
			return p.partition
		}
	}
	return awsPartition
}

// serviceEndpoint returns the endpoint of the service name in region, as the SDK's
// endpoint rules for Secrets Manager and SSM resolve it (TestServiceEndpoint compares
// them for every region): https://NAME[-fips].REGION.DNS, where DNS is the partition's
// dual-stack suffix for a dual-stack endpoint. The services' rules make two exceptions:
// Secrets Manager's endpoints in aws and aws-us-gov, and its non-FIPS endpoints in
// aws-cn, are dual-stack under their usual names; SSM's FIPS endpoints in aws-us-gov,
// but dual-stack ones, are its usual ones.
func serviceEndpoint(name, region string, fips, dualStack bool) string {
	p := partitionOf(region)
	switch {
	case name == "secretsmanager" && dualStack && (p.id == "aws" || p.id == "aws-us-gov" || p.id == "aws-cn" && !fips):
		dualStack = false
	case name == "ssm" && fips && !dualStack && p.id == "aws-us-gov":
		fips = false
	}
	host, dns := name, p.dnsSuffix
	if fips {
		host += "-fips"
	}
	if dualStack {
		dns = p.dualStackDNSSuffix
	}
	return "https://" + host + "." + region + "." + dns
}
