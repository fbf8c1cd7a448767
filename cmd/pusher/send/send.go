// Package send publishes notification requests as a backend service would: with the AWS
// SDK's plain SQS SendMessage or SNS Publish, or with an HTTP POST to `pusher dev`; and
// puts records on a Kinesis stream as a producer does, with PutRecord. It backs `pusher
// send`.
package send

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	sqsadapter "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Audience is whom a request goes to, as its JSON fields name them: Users and the
// subscribers of Topics (neither: everyone), less ExcludeUsers.
type Audience struct {
	Users, Topics, ExcludeUsers []string
}

// Request builds the JSON of a notification request to a carrying data, which must be
// JSON.
func Request(a Audience, data string) ([]byte, error) {
	if !json.Valid([]byte(data)) {
		return nil, fmt.Errorf("data is not JSON: %s", data)
	}
	return json.Marshal(handlers.Request{Users: a.Users, Topics: a.Topics, ExcludeUsers: a.ExcludeUsers, Data: json.RawMessage(data)})
}

// DefaultPartitionKey is the partition key of the records put on a stream when none is
// given: one key, so that the records `pusher send` puts one after the other stay in
// that order (a stream keeps the order of a partition key's records, in one shard).
const DefaultPartitionKey = "pusher-send"

// Target is where a request goes: exactly one of QueueURL, TopicARN, StreamName and
// DevURL is set.
type Target struct {
	// QueueURL is an SQS queue (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// TopicARN is an SNS topic (NOTIFICATIONS_TOPIC_ARN).
	TopicARN string
	// StreamName is a Kinesis data stream (NOTIFICATIONS_STREAM_NAME), and
	// PartitionKey the partition key of its records; DefaultPartitionKey when empty.
	StreamName, PartitionKey string
	// DevURL is the base URL of `pusher dev`, such as http://127.0.0.1:8080.
	DevURL string
}

// Validate reports a target that names none or several destinations, or a partition
// key without a stream.
func (t Target) Validate() error {
	switch {
	case count(t) != 1:
		return errors.New("name one target: a queue URL, a topic ARN, a stream name or a dev URL")
	case t.PartitionKey != "" && t.StreamName == "":
		return errors.New("a partition key goes with a stream name")
	case utf8.RuneCountInString(t.PartitionKey) > 256:
		// "Partition keys are Unicode strings with a maximum length limit of 256
		// characters" (PutRecord, Amazon Kinesis Data Streams API Reference).
		return fmt.Errorf("partition key of %d characters: Kinesis takes at most 256", utf8.RuneCountInString(t.PartitionKey))
	}
	return nil
}

// String names the target as `pusher send` reports it: "queue URL", "topic ARN",
// "stream NAME (partition key KEY)" or "pusher dev URL".
func (t Target) String() string {
	switch {
	case t.QueueURL != "":
		return "queue " + t.QueueURL
	case t.TopicARN != "":
		return "topic " + t.TopicARN
	case t.StreamName != "":
		return fmt.Sprintf("stream %s (partition key %s)", t.StreamName, t.partitionKey())
	case t.DevURL != "":
		return "pusher dev " + t.DevURL
	}
	return "no target"
}

// Pick returns the one target of `pusher send`: that of flags, those given on the
// command line, else that of env, the environment's (NOTIFICATIONS_QUEUE_URL,
// NOTIFICATIONS_TOPIC_ARN, NOTIFICATIONS_STREAM_NAME). A flag wins over the
// environment, so that --topic-arn reaches the topic with the queue URL exported; two
// flags, or two variables and no flag, are refused. The partition key of flags goes
// with the stream picked.
func Pick(flags, env Target) (Target, error) {
	switch n := count(flags); {
	case n == 1:
		return flags, nil
	case n > 1:
		return Target{}, errors.New("--queue-url, --topic-arn, --stream and --dev each name a target: give one")
	}
	switch n := count(env); {
	case n == 1:
		env.PartitionKey = flags.PartitionKey
		return env, nil
	case n > 1:
		return Target{}, fmt.Errorf("%s are set: unset all but one, or choose with --queue-url, --topic-arn or --stream", listed(variables(env)))
	}
	return Target{}, errors.New("no target: give --queue-url, --topic-arn, --stream or --dev, or set NOTIFICATIONS_QUEUE_URL, NOTIFICATIONS_TOPIC_ARN or NOTIFICATIONS_STREAM_NAME")
}

// variables names the environment variables of the destinations t names.
func variables(t Target) []string {
	var names []string
	for _, v := range []struct{ name, value string }{
		{"NOTIFICATIONS_QUEUE_URL", t.QueueURL}, {"NOTIFICATIONS_TOPIC_ARN", t.TopicARN}, {"NOTIFICATIONS_STREAM_NAME", t.StreamName},
	} {
		if v.value != "" {
			names = append(names, v.name)
		}
	}
	return names
}

