package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
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

func newSQSNotifier(t *testing.T, client *sqs.Client, url string) *SQSNotifier {
	t.Helper()
	n, err := NewSQSNotifier(client, url)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSQSNotifierBroadcast(t *testing.T) {
	client := awstest.SQSClient(awstest.GoAWS(t))
	url := awstest.CreateQueue(t, client, "notifications", nil)
	n := newSQSNotifier(t, client, url)
	ctx := context.Background()

	frame := app.State{Value: -2, Seq: 9}.Frame()
	if err := n.Broadcast(ctx, frame); err != nil {
		t.Fatal(err)
	}
	wantBroadcasts(t, received(t, client, url), `{"type":"state","value":-2,"seq":9,"epoch":0}`)

	// What is not JSON is refused before anything is sent.
	if err := n.Broadcast(ctx, json.RawMessage(`{"type":`)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("Broadcast of a broken frame: %v, want an error saying it is not JSON", err)
	}
	if depth := awstest.QueueDepth(t, client, url); depth != 0 {
		t.Errorf("the queue holds %d messages after the broken frame, want none", depth)
	}
}

func TestSQSNotifierErrors(t *testing.T) {
	client := awstest.SQSClient(awstest.GoAWS(t))
	gone := strings.Replace(awstest.CreateQueue(t, client, "notifications", nil), "notifications", "deleted", 1)
	err := newSQSNotifier(t, client, gone).Broadcast(context.Background(), app.State{Value: 1, Seq: 1}.Frame())
	if err == nil || !strings.Contains(err.Error(), "send to "+gone) {
		t.Errorf("Broadcast to a queue that does not exist: %v, want an error naming %s", err, gone)
	}

	for _, c := range []struct {
		name   string
		client SQSAPI
		url    string
	}{
		{"no client", nil, "https://sqs.eu-west-1.amazonaws.com/123456789012/n"},
		{"no queue", client, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewSQSNotifier(c.client, c.url); err == nil {
				t.Error("NewSQSNotifier succeeded")
			}
		})
	}
}
