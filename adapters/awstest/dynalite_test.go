package awstest_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

func TestDynaliteCreatesConnectionsTable(t *testing.T) {
	client := awstest.DynamoDBClient(awstest.Dynalite(t))
	awstest.CreateConnectionsTable(t, client, "connections")

	out, err := client.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String("connections")})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	table := out.Table
	if table.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s, want ACTIVE", table.TableStatus)
	}
	if got := table.BillingModeSummary; got == nil || got.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", got)
	}
	want := []types.KeySchemaElement{
		{AttributeName: aws.String("user_id"), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String("connection_id"), KeyType: types.KeyTypeRange},
	}
	if len(table.KeySchema) != len(want) {
		t.Fatalf("key schema = %d elements, want %d", len(table.KeySchema), len(want))
	}
	for i, k := range table.KeySchema {
		if aws.ToString(k.AttributeName) != aws.ToString(want[i].AttributeName) || k.KeyType != want[i].KeyType {
			t.Errorf("key %d = %s %s, want %s %s", i, aws.ToString(k.AttributeName), k.KeyType,
				aws.ToString(want[i].AttributeName), want[i].KeyType)
		}
	}
}

// TestDynaliteSurvivesAbortedRequests hangs up in the middle of a request, as a client
// does whose context is cancelled: dynalite 4.0.0 alone dies of it.
func TestDynaliteSurvivesAbortedRequests(t *testing.T) {
	endpoint := awstest.Dynalite(t)
	hangUpMidRequest(t, endpoint, "application/x-amz-json-1.0", "DynamoDB_20120810.ListTables")

	client := awstest.DynamoDBClient(endpoint)
	if _, err := client.ListTables(t.Context(), &ddb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables after an aborted request: %v", err)
	}
}

// TestDynaliteCreatesSubscriptionsTable creates the subscriptions table and reads a row
// back through its index, as the store does, and checks that dynalite refuses a
// strongly consistent read of the index, as DynamoDB does ("All reads from GSIs and
// streams are eventually consistent":
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html).
func TestDynaliteCreatesSubscriptionsTable(t *testing.T) {
	client := awstest.DynamoDBClient(awstest.Dynalite(t))
	awstest.CreateSubscriptionsTable(t, client, "subscriptions")

	out, err := client.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String("subscriptions")})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	table := out.Table
	if got := keySchema(table.KeySchema); got != "topic HASH, connection_id RANGE" {
		t.Errorf("key schema = %s", got)
	}
	if len(table.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("%d global secondary indexes, want 1", len(table.GlobalSecondaryIndexes))
	}
	ix := table.GlobalSecondaryIndexes[0]
	if name := aws.ToString(ix.IndexName); name != awstest.SubscriptionsIndex {
		t.Errorf("index %q, want %q", name, awstest.SubscriptionsIndex)
	}
	if got := keySchema(ix.KeySchema); got != "connection_id HASH, topic RANGE" {
		t.Errorf("index key schema = %s", got)
	}
	if ix.Projection == nil || ix.Projection.ProjectionType != types.ProjectionTypeKeysOnly {
		t.Errorf("index projection = %+v, want KEYS_ONLY", ix.Projection)
	}
	if ix.IndexStatus != types.IndexStatusActive {
		t.Errorf("index status = %s, want ACTIVE", ix.IndexStatus)
	}

	_, err = client.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String("subscriptions"), Item: map[string]types.AttributeValue{
		"topic":         &types.AttributeValueMemberS{Value: "order-1"},
		"connection_id": &types.AttributeValueMemberS{Value: "c1"},
		"user_id":       &types.AttributeValueMemberS{Value: "alice"},
	}})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	query := func(consistent bool) (*ddb.QueryOutput, error) {
		return client.Query(t.Context(), &ddb.QueryInput{
			TableName:                 aws.String("subscriptions"),
			IndexName:                 aws.String(awstest.SubscriptionsIndex),
			KeyConditionExpression:    aws.String("connection_id = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: "c1"}},
			ConsistentRead:            aws.Bool(consistent),
		})
	}
	res, err := query(false)
	if err != nil {
		t.Fatalf("Query of the index: %v", err)
	}
	if len(res.Items) != 1 {
		t.Fatalf("the index holds %d rows of c1, want 1", len(res.Items))
	}
	if _, ok := res.Items[0]["user_id"]; ok {
		t.Errorf("a keys-only index projects user_id: %v", res.Items[0])
	}
	if _, err := query(true); err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("a strongly consistent Query of the index = %v, want a ValidationException", err)
	}
}

func keySchema(ks []types.KeySchemaElement) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return strings.Join(parts, ", ")
}

// hangUpMidRequest sends the head of a request of target to the emulator at endpoint and
// a byte of its body, then hangs up, as a client does whose context is cancelled.
func hangUpMidRequest(t *testing.T, endpoint, contentType, target string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: emulator\r\nContent-Type: %s\r\n"+
		"X-Amz-Target: %s\r\nContent-Length: 100\r\n\r\n{", contentType, target)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // for the emulator to start reading the body
	conn.Close()
	time.Sleep(50 * time.Millisecond) // for the emulator to see the hang-up
}
