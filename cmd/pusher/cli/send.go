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
		summary: "send a notification request to SQS, SNS or pusher dev",
		usage: `usage: pusher send [--users u1,u2] [--exclude u3] [--queue-url URL | --topic-arn ARN | --dev URL] DATA

DATA is the JSON of the request's data. A target given as a flag wins over the
environment's; it says on stderr where the request went, and prints its id.

flags:
`,
		define: defineSend,
	}
}

func defineSend(fs *settings.Flags) runFunc {
	var t send.Target
	var users, excluded string
	fs.String(&users, "users", "", "", "comma-separated users to send to; none: everyone")
	fs.String(&excluded, "exclude", "", "", "comma-separated users to leave out")
	fs.String(&t.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue to send the request to")
	fs.String(&t.TopicARN, "topic-arn", "NOTIFICATIONS_TOPIC_ARN", "", "SNS topic to publish the request to")
	fs.String(&t.DevURL, "dev", "", "", "base `URL` of pusher dev to post the request to, such as http://127.0.0.1:8080")
	return func(ctx context.Context, e env, _ []custom.Option) error {
		if fs.NArg() != 1 {
			fs.Usage()
			return errors.New("send takes one argument: the JSON of data")
		}
		// The flags given on the command line, which win over the environment's.
		var given send.Target
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "queue-url":
				given.QueueURL = t.QueueURL
			case "topic-arn":
				given.TopicARN = t.TopicARN
			case "dev":
				given.DevURL = t.DevURL
			}
		})
		target, err := send.Pick(given, t)
		if err != nil {
			return err
		}
		body, err := send.Request(split(users), split(excluded), fs.Arg(0))
		if err != nil {
			return err
		}
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("load AWS configuration: %w", err)
		}
		id, err := send.Send(ctx, awsCfg, target, body)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "sent to", target)
		fmt.Fprintln(e.stdout, id)
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
