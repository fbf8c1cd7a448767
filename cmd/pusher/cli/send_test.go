package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestSendPicksItsTarget sends with `pusher send` as the local recipe does, with
// NOTIFICATIONS_QUEUE_URL exported: a target given as a flag wins over the
// environment's, stderr says which one was used, and the request arrives there alone.
func TestSendPicksItsTarget(t *testing.T) {
	endpoint := awstest.GoAWS(t)
	client, topics := awstest.SQSClient(endpoint), awstest.SNSClient(endpoint)
	direct := awstest.CreateQueue(t, client, "notifications", nil)
	viaTopic := awstest.CreateQueue(t, client, "from-the-topic", nil)
	topic := awstest.CreateTopic(t, topics, "notifications")
	awstest.SubscribeQueue(t, topics, client, topic, viaTopic, true)
	posted := make(chan string, 10)
	dev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- string(b)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"message_id":"dev-1"}`))
	}))
	t.Cleanup(dev.Close)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}

	tests := []struct {
		name       string
		queue, arn string // exported
		args       []string
		wantSaid   string
		wantIn     string // the queue the request must arrive in; "" for pusher dev
	}{
		{name: "the topic flag over the exported queue", queue: direct, args: []string{"--topic-arn", topic},
			wantSaid: "sent to topic " + topic, wantIn: viaTopic},
		{name: "the queue flag over the exported topic", arn: topic, args: []string{"--queue-url", direct},
			wantSaid: "sent to queue " + direct, wantIn: direct},
		{name: "the exported queue", queue: direct, wantSaid: "sent to queue " + direct, wantIn: direct},
		{name: "the exported topic", arn: topic, wantSaid: "sent to topic " + topic, wantIn: viaTopic},
		{name: "pusher dev over both exported", queue: direct, arn: topic, args: []string{"--dev", dev.URL},
			wantSaid: "sent to pusher dev " + dev.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFICATIONS_QUEUE_URL", tt.queue)
			t.Setenv("NOTIFICATIONS_TOPIC_ARN", tt.arn)
			t.Setenv("NOTIFICATIONS_STREAM_NAME", "")
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"send"}, tt.args...), "--users", "u1", `{"n":1}`)
			if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("pusher send: %v\n%s", err, stderr.String())
			}
			// The message id is said when it is not the correlation id printed: always
			// but for pusher dev, whose intake takes its 202's message id as the
			// correlation id.
			if got := strings.TrimSpace(stderr.String()); got != tt.wantSaid && !strings.HasPrefix(got, tt.wantSaid+" (message id ") {
				t.Errorf("stderr %q, want %q and the message id", got, tt.wantSaid)
			}
			id := strings.TrimSpace(stdout.String())
			if id == "" || strings.Contains(id, "\n") {
				t.Errorf("stdout %q, want the id alone", stdout.String())
			}
			for _, q := range []string{direct, viaTopic} {
				got := receive(t, client, q)
				if want := q == tt.wantIn; (got != "") != want || want && !strings.Contains(got, `"users":["u1"]`) {
					t.Errorf("queue %s received %q, want the request: %v", q, got, want)
				}
			}
			if want := tt.wantIn == ""; (len(posted) == 1) != want {
				t.Errorf("pusher dev got %d requests, want the request: %v", len(posted), want)
			}
			for len(posted) > 0 {
				<-posted
			}
		})
	}
}

// receive returns the body of the one message of queue, deleted; "" when it holds none.
func receive(t *testing.T, client *sqs.Client, queue string) string {
	t.Helper()
	ctx := context.Background()
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatalf("receive from %s: %v", queue, err)
	}
	if len(out.Messages) > 1 {
		t.Errorf("%s holds %d messages, want at most 1", queue, len(out.Messages))
	}
	if len(out.Messages) == 0 {
		return ""
	}
	_, _ = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: out.Messages[0].ReceiptHandle})
	return aws.ToString(out.Messages[0].Body)
}

// TestSendRefusesTwoTargets: two targets given as flags, or two exported and none
// given, are refused with one line, and nothing is sent.
func TestSendRefusesTwoTargets(t *testing.T) {
	const queue, topic = "https://sqs.eu-west-1.amazonaws.com/1/notifications", "arn:aws:sns:eu-west-1:1:notifications"
	tests := []struct {
		name       string
		queue, arn string // exported
		args       []string
		want       string
	}{
		{name: "both flags", args: []string{"--queue-url", queue, "--topic-arn", topic}, want: "--queue-url, --topic-arn, --stream and --dev each name a target: give one"},
		{name: "a queue and a stream", args: []string{"--queue-url", queue, "--stream", "vehicles"}, want: "give one"},
		{name: "a flag and --dev", args: []string{"--topic-arn", topic, "--dev", "http://127.0.0.1:1"}, want: "give one"},
		{name: "both exported", queue: queue, arn: topic, want: "both NOTIFICATIONS_QUEUE_URL and NOTIFICATIONS_TOPIC_ARN are set"},
		{name: "none", want: "no target: give --queue-url, --topic-arn, --stream or --dev"},
		{name: "a partition key without a stream", args: []string{"--queue-url", queue, "--partition-key", "v-42"}, want: "a partition key goes with a stream name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFICATIONS_QUEUE_URL", tt.queue)
			t.Setenv("NOTIFICATIONS_TOPIC_ARN", tt.arn)
			t.Setenv("NOTIFICATIONS_STREAM_NAME", "")
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), append(append([]string{"send"}, tt.args...), `{"n":1}`), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tt.want)
			}
			if stdout.Len() > 0 || stderr.Len() > 0 {
				t.Errorf("printed %q and %q", stdout.String(), stderr.String())
			}
		})
	}
}

// TestSendPutsOnStream puts records on a stream of kinesalite with `pusher send`, as
// the local recipe of seed 002 does: a vehicle's position with --raw, as it is, of the
// vehicle's partition key; a request built from DATA without it, on the exported
// NOTIFICATIONS_STREAM_NAME. stderr names the stream and the key, stdout the record's
// shard and sequence number.
func TestSendPutsOnStream(t *testing.T) {
	endpoint := awstest.Kinesalite(t)
	client := awstest.KinesisClient(endpoint)
	awstest.CreateStream(t, client, "vehicles", 1)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_KINESIS": endpoint, "AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test",
		"AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"NOTIFICATIONS_QUEUE_URL": "", "NOTIFICATIONS_TOPIC_ARN": ""} {
		t.Setenv(k, v)
	}
	tests := []struct {
		name, stream string // exported
		args         []string
		wantSaid     string
		wantData     string
		wantKey      string
	}{
		{name: "a raw event of a vehicle", args: []string{"--stream", "vehicles", "--partition-key", "v-42", "--raw", `{"VehicleID":"v-42","lat":48.85}`},
			wantSaid: "sent to stream vehicles (partition key v-42)", wantData: `{"VehicleID":"v-42","lat":48.85}`, wantKey: "v-42"},
		{name: "a request on the exported stream", stream: "vehicles", args: []string{"--users", "u1", `{"n":1}`},
			wantSaid: "sent to stream vehicles (partition key pusher-send)", wantData: `{"users":["u1"],"data":{"n":1}}`, wantKey: "pusher-send"},
		{name: "a raw record that is no JSON", stream: "vehicles", args: []string{"--raw", "GPS fix lost"},
			wantSaid: "sent to stream vehicles (partition key pusher-send)", wantData: "GPS fix lost", wantKey: "pusher-send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFICATIONS_STREAM_NAME", tt.stream)
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), append([]string{"send"}, tt.args...), &stdout, &stderr); err != nil {
				t.Fatalf("pusher send: %v\n%s", err, stderr.String())
			}
			if got := strings.TrimSpace(stderr.String()); got != tt.wantSaid {
				t.Errorf("stderr %q, want %q", got, tt.wantSaid)
			}
			shard, seq, _ := strings.Cut(strings.TrimSpace(stdout.String()), ":")
			it, err := client.GetShardIterator(context.Background(), &kinesis.GetShardIteratorInput{
				StreamName: aws.String("vehicles"), ShardId: aws.String(shard),
				ShardIteratorType: kinesistypes.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seq),
			})
			if err != nil {
				t.Fatalf("stdout %q names no record: %v", stdout.String(), err)
			}
			out, err := client.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
			if err != nil || len(out.Records) != 1 {
				t.Fatalf("read the record back: %v %v", out, err)
			}
			if r := out.Records[0]; string(r.Data) != tt.wantData || aws.ToString(r.PartitionKey) != tt.wantKey {
				t.Errorf("the stream holds %q of key %q, want %q of key %q", r.Data, aws.ToString(r.PartitionKey), tt.wantData, tt.wantKey)
			}
		})
	}
	t.Run("--raw with --users is refused", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), []string{"send", "--stream", "vehicles", "--raw", "--users", "u1", `{"n":1}`}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "--raw sends DATA as it is") {
			t.Errorf("error %v, want --raw refused with --users", err)
		}
	})
}
