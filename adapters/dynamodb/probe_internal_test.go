package dynamodb

import (
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestProbeError covers the answers to a probe that dynalite does not give: an index
// still backfilling is pending, not missing; keys DynamoDB does not take are refused,
// saying so.
func TestProbeError(t *testing.T) {
	tests := []struct {
		name, code, msg string
		skewed          bool   // marked retryable by the SDK, as a clock off DynamoDB's
		want            string // the error's start
		permanent       bool
	}{
		{"an index still backfilling", "ValidationException", "Cannot read from backfilling global secondary index: by-connection",
			false, "index by-connection is still backfilling, not readable yet", false},
		{"no such index", "ValidationException", "The table does not have the specified index: by-connection",
			false, "index by-connection not found", true},
		{"an unknown access key", "UnrecognizedClientException", "The Access Key ID or security token is invalid.",
			false, "the credentials' keys are wrong", true},
		{"a wrong secret key", "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.",
			false, "the credentials' keys are wrong", true},
		{"a clock off DynamoDB's", "InvalidSignatureException", "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z",
			true, "InvalidSignatureException: Signature expired", false},
		{"throttled", "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.",
			false, "ProvisionedThroughputExceededException: ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error = &smithy.GenericAPIError{Code: tc.code, Message: tc.msg}
			if tc.skewed {
				err = clockSkew{err}
			}
			err = probeError(err, "by-connection")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || handlers.IsPermanent(err) != tc.permanent {
				t.Errorf("probeError: %v (permanent %v), want one starting %q, permanent %v", err, handlers.IsPermanent(err), tc.want, tc.permanent)
			}
		})
	}
}

// clockSkew wraps an error as the SDK's retry middleware wraps a signature refused
// while the clock is off the service's (aws/retry: wrapAsClockSkew): retryable.
type clockSkew struct{ error }

func (e clockSkew) Unwrap() error        { return e.error }
func (e clockSkew) RetryableError() bool { return true }
