//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// countingProxy forwards the TCP connections it accepts to target (host:port) until the
// test ends, and counts them.
func countingProxy(t *testing.T, target string) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int32{}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return ln.Addr().String(), conns
}

// TestBootstrapUnderRIE builds bootstrap as docs/counter.md does and invokes it through
// the Lambda Runtime Interface Emulator, on dynalite and goaws: three clicks on plus,
// whose broadcasts share one connection to the queue, then the page from the function
// URL.
func TestBootstrapUnderRIE(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/counter-lambda")
	dynamoURL, sqsURL := awstest.Dynalite(t), awstest.GoAWS(t)
	dynamo, queues := awstest.DynamoDBClient(dynamoURL), awstest.SQSClient(sqsURL)
	createCounterTable(t, dynamo, DefaultTable)
	queue := awstest.CreateQueue(t, queues, "notifications", nil)
	sqsProxy, sqsConns := countingProxy(t, strings.TrimPrefix(sqsURL, "http://"))
	const wsURL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"
	rie := awstest.StartRIE(t, bootstrap, map[string]string{
		"AWS_REGION":                awstest.Region,
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_ENDPOINT_URL_DYNAMODB": dynamoURL,
		"AWS_ENDPOINT_URL_SQS":      "http://" + sqsProxy,
		// Lambda sets no CA bundle; one here would give the SDK's clients an HTTP client
		// of its own (see awsconfig.FromEnvironment), which hides what the bootstrap does
		// without.
		"AWS_CA_BUNDLE":           "",
		"NOTIFICATIONS_QUEUE_URL": queue,
		"COUNTER_WEBSOCKET_URL":   wsURL,
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
	var frames []string
	for seq := 1; seq <= 3; seq++ {
		body, _ := rie.Invoke(t, click)
		var resp events.APIGatewayProxyResponse
		frame := fmt.Sprintf(`{"type":"state","value":%d,"seq":%d,"epoch":0}`, seq, seq)
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusOK || resp.Body != frame {
			t.Errorf("plus answered %s, want 200 and %s", body, frame)
		}
		frames = append(frames, frame)
	}
	var got []handlers.Request
	for len(got) < len(frames) {
		reqs := received(t, queues, queue)
		if len(reqs) == 0 {
			break
		}
		got = append(got, reqs...)
	}
	slices.SortFunc(got, func(a, b handlers.Request) int { return strings.Compare(string(a.Data), string(b.Data)) })
	wantBroadcasts(t, got, frames...)
	// Lambda runs an instance's invocations one after the other, and the SDK's HTTP
	// client keeps its connection between them: a click need not open a connection.
	if n := sqsConns.Load(); n != 1 {
		t.Errorf("the three broadcasts opened %d connections to SQS, want 1", n)
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
	body, _ := rie.Invoke(t, get)
	var page events.LambdaFunctionURLResponse
	if err := json.Unmarshal(body, &page); err != nil || page.StatusCode != http.StatusOK ||
		!strings.HasPrefix(page.Headers["Content-Type"], "text/html") || !strings.Contains(page.Body, "abc123.execute-api.eu-west-1.amazonaws.com") {
		t.Errorf("the function URL answered %.300s, want the page naming the API", body)
	}
}
