// Package send publishes notification requests as a backend service would: with the AWS
// SDK's plain SQS SendMessage or SNS Publish, or with an HTTP POST to `pusher dev`.
// It backs `pusher send`.
package send

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Request builds the JSON of a notification request for users (none: a broadcast), less
// excluded, carrying data, which must be JSON.
func Request(users, excluded []string, data string) ([]byte, error) {
	if !json.Valid([]byte(data)) {
		return nil, fmt.Errorf("data is not JSON: %s", data)
	}
	return json.Marshal(handlers.Request{Users: users, ExcludeUsers: excluded, Data: json.RawMessage(data)})
}

// Target is where a request goes: exactly one of the fields is set.
type Target struct {
	// QueueURL is an SQS queue (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// TopicARN is an SNS topic (NOTIFICATIONS_TOPIC_ARN).
	TopicARN string
	// DevURL is the base URL of `pusher dev`, such as http://127.0.0.1:8080.
	DevURL string
}

// Validate reports a target that names none or several destinations.
func (t Target) Validate() error {
	if count(t) != 1 {
		return errors.New("name one target: a queue URL, a topic ARN or a dev URL")
	}
	return nil
}

// String names the target as `pusher send` reports it: "queue URL", "topic ARN" or
// "pusher dev URL".
func (t Target) String() string {
	switch {
	case t.QueueURL != "":
		return "queue " + t.QueueURL
	case t.TopicARN != "":
		return "topic " + t.TopicARN
	case t.DevURL != "":
		return "pusher dev " + t.DevURL
	}
	return "no target"
}

// Pick returns the one target of `pusher send`: that of flags, those given on the
// command line, else that of env, the environment's (NOTIFICATIONS_QUEUE_URL,
// NOTIFICATIONS_TOPIC_ARN). A flag wins over the environment, so that --topic-arn
// reaches the topic with the queue URL exported; two flags, or both variables and no
// flag, are refused.
func Pick(flags, env Target) (Target, error) {
	switch n := count(flags); {
	case n == 1:
		return flags, nil
	case n > 1:
		return Target{}, errors.New("--queue-url, --topic-arn and --dev each name a target: give one")
	}
	switch n := count(env); {
	case n == 1:
		return env, nil
	case n > 1:
		return Target{}, errors.New("both NOTIFICATIONS_QUEUE_URL and NOTIFICATIONS_TOPIC_ARN are set: unset one, or choose with --queue-url or --topic-arn")
	}
	return Target{}, errors.New("no target: give --queue-url, --topic-arn or --dev, or set NOTIFICATIONS_QUEUE_URL or NOTIFICATIONS_TOPIC_ARN")
}

// count returns how many destinations t names.
func count(t Target) int {
	n := 0
	for _, v := range []string{t.QueueURL, t.TopicARN, t.DevURL} {
		if v != "" {
			n++
		}
	}
	return n
}

// Send publishes body to the target and returns the id the target gave it.
func Send(ctx context.Context, awsCfg aws.Config, t Target, body []byte) (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	switch {
	case t.QueueURL != "":
		out, err := sqs.NewFromConfig(awsCfg).SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(t.QueueURL), MessageBody: aws.String(string(body)),
		})
		if err != nil {
			return "", fmt.Errorf("send to %s: %w", t.QueueURL, err)
		}
		return aws.ToString(out.MessageId), nil
	case t.TopicARN != "":
		out, err := sns.NewFromConfig(awsCfg).Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(t.TopicARN), Message: aws.String(string(body)),
		})
		if err != nil {
			return "", fmt.Errorf("publish to %s: %w", t.TopicARN, err)
		}
		return aws.ToString(out.MessageId), nil
	default:
		return postDev(ctx, t.DevURL, body)
	}
}

func postDev(ctx context.Context, base string, body []byte) (string, error) {
	url := strings.TrimRight(base, "/") + "/notifications"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("post to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("post to %s: %w", url, err)
	}
	defer resp.Body.Close()
	var answer struct {
		MessageID string `json:"message_id"`
		Error     string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &answer)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("post to %s: %s: %s", url, resp.Status, answer.Error)
	}
	return answer.MessageID, nil
}
