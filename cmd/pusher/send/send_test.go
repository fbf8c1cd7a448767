package send_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func TestRequest(t *testing.T) {
	tests := []struct {
		name              string
		users, excluded   []string
		topics            []string
		data, want, error string
	}{
		{name: "multicast", users: []string{"u1", "u2"}, data: `{"type":"hello"}`, want: `{"users":["u1","u2"],"data":{"type":"hello"}}`},
		{name: "broadcast", data: `"hi"`, want: `{"data":"hi"}`},
		{name: "topics", topics: []string{"order-7", "order-8"}, data: `{"state":"paid"}`, want: `{"topics":["order-7","order-8"],"data":{"state":"paid"}}`},
		{name: "exclusion", excluded: []string{"u3"}, data: `1`, want: `{"exclude_users":["u3"],"data":1}`},
		{name: "data not JSON", data: `{`, error: "data is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := send.Request(send.Audience{Users: tt.users, Topics: tt.topics, ExcludeUsers: tt.excluded}, tt.data)
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
	for _, tt := range []struct {
		target send.Target
		corr   string // given; "" for one made up
	}{
		{target: send.Target{QueueURL: queue}},
		{target: send.Target{TopicARN: topic}},
		{target: send.Target{QueueURL: queue}, corr: "order-42"},
		{target: send.Target{TopicARN: topic}, corr: "order-43"},
	} {
		target := tt.target
		got, err := send.Send(context.Background(), cfg, target, body, tt.corr)
		if err != nil || got.MessageID == "" || got.CorrelationID == "" || (tt.corr != "" && got.CorrelationID != tt.corr) {
			t.Fatalf("send to %+v: %+v %v", target, got, err)
		}
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), WaitTimeSeconds: 2,
			MessageAttributeNames: []string{"All"}})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive after sending to %+v: %v %v", target, out, err)
		}
		// The attribute the pusher takes the correlation id from: the id printed is
		// the one it logs.
		if attr := aws.ToString(out.Messages[0].MessageAttributes["correlation_id"].StringValue); attr != got.CorrelationID {
			t.Errorf("sent to %+v with correlation id %q, the queue got correlation_id %q", target, got.CorrelationID, attr)
		}
		var arrived, want any
		_ = json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &arrived)
		_ = json.Unmarshal(body, &want)
		if gotJSON, _ := json.Marshal(arrived); string(gotJSON) != string(mustJSON(want)) {
			t.Errorf("sent to %+v, the queue got %s", target, aws.ToString(out.Messages[0].Body))
		}
		_, _ = client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: out.Messages[0].ReceiptHandle})
	}
	if _, err := send.Send(context.Background(), cfg, send.Target{}, body, ""); err == nil {
		t.Error("a send to no target succeeded")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestPick: a target given as a flag wins over the environment's; two flags, or two
// variables and no flag, are refused.
func TestPick(t *testing.T) {
	const queue, topic, dev, stream = "https://sqs.eu-west-1.amazonaws.com/1/n", "arn:aws:sns:eu-west-1:1:n", "http://127.0.0.1:8080", "vehicles"
	tests := []struct {
		name       string
		flags, env send.Target
		want       string // the target's String, or the error
	}{
		{name: "the topic flag over the exported queue", flags: send.Target{TopicARN: topic}, env: send.Target{QueueURL: queue}, want: "topic " + topic},
		{name: "the queue flag over the exported topic", flags: send.Target{QueueURL: queue}, env: send.Target{TopicARN: topic}, want: "queue " + queue},
		{name: "dev over both exported", flags: send.Target{DevURL: dev}, env: send.Target{QueueURL: queue, TopicARN: topic}, want: "pusher dev " + dev},
		{name: "the exported queue", env: send.Target{QueueURL: queue}, want: "queue " + queue},
		{name: "the exported topic", env: send.Target{TopicARN: topic}, want: "topic " + topic},
		{name: "the stream flag over the exported queue", flags: send.Target{StreamName: stream, PartitionKey: "v-42"}, env: send.Target{QueueURL: queue},
			want: "stream vehicles (partition key v-42)"},
		{name: "the exported stream, with the partition key flag", flags: send.Target{PartitionKey: "v-42"}, env: send.Target{StreamName: stream},
			want: "stream vehicles (partition key v-42)"},
		{name: "the exported stream", env: send.Target{StreamName: stream}, want: "stream vehicles (partition key " + send.DefaultPartitionKey + ")"},
		{name: "two flags", flags: send.Target{QueueURL: queue, TopicARN: topic}, want: "--queue-url, --topic-arn, --stream and --dev each name a target: give one"},
		{name: "two variables", env: send.Target{QueueURL: queue, TopicARN: topic},
			want: "both NOTIFICATIONS_QUEUE_URL and NOTIFICATIONS_TOPIC_ARN are set: unset all but one, or choose with --queue-url, --topic-arn or --stream"},
		{name: "three variables", env: send.Target{QueueURL: queue, TopicARN: topic, StreamName: stream},
			want: "NOTIFICATIONS_QUEUE_URL, NOTIFICATIONS_TOPIC_ARN and NOTIFICATIONS_STREAM_NAME are set: unset all but one, or choose with --queue-url, --topic-arn or --stream"},
		{name: "none", want: "no target: give --queue-url, --topic-arn, --stream or --dev, or set NOTIFICATIONS_QUEUE_URL, NOTIFICATIONS_TOPIC_ARN or NOTIFICATIONS_STREAM_NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := send.Pick(tt.flags, tt.env)
			said := got.String()
			if err != nil {
				said = err.Error()
			}
			if said != tt.want {
				t.Errorf("Pick: %q, want %q", said, tt.want)
			}
			if err == nil && got.Validate() != nil {
				t.Errorf("Pick picked %+v, which names no one target", got)
			}
		})
	}
}

