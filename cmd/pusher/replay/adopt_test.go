package replay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The messages of the tests, built field by field from AWS's documented shapes.

const (
	topicARN  = "arn:aws:sns:us-east-1:123456789012:p-pusher-notifications"
	aliasARN  = "arn:aws:lambda:us-east-1:123456789012:function:p-pusher:live"
	snsMsgID  = "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
	dlqMsgID  = "da41e39f-ea4d-435a-b922-c6aae3915ebe"
	eventID   = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
	lambdaReq = "e4b46cbf-b738-xmpl-8880-a18cdf61200e"
)

// snsNotification is an SNS notification as Lambda's SNS event carries it ("Using Lambda
// with Amazon SNS", docs.aws.amazon.com/lambda/latest/dg/with-sns.html, its example
// event's Sns member) and as a queue receives it without raw delivery ("Amazon SNS
// message and JSON formats", docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html):
// the same members.
func snsNotification(id, message string, attrs map[string]string) map[string]any {
	ma := map[string]any{}
	for k, v := range attrs {
		ma[k] = map[string]any{"Type": "String", "Value": v}
	}
	return map[string]any{
		"Type":              "Notification",
		"MessageId":         id,
		"TopicArn":          topicARN,
		"Subject":           nil,
		"Message":           message,
		"Timestamp":         "2026-05-30T10:00:00.000Z",
		"SignatureVersion":  "1",
		"Signature":         "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
		"SigningCertUrl":    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
		"UnsubscribeUrl":    "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicARN + ":c9135db0",
		"MessageAttributes": ma,
	}
}

// snsEvent is the event SNS invokes the function with ("Using Lambda with Amazon SNS").
func snsEvent(n map[string]any) map[string]any {
	return map[string]any{"Records": []any{map[string]any{
		"EventVersion":         "1.0",
		"EventSubscriptionArn": topicARN + ":c9135db0-26c4-47ec-8998-413945fb5a96",
		"EventSource":          "aws:sns",
		"Sns":                  n,
	}}}
}

// eventBridgeEvent is an event a rule delivers to its target, with its top-level fields
// ("Amazon EventBridge events",
// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html), whose detail
// is a request.
func eventBridgeEvent(id string, detail any) map[string]any {
	return map[string]any{
		"version": "0", "id": id, "detail-type": "Notification requested", "source": "com.example.orders",
		"account": "123456789012", "time": "2026-05-30T10:00:00Z", "region": "us-east-1",
		"resources": []any{}, "detail": detail,
	}
}

