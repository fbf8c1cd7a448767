package awstest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestDynamoDBFaults checks that the SDK's DynamoDB client, checksums and all, reads a
// throttled call as DynamoDB's own throttling error, and that calls pass once it is off.
func TestDynamoDBFaults(t *testing.T) {
	dyn := Dynalite(t)
	CreateConnectionsTable(t, DynamoDBClient(dyn), "connections")
	f := NewDynamoDBFaults(t, dyn)
	client := ddb.NewFromConfig(Config(), func(o *ddb.Options) {
		o.BaseEndpoint = aws.String(f.URL)
		o.RetryMaxAttempts = 1 // see each answer, not the SDK's retries
	})
	query := func() error {
		_, err := client.Query(t.Context(), &ddb.QueryInput{
			TableName:                 aws.String("connections"),
			KeyConditionExpression:    aws.String("user_id = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: "alice"}},
		})
		return err
	}
	tests := []struct {
		name string
		code string
		is   func(error) bool
	}{
		{name: "provisioned throughput", code: ProvisionedThroughputExceeded, is: func(err error) bool {
			_, ok := errors.AsType[*types.ProvisionedThroughputExceededException](err)
			return ok
		}},
		{name: "throttling", code: ThrottlingException, is: func(err error) bool {
			_, ok := errors.AsType[*types.ThrottlingException](err)
			return ok
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Throttle(1, tt.code)
			err := query()
			if !tt.is(err) {
				t.Fatalf("throttled Query: %v, want a %s", err, tt.code)
			}
			if resp, ok := errors.AsType[*smithyhttp.ResponseError](err); !ok || resp.HTTPStatusCode() != 400 {
				t.Errorf("throttled Query: %v, want HTTP 400", err)
			}
		})
	}
	f.Throttle(0, "")
	if err := query(); err != nil {
		t.Fatalf("Query with throttling off: %v", err)
	}
	if calls, throttled := f.Counts(); calls != 3 || throttled != 2 {
		t.Errorf("counts %d calls, %d throttled; want 3, 2", calls, throttled)
	}
}
