package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/cli"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// entityEvent is an event of seed 003 as an EventBridge rule whose target is the queue
// delivers it: the event, every top-level field as "Amazon EventBridge events"
// (docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html) documents
// them, with the producer's detail.
func entityEvent(id string, detail map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": "Entity Updated", "source": "com.example.entities",
		"account": "123456789012", "time": "2026-12-07T09:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": detail,
	})
	return string(b)
}

// pipeRecord is a Kinesis record of seed 002's stream as an EventBridge Pipe from the
// stream sends it to the queue, one record a message ("Amazon Kinesis stream as a
// source", docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html).
func pipeRecord(data string, seq string) string {
	b, _ := json.Marshal(map[string]any{
		"kinesisSchemaVersion": "1.0", "partitionKey": "v-42", "sequenceNumber": seq,
		"data": base64.StdEncoding.EncodeToString([]byte(data)), "approximateArrivalTimestamp": 1545084650.987,
		"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:" + seq,
		"eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/vehicles-pipe",
		"awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/vehicles",
	})
	return string(b)
}

// withMappings sets the mappings of `pusher serve` from the environment env, as its
// flags read them.
func withMappings(t *testing.T, env map[string]string) func(*serve.Config) {
	return func(c *serve.Config) {
		f := settings.New("serve", io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		settings.Mappings(f, &c.Pipeline.Mappings)
		if err := f.Parse(nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeEventBridge runs seed 003 on `pusher serve`: EventBridge events a rule puts
// on the queue (directly, or through an SNS topic the queue subscribes to) reach the
// subscribers of the entity EVENTBRIDGE_MAPPING names, and no one else; an event the
// mapping cannot read is parked with the reason; and a Kinesis record an EventBridge
// Pipe puts on the queue reaches the clients watching its vehicle (seed 002).
func TestServeEventBridge(t *testing.T) {
	s := stacktest.New(t)
	addr := s.Gateway.Listener.Addr().String()
	ann := s.Connect(t, "ann", "ann")
	ann.Send(t, `{"action":"subscribe","entityId":"myTestEntityId"}`)
	if got := ann.Next(t); got != `{"type":"subscribed","topic":"myTestEntityId"}` {
		t.Fatalf("ann's subscribe was answered %s", got)
	}
	bo := gatewaytest.DialQuery(t, addr, "bo", "user_id=bo&topic=otherEntityId")
	cy := s.Connect(t, "cy", "cy")
	watcher := gatewaytest.DialQuery(t, addr, "watcher", "user_id=dee&topic=v-42")
	s.Serve(t, func(c *serve.Config) {
		c.TopicARN = s.TopicARN
		withMappings(t, map[string]string{
			"EVENTBRIDGE_MAPPING": `{topics: [detail.entityId], data: detail.message}`,
			"KINESIS_MAPPING":     `{topics: [VehicleID]}`,
		})(c)
	})

	t.Run("a rule's event in the queue", func(t *testing.T) {
		s.Send(t, entityEvent("6a7e8feb-b491-4cf7-a9f1-bf3703467718", map[string]any{"entityId": "myTestEntityId", "message": "Hello world"}))
		if got := ann.Next(t); got != `"Hello world"` {
			t.Errorf("ann got %s, want the event's detail.message", got)
		}
	})
	t.Run("a rule's event through SNS", func(t *testing.T) {
		event := entityEvent("0c9e5e1a-3f0b-4d8e-9a51-2b7f6c1d4e02", map[string]any{"entityId": "myTestEntityId", "message": map[string]any{"text": "through SNS"}})
		if _, err := s.SNS.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(s.TopicARN), Message: aws.String(event)}); err != nil {
			t.Fatal(err)
		}
		if got := ann.Next(t); got != `{"text":"through SNS"}` {
			t.Errorf("ann got %s", got)
		}
	})
	t.Run("a Pipe's Kinesis record", func(t *testing.T) {
		const position = `{"VehicleID":"v-42","lat":52.52,"lon":13.405}`
		s.Send(t, pipeRecord(position, "49590338271490256608559692538361571095921575989136588898"))
		if got := watcher.Next(t); got != position {
			t.Errorf("the watcher got %s, want the record's data", got)
		}
	})
	t.Run("an event without an entity is parked", func(t *testing.T) {
		event := entityEvent("9b2f4a6c-8d1e-4f3a-b5c7-d9e1f3a5b7c9", map[string]any{"message": "to no one"})
		s.Send(t, event)
		parked := s.Parked(t, 1)
		if p := parked[0]; p.Payload != event || p.Stage != pipeline.StageDecode || p.Class != "permanent" || p.EventSource != handlers.SourceEventBridge ||
			!strings.Contains(p.Reason, "gave no topics and no users for this event") || p.CorrelationID != "9b2f4a6c-8d1e-4f3a-b5c7-d9e1f3a5b7c9" {
			t.Errorf("parked %+v, want the event from eventbridge, by its id, with the reason", p)
		}
	})
	for _, c := range []*gatewaytest.Client{ann, bo, cy, watcher} {
		c.Quiet(t, 300*time.Millisecond)
	}
	stacktest.Eventually(t, "the notifications queue is empty", func() bool { return s.Queued(t, s.QueueURL) == 0 })
}

// TestServeEventBridgeWithoutMapping: without EVENTBRIDGE_MAPPING, an event's detail is
// the request.
func TestServeEventBridgeWithoutMapping(t *testing.T) {
	s := stacktest.New(t)
	ann := gatewaytest.DialQuery(t, s.Gateway.Listener.Addr().String(), "ann", "user_id=ann&topic=myTestEntityId")
	bo := s.Connect(t, "bo", "bo")
	s.Serve(t, nil)
	s.Send(t, entityEvent("6a7e8feb-b491-4cf7-a9f1-bf3703467718", map[string]any{"topics": []string{"myTestEntityId"}, "data": map[string]int{"n": 1}}))
	if got := ann.Next(t); got != `{"n":1}` {
		t.Errorf("ann got %s, want the detail's data", got)
	}
	seed003 := entityEvent("9b2f4a6c-8d1e-4f3a-b5c7-d9e1f3a5b7c9", map[string]any{"entityId": "myTestEntityId", "message": "Hello world"})
	s.Send(t, seed003)
	if p := s.Parked(t, 1)[0]; p.Payload != seed003 || !strings.Contains(p.Reason, `decode eventbridge event: no "data" field`) {
		t.Errorf("parked %+v, want seed 003's event, whose detail is no request", p)
	}
	ann.Quiet(t, 300*time.Millisecond)
	bo.Quiet(t, 0)
}

// TestServeRefusesABadMapping: `pusher serve` with a mapping that does not compile
// stops before it starts, with one line naming the variable.
func TestServeRefusesABadMapping(t *testing.T) {
	for _, tc := range []struct{ env, mapping, want string }{
		{"KINESIS_MAPPING", `{topics: [VehicleID`, `KINESIS_MAPPING: mapping "{topics: [VehicleID": SyntaxError: `},
		{"KINESIS_MAPPING", `VehicleID`, `KINESIS_MAPPING: mapping "VehicleID": not a multiselect hash such as {topics: [VehicleID], data: @}`},
		{"EVENTBRIDGE_MAPPING", `{topic: x}`, `EVENTBRIDGE_MAPPING: mapping "{topic: x}": key "topic" is not one of topics, users, exclude_users, data`},
	} {
		t.Run(tc.mapping, func(t *testing.T) {
			// Every other setting as a deployment has it: the mapping alone is wrong.
			for k, v := range map[string]string{
				"APIGW_ENDPOINT":          "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
				"CONNECTIONS_TABLE_NAME":  "ws-connections",
				"NOTIFICATIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/notifications",
				"POISON_QUEUE_URL":        "https://sqs.eu-west-1.amazonaws.com/123456789012/poison",
				"KINESIS_MAPPING":         "", "EVENTBRIDGE_MAPPING": "",
			} {
				t.Setenv(k, v)
			}
			t.Setenv(tc.env, tc.mapping)
			var stdout, stderr bytes.Buffer
			err := cli.Run(context.Background(), []string{"serve"}, &stdout, &stderr)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("pusher serve stopped with %v, want one line starting %q", err, tc.want)
			}
			if stdout.Len() > 0 || slices.ContainsFunc(strings.Split(stderr.String(), "\n"), func(l string) bool { return strings.Contains(l, "posting to") }) {
				t.Errorf("pusher serve started: %q %q", stdout.String(), stderr.String())
			}
		})
	}
}
