//go:build linux

package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// seed003 is seed 003's deployment: clients that name no user subscribe to an entity
// with {"action":"subscribe","entityId":"..."}, and the function maps each EventBridge
// event to a request to the entity's topic whose data is the event's message.
var seed003 = map[string]string{
	"SUBSCRIPTIONS_TABLE_NAME": stacktest.SubscriptionsTable,
	"TOPICS_PUBLIC":            "myTestEntityId,otherEntityId",
	"ANONYMOUS_CONNECTIONS":    "true",
	"EVENTBRIDGE_MAPPING":      seed003Mapping,
}

// TestEventBridgeAsDeployed runs seed 003 as a deployment does: the function built as
// bootstrap, under the Lambda Runtime Interface Emulator, behind `pusher gateway
// --lambda-integration`, whose WebSocket clients connect without a user and subscribe
// to entities by message. An EventBridge event reaches the entity's subscribers once
// and no one else, whether the rule's target is the queue the function reads (the
// event sent to the queue on goaws, received with the SDK, and handed to the function
// as Lambda's event source mapping does) or the function itself.
func TestEventBridgeAsDeployed(t *testing.T) {
	began := time.Now()
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	d := deploy(t, s, bootstrap, seed003)
	subscribe := func(c *gatewaytest.Client, entity string) {
		t.Helper()
		c.Send(t, `{"action":"subscribe","entityId":"`+entity+`"}`)
		if got := c.Next(t); got != `{"type":"subscribed","topic":"`+entity+`"}` {
			t.Fatalf("%s: subscribe answered %s", c.Name, got)
		}
	}
	// Seed 003's clients name no user.
	sub1, sub2, other, idle := d.dial(t, "sub1", ""), d.dial(t, "sub2", ""), d.dial(t, "other", ""), d.dial(t, "idle", "")
	subscribe(sub1, "myTestEntityId")
	subscribe(sub2, "myTestEntityId")
	subscribe(other, "otherEntityId")
	ann := d.dial(t, "ann", "user_id=ann") // a user's connection, subscribed to nothing
	everyone := []*gatewaytest.Client{sub1, sub2, other, idle, ann}
	queueARN := queueARN(t, s)

	t.Run("through SQS", func(t *testing.T) {
		event := entityUpdated(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", map[string]string{"entityId": "myTestEntityId", "message": "Hello world"})
		s.Send(t, string(event))
		msg := receiveOne(t, s)
		resp := d.invokeRaw(t, sqsEventOf(msg, queueARN))
		var out events.SQSEventResponse
		if err := json.Unmarshal(resp, &out); err != nil || len(out.BatchItemFailures) != 0 {
			t.Fatalf("the SQS event was answered %s", resp)
		}
		// Lambda's event source mapping deletes what the function settled.
		if _, err := s.SQS.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		expectFrames(t, map[*gatewaytest.Client]string{sub1: `"Hello world"`, sub2: `"Hello world"`})
		for _, c := range everyone {
			c.Quiet(t, 300*time.Millisecond) // once, and no one else
		}
	})
	t.Run("directly", func(t *testing.T) {
		// A rule targeting the function invokes it asynchronously with the event
		// itself ("Amazon EventBridge events",
		// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
		event := entityUpdated(t, "0c9e5e1a-3f0b-4d8e-9a51-2b7f6c1d4e02", map[string]any{"entityId": "myTestEntityId", "message": map[string]string{"text": "direct"}})
		if resp := d.invokeRaw(t, event); string(resp) != "null" {
			t.Fatalf("the event was answered %s, want nothing", resp)
		}
		expectFrames(t, map[*gatewaytest.Client]string{sub1: `{"text":"direct"}`, sub2: `{"text":"direct"}`})
		for _, c := range everyone {
			c.Quiet(t, 300*time.Millisecond)
		}
	})
	t.Run("an event without an entity is parked", func(t *testing.T) {
		const id = "9b2f4a6c-8d1e-4f3a-b5c7-d9e1f3a5b7c9"
		event := entityUpdated(t, id, map[string]string{"message": "to no one"})
		if resp := d.invokeRaw(t, event); string(resp) != "null" {
			t.Fatalf("the event was answered %s, want nothing: parked is settled", resp)
		}
		p := s.Parked(t, 1)[0]
		if p.Payload != string(event) || p.Stage != pipeline.StageDecode || p.EventSource != handlers.SourceEventBridge ||
			p.CorrelationID != id || !strings.Contains(p.Reason, "gave no topics and no users for this event") {
			t.Errorf("parked %+v, want the event by its id, with the reason", p)
		}
		for _, c := range everyone {
			c.Quiet(t, 0)
		}
	})
	t.Logf("wall time %s (build, emulators, the function under the RIE)", time.Since(began).Round(time.Millisecond))
}

// TestBootstrapRefusesABadMapping: a mapping that does not compile ends the init, as
// Lambda runs it, with one line naming the variable, and the function serves nothing.
func TestBootstrapRefusesABadMapping(t *testing.T) {
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	for _, tc := range []struct{ env, mapping, want string }{
		{"KINESIS_MAPPING", `{topics: [VehicleID`, `pusher-lambda: KINESIS_MAPPING: mapping "{topics: [VehicleID": SyntaxError: Expected TOKComma, received: TOKEOF`},
		{"KINESIS_MAPPING", `VehicleID`, `pusher-lambda: KINESIS_MAPPING: mapping "VehicleID": not a multiselect hash such as {topics: [VehicleID], data: @}`},
		{"EVENTBRIDGE_MAPPING", `{topic: x}`, `pusher-lambda: EVENTBRIDGE_MAPPING: mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
	} {
		t.Run(tc.mapping, func(t *testing.T) {
			rie := awstest.StartRIE(t, bootstrap, map[string]string{
				"APIGW_ENDPOINT":         "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
				"CONNECTIONS_TABLE_NAME": "ws-connections",
				"POISON_QUEUE_URL":       "https://sqs.us-east-1.amazonaws.com/123456789012/poison",
				"AWS_REGION":             "us-east-1",
				tc.env:                   tc.mapping,
			})
			resp, err := http.Post(rie.URL(), "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The RIE answers an invocation whose init failed 502, with no body, and
			// reports the exit as Lambda does, after what the bootstrap wrote.
			if resp.StatusCode == http.StatusOK {
				t.Errorf("the invocation was answered %s %s", resp.Status, body)
			}
			stacktest.Eventually(t, "the init reported failed", func() bool { return strings.Contains(rie.Output(), "Runtime.ExitError") })
			var lines []string
			for line := range strings.Lines(rie.Output()) {
				if strings.HasPrefix(line, "pusher-lambda") {
					lines = append(lines, strings.TrimSuffix(line, "\n"))
				}
			}
			if len(lines) != 1 || lines[0] != tc.want {
				t.Errorf("the init wrote %q, want the one line %q", lines, tc.want)
			}
		})
	}
}

// queueARN returns the ARN of the stack's notifications queue, which names the
// records of its event source mapping.
func queueARN(t *testing.T, s *stacktest.Stack) string {
	t.Helper()
	out, err := s.SQS.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(s.QueueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// receiveOne receives the one message of the notifications queue with the SDK, its
// attributes and message attributes, as Lambda's event source mapping polls the queue.
func receiveOne(t *testing.T, s *stacktest.Stack) sqstypes.Message {
	t.Helper()
	var msgs []sqstypes.Message
	stacktest.Eventually(t, "a message in the queue", func() bool {
		out, err := s.SQS.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, out.Messages...)
		return len(msgs) > 0
	})
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the queue, want 1", len(msgs))
	}
	return msgs[0]
}

// sqsEventOf is the Lambda SQS event of one message received from the queue of ARN
// arn, field by field as "Using Lambda with Amazon SQS"
// (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html) shows a record: the message's
// id, receipt handle, body, its MD5, system attributes and message attributes, and the
// queue it came from.
func sqsEventOf(m sqstypes.Message, arn string) []byte {
	attrs := map[string]string{}
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	msgAttrs := map[string]events.SQSMessageAttribute{}
	for k, v := range m.MessageAttributes {
		msgAttrs[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue, BinaryValue: v.BinaryValue}
	}
	region := strings.Split(arn, ":")[3]
	payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
		MessageId:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Md5OfBody:         aws.ToString(m.MD5OfBody),
		Attributes:        attrs,
		MessageAttributes: msgAttrs,
		EventSource:       "aws:sqs",
		EventSourceARN:    arn,
		AWSRegion:         region,
	}}})
	return payload
}

// invokeRaw invokes the function with payload, taking turns with the gateway's
// invocations, and returns its answer.
func (d *deployment) invokeRaw(t *testing.T, payload []byte) []byte {
	t.Helper()
	resp, err := http.Post(d.invoke, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: %s %s", resp.Status, body)
	}
	return bytes.TrimSpace(body)
}
