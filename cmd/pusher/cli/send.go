package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var t send.Target
	var users, excluded string
	fs := newFlags("send", stderr)
	fs.String(&users, "users", "", "", "comma-separated users to send to; none: everyone")
	fs.String(&excluded, "exclude", "", "", "comma-separated users to leave out")
	fs.String(&t.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue to send the request to")
	fs.String(&t.TopicARN, "topic-arn", "NOTIFICATIONS_TOPIC_ARN", "", "SNS topic to publish the request to")
	fs.String(&t.DevURL, "dev", "", "", "base URL of `pusher dev` to post the request to, such as http://127.0.0.1:8080")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pusher send [--users u1,u2] [--exclude u3] [--queue-url URL | --topic-arn ARN | --dev URL] DATA")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("send takes one argument: the JSON of data")
	}
	if t.DevURL != "" { // a flag given on the command line wins over the environment's queue
		t.QueueURL, t.TopicARN = "", ""
	} else if t.TopicARN != "" && t.QueueURL != "" {
		return errors.New("both a queue URL and a topic ARN are set: unset one (NOTIFICATIONS_QUEUE_URL, NOTIFICATIONS_TOPIC_ARN)")
	}
	body, err := send.Request(split(users), split(excluded), fs.Arg(0))
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	id, err := send.Send(ctx, awsCfg, t, body)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
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
