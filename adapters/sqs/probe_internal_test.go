package sqs

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestProbeError covers the answers to ProbeQueue that goaws does not give: keys SQS
// does not take are refused, saying so, but for a signature refused while the clock is
// off SQS's, which the SDK corrects on its next call.
func TestProbeError(t *testing.T) {
	tests := []struct {
		name, code, msg string
		skewed          bool   // marked retryable by the SDK, as a clock off SQS's
		want            string // the error's start
		permanent       bool
	}{
		{"an unknown access key", "InvalidClientTokenId", "The security token included in the request is invalid.",
			false, "the credentials' keys are wrong", true},
		{"a wrong secret key", "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.",
			false, "the credentials' keys are wrong", true},
		{"a clock off SQS's", "SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z",
			true, "SignatureDoesNotMatch: Signature expired", false},
		{"access denied", "AccessDenied", "User is not authorized to perform: sqs:getqueueattributes",
			false, "access denied to sqs:GetQueueAttributes", true},
		{"throttled", "RequestThrottled", "Request is throttled.", false, "RequestThrottled: ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error = &smithy.GenericAPIError{Code: tc.code, Message: tc.msg}
			if tc.skewed {
				err = clockSkew{err}
			}
			err = probeError(err)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || handlers.IsPermanent(err) != tc.permanent {
				t.Errorf("probeError: %v (permanent %v), want one starting %q, permanent %v", err, handlers.IsPermanent(err), tc.want, tc.permanent)
			}
			if denied := errors.Is(err, ErrAccessDenied); denied != (tc.code == "AccessDenied") {
				t.Errorf("probeError: %v: ErrAccessDenied %v", err, denied)
			}
		})
	}
}

// clockSkew wraps an error as the SDK's retry middleware wraps a signature refused
// while the clock is off the service's (aws/retry: wrapAsClockSkew): retryable.
type clockSkew struct{ error }

func (e clockSkew) Unwrap() error        { return e.error }
func (e clockSkew) RetryableError() bool { return true }
