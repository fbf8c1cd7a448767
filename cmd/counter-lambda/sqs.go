package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSAPI is what SQSNotifier calls of an SQS client (*sqs.Client).
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQSNotifier is the app.Notifier of the counter on AWS: it sends each broadcast request to
// the notifications queue the pusher reads, as any backend does (README, "Requests").
type SQSNotifier struct {
	client   SQSAPI
	queueURL string
}

// NewSQSNotifier returns the notifier that sends to the queue at queueURL
// (NOTIFICATIONS_QUEUE_URL) with client.
func NewSQSNotifier(client SQSAPI, queueURL string) (*SQSNotifier, error) {
	switch {
	case client == nil:
		return nil, errors.New("sqs notifier: a client is required")
	case queueURL == "":
		return nil, errors.New("sqs notifier: the notifications queue's URL is required")
	}
	return &SQSNotifier{client: client, queueURL: queueURL}, nil
}

// broadcastRequest is a request without users, topics or exclude_users: every
// connection gets data.
type broadcastRequest struct {
	Data json.RawMessage `json:"data"`
}

// Broadcast sends {"data": frame} to the queue, in one SendMessage. frame must be JSON.
func (n *SQSNotifier) Broadcast(ctx context.Context, frame json.RawMessage) error {
	body, err := json.Marshal(broadcastRequest{Data: frame})
	if err != nil {
		return fmt.Errorf("broadcast: the frame is not JSON: %w", err)
	}
	if _, err := n.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(n.queueURL),
		MessageBody: aws.String(string(body)),
	}); err != nil {
		return fmt.Errorf("broadcast: send to %s: %w", n.queueURL, err)
	}
	return nil
}
