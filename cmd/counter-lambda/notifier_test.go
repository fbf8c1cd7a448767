package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// received takes the messages the queue at url holds, and reads each as the pusher
// reads its notifications queue: the SQS subscriber's Unmarshaler, then the decode
// stage's Decoder, which parks what it refuses.
func received(t *testing.T, client *sqs.Client, url string) []handlers.Request {
	t.Helper()
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
	})
	if err != nil {
		t.Fatalf("receive from %s: %v", url, err)
	}
	var reqs []handlers.Request
	for _, m := range out.Messages {
		msg, err := pushersqs.Unmarshaler{}.Unmarshal(&m)
		if err != nil {
			t.Fatalf("the pusher's unmarshaler refuses %q: %v", aws.ToString(m.Body), err)
		}
		req, err := handlers.Decoder{}.DecodeFrom(msg.Metadata.Get(pipeline.EventSourceKey), msg.Payload)
		if err != nil {
			t.Fatalf("the pusher's decoder refuses %q: %v", aws.ToString(m.Body), err)
		}
		reqs = append(reqs, req)
		if _, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	return reqs
}

// wantBroadcasts checks that reqs are broadcasts of frames, in that order.
func wantBroadcasts(t *testing.T, reqs []handlers.Request, frames ...string) {
	t.Helper()
	if len(reqs) != len(frames) {
		t.Fatalf("the queue held %d requests, want %d (%q)", len(reqs), len(frames), frames)
	}
	for i, req := range reqs {
		if req.Kind() != handlers.Broadcast || len(req.Users)+len(req.Topics)+len(req.ExcludeUsers) != 0 || req.Segment != nil {
			t.Errorf("request %d is %+v, want a broadcast", i, req)
		}
		if string(req.Data) != frames[i] {
			t.Errorf("request %d's data is %s, want %s", i, req.Data, frames[i])
		}
	}
}

// records takes the records of stream's first shard, and reads each as the pusher
// reads a stream's records without a mapping: its data is a request, for the Decoder.
func records(t *testing.T, client *kinesis.Client, stream string) []handlers.Request {
	t.Helper()
	it, err := client.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: kinesistypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatalf("read stream %s: %v", stream, err)
	}
	out, err := client.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("read stream %s: %v", stream, err)
	}
	var reqs []handlers.Request
	for _, r := range out.Records {
		req, err := handlers.Decoder{}.Decode(r.Data)
		if err != nil {
			t.Fatalf("the pusher's decoder refuses %q: %v", r.Data, err)
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// TestBroadcastThroughAnySource: the function, built from its environment as its init
// builds it, sends a click's broadcast to whichever source the pusher's variable names,
// as `pusher send` picks it: the queue (deploy/examples/counter's), a topic (whose
// subscribed queue gets SNS's notification) or a stream. Read as the pusher reads that
// source, it is one broadcast of the clicker's frame.
func TestBroadcastThroughAnySource(t *testing.T) {
	dynamoURL, goaws, kinesalite := awstest.Dynalite(t), awstest.GoAWS(t), awstest.Kinesalite(t)
	for k, v := range map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_DYNAMODB": dynamoURL, "AWS_ENDPOINT_URL_SQS": goaws, "AWS_ENDPOINT_URL_SNS": goaws,
		"AWS_ENDPOINT_URL_KINESIS": kinesalite,
	} {
		t.Setenv(k, v)
	}
	dynamo, queues, topics, streams := awstest.DynamoDBClient(dynamoURL), awstest.SQSClient(goaws), awstest.SNSClient(goaws), awstest.KinesisClient(kinesalite)
	queue := awstest.CreateQueue(t, queues, "notifications", nil)
	subscribed := awstest.CreateQueue(t, queues, "subscribed", nil)
	topic := awstest.CreateTopic(t, topics, "notifications")
	awstest.SubscribeQueue(t, topics, queues, topic, subscribed, false)
	awstest.CreateStream(t, streams, "notifications", 1)

	cases := []struct {
		name, variable, value string
		read                  func(t *testing.T) []handlers.Request
	}{
		{"queue", "NOTIFICATIONS_QUEUE_URL", queue, func(t *testing.T) []handlers.Request { return received(t, queues, queue) }},
		{"topic", "NOTIFICATIONS_TOPIC_ARN", topic, func(t *testing.T) []handlers.Request { return received(t, queues, subscribed) }},
		{"stream", "NOTIFICATIONS_STREAM_NAME", "notifications", func(t *testing.T) []handlers.Request { return records(t, streams, "notifications") }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			table := fmt.Sprintf("counter-%d", i)
			createCounterTable(t, dynamo, table)
			env := map[string]string{"COUNTER_TABLE": table, "COUNTER_WEBSOCKET_URL": wsURL, c.variable: c.value}
			cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			fn, err := build(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			const frame = `{"type":"state","value":1,"seq":1,"epoch":0}`
			if resp := route(t, fn, messageEvent(app.RoutePlus, "tabA0connId=")); resp.StatusCode != 200 || resp.Body != frame {
				t.Errorf("plus answered %d %s, want 200 %s", resp.StatusCode, resp.Body, frame)
			}
			wantBroadcasts(t, c.read(t), frame)
		})
	}
}

// TestSendNotifierErrors: a queue that does not exist is an error naming it; a frame
// that is not JSON is refused before anything is sent.
func TestSendNotifierErrors(t *testing.T) {
	endpoint := awstest.GoAWS(t)
	client := awstest.SQSClient(endpoint)
	cfg := awstest.Config()
	cfg.BaseEndpoint = aws.String(endpoint)
	queue := awstest.CreateQueue(t, client, "notifications", nil)
	gone := strings.Replace(queue, "notifications", "deleted", 1)
	err := sendNotifier(cfg, send.Target{QueueURL: gone}).Broadcast(context.Background(), app.State{Value: 1, Seq: 1}.Frame())
	if err == nil || !strings.Contains(err.Error(), "send to "+gone) {
		t.Errorf("Broadcast to a queue that does not exist: %v, want an error naming %s", err, gone)
	}
	err = sendNotifier(cfg, send.Target{QueueURL: queue}).Broadcast(context.Background(), json.RawMessage(`{"type":`))
	if err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("Broadcast of a broken frame: %v, want an error saying it is not JSON", err)
	}
	if depth := awstest.QueueDepth(t, client, queue); depth != 0 {
		t.Errorf("the queue holds %d messages after the broken frame, want none", depth)
	}
}
