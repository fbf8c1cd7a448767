package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// ProbeKey is the key value the probes query: no connection, user or topic has it, so a
// probe reads nothing and costs the least a Query costs (0.5 read capacity unit).
const ProbeKey = "pusher-startup-check"

// Probe is one read a start-up check makes of a table the store needs.
type Probe struct {
	// Table is the table the probe reads, and Index its index, empty for the table itself.
	Table, Index string
	// Run makes the read once, without the SDK's retries: nil when the table (or index)
	// answered. A failure no retry passes (the table or index is not there, the role may
	// not read it, the key names are not the table's, DynamoDB does not take the
	// credentials' keys) is a handlers.PermanentError; the rest (throttling, 5xx, the
	// network, an index still backfilling) is returned as it is.
	Run func(ctx context.Context) error
}

// Probes returns the reads of what the store's work needs, on the tables of cfg: a Query
// of the connections table by its hash key, as a multicast makes it, and with a
// subscriptions table a Query of it by topic and one of its index by connection, as
// requests to topics and $disconnect make them. Each is the very call the store makes,
// with Limit 1 on ProbeKey, rather than a DescribeTable, so that a probe needs no
// permission the store does not (dynamodb:Query), and it fails as the store would: with
// ResourceNotFoundException for a table that does not exist, a ValidationException
// naming the index for an index that does not, and AccessDeniedException for a role
// without the grant (Query, Errors, Amazon DynamoDB API Reference,
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html).
func Probes(client API, cfg Config) ([]Probe, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dynamodb probes config: %w", err)
	}
	probes := []Probe{{Table: cfg.Table, Run: query(client, cfg.Table, "", cfg.UserKey)}}
	if cfg.SubscriptionsTable != "" {
		probes = append(probes,
			Probe{Table: cfg.SubscriptionsTable, Run: query(client, cfg.SubscriptionsTable, "", topicAttr)},
			Probe{Table: cfg.SubscriptionsTable, Index: cfg.SubscriptionsIndex, Run: query(client, cfg.SubscriptionsTable, cfg.SubscriptionsIndex, subConnAttr)})
	}
	return probes, nil
}

// query returns the probe that queries table (or its index) for key = ProbeKey.
func query(client API, table, index, key string) func(ctx context.Context) error {
	in := &ddb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": key},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: ProbeKey}},
		Limit:                     aws.Int32(1),
	}
	if index != "" {
		in.IndexName = aws.String(index)
	}
	return func(ctx context.Context) error {
		_, err := client.Query(ctx, in, oneAttempt)
		return probeError(err, index)
	}
}

// probeError says in a few words what a probe's failure means, keeping DynamoDB's code:
// the start-up check prints it after the setting it names.
func probeError(err error, index string) error {
	var (
		apiErr    smithy.APIError
		retryable interface{ RetryableError() bool }
	)
	if err == nil || !errors.As(err, &apiErr) {
		return err
	}
	code, msg := apiErr.ErrorCode(), apiErr.ErrorMessage()
	switch {
	case errors.As(err, &retryable) && retryable.RetryableError():
		// The SDK marks a signature or access refused while the clock is off DynamoDB's
		// (clock skew correction): its next call corrects the offset.
		return fmt.Errorf("%s: %s (the clock is off, corrected on the next call)", code, msg)
	case code == "ResourceNotFoundException":
		return handlers.Permanent(fmt.Errorf("table not found (%s)", code))
	case code == "ValidationException" && index != "" && strings.Contains(msg, "backfilling"):
		// "Cannot read from backfilling global secondary index: by-connection": an
		// index being added cannot be queried until its backfill ends, which takes
		// long on a large table (Adding a global secondary index to an existing table, Amazon
		// DynamoDB Developer Guide,
		// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.OnlineOps.html).
		// It will be there: pending, not refused.
		return fmt.Errorf("index %s is still backfilling, not readable yet (%s: %s)", index, code, msg)
	case code == "ValidationException" && index != "" && strings.Contains(msg, "index"):
		// "The table does not have the specified index: by-connection"
		return handlers.Permanent(fmt.Errorf("index %s not found (%s: %s)", index, code, msg))
	case code == "ValidationException":
		// Such as "Query condition missed key schema element: user_id": the table's
		// keys are not the configured ones.
		return handlers.Permanent(fmt.Errorf("the table refuses the store's query (%s: %s)", code, msg))
	case wrongKeysCodes[code]:
		return handlers.Permanent(fmt.Errorf("the credentials' keys are wrong: DynamoDB knows no such access key, or the secret key does not match it (%s: %s)", code, msg))
	case permanentCodes[code]:
		return handlers.Permanent(fmt.Errorf("access denied (%s: %s)", code, msg))
	}
	return fmt.Errorf("%s: %s", code, msg)
}

// wrongKeysCodes are DynamoDB's answers to a request signed with keys it does not take:
// UnrecognizedClientException, "The Access Key ID or security token is invalid", and
// InvalidSignatureException, "The request signature we calculated does not match the
// signature you provided" (Error handling with DynamoDB, Amazon DynamoDB Developer Guide,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
// No retry passes them; the one of a clock off DynamoDB's is told apart above.
var wrongKeysCodes = map[string]bool{
	"UnrecognizedClientException": true,
	"InvalidSignatureException":   true,
}
