package onaws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// DefaultChecksTimeout bounds a round of start-up checks, the credentials and every
// probe after them: a few seconds, within the 10 s of a Lambda function's init. Where
// no credentials are configured, the SDK's chain ends at the instance metadata
// endpoint, whose client tries 3 times, with backoff, for IMDSv2's token and again
// for IMDSv1: about 4 s before it says none were found, even when each connection is
// refused at once. The bound leaves that answer room, so that it is a refusal and not
// a pending check.
const DefaultChecksTimeout = 8 * time.Second

// Check is one start-up check: a call of what a first request needs.
type Check struct {
	// Setting is what the check's line names first: the setting and its value, such as
	// CONNECTIONS_TABLE_NAME=nope.
	Setting string
	// Probe makes the call: nil when it passed; a handlers.PermanentError when no
	// retry can pass it; any other error is transient.
	Probe func(ctx context.Context) error
	// Tolerate, if set, reports a failure that is only a warning: the refusal of a call
	// the probe makes and the pusher does not, such as reading a queue it only sends to.
	Tolerate func(error) bool
}

// Failure is a check that failed.
type Failure struct {
	// Setting is the check's.
	Setting string
	// Err is the cause.
	Err error
	// Permanent is a failure no retry passes: not found, access denied, no credentials.
	Permanent bool
	// Warning is a failure the check tolerates (Check.Tolerate): logged, not refused.
	Warning bool
}

// String returns the failure as its one line: the setting, then the cause.
func (f Failure) String() string {
	return f.Setting + ": " + strings.Join(strings.Fields(f.Err.Error()), " ")
}

// Report is what a round of checks found: its failures, in the order of the checks.
type Report []Failure

// Refused returns the permanent failures that are no warnings: start-up stops.
func (r Report) Refused() Report {
	return r.filter(func(f Failure) bool { return f.Permanent && !f.Warning })
}

// Pending returns the transient failures that are no warnings: start-up waits.
func (r Report) Pending() Report {
	return r.filter(func(f Failure) bool { return !f.Permanent && !f.Warning })
}

// Warnings returns the failures that are only warnings.
func (r Report) Warnings() Report { return r.filter(func(f Failure) bool { return f.Warning }) }

