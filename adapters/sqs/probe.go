package sqs

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// ErrAccessDenied is wrapped by ProbeQueue's error when the role may not read the
// queue's attributes: a start-up check of a queue the pusher only sends to may take it
// as a warning, for sending needs no sqs:GetQueueAttributes.
var ErrAccessDenied = errors.New("access denied")

// AttributesAPI is the part of the SQS client ProbeQueue uses; *sqs.Client implements it.
type AttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// nonExistentQueue is the query code SQS sends along with QueueDoesNotExist, which a
// query-compatible client reports as the error's code ("Interpreting Amazon SQS JSON API
// responses", Amazon SQS Developer Guide,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
const nonExistentQueue = "AWS.SimpleQueueService.NonExistentQueue"

// ProbeQueue reads the ARN of the queue at url (GetQueueAttributes), once, without the
// SDK's retries, as a start-up check: nil when the queue answered. A queue that does not
// exist ("QueueDoesNotExist: Ensure that the QueueUrl is correct and that the queue has
// not been deleted", GetQueueAttributes, Errors, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html),
// an address SQS refuses, or a role that may not read it is a handlers.PermanentError,
// the last wrapping ErrAccessDenied too; the rest (throttling, 5xx, the network) is
// returned as it is.
func ProbeQueue(ctx context.Context, client AttributesAPI, url string) error {
	_, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	}, func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	if err == nil {
		return nil
	}
	var (
		apiErr  smithy.APIError
		noQueue *types.QueueDoesNotExist
		address *types.InvalidAddress
	)
	code, msg := "", ""
	if errors.As(err, &apiErr) {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	switch {
	case errors.As(err, &noQueue) || code == nonExistentQueue || code == "QueueDoesNotExist":
		return handlers.Permanent(fmt.Errorf("queue not found (%s)", code))
	case errors.As(err, &address) || code == "InvalidAddress":
		return handlers.Permanent(fmt.Errorf("not a queue's address (%s: %s)", code, msg))
	case code == "AccessDenied" || code == "AccessDeniedException":
		// IAM's refusal is no error of SQS's model: "AccessDenied" in the query code,
		// AccessDeniedException in the JSON type.
		return handlers.Permanent(fmt.Errorf("%w to sqs:GetQueueAttributes (%s: %s)", ErrAccessDenied, code, msg))
	case code != "":
		return fmt.Errorf("%s: %s", code, msg)
	}
	return err
}
