// Package stacktest stands up, for end-to-end tests of the commands, the whole stack on
// the emulators of adapters/awstest: the tables, queues and topic made on goaws and
// dynalite, `pusher gateway` for API Gateway with live WebSocket clients, a faults proxy
// in front of the gateway's Management API that can fail posts on purpose, and built
// pusher processes to start, signal and kill. The tests of `pusher serve`, `pusher dev`,
// replay and the Lambda function share it.
package stacktest

import (
	"context"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// Table is the connections table of a Stack, and SubscriptionsTable its table of
// topic subscriptions.
const (
	Table              = "ws-connections"
	SubscriptionsTable = "ws-subscriptions"
)

// Tables is the stack's tables, as a store of the pusher or the gateway reads them.
func Tables() dynamodb.Config {
	return dynamodb.Config{Table: Table, SubscriptionsTable: SubscriptionsTable}
}

// Stack is a local AWS. The AWS SDK finds the emulators through the environment
// (AWS_ENDPOINT_URL_SQS, ...), which New sets for the test, as a deployment's would.
type Stack struct {
	// SQS, SNS and DynamoDB are clients of the emulators, for a test to do what a
	// backend or an operator would.
	SQS      *awssqs.Client
	SNS      *sns.Client
	DynamoDB *ddb.Client
	// Store is the connections and subscriptions tables, as the gateway and the pusher
	// see them.
	Store *dynamodb.Store
	// QueueURL is the notifications queue, with a visibility timeout of 2s.
	QueueURL string
	// PoisonURL is the poison queue, where the pusher parks what it cannot deliver.
	PoisonURL string
	// TopicARN is the notifications topic, not subscribed to anything.
	TopicARN string
	// Gateway is `pusher gateway`: WebSocket clients connect to it (Connect), and it
	// stores their connections in Table.
	Gateway *gateway.Gateway
	// Faults stands in front of the gateway's Management API: point the pusher at
	// Faults.URL, not at the gateway.
	Faults *awstest.Faults
}

// New stands up a Stack until the test ends.
func New(t testing.TB) *Stack {
	t.Helper()
	goaws, dyn := awstest.GoAWS(t), awstest.Dynalite(t)
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_SQS", goaws)
	t.Setenv("AWS_ENDPOINT_URL_SNS", goaws)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", dyn)
	s := &Stack{SQS: awstest.SQSClient(goaws), SNS: awstest.SNSClient(goaws), DynamoDB: awstest.DynamoDBClient(dyn)}
	awstest.CreateConnectionsTable(t, s.DynamoDB, Table)
	awstest.CreateSubscriptionsTable(t, s.DynamoDB, SubscriptionsTable)
	store, err := dynamodb.New(s.DynamoDB, Tables())
	if err != nil {
		t.Fatal(err)
	}
	s.Store = store
	s.QueueURL = awstest.CreateQueue(t, s.SQS, "notifications", map[string]string{"VisibilityTimeout": "2"})
	s.PoisonURL = awstest.CreateQueue(t, s.SQS, "poison", nil)
	s.TopicARN = awstest.CreateTopic(t, s.SNS, "notifications")

	// Topics open to everyone: who may follow what is tested on its own (adapters/auth,
	// and the Lambda's routes under the RIE).
	topics := settings.Topics{Auth: auth.Config{Open: true}}
	cfg, err := gateway.Defaults(gateway.Config{Listen: "127.0.0.1:0", Table: Tables(), Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	g, cleanup, err := pusher.BuildGateway(context.Background(), cfg, nil, Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	RunUntilCleanup(t, "pusher gateway", g.Run)
	s.Gateway = g
	s.Faults = awstest.NewFaults(t, g.URL())
	return s
}

// Connect connects a WebSocket client of user to the gateway.
func (s *Stack) Connect(t testing.TB, name, user string) *gatewaytest.Client {
	return gatewaytest.Dial(t, s.Gateway.Listener.Addr().String(), name, user)
}

// ConnectionID returns the connection of a user who has exactly one.
func (s *Stack) ConnectionID(t testing.TB, user string) string {
	t.Helper()
	conns, err := s.Store.UserConnections(context.Background(), user)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections of %s: %v %v", user, conns, err)
	}
	return conns[0].ConnectionID
}
