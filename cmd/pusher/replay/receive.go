package replay

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// maxHeld bounds the messages one pass holds in flight, below SQS's limit of about
// 120,000 in-flight messages on a standard queue.
const maxHeld = 100_000

// receiveAll receives every message of the queue url (up to maxHeld in one pass),
// hiding each for visibility, with its message attributes and SentTimestamp. A message
// received twice (back after its visibility timeout) is held once, with its newest
// receipt handle. It returns what it holds even with an error, for the caller to
// release.
func receiveAll(ctx context.Context, client SQSAPI, url string, visibility, wait time.Duration, logger *slog.Logger) ([]types.Message, error) {
	var held []types.Message
	seen := map[string]int{}
	// A receive can come back empty while messages remain (SQS samples its servers;
	// goaws does it after messages turn visible again): the queue counts as read only
	// after two empty receives in a row.
	for empty := 0; empty < 2 && len(held) < maxHeld; {
		out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
			VisibilityTimeout:           int32(visibility / time.Second),
			WaitTimeSeconds:             int32(wait / time.Second),
		})
		if err != nil {
			return held, fmt.Errorf("receive from %s: %w", url, err)
		}
		logger.Debug("received", "queue_url", url, "messages", len(out.Messages))
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if i, ok := seen[id]; ok {
				held[i] = m
				continue
			}
			seen[id] = len(held)
			held = append(held, m)
		}
	}
	if len(held) >= maxHeld {
		logger.Warn("the queue holds more than one pass takes: run again for the rest", "queue_url", url, "held", len(held))
	}
	return held, nil
}

// release makes the held messages that were not deleted (those whose ReceiptHandle is
// still set) visible again, even when the caller's context is done: an operator who
// stops a listing must not wait out the visibility timeout.
func release(client SQSAPI, url string, held []types.Message, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range held {
		if m.ReceiptHandle == nil {
			continue // deleted
		}
		_, err := client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		})
		if err != nil {
			logger.Warn("make a message visible again", "queue_url", url, "message_id", aws.ToString(m.MessageId), "error", err)
		}
	}
}
