package function_test

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// seed003Mapping is seed 003's EVENTBRIDGE_MAPPING: an entity's message to the
// entity's subscribers.
const seed003Mapping = `{topics: [detail.entityId], data: detail.message}`

// entityUpdated is an event of seed 003 as EventBridge delivers it, to a function a
// rule targets or to a queue: field by field as "Amazon EventBridge events" documents
// an event (docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html),
// with the producer's detail.
func entityUpdated(t *testing.T, id string, detail any) []byte {
	t.Helper()
	raw, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := json.Marshal(events.EventBridgeEvent{
		Version:    "0",
		ID:         id,
		DetailType: "Entity Updated",
		Source:     "com.example.entities",
		AccountID:  "123456789012",
		Time:       time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
		Region:     "us-east-1",
		Resources:  []string{},
		Detail:     raw,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// withMapping sets the function's EVENTBRIDGE_MAPPING.
func withMapping(t *testing.T, expr string) func(*function.Config) {
	return func(c *function.Config) {
		m, err := handlers.CompileMapping(expr)
		if err != nil {
			t.Fatal(err)
		}
		c.Pipeline.Mappings = map[string]*handlers.Mapping{handlers.SourceEventBridge: m}
	}
}

// TestEventBridge hands the function EventBridge events as a rule targeting it
// delivers them (an asynchronous invocation, which Lambda retries on an error), and as
// the records of an SQS event when the rule's target is the queue the function reads.
func TestEventBridge(t *testing.T) {
	s := stacktest.New(t)
	addr := s.Gateway.Listener.Addr().String()
	ann := gatewaytest.DialQuery(t, addr, "ann", "user_id=ann&topic=myTestEntityId")
	bo := gatewaytest.DialQuery(t, addr, "bo", "user_id=bo&topic=myTestEntityId")
	cy := gatewaytest.DialQuery(t, addr, "cy", "user_id=cy&topic=otherEntityId")
	dee := s.Connect(t, "dee", "dee")
	boID := s.ConnectionID(t, "bo")
	fn, logs := start(t, s, withMapping(t, seed003Mapping))
	handle := func(payload []byte, timeout time.Duration) (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return fn.Handle(ctx, payload)
	}

	t.Run("a rule's event reaches the entity's subscribers", func(t *testing.T) {
		out, err := handle(entityUpdated(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", map[string]string{"entityId": "myTestEntityId", "message": "Hello world"}), 10*time.Second)
		if err != nil || out != nil {
			t.Fatalf("answered %v, %v; want nothing", out, err)
		}
		expectFrames(t, map[*gatewaytest.Client]string{ann: `"Hello world"`, bo: `"Hello world"`})
		lines := logs.lines(t, "invocation")
		if last := lines[len(lines)-1]; last["event"] != "eventbridge" || last["records"] != 1.0 || last["settled"] != 1.0 {
			t.Errorf("invocation logged as %v", last)
		}
	})
	t.Run("in the queue the function reads", func(t *testing.T) {
		body := entityUpdated(t, "0c9e5e1a-3f0b-4d8e-9a51-2b7f6c1d4e02", map[string]any{"entityId": "myTestEntityId", "message": map[string]string{"text": "queued"}})
		// The record of the message as "Using Lambda with Amazon SQS"
		// (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html) shows one.
		payload, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
			MessageId:     "3c1d7a52-9e4b-4f0a-8d6c-2b1e0f9a8c7d",
			ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
			Body:          string(body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1796634000000",
				"SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1796634000012"},
			MessageAttributes: map[string]events.SQSMessageAttribute{},
			Md5OfBody:         fmt.Sprintf("%x", md5.Sum(body)),
			EventSource:       "aws:sqs",
			EventSourceARN:    "arn:aws:sqs:us-east-1:123456789012:notifications",
			AWSRegion:         "us-east-1",
		}}})
		out, err := handle(payload, 10*time.Second)
		resp, ok := out.(events.SQSEventResponse)
		if err != nil || !ok || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("answered %v, %v; want no batch item failures", out, err)
		}
		expectFrames(t, map[*gatewaytest.Client]string{ann: `{"text":"queued"}`, bo: `{"text":"queued"}`})
	})
	t.Run("an event without an entity is parked, not retried", func(t *testing.T) {
		const id = "9b2f4a6c-8d1e-4f3a-b5c7-d9e1f3a5b7c9"
		event := entityUpdated(t, id, map[string]string{"message": "to no one"})
		if out, err := handle(event, 10*time.Second); err != nil || out != nil {
			t.Fatalf("answered %v, %v; want nothing: a parked event is settled", out, err)
		}
		p := s.Parked(t, 1)[0]
		if p.Payload != string(event) || p.EventSource != handlers.SourceEventBridge || p.CorrelationID != id ||
			!strings.Contains(p.Reason, `decode eventbridge event: mapping "`+seed003Mapping+`" gave no topics and no users for this event`) {
			t.Errorf("parked %+v, want the event from eventbridge, by its id, with the reason", p)
		}
	})
	t.Run("an event not settled is an error, for Lambda to retry it", func(t *testing.T) {
		s.Faults.Fail(func(id string, _ int) int {
			if id == boID {
				return 500
			}
			return 0
		})
		defer s.Faults.Fail(nil)
		const id = "5d3e1c7b-2a9f-4e6d-8b0c-1f2e3d4c5b6a"
		_, err := handle(entityUpdated(t, id, map[string]string{"entityId": "myTestEntityId", "message": "retried"}), 2500*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "EventBridge event "+id) {
			t.Fatalf("answered %v, want an error naming the event", err)
		}
		expectFrames(t, map[*gatewaytest.Client]string{ann: `"retried"`})
	})
	for _, c := range []*gatewaytest.Client{ann, bo, cy, dee} {
		c.Quiet(t, 300*time.Millisecond)
	}
}

// TestEventBridgeWithoutMapping: without EVENTBRIDGE_MAPPING, an event's detail is the
// request.
func TestEventBridgeWithoutMapping(t *testing.T) {
	s := stacktest.New(t)
	ann := gatewaytest.DialQuery(t, s.Gateway.Listener.Addr().String(), "ann", "user_id=ann&topic=myTestEntityId")
	bo := s.Connect(t, "bo", "bo")
	fn, _ := start(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	event := entityUpdated(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", map[string]any{"topics": []string{"myTestEntityId"}, "data": map[string]int{"n": 1}})
	if out, err := fn.Handle(ctx, event); err != nil || out != nil {
		t.Fatalf("answered %v, %v", out, err)
	}
	expectFrames(t, map[*gatewaytest.Client]string{ann: `{"n":1}`})
	ann.Quiet(t, 300*time.Millisecond)
	bo.Quiet(t, 0)
}

// expectFrames reads the next frame of each client.
func expectFrames(t *testing.T, want map[*gatewaytest.Client]string) {
	t.Helper()
	for c, frame := range want {
		if got := c.Next(t); got != frame {
			t.Errorf("%s got %s, want %s", c.Name, got, frame)
		}
	}
}