// TestPutOnStream puts requests and events on a stream of kinesalite as a producer does:
// each is one record, its data the body as given, of the partition key given or of
// DefaultPartitionKey, and the id Send returns is the record's shard and sequence number,
// as Lambda's event names it (eventID).
func TestPutOnStream(t *testing.T) {
	endpoint := awstest.Kinesalite(t)
	client := awstest.KinesisClient(endpoint)
	awstest.CreateStream(t, client, "vehicles", 2)
	cfg := awstest.Config()
	cfg.BaseEndpoint = aws.String(endpoint)
	for _, tt := range []struct {
		name, key, body, wantKey string
	}{
		{name: "an event of a vehicle", key: "v-42", body: `{"VehicleID":"v-42","lat":48.85,"lng":2.35}`, wantKey: "v-42"},
		{name: "a request, of the default key", body: `{"topics":["v-7"],"data":{"lat":1}}`, wantKey: send.DefaultPartitionKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := send.Send(context.Background(), cfg, send.Target{StreamName: "vehicles", PartitionKey: tt.key}, []byte(tt.body), "")
			if err != nil {
				t.Fatal(err)
			}
			id := got.CorrelationID
			shard, seq, ok := strings.Cut(id, ":")
			if !ok || !strings.HasPrefix(shard, "shardId-") || seq == "" {
				t.Fatalf("id %q, want shardId-...:<sequence number>", id)
			}
			it, err := client.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{
				StreamName: aws.String("vehicles"), ShardId: aws.String(shard),
				ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seq),
			})
			if err != nil {
				t.Fatalf("the id names no record: %v", err)
			}
			out, err := client.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
			if err != nil || len(out.Records) != 1 {
				t.Fatalf("read the record back: %v %v", out, err)
			}
			r := out.Records[0]
			if string(r.Data) != tt.body || aws.ToString(r.PartitionKey) != tt.wantKey || aws.ToString(r.SequenceNumber) != seq {
				t.Errorf("the stream holds %q of key %q (%s), want %q of key %q (%s)", r.Data, aws.ToString(r.PartitionKey),
					aws.ToString(r.SequenceNumber), tt.body, tt.wantKey, seq)
			}
		})
	}
	for _, target := range []send.Target{
		{StreamName: "nowhere"},
		{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/n", PartitionKey: "v-42"},
		{StreamName: "vehicles", PartitionKey: strings.Repeat("k", 257)},
	} {
		if _, err := send.Send(context.Background(), cfg, target, []byte(`{}`), ""); err == nil {
			t.Errorf("a send to %+v succeeded", target)
		}
	}
}