func (r Report) filter(keep func(Failure) bool) Report {
	var out Report
	for _, f := range r {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Lines returns the failures' lines, one a failure.
func (r Report) Lines() string {
	lines := make([]string, len(r))
	for i, f := range r {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns the refusals as one error of a line each, nil if there is none.
func (r Report) Err() error {
	refused := r.Refused()
	if len(refused) == 0 {
		return nil
	}
	return errors.New(refused.Lines())
}

// Log logs each failure of r on one line, with the check's setting and its cause (never
// a payload: there is none), at error level for a refusal, warn otherwise.
func (r Report) Log(logger *slog.Logger) {
	for _, f := range r {
		level := slog.LevelWarn
		if f.Permanent && !f.Warning {
			level = slog.LevelError
		}
		logger.Log(context.Background(), level, "start-up check failed", "check", f.Setting,
			"permanent", f.Permanent, "warning", f.Warning, "error", strings.Join(strings.Fields(f.Err.Error()), " "))
	}
}

// Checks are the start-up checks of a mode on AWS: what a first request needs, checked
// before the mode takes one, so that a setting that cannot work stops start-up with one
// line naming it rather than parking every request.
//
// A round first retrieves the credentials, which every other call signs with: without
// them each probe would fail with the same cause, and their line alone is clearer. Then
// the probes run at once, each one call without the SDK's retries: a Query with Limit 1
// of each table and index the store reads (package dynamodb's Probes), GetQueueAttributes
// of each queue (sqs.ProbeQueue), a post of an empty frame to a made-up connection
// through the Management API poster (apigw.Poster.Probe). Each is the call the pusher
// makes, or the least of one, so the checks need no permission the pusher does not,
// but for the poison queue's GetQueueAttributes, whose refusal is only a warning. The
// round is bounded by a timeout, DefaultChecksTimeout.
//
// What a failure means is the probe's: permanent for what no retry passes (not found,
// access denied, no credentials, a wrong endpoint), transient for the rest (timeouts,
// 5xx, throttling). The mode decides what to do with each (see Report): `pusher serve`
// stops on a refusal and waits, unready, while a check is pending; the Lambda function
// ends its init on a refusal and goes on after a pending one.
type Checks struct {
	credentials aws.CredentialsProvider
	checks      []Check
	timeout     time.Duration
}

// NewChecks returns the checks of what cfg names, with the credentials and clients of
// awsCfg: the credentials; the connections table and, with topics, the subscriptions
// table and its index, unless the team brings its store; the Management API endpoint,
// unless the team brings its poster; the poison queue. A mode adds its own (Add). It
// makes no network call.
func NewChecks(cfg Config, awsCfg aws.Config, opts []custom.Option) (*Checks, error) {
	c := &Checks{credentials: awsCfg.Credentials, timeout: DefaultChecksTimeout}
	o := team.Resolve(opts)
	if o.Store == nil {
		probes, err := dynamodb.Probes(NewDynamoDBClient(awsCfg), cfg.Table)
		if err != nil {
			return nil, fmt.Errorf("start-up checks: %w", err)
		}
		for _, p := range probes {
			setting := "CONNECTIONS_TABLE_NAME=" + p.Table
			if p.Table != cfg.Table.Table {
				setting = "SUBSCRIPTIONS_TABLE_NAME=" + p.Table
			}
			c.Add(Check{Setting: setting, Probe: inRegion(p.Run, awsCfg.Region)})
		}
	}
	if o.Poster == nil {
		poster, err := apigw.New(awsCfg, apigw.Config{Endpoint: cfg.APIGWEndpoint, MaxConns: 1})
		if err != nil {
			return nil, fmt.Errorf("start-up checks: %w", err)
		}
		c.Add(Check{Setting: "APIGW_ENDPOINT=" + cfg.APIGWEndpoint, Probe: poster.Probe})
	}
	c.Add(QueueCheck(awsCfg, "POISON_QUEUE_URL", cfg.PoisonQueueURL, true))
	return c, nil
}

// QueueCheck returns the check of the SQS queue at url, which the setting env names: it
// exists and its attributes can be read. With attributesOptional, the pusher works
// without sqs:GetQueueAttributes on the queue (it only sends to it, or reads its
// attributes only for a default): a refusal of the probe is a warning.
func QueueCheck(awsCfg aws.Config, env, url string, attributesOptional bool) Check {
	client := awssqs.NewFromConfig(awsCfg)
	check := Check{Setting: env + "=" + url, Probe: func(ctx context.Context) error { return sqs.ProbeQueue(ctx, client, url) }}
	if attributesOptional {
		check.Tolerate = func(err error) bool { return errors.Is(err, sqs.ErrAccessDenied) }
	}
	return check
}

// inRegion says in which region a table was not found, where a table of that name may
// well be in another.
func inRegion(probe func(context.Context) error, region string) func(context.Context) error {
	return func(ctx context.Context) error {
		err := probe(ctx)
		if handlers.IsPermanent(err) {
			return handlers.Permanent(fmt.Errorf("%w in %s", err, region))
		}
		return err
	}
}

// Add adds checks to c.
func (c *Checks) Add(checks ...Check) { c.checks = append(c.checks, checks...) }

// Run runs a round of the checks and returns what failed.
func (c *Checks) Run(ctx context.Context) Report {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if f, ok := c.retrieveCredentials(ctx); !ok {
		return Report{f}
	}
	failures := make([]*Failure, len(c.checks))
	var wg sync.WaitGroup
	for i, check := range c.checks {
		wg.Go(func() {
			err := check.Probe(ctx)
			if err == nil {
				return
			}
			if ctx.Err() != nil && !handlers.IsPermanent(err) {
				err = fmt.Errorf("no answer within %s: %w", c.timeout, err)
			}
			failures[i] = &Failure{Setting: check.Setting, Err: err, Permanent: handlers.IsPermanent(err),
				Warning: check.Tolerate != nil && check.Tolerate(err)}
		})
	}
	wg.Wait()
	var report Report
	for _, f := range failures {
		if f != nil {
			report = append(report, *f)
		}
	}
	return report
}

// retrieveCredentials retrieves the credentials every call signs with. A failure that
// a retry may pass is pending (see credentialsTransient): a fleet restarting while the
// instance metadata throttles, STS hiccups or the container's credentials endpoint
// restarts must wait, not exit. The rest is refused: no source of credentials at all
// (none in the environment or shared files, and no instance metadata endpoint, or one
// with no role), or a source's own refusal, such as STS's AccessDenied.
func (c *Checks) retrieveCredentials(ctx context.Context) (Failure, bool) {
	if c.credentials == nil || aws.IsCredentialsProvider(c.credentials, (*aws.AnonymousCredentials)(nil)) {
		return Failure{}, true
	}
	_, err := c.credentials.Retrieve(ctx)
	switch {
	case err == nil:
		return Failure{}, true
	case ctx.Err() != nil || credentialsTransient(err):
		return Failure{Setting: "credentials", Err: fmt.Errorf("not retrieved: %w", err)}, false
	case noCredentialsSource(err):
		return Failure{Setting: "credentials", Permanent: true, Err: fmt.Errorf(
			"none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role (an ECS task role, an EC2 instance profile) (%w)", err)}, false
	}
	return Failure{Setting: "credentials", Permanent: true, Err: fmt.Errorf("not retrieved: %w", err)}, false
}

// credentialsTransientCodes are the codes of a credentials service's answer that a
// retry may pass besides the SDK's throttling codes (retry.DefaultThrottleErrorCodes,
// which hold STS's Throttling): STS's IDPCommunicationError, "the identity provider
// could not be reached ... retry the request a limited number of times", and
// InvalidIdentityToken, which AssumeRoleWithWebIdentity may answer while the provider's
// keys are fetched and which the SDK's web identity provider retries itself
// (AssumeRoleWithWebIdentity, Errors, AWS STS API Reference,
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html;
// aws-sdk-go-v2 credentials/stscreds/web_identity_provider.go).
var credentialsTransientCodes = map[string]bool{
	"IDPCommunicationError": true,
	"InvalidIdentityToken":  true,
}

// credentialsTransient reports whether a retry of retrieving the credentials may pass
// where err failed: a 429 or 5xx of the endpoint that hands them out (instance metadata,
// a container's endpoint, STS), a throttling code, one of credentialsTransientCodes, or
// a connection that failed, but to the instance metadata endpoint, which the SDK's chain
// tries last when nothing else is configured: no connection there means no source here
// (noCredentialsSource).
func credentialsTransient(err error) bool {
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		status := resp.HTTPStatusCode()
		return status == http.StatusTooManyRequests || status >= 500 || transientCode(err)
	}
	if transientCode(err) {
		return true
	}
	if fromInstanceMetadata(err) && isDialError(err) {
		return false
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// transientCode reports whether err is an API error of a code a retry may pass.
func transientCode(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	_, throttled := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]
	return throttled || credentialsTransientCodes[apiErr.ErrorCode()]
}

// noCredentialsSource reports whether err says that no source of credentials is
// configured. aws-sdk-go-v2 has no error of its own for that: with no keys, profile,
// web identity or container endpoint, its chain ends at the instance metadata endpoint
// (IMDS), so no connection to it (no IMDS, as off EC2) or its 404 (an instance without a
// role) is that case.
func noCredentialsSource(err error) bool {
	var resp *smithyhttp.ResponseError
	return fromInstanceMetadata(err) && (isDialError(err) || (errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound))
}

// fromInstanceMetadata reports whether err is the failure of a call to the instance
// metadata endpoint (the SDK's client of service ID ec2imds).
func fromInstanceMetadata(err error) bool {
	var op *smithy.OperationError
	return errors.As(err, &op) && op.ServiceID == "ec2imds"
}

// isDialError reports whether err is a connection that could not be made: refused, no
// route, or the dial's own timeout.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
