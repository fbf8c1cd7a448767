package replay

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestLostRequests reads the kinds of message the async failures queue and the SNS
// dead-letter queue may hold, and those Adopt must leave there. The records follow
// "Capturing records of Lambda asynchronous invocations"
// (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
func TestLostRequests(t *testing.T) {
	record := func(condition, payload, response string) string {
		count := "3"
		if condition == "EventAgeExceeded" {
			count = "0" // never run: throttled until too old
		}
		return `{"version":"1.0","timestamp":"2026-05-30T10:00:05.568Z","requestContext":{"requestId":"r-1",` +
			`"functionArn":"arn:aws:lambda:us-east-1:123456789012:function:p:live","condition":"` + condition +
			`","approximateInvokeCount":` + count +
			`},"requestPayload":` + payload + `,"responseContext":{"statusCode":200,"functionError":"Unhandled"}` + response + `}`
	}
	sns := func(message string) string {
		return `{"Records":[{"EventSource":"aws:sns","Sns":{"Type":"Notification","MessageId":"m-1",` +
			`"TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":` + message + `}}]}`
	}
	const request = `"{\"users\":[\"u1\"],\"data\":1}"`
	const eventInSNS = `"{\"id\":\"ev-1\",\"detail-type\":\"x\",\"source\":\"s\",\"detail\":{\"users\":[\"u1\"],\"data\":1}}"`
	tests := []struct {
		name, body                   string
		wantReason, wantCorr, source string
		unreadable                   string // the error's text, if Adopt must leave it
	}{
		{name: "retries exhausted", body: record("RetriesExhausted", sns(request), `,"responsePayload":{"errorMessage":"boom","errorType":"E"}`),
			wantReason: "async invocation r-1 failed after 3 attempts: boom", wantCorr: "m-1"},
		{name: "an error without a message: its type", body: record("RetriesExhausted", sns(request), `,"responsePayload":{"errorType":"Runtime.ExitError"}`),
			wantReason: "async invocation r-1 failed after 3 attempts: Runtime.ExitError", wantCorr: "m-1"},
		{name: "expired unrun: no response", body: record("EventAgeExceeded", sns(request), ""),
			wantReason: "async invocation r-1 expired (EventAgeExceeded: older than the maximum event age) after 0 attempts: Unhandled", wantCorr: "m-1"},
		{name: "an EventBridge event a rule published to the topic", body: record("RetriesExhausted", sns(eventInSNS), ""),
			wantReason: "async invocation r-1 failed after 3 attempts: Unhandled", wantCorr: "ev-1", source: handlers.SourceEventBridge},
		{name: "a notification SNS could not deliver, without attributes", body: `{"Type":"Notification","MessageId":"m-2","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":` + request + `}`,
			wantReason: "SNS could not deliver it to the function", wantCorr: "m-2"},
		{name: "a successful invocation's record", body: record("Success", sns(request), ""), unreadable: "the record of a successful invocation"},
		{name: "a record of an SQS event", body: record("RetriesExhausted", `{"Records":[{"eventSource":"aws:sqs","messageId":"q","body":"{}"}]}`, ""),
			unreadable: "an event of SQS, which is not invoked asynchronously"},
		{name: "a record of an event of no kind", body: record("RetriesExhausted", `{"ORDER_IDS":["9e07af03"]}`, ""), unreadable: "its event: unrecognized event"},
		{name: "an SNS event without records", body: record("RetriesExhausted", `{"Records":[]}`, ""), unreadable: "its event: unrecognized event"},
		{name: "a notification of another type", body: `{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"confirm"}`, unreadable: "neither"},
		{name: "a request alone", body: `{"users":["u1"],"data":1}`, unreadable: "neither"},
		{name: "not JSON", body: `users=u1`, unreadable: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lostRequests(types.Message{MessageId: aws.String("sqs-1"), Body: aws.String(tt.body)})
			if tt.unreadable != "" {
				if !errors.Is(err, errUnreadable) || !strings.Contains(err.Error(), tt.unreadable) {
					t.Fatalf("lostRequests: %v, %v; want it unreadable: %q", got, err, tt.unreadable)
				}
				return
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("lostRequests: %v, %v; want one request", got, err)
			}
			p := pipeline.ParkedFrom(got[0])
			if p.Reason != tt.wantReason || p.CorrelationID != tt.wantCorr || p.EventSource != tt.source || p.Stage != pipeline.StageDecode {
				t.Errorf("parked %+v; want reason %q, correlation id %s, source %q at decode", p, tt.wantReason, tt.wantCorr, tt.source)
			}
			again, _ := lostRequests(types.Message{MessageId: aws.String("sqs-2"), Body: aws.String(tt.body)})
			if again[0].UUID != got[0].UUID {
				t.Errorf("read twice, parked as %s and %s: want one UUID", got[0].UUID, again[0].UUID)
			}
		})
	}
}
