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
// an address SQS refuses, keys SQS does not take, or a role that may not read it is a
// handlers.PermanentError, the last wrapping ErrAccessDenied too; the rest (throttling,
// 5xx, the network) is returned as it is.
func ProbeQueue(ctx context.Context, client AttributesAPI, url string) error {
	_, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	}, func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	return probeError(err)
}

// wrongKeysCodes are SQS's answers to a request signed with keys it does not take, 403
// InvalidClientTokenId, "The X.509 certificate or AWS access key ID provided does not
// exist in our records", and SignatureDoesNotMatch, "The request signature we calculated
// does not match the signature you provided" (Common Errors, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
// A JSON answer without the query code (x-amzn-query-error) has their JSON types,
// UnrecognizedClientException and InvalidSignatureException, as DynamoDB's.
var wrongKeysCodes = map[string]bool{
	"InvalidClientTokenId":        true,
	"SignatureDoesNotMatch":       true,
	"UnrecognizedClientException": true,
	"InvalidSignatureException":   true,
}

// probeError says what the failure of ProbeQueue's call means.
func probeError(err error) error {
	if err == nil {
		return nil
	}
	var (
		apiErr    smithy.APIError
		noQueue   *types.QueueDoesNotExist
		address   *types.InvalidAddress
		retryable interface{ RetryableError() bool }
	)
	code, msg := "", ""
	if errors.As(err, &apiErr) {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	switch {
	case code != "" && errors.As(err, &retryable) && retryable.RetryableError():
		// The SDK marks a signature or access refused while the clock is off SQS's
		// (clock skew correction): its next call corrects the offset.
		return fmt.Errorf("%s: %s (the clock is off, corrected on the next call)", code, msg)
	case errors.As(err, &noQueue) || code == nonExistentQueue || code == "QueueDoesNotExist":
		return handlers.Permanent(fmt.Errorf("queue not found (%s)", code))
	case errors.As(err, &address) || code == "InvalidAddress":
		return handlers.Permanent(fmt.Errorf("not a queue's address (%s: %s)", code, msg))
	case wrongKeysCodes[code]:
		return handlers.Permanent(fmt.Errorf("the credentials' keys are wrong: SQS knows no such access key, or the secret key does not match it (%s: %s)", code, msg))
	case code == "AccessDenied" || code == "AccessDeniedException":
		// IAM's refusal is no error of SQS's model: "AccessDenied" in the query code,
		// AccessDeniedException in the JSON type.
		return handlers.Permanent(fmt.Errorf("%w to sqs:GetQueueAttributes (%s: %s)", ErrAccessDenied, code, msg))
	case code != "":
		return fmt.Errorf("%s: %s", code, msg)
	}
	return err
}
