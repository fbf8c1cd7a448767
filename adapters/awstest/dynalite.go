package awstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynaliteInstall is the command, run in the module root, that installs dynalite where
// Dynalite looks for it: the one that installs kinesalite, which names both, as
// `.ci/run` does.
const DynaliteInstall = KinesaliteInstall

// Dynalite starts dynalite, an in-memory DynamoDB emulator, until the test ends, and
// returns its endpoint URL, such as http://127.0.0.1:41234. It runs
// .ci/node_modules/dynalite/cli.js of the module root with node, or the script that the
// environment variable DYNALITE_CLI names. A test that misses either fails, naming the
// command that installs dynalite.
func Dynalite(t TB) string {
	t.Helper()
	node, cli := nodeCLI(t, "dynalite", "DYNALITE_CLI", DynaliteInstall)
	preload := filepath.Join(t.TempDir(), "dynalite-preload.js")
	if err := os.WriteFile(preload, []byte(dynalitePreload), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	// Tables leave the CREATING state after createTableMs; dynalite's 500ms default would
	// add half a second to every test that makes one.
	cmd := exec.Command(node, "--require", preload, cli,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--createTableMs", "10",
		"--deleteTableMs", "10",
		"--updateTableMs", "10",
	)
	Start(t, "dynalite", cmd, port)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// dynalitePreload keeps dynalite up when a client hangs up mid-request, as a client does
// whose context is cancelled. dynalite 4.0.0 throws a request's errors from its handler
// (req.on('error', function (err) { throw err })), so the "aborted" error of such a
// request would kill the process, and fail every later call of the test with
// "connection refused". DynamoDB shrugs it off; so does this.
const dynalitePreload = `process.on('uncaughtException', function (err) {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) return
  console.error(err)
  process.exit(1)
})
`

// DynamoDBClient returns a DynamoDB client of the emulator at endpoint, such as the one
// Dynalite returns, with the static test credentials of Config.
func DynamoDBClient(endpoint string) *ddb.Client {
	return ddb.NewFromConfig(Config(), func(o *ddb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// CreateConnectionsTable creates the connections table name as the pusher's template
// does: hash key user_id and range key connection_id, both strings, billed on demand. It
// returns once the table is ACTIVE.
func CreateConnectionsTable(t TB, client *ddb.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.CreateTable(ctx, &ddb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("user_id"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("connection_id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("user_id"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("connection_id"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	waitActive(ctx, t, client, name)
}

// SubscriptionsIndex is the name of the subscriptions table's index by connection, the
// pusher's default.
const SubscriptionsIndex = "by-connection"

// CreateSubscriptionsTable creates the topic subscriptions table name as deploy/'s
// example does: hash key topic and range key connection_id, both strings, and the global
// secondary index SubscriptionsIndex of hash key connection_id and range key topic,
// keys only, billed on demand. It returns once the table and its index are ACTIVE.
func CreateSubscriptionsTable(t TB, client *ddb.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.CreateTable(ctx, &ddb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("topic"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("connection_id"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("topic"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("connection_id"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(SubscriptionsIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("connection_id"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("topic"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	waitActive(ctx, t, client, name)
}

// waitActive returns once the table name and its global secondary indexes are ACTIVE.
func waitActive(ctx context.Context, t TB, client *ddb.Client, name string) {
	t.Helper()
	// The waiter's defaults poll every 20s at first, for tables that take minutes on AWS.
	waiter := ddb.NewTableExistsWaiter(client, func(o *ddb.TableExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	out, err := waiter.WaitForOutput(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second)
	if err != nil {
		t.Fatalf("wait for table %s to be ACTIVE: %v", name, err)
	}
	// The waiter looks at the table's status alone; an index may still be CREATING.
	for !indexesActive(out.Table) {
		select {
		case <-ctx.Done():
			t.Fatalf("wait for the indexes of table %s to be ACTIVE: %v", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		out, err = client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe table %s: %v", name, err)
		}
	}
}

func indexesActive(table *types.TableDescription) bool {
	for _, ix := range table.GlobalSecondaryIndexes {
		if ix.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}
