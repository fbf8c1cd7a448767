package awstest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestSQSFaults checks that the SDK's SQS client reads the calls to the failed queue as
// SQS's own errors, while the other queue works, and that the queue works once healed.
func TestSQSFaults(t *testing.T) {
	endpoint := GoAWS(t)
	direct := SQSClient(endpoint)
	poison := CreateQueue(t, direct, "poison", nil)
	other := CreateQueue(t, direct, "notifications", nil)
	f := NewSQSFaults(t, endpoint)
	client := sqs.NewFromConfig(Config(), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(f.URL)
		o.RetryMaxAttempts = 1 // see each answer, not the SDK's retries
	})
	send := func(queue string) error {
		_, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String("x")})
		return err
	}
	tests := []struct {
		fault  SQSFault
		code   string
		status int
	}{
		{SQSThrottled, "RequestThrottled", 403},
		{SQSUnavailable, "ServiceUnavailable", 503},
		{SQSInternalFailure, "InternalFailure", 500},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			f.FailQueue(poison, tt.fault)
			err := send(poison)
			if apiErr, ok := errors.AsType[smithy.APIError](err); !ok || apiErr.ErrorCode() != tt.code {
				t.Fatalf("SendMessage to the failed queue: %v, want %s", err, tt.code)
			}
			if resp, ok := errors.AsType[*smithyhttp.ResponseError](err); !ok || resp.HTTPStatusCode() != tt.status {
				t.Errorf("SendMessage to the failed queue: %v, want HTTP %d", err, tt.status)
			}
			if err := send(other); err != nil {
				t.Errorf("SendMessage to the other queue: %v", err)
			}
		})
	}
	f.FailQueue(poison, SQSThrottled)
	if err := send(poison); !errors.As(err, new(*types.RequestThrottled)) {
		t.Errorf("throttled SendMessage: %v, want a *types.RequestThrottled", err)
	}
	f.FailQueue("", "")
	if err := send(poison); err != nil {
		t.Fatalf("SendMessage once healed: %v", err)
	}
	if n := f.Failed(); n != 4 {
		t.Errorf("%d calls failed, want 4", n)
	}
}
