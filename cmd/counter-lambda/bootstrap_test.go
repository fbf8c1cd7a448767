//go:build linux

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// TestBootstrapUnderRIE builds bootstrap as docs/counter.md does and invokes it through
// the Lambda Runtime Interface Emulator, on dynalite and goaws: a click on plus, then
// the page from the function URL.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/counter-lambda")
	dynamoURL, sqsURL := awstest.Dynalite(t), awstest.GoAWS(t)
	dynamo, queues := awstest.DynamoDBClient(dynamoURL), awstest.SQSClient(sqsURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := dynamo.CreateTable(ctx, &ddb.CreateTableInput{
		TableName:            aws.String(DefaultTable),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	if err := ddb.NewTableExistsWaiter(dynamo).Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(DefaultTable)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	queue := awstest.CreateQueue(t, queues, "notifications", nil)
	const wsURL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"
	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"AWS_REGION":                awstest.Region,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_ENDPOINT_URL_DYNAMODB": dynamoURL,
		"AWS_ENDPOINT_URL_SQS":      sqsURL,
		"NOTIFICATIONS_QUEUE_URL":   queue,
		"COUNTER_WEBSOCKET_URL":     wsURL,
	})

	// A MESSAGE event of the plus route, as API Gateway's Lambda proxy integration
	// sends it ("WebSocket API mapping template reference",
	// docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html).
	click, _ := json.Marshal(events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: app.RoutePlus, MessageID: "Cn4xGd0VoAMCJmA=", EventType: "MESSAGE",
			ExtendedRequestID: "Cn4xGFhQoAMFtqg=", RequestTime: "07/Dec/2026:10:00:00 +0000", MessageDirection: "IN",
			Stage: "prod", ConnectedAt: 1796637590000, RequestTimeEpoch: 1796637600123,
			Identity: events.APIGatewayRequestIdentity{SourceIP: "192.0.2.10"}, RequestID: "Cn4xGFhQoAMFtqg=",
			DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", ConnectionID: "tabA0connId=", APIID: "abc123",
		},
		Body: `{"action":"plus"}`,
	})
	body, _ := rie.Invoke(t, click)
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusOK || resp.Body != `{"type":"state","value":1,"seq":1,"epoch":0}` {
		t.Errorf("plus answered %s, want 200 and the state of value 1, seq 1", body)
	}
	out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"data":{"type":"state","value":1,"seq":1,"epoch":0}}` {
		t.Errorf("the queue holds %d messages (%v), want the broadcast of the state", len(out.Messages), out.Messages)
	}

	// A GET of the function URL, in payload format 2.0 ("Invoking Lambda function URLs",
	// docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads).
	get, _ := json.Marshal(events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/", Headers: map[string]string{"host": "a1b2c3.lambda-url.eu-west-1.on.aws", "accept": "text/html"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", RequestID: "5e1b1c0a-6f2d-4d3e-9c1a-0b7e2f3a4c5d", APIID: "a1b2c3",
			DomainName: "a1b2c3.lambda-url.eu-west-1.on.aws", DomainPrefix: "a1b2c3",
			Time: "07/Dec/2026:10:00:00 +0000", TimeEpoch: 1796637600123,
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: http.MethodGet, Path: "/", Protocol: "HTTP/1.1", SourceIP: "192.0.2.10", UserAgent: "Mozilla/5.0"},
		},
	})
	body, _ = rie.Invoke(t, get)
	var page events.LambdaFunctionURLResponse
	if err := json.Unmarshal(body, &page); err != nil || page.StatusCode != http.StatusOK ||
		!strings.HasPrefix(page.Headers["Content-Type"], "text/html") || !strings.Contains(page.Body, "abc123.execute-api.eu-west-1.amazonaws.com") {
		t.Errorf("the function URL answered %.300s, want the page naming the API", body)
	}
}
