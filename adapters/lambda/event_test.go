package lambda_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
)

// The events of the tests, with the fields AWS documents for each ("Using Lambda with
// Amazon SQS", "Using Lambda with Amazon SNS", "Setting up routes for a WebSocket API",
// "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers").
var (
	sqsEvent = events.SQSEvent{Records: []events.SQSMessage{{
		MessageId:      "059f36b4-87a3-44ab-83d2-661975830a7d",
		ReceiptHandle:  "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
		Body:           `{"users":["alice"],"data":{"n":1}}`,
		Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:notifications",
		AWSRegion:      "us-east-1",
	}}}
	snsEvent = events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion:         "1.0",
		EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:notifications:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		EventSource:          "aws:sns",
		SNS: events.SNSEntity{
			Type:      "Notification",
			MessageID: "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
			TopicArn:  "arn:aws:sns:us-east-1:123456789012:notifications",
			Message:   `{"users":["alice"],"data":{"n":4}}`,
		},
	}}}
	connectEvent = events.APIGatewayWebsocketProxyRequest{
		Headers:               map[string]string{"Host": "abcdef123.execute-api.us-east-1.amazonaws.com"},
		QueryStringParameters: map[string]string{"user_id": "erin"},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "CnPq2eHgoAMCLsR=",
			Stage: "prod", APIID: "abcdef123", ConnectedAt: 1795694400000,
		},
	}
	authorizerEvent = authorizer.Event{
		Type:                  "REQUEST",
		MethodArn:             "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/$connect",
		QueryStringParameters: map[string]string{"token": "eyJ..."},
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: "$connect", EventType: "CONNECT", ConnectionID: "CnPq2eHgoAMCLsR=", Stage: "prod", APIID: "abcdef123",
		},
	}
)

func marshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload json.RawMessage
		kind    lambda.Kind
		check   func(lambda.Event) bool
	}{
		{"SQS", marshal(t, sqsEvent), lambda.KindSQS, func(e lambda.Event) bool {
			return len(e.SQS.Records) == 1 && e.SQS.Records[0].MessageId == sqsEvent.Records[0].MessageId
		}},
		{"SNS", marshal(t, snsEvent), lambda.KindSNS, func(e lambda.Event) bool {
			return len(e.SNS.Records) == 1 && e.SNS.Records[0].SNS.MessageID == snsEvent.Records[0].SNS.MessageID
		}},
		{"WebSocket $connect", marshal(t, connectEvent), lambda.KindWebSocket, func(e lambda.Event) bool {
			return e.WebSocket.RequestContext.ConnectionID == "CnPq2eHgoAMCLsR=" && e.WebSocket.QueryStringParameters["user_id"] == "erin"
		}},
		{"WebSocket route of an event type only", json.RawMessage(`{"requestContext":{"eventType":"DISCONNECT"}}`), lambda.KindWebSocket, func(e lambda.Event) bool {
			return e.WebSocket.RequestContext.EventType == "DISCONNECT"
		}},
		// It carries a $connect request context too: not a WebSocket route.
		{"authorizer", marshal(t, authorizerEvent), lambda.KindAuthorizer, func(e lambda.Event) bool {
			return e.WebSocket.RequestContext.RouteKey == ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := lambda.Decode(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != tc.kind || !tc.check(ev) {
				t.Errorf("decoded %+v, want a %v event", ev, tc.kind)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		want          string // the error's beginning
		unrecognized  bool
	}{
		{"not JSON", `{`, "decode event: ", false},
		{"not an object", `[]`, "decode event: ", false},
		{"S3 event", `{"Records":[{"eventSource":"aws:s3"}]}`, `unrecognized event (records of "aws:s3"): not SQS, SNS, Kinesis, EventBridge nor an API Gateway WebSocket route`, true},
		{"no records", `{"Records":[]}`, "unrecognized event (unknown): ", true},
		{"scheduled", `{"source":"aws.events","detail-type":"Scheduled Event"}`, "unrecognized event (unknown): ", true},
		{"HTTP API event", `{"version":"2.0","rawPath":"/"}`, "unrecognized event (unknown): ", true},
		{"authorizer without an ARN", `{"type":"REQUEST","methodArn":"x"}`, "unrecognized event (unknown): ", true},
		{"SQS of a body not a string", `{"Records":[{"eventSource":"aws:sqs","body":5}]}`, "decode SQS event: ", false},
		{"SNS of a message not a string", `{"Records":[{"EventSource":"aws:sns","Sns":{"Message":5}}]}`, "decode SNS event: ", false},
		{"WebSocket of a connectedAt not a number", `{"requestContext":{"routeKey":"$connect","connectedAt":"x"}}`, "decode WebSocket event: ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := lambda.Decode(json.RawMessage(tc.payload))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("decoded %+v, %v: want an error beginning %q", ev, err, tc.want)
			}
			if errors.Is(err, lambda.ErrUnrecognized) != tc.unrecognized {
				t.Errorf("errors.Is(%q, ErrUnrecognized) is %v", err, !tc.unrecognized)
			}
		})
	}
}

func TestIsAuthorizerEvent(t *testing.T) {
	route := authorizer.Event{RequestContext: connectEvent.RequestContext, QueryStringParameters: connectEvent.QueryStringParameters}
	notAnARN := authorizerEvent
	notAnARN.MethodArn = "abcdef123/prod/$connect"
	for name, tc := range map[string]struct {
		event authorizer.Event
		want  bool
	}{
		"an authorizer event":        {authorizerEvent, true},
		"a $connect route":           {route, false},
		"a methodArn that is no ARN": {notAnARN, false},
	} {
		if got := lambda.IsAuthorizerEvent(tc.event); got != tc.want {
			t.Errorf("%s: IsAuthorizerEvent is %v", name, got)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[lambda.Kind]string{
		lambda.KindUnknown: "unknown", lambda.KindSQS: "SQS", lambda.KindSNS: "SNS",
		lambda.KindWebSocket: "WebSocket", lambda.KindAuthorizer: "authorizer", lambda.Kind(99): "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) is %q, want %q", k, got, want)
		}
	}
}
