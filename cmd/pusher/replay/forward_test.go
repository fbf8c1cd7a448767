package replay_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestForwardEventsWithTheirSource is the operator's recipe for events a wrong mapping
// parked: `pusher serve` with mappings that read the wrong fields parks seed 003's
// EventBridge event and seed 002's Kinesis record (parked as its data alone, which no
// shape tells from a request); once it runs with the right ones, `pusher replay send
// --to queue` sends them back, each with the pusher_event_source attribute naming its
// source, and they reach their subscribers. A parked request goes back as a plain
// message, as a backend sends one.
func TestForwardEventsWithTheirSource(t *testing.T) {
	s := newStack(t)
	ann := gatewaytest.DialQuery(t, s.Gateway.Listener.Addr().String(), "ann", "user_id=ann&topic=myTestEntityId")
	watcher := gatewaytest.DialQuery(t, s.Gateway.Listener.Addr().String(), "watcher", "user_id=dee&topic=v-42")
	withMappings := func(eventbridge, kinesis string) func(*serve.Config) {
		return func(c *serve.Config) {
			c.Pipeline.Retry = retry
			env := map[string]string{"EVENTBRIDGE_MAPPING": eventbridge, "KINESIS_MAPPING": kinesis}
			f := settings.New("serve", io.Discard, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			settings.Mappings(f, &c.Pipeline.Mappings)
			if err := f.Parse(nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Seed 003's event as a rule delivers it to the queue ("Amazon EventBridge events",
	// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
	const event = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Entity Updated",` +
		`"source":"com.example.entities","account":"123456789012","time":"2026-12-07T09:00:00Z","region":"us-east-1",` +
		`"resources":[],"detail":{"entityId":"myTestEntityId","message":"Hello world"}}`
	// Seed 002's record as a Pipe from the stream sends it to the queue ("Amazon Kinesis
	// stream as a source", docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html).
	const position = `{"VehicleID":"v-42","lat":52.52}`
	const record = `{"kinesisSchemaVersion":"1.0","partitionKey":"v-42","sequenceNumber":"49590338271490256608559692538361571095921575989136588898",` +
		`"data":"eyJWZWhpY2xlSUQiOiJ2LTQyIiwibGF0Ijo1Mi41Mn0=","approximateArrivalTimestamp":1545084650.987,"eventSource":"aws:kinesis",` +
		`"eventVersion":"1.0","eventID":"shardId-000000000000:49590338271490256608559692538361571095921575989136588898",` +
		`"eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/vehicles-pipe","awsRegion":"us-east-1",` +
		`"eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/vehicles"}`
	const request = `{"topics":["myTestEntityId"]}` // no data: parked, and parked again

	_, stop := s.Serve(t, withMappings(`{topics: [detail.entity], data: detail.message}`, `{topics: [vehicle]}`))
	s.Send(t, event)
	s.Send(t, record)
	s.Send(t, request)
	stacktest.EventuallyWithin(t, patience, "the events and the request parked", func() bool { return s.Queued(t, s.PoisonURL) == 3 })
	stacktest.EventuallyWithin(t, patience, "the notifications queue is empty", func() bool { return s.Queued(t, s.QueueURL) == 0 })
	stop()

	ctx := context.Background()
	cfg := replay.Config{
		Config: onaws.Config{
			PoisonQueueURL: s.PoisonURL, APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(),
			Pipeline: pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
		},
		QueueURL: s.QueueURL,
	}
	svc, cleanup, err := pusher.BuildReplay(ctx, cfg, nil, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	var rep replay.Report
	stacktest.EventuallyWithin(t, patience, "all three sent back to the queue", func() bool {
		r, err := replay.Send(ctx, svc.Queue, svc.Forwarder, replay.SendConfig{Target: replay.ToQueue, Logger: stacktest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		rep.Requeued += r.Requeued
		return rep.Requeued == 3
	})

	// What the queue holds now, as the service will read it.
	sent := map[string]map[string]string{} // body: its String attributes
	stacktest.EventuallyWithin(t, patience, "all three in the notifications queue", func() bool {
		out, err := s.SQS.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			attrs := map[string]string{}
			for k, a := range m.MessageAttributes {
				attrs[k] = aws.ToString(a.DataType) + ":" + aws.ToString(a.StringValue)
			}
			sent[aws.ToString(m.Body)] = attrs
		}
		return len(sent) == 3
	})
	for body, source := range map[string]string{event: handlers.SourceEventBridge, position: handlers.SourceKinesis} {
		if got := sent[body]; len(got) != 1 || got["pusher_event_source"] != "String:"+source {
			t.Errorf("%s went back with the attributes %v, want pusher_event_source %s alone", body, got, source)
		}
	}
	if got, ok := sent[request]; !ok || len(got) != 0 {
		t.Errorf("the request went back with the attributes %v (%v), want none", got, ok)
	}

	s.Serve(t, withMappings(`{topics: [detail.entityId], data: detail.message}`, `{topics: [VehicleID]}`))
	if got := ann.Next(t); got != `"Hello world"` {
		t.Errorf("ann got %s, want the event sent back", got)
	}
	if got := watcher.Next(t); got != position {
		t.Errorf("the watcher got %s, want the record's data sent back", got)
	}
	parked := s.Parked(t, 1)
	if p := parked[0]; p.Payload != request || p.EventSource != "" || !strings.Contains(p.Reason, `decode request: no "data" field`) {
		t.Errorf("parked %+v, want the request parked again as a request", p)
	}
	ann.Quiet(t, 300*time.Millisecond)
	watcher.Quiet(t, 0)
}

// TestForwarderRefusesDeliveries: a delivery parked by post is neither a whole request
// nor an event, and does not go back to the queue.
func TestForwarderRefusesDeliveries(t *testing.T) {
	msg := message.NewMessage("parked-1", []byte(`{"n":1}`))
	msg.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StagePost)
	msg.Metadata.Set(pipeline.EventSourceKey, handlers.SourceEventBridge) // carried on from its request
	_, err := replay.NewForwarder(nil, "https://sqs.eu-west-1.amazonaws.com/123456789012/notifications").Replay(context.Background(), msg)
	if err == nil || !strings.Contains(err.Error(), "forward parked-1: parked by post, not a request") {
		t.Errorf("Replay of a delivery: %v", err)
	}
}
