package dynamodb

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// oneAttempt makes a DynamoDB call a single attempt, with no retry by the SDK: the
// option of every call the pipeline makes, which the pipeline retries (see the package
// documentation).
func oneAttempt(o *ddb.Options) { o.Retryer = aws.NopRetryer{} }
