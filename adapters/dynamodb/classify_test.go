package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestClassify covers the error classes an emulator does not produce: throttling and
// denied access.
func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		permanent bool
	}{
		{err: &types.ProvisionedThroughputExceededException{}, permanent: false},
		{err: &types.ThrottlingException{}, permanent: false},
		{err: &types.RequestLimitExceeded{}, permanent: false},
		{err: &types.InternalServerError{}, permanent: false},
		{err: &smithy.GenericAPIError{Code: "ServiceUnavailable", Fault: smithy.FaultServer}, permanent: false},
		{err: context.DeadlineExceeded, permanent: false},
		{err: &types.ResourceNotFoundException{}, permanent: true},
		{err: &smithy.GenericAPIError{Code: "ValidationException"}, permanent: true},
		{err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, permanent: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T %v", tt.err, tt.err), func(t *testing.T) {
			err := classify(fmt.Errorf("call: %w", tt.err))
			if got := handlers.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v", got, tt.permanent)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("classify(%v) = %v, which does not wrap it", tt.err, err)
			}
		})
	}
}
