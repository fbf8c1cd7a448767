package dynamodb

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// permanentCodes are the DynamoDB error codes that no retry can pass: a request the
// table refuses (a wrong key schema, an empty key), a table that does not exist, a role
// that may not use it. Throttling (ProvisionedThroughputExceededException,
// ThrottlingException, RequestLimitExceeded), 5xx, network errors and timeouts are all
// transient, and so is any code not listed.
var permanentCodes = map[string]bool{
	"ValidationException":       true,
	"ResourceNotFoundException": true,
	"AccessDeniedException":     true,
	"AccessDenied":              true,
}

// classify marks err permanent when no retry can pass it, and returns any other error
// as it is, to be retried.
func classify(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && permanentCodes[apiErr.ErrorCode()] {
		return handlers.Permanent(err)
	}
	return err
}
