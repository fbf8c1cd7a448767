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

	"github.com/apigw-pusher/apigw-pusher/adapters/internal/awstest"
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
	conn, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: dynalite\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // for dynalite to start reading the body
	conn.Close()
	time.Sleep(50 * time.Millisecond) // for dynalite to see the hang-up

	client := awstest.DynamoDBClient(endpoint)
	if _, err := client.ListTables(t.Context(), &ddb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables after an aborted request: %v", err)
	}
}
