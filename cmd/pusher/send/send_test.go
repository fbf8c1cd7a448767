package send_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestRequest(t *testing.T) {
	tests := []struct {
		name              string
		users, excluded   []string
		data, want, error string
	}{
		{name: "multicast", users: []string{"u1", "u2"}, data: `{"type":"hello"}`, want: `{"users":["u1","u2"],"data":{"type":"hello"}}`},
		{name: "broadcast", data: `"hi"`, want: `{"data":"hi"}`},
		{name: "exclusion", excluded: []string{"u3"}, data: `1`, want: `{"exclude_users":["u3"],"data":1}`},
		{name: "data not JSON", data: `{`, error: "data is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := send.Request(tt.users, tt.excluded, tt.data)
			if tt.error != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tt.error)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s %v, want %s", got, err, tt.want)
			}
			if _, err := (handlers.Decoder{}).Decode(got); err != nil {
				t.Errorf("the pipeline would refuse it: %v", err)
			}
		})
	}
}

// TestSendToQueueAndTopic sends as a backend does, to goaws: the queue receives the
// request as its body, directly or through the topic.
func TestSendToQueueAndTopic(t *testing.T) {
	endpoint := awstest.GoAWS(t)
	client, topics := awstest.SQSClient(endpoint), awstest.SNSClient(endpoint)
	queue := awstest.CreateQueue(t, client, "notifications", nil)
	topic := awstest.CreateTopic(t, topics, "notifications")
	awstest.SubscribeQueue(t, topics, client, topic, queue, true)
	cfg := awstest.Config()
	cfg.BaseEndpoint = aws.String(endpoint)
	body := []byte(`{"users":["u1"],"data":{"n":1}}`)
	for _, target := range []send.Target{{QueueURL: queue}, {TopicARN: topic}} {
		id, err := send.Send(context.Background(), cfg, target, body)
		if err != nil || id == "" {
			t.Fatalf("send to %+v: %q %v", target, id, err)
		}
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), WaitTimeSeconds: 2})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive after sending to %+v: %v %v", target, out, err)
		}
		var got, want any
		_ = json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got)
		_ = json.Unmarshal(body, &want)
		if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(mustJSON(want)) {
			t.Errorf("sent to %+v, the queue got %s", target, aws.ToString(out.Messages[0].Body))
		}
		_, _ = client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: out.Messages[0].ReceiptHandle})
	}
	if _, err := send.Send(context.Background(), cfg, send.Target{}, body); err == nil {
		t.Error("a send to no target succeeded")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