// listed lists names in a sentence: "both A and B", "A, B and C".
func listed(names []string) string {
	if len(names) == 2 {
		return "both " + names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// count returns how many destinations t names.
func count(t Target) int {
	n := 0
	for _, v := range []string{t.QueueURL, t.TopicARN, t.StreamName, t.DevURL} {
		if v != "" {
			n++
		}
	}
	return n
}

// Receipt is what a target answered a send.
type Receipt struct {
	// CorrelationID is the id the pusher logs the request by (correlation_id in
	// `request settled` and `message parked`), and a parked message keeps: the one
	// sent in the correlation_id attribute (SQS, SNS) or X-Correlation-Id header
	// (pusher dev); for pusher dev without one, the message id its 202 answers, which
	// the intake takes as the correlation id; for a stream, the record's
	// "shardId-000000000000:4959..." (shard and sequence number), the eventID Lambda
	// gives the record, which the function takes as the correlation id.
	CorrelationID string
	// MessageID is the id the target gave the message: SQS's or SNS's MessageId, the
	// 202's message_id, the record's shard and sequence number. It links a send to
	// the service's own records (CloudTrail, an SQS message's attributes).
	MessageID string
}

// Send publishes body to the target, with the correlation id corr (see
// Receipt.CorrelationID): for a queue or a topic, a new UUID when corr is empty, sent
// as the correlation_id message attribute, which the pusher reads
// (sqs.CorrelationIDAttribute) and which SNS passes on to its subscriptions; a stream's
// record carries no attributes, and refuses one.
func Send(ctx context.Context, awsCfg aws.Config, t Target, body []byte, corr string) (Receipt, error) {
	if err := t.Validate(); err != nil {
		return Receipt{}, err
	}
	switch {
	case t.QueueURL != "":
		corr = cmp.Or(corr, watermill.NewUUID())
		out, err := sqs.NewFromConfig(awsCfg).SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(t.QueueURL), MessageBody: aws.String(string(body)),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{
				sqsadapter.CorrelationIDAttribute: {DataType: aws.String("String"), StringValue: aws.String(corr)},
			},
		})
		if err != nil {
			return Receipt{}, fmt.Errorf("send to %s: %w", t.QueueURL, err)
		}
		return Receipt{CorrelationID: corr, MessageID: aws.ToString(out.MessageId)}, nil
	case t.TopicARN != "":
		corr = cmp.Or(corr, watermill.NewUUID())
		// "Amazon SNS message attributes ... are passed to the subscribed endpoint":
		// in the envelope's MessageAttributes, or with raw message delivery as the
		// SQS message's own attributes (Amazon SNS message attributes, SNS Developer
		// Guide).
		out, err := sns.NewFromConfig(awsCfg).Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(t.TopicARN), Message: aws.String(string(body)),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				sqsadapter.CorrelationIDAttribute: {DataType: aws.String("String"), StringValue: aws.String(corr)},
			},
		})
		if err != nil {
			return Receipt{}, fmt.Errorf("publish to %s: %w", t.TopicARN, err)
		}
		return Receipt{CorrelationID: corr, MessageID: aws.ToString(out.MessageId)}, nil
	case t.StreamName != "":
		if corr != "" {
			return Receipt{}, errors.New("a Kinesis record carries no attributes: its correlation id is its shard and sequence number, which the send prints")
		}
		out, err := kinesis.NewFromConfig(awsCfg).PutRecord(ctx, &kinesis.PutRecordInput{
			StreamName: aws.String(t.StreamName), PartitionKey: aws.String(t.partitionKey()), Data: body,
		})
		if err != nil {
			return Receipt{}, fmt.Errorf("put a record on %s: %w", t.StreamName, err)
		}
		id := aws.ToString(out.ShardId) + ":" + aws.ToString(out.SequenceNumber)
		return Receipt{CorrelationID: id, MessageID: id}, nil
	default:
		return postDev(ctx, t.DevURL, body, corr)
	}
}

func (t Target) partitionKey() string {
	if t.PartitionKey == "" {
		return DefaultPartitionKey
	}
	return t.PartitionKey
}

// postDev posts body to pusher dev's intake, with corr as its X-Correlation-Id when
// set: without one, the intake takes the message id it answers as the correlation id.
func postDev(ctx context.Context, base string, body []byte, corr string) (Receipt, error) {
	url := strings.TrimRight(base, "/") + "/notifications"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, fmt.Errorf("post to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if corr != "" {
		req.Header.Set("X-Correlation-Id", corr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("post to %s: %w", url, err)
	}
	defer resp.Body.Close()
	var answer struct {
		MessageID string `json:"message_id"`
		Error     string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &answer)
	if resp.StatusCode != http.StatusAccepted {
		return Receipt{}, fmt.Errorf("post to %s: %s: %s", url, resp.Status, answer.Error)
	}
	return Receipt{CorrelationID: cmp.Or(corr, answer.MessageID), MessageID: answer.MessageID}, nil
}
