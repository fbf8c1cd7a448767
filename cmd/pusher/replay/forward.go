package replay

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Forwarder replays a parked request by sending its body back to the notifications
// queue with a plain SendMessage, as a backend would (`--to queue`). A parked event
// (a Kinesis record's data, an EventBridge event) goes back as the bare event it was
// parked as, with the sqs.EventSourceAttribute naming its source, so that the queue's
// reader decodes it with that source's mapping again. Only whole requests and events
// can go back: see Requeueable.
type Forwarder struct {
	client SQSAPI
	url    string
}

// NewForwarder returns a Forwarder to the queue url.
func NewForwarder(client SQSAPI, url string) *Forwarder { return &Forwarder{client: client, url: url} }

// Replay implements Replayer; the queue's consumer settles what it sends, so the Stats
// are empty.
func (f *Forwarder) Replay(ctx context.Context, m *message.Message) (pipeline.Stats, error) {
	p := pipeline.ParkedFrom(m)
	if !Requeueable(p) {
		return pipeline.Stats{}, fmt.Errorf("forward %s: parked by %s, not a request", m.UUID, p.Stage)
	}
	in := &awssqs.SendMessageInput{QueueUrl: aws.String(f.url), MessageBody: aws.String(string(m.Payload))}
	if p.EventSource != "" {
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			sqs.EventSourceAttribute: {DataType: aws.String("String"), StringValue: aws.String(p.EventSource)},
		}
	}
	if _, err := f.client.SendMessage(ctx, in); err != nil {
		return pipeline.Stats{}, fmt.Errorf("forward %s to %s: %w", m.UUID, f.url, err)
	}
	return pipeline.Stats{}, nil
}

// Requeueable tells whether p is a whole request, which can go back to the
// notifications queue: one parked by the intake or by decode.
func Requeueable(p pipeline.Parked) bool {
	return p.Stage == IntakeStage || p.Stage == pipeline.StageDecode
}
