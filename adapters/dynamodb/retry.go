package dynamodb

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// oneAttempt makes a DynamoDB call a single attempt, with no retry by the SDK. It is the
// option of every call the pipeline makes: Query, Scan, BatchWriteItem and the
// conditional DeleteItem of a prune.
//
// A DynamoDB call is retried in one place only; for these calls that place is the
// pipeline. It retries every transient error of a stage anyway, with exponential
// backoff and jitter, counts the attempts in the message's metadata, parks the message
// with its reason after the last one, and resumes a broadcast's scan from its cursor
// rather than from the start. Retrying in the SDK too multiplied the attempts (a
// throttled Query went out up to 15 times: the SDK's 3 in each of the pipeline's 5; a
// batch delete up to 6 times more for its unprocessed items), kept throttling out of the
// pipeline's counts and logs, and stretched a request far past what its retry settings
// say. So these calls fail fast: a throttled call is a transient error for the pipeline
// to back off from, and a batch delete leaves what DynamoDB did not process to the
// pipeline's retries of the prunes that hold it.
//
// AddConnection and RemoveConnection are not pipeline calls. The $connect and
// $disconnect routes (the Lambda function, `pusher gateway`) make them once, with
// nothing above them to try again, and a $connect row lost to a throttle is a client
// that receives nothing. They keep the client's own retryer: the SDK's standard one (3
// attempts with backoff), or what AWS_MAX_ATTEMPTS and AWS_RETRY_MODE make it.
func oneAttempt(o *ddb.Options) { o.Retryer = aws.NopRetryer{} }