// invocationRecord is the record Lambda sends an on-failure destination for an event
// that failed all its attempts ("Capturing records of Lambda asynchronous invocations",
// "Example invocation record",
// docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html); an SQS
// destination receives it as the body.
func invocationRecord(event map[string]any, errorMessage string) map[string]any {
	return map[string]any{
		"version":   "1.0",
		"timestamp": "2026-05-30T10:00:05.568Z",
		"requestContext": map[string]any{
			"requestId": lambdaReq, "functionArn": aliasARN,
			"condition": "RetriesExhausted", "approximateInvokeCount": 3,
		},
		"requestPayload":  event,
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "7", "functionError": "Unhandled"},
		"responsePayload": map[string]any{"errorMessage": errorMessage, "errorType": "errorString"},
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// put sends body to the queue url, with String message attributes attrs.
func put(t *testing.T, s *stacktest.Stack, url, body string, attrs map[string]string) {
	t.Helper()
	in := &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageAttributes: map[string]types.MessageAttributeValue{}}
	for k, v := range attrs {
		in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := s.SQS.SendMessage(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// TestAdopt puts on an async failures queue the records of a failed SNS invocation and
// of a failed EventBridge invocation, the notification an SNS dead-letter queue holds,
// and a message of neither kind; adopt parks the three requests at decode, each with
// where it came from, deletes their messages and leaves the fourth; adopting a record
// again parks nothing; a send then delivers each to its WebSocket client through the
// local gateway.
func TestAdopt(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	alice, bob := s.Connect(t, "alice", "alice"), s.Connect(t, "bob", "bob")
	from := awstest.CreateQueue(t, s.SQS, "p-pusher-async-failures", map[string]string{"VisibilityTimeout": "5"})

	snsRecord := jsonOf(t, invocationRecord(
		snsEvent(snsNotification(snsMsgID, `{"users":["alice"],"data":"from sns"}`, map[string]string{"correlation_id": "order-42"})),
		"SNS message "+snsMsgID+": request order-42: resolve: connections table: RequestError: send request failed"))
	put(t, s, from, snsRecord, nil)
	put(t, s, from, jsonOf(t, invocationRecord(
		eventBridgeEvent(eventID, map[string]any{"users": []string{"bob"}, "data": "from eventbridge"}),
		"EventBridge event "+eventID+": context deadline exceeded")), nil)
	put(t, s, from, jsonOf(t, snsNotification(dlqMsgID, `{"users":["alice"],"data":"from the dlq"}`, nil)),
		map[string]string{"ErrorCode": "403", "ErrorMessage": "The function's resource-based policy does not allow SNS to invoke it"})
	put(t, s, from, `{"hello":"world"}`, nil)

	cfg := replay.Config{
		Config: onaws.Config{
			PoisonQueueURL: s.PoisonURL, APIGWEndpoint: s.Faults.URL,
			Table:    stacktest.Tables(),
			Pipeline: pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
		},
		VisibilityTimeout: 5 * time.Second,
	}
	q, err := pusher.BuildReplayQueue(ctx, cfg, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	adopt := func() replay.Adoption {
		t.Helper()
		got, err := replay.Adopt(ctx, s.SQS, q, replay.AdoptConfig{From: from, VisibilityTimeout: 5 * time.Second, Logger: stacktest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// visible waits until the poison queue shows n messages: goaws may keep some
	// hidden for its visibility timeout after a listing released them.
	visible := func(n int) []pipeline.Parked {
		t.Helper()
		var all []pipeline.Parked
		stacktest.EventuallyWithin(t, patience, fmt.Sprintf("%d messages parked and visible", n), func() bool {
			all, err = replay.Select(ctx, q, replay.Filter{Stage: pipeline.StageDecode})
			return err == nil && len(all) == n
		})
		return all
	}

	got := adopt()
	if want := (replay.Adoption{Received: 4, Parked: 3, Deleted: 3, Unreadable: 1}); got != want {
		t.Fatalf("adopt: %+v, want %+v", got, want)
	}
	if n := s.Queued(t, from); n != 1 {
		t.Errorf("the queue holds %d messages after adopt, want the unreadable one", n)
	}

	parked := visible(3)
	byCorr := map[string]pipeline.Parked{}
	for _, p := range parked {
		byCorr[p.CorrelationID] = p
	}
	for _, w := range []struct {
		corr, payload, source, reason string
		attempts                      int
	}{
		// An SNS notification's correlation_id attribute, as the function reads it.
		{"order-42", `{"users":["alice"],"data":"from sns"}`, "",
			"async invocation " + lambdaReq + " failed after 3 attempts: SNS message " + snsMsgID + ": request order-42: resolve", 3},
		// An EventBridge event's id; its payload the whole event, for the mapping.
		{eventID, "", handlers.SourceEventBridge,
			"async invocation " + lambdaReq + " failed after 3 attempts: EventBridge event " + eventID + ": context deadline exceeded", 3},
		// A notification without one: its MessageId.
		{dlqMsgID, `{"users":["alice"],"data":"from the dlq"}`, "",
			"SNS could not deliver it to the function: 403: The function's resource-based policy does not allow SNS to invoke it", 0},
	} {
		p, ok := byCorr[w.corr]
		switch {
		case !ok:
			t.Errorf("no request of correlation id %s parked: %+v", w.corr, parked)
		case p.Stage != pipeline.StageDecode || !strings.HasPrefix(p.Reason, w.reason) || p.Attempts != w.attempts ||
			p.EventSource != w.source || (w.payload != "" && p.Payload != w.payload) || p.Class != "transient":
			t.Errorf("parked %+v, want stage decode, reason %q, %d attempts, source %q, payload %s", p, w.reason, w.attempts, w.source, w.payload)
		}
	}
	if p := byCorr[eventID]; !strings.Contains(p.Payload, `"detail-type":"Notification requested"`) {
		t.Errorf("the EventBridge request was parked as %s, want the whole event", p.Payload)
	}

	t.Run("adopting a record again parks nothing twice", func(t *testing.T) {
		put(t, s, from, snsRecord, nil) // as if its delete had failed
		visible(3)
		got := adopt()
		if got.Parked != 0 || got.Duplicates != 1 || got.Deleted != 1 {
			t.Fatalf("adopt again: %+v, want the record's request parked already and the record deleted", got)
		}
		if all := visible(3); len(all) != 3 {
			t.Errorf("%d parked after adopting again, want 3", len(all))
		}
		stacktest.EventuallyWithin(t, patience, "the unreadable message alone in the queue", func() bool { return s.Queued(t, from) == 1 })
	})

	t.Run("send delivers them", func(t *testing.T) {
		visible(3)
		svc, cleanup, err := pusher.BuildReplay(ctx, cfg, nil, stacktest.Quiet())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cleanup)
		stop, err := svc.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stop() })
		rep, err := replay.Send(ctx, svc.Queue, replay.PipelineReplayer{Pipeline: svc.Pipeline},
			replay.SendConfig{Timeout: 10 * time.Second, Logger: stacktest.Quiet()})
		if err != nil || rep.Delivered != 3 {
			t.Fatalf("send: %+v %v, want 3 delivered", rep, err)
		}
		frames := []string{alice.Next(t), alice.Next(t)}
		slices.Sort(frames)
		if want := []string{`"from sns"`, `"from the dlq"`}; !slices.Equal(frames, want) {
			t.Errorf("alice got %v, want %v", frames, want)
		}
		if got := bob.Next(t); got != `"from eventbridge"` {
			t.Errorf("bob got %s", got)
		}
		stacktest.EventuallyWithin(t, patience, "the poison queue is empty", func() bool { return s.Queued(t, s.PoisonURL) == 0 })
		alice.Quiet(t, 300*time.Millisecond)
		bob.Quiet(t, 300*time.Millisecond)
	})
}
