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
	n := 0
	for _, v := range []string{t.QueueURL, t.TopicARN, t.DevURL} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("name one target: a queue URL, a topic ARN or a dev URL")
	}
	return nil
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
