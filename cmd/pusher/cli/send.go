package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func sendCommand() command {
	return command{
		name:    "send",
		summary: "send a notification request to SQS, SNS, a Kinesis stream or pusher dev",
		usage: `usage: pusher send [--users u1,u2] [--topics t1,t2] [--exclude-users u3] [--raw]
                   [--correlation-id ID]
                   [--queue-url URL | --topic-arn ARN | --stream NAME [--partition-key KEY] | --dev URL] DATA

DATA is the JSON of the request's data; the flags may come before or after it
(after "--", everything is DATA). --users, --topics and --exclude-users are the
request's users, topics and exclude_users; none of them: everyone. With --raw, DATA
is sent as it is: a request
written whole, or an event that a mapping (KINESIS_MAPPING, EVENTBRIDGE_MAPPING) makes
a request of, such as seed 002's vehicle position put on a stream:

  pusher send --stream vehicles --partition-key v-42 --raw '{"VehicleID":"v-42","lat":48.85,"lng":2.35}'

A record's partition key keeps the order of its records: give the entity's id (the
vehicle's); the default, pusher-send, keeps every record sent in the order sent.

A target given as a flag wins over the environment's; it says on stderr where the
request went and the message id the target gave it, and prints on stdout the
correlation id: the correlation_id of the pusher's log lines ("request settled",
"message parked") and of the parked message. It is --correlation-id, else a new UUID,
sent as the correlation_id message attribute (SQS, SNS) or X-Correlation-Id (pusher
dev: without one, the intake's 202 message_id is the correlation id); for a stream,
the record's shard and sequence number (shardId-000000000000:4959...), the event id
the function names it by.

flags:
`,
		define: defineSend,
	}
}

func defineSend(fs *settings.Flags) runFunc {
	var t send.Target
	var users, topics, excluded, corr string
	var raw bool
	fs.String(&users, "users", "", "", "comma-separated users to send to (users); none of users and topics: everyone")
	fs.String(&topics, "topics", "", "", "comma-separated topics whose subscribers to send to (topics)")
	fs.String(&excluded, "exclude-users", "", "", "comma-separated users to leave out (exclude_users)")
	fs.StringVar(&excluded, "exclude", "", "the former name of --exclude-users, kept for scripts that use it")
	fs.String(&corr, "correlation-id", "", "", "correlation id of the request, such as the id of what caused it; unset: a new UUID")
	fs.Boolean(&raw, "raw", "", false, "send DATA as it is, not as the data of a request: a whole request, or an event for a mapping")
	fs.String(&t.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue to send the request to")
	fs.String(&t.TopicARN, "topic-arn", "NOTIFICATIONS_TOPIC_ARN", "", "SNS topic to publish the request to")
	fs.String(&t.StreamName, "stream", "NOTIFICATIONS_STREAM_NAME", "", "Kinesis data stream to put the request on, as one record (PutRecord)")
	fs.String(&t.PartitionKey, "partition-key", "", "", "partition key of the record put on --stream; unset: "+send.DefaultPartitionKey)
	fs.String(&t.DevURL, "dev", "", "", "base `URL` of pusher dev to post the request to, such as http://127.0.0.1:8080")
	return func(ctx context.Context, e env, _ []custom.Option) error {
		if fs.NArg() != 1 {
			fs.Usage()
			return errors.New("send takes one argument: the JSON of data, or with --raw what to send")
		}
		if raw && (users != "" || topics != "" || excluded != "") {
			return errors.New("--raw sends DATA as it is: --users, --topics and --exclude-users build a request around DATA, give them without --raw")
		}
		// The flags given on the command line, which win over the environment's.
		var given send.Target
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "queue-url":
				given.QueueURL = t.QueueURL
			case "topic-arn":
				given.TopicARN = t.TopicARN
			case "stream":
				given.StreamName = t.StreamName
			case "dev":
				given.DevURL = t.DevURL
			}
		})
		given.PartitionKey = t.PartitionKey
		target, err := send.Pick(given, t)
		if err == nil {
			err = target.Validate()
		}
		if err != nil {
			return err
		}
		body := []byte(fs.Arg(0))
		if !raw {
			to := send.Audience{Users: split(users), Topics: split(topics), ExcludeUsers: split(excluded)}
			if body, err = send.Request(to, fs.Arg(0)); err != nil {
				return err
			}
		}
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("load AWS configuration: %w", err)
		}
		got, err := send.Send(ctx, awsCfg, target, body, corr)
		if err != nil {
			return err
		}
		said := "sent to " + target.String()
		if got.MessageID != got.CorrelationID {
			said += " (message id " + got.MessageID + ")"
		}
		fmt.Fprintln(e.stderr, said)
		fmt.Fprintln(e.stdout, got.CorrelationID)
		return nil
	}
}

func split(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
