package sns

import (
	"errors"
	"fmt"

	wmsns "github.com/ThreeDotsLabs/watermill-aws/sns"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SubscriberConfig configures the Subscriber of a topic.
type SubscriberConfig struct {
	// TopicARN is the topic to receive from. Required.
	TopicARN string
	// QueueName is the queue subscribed to the topic, created when missing; default the
	// topic's name.
	QueueName string
	// RawDelivery makes SNS put the bare message in the queue rather than an SNS
	// envelope. Either way the subscriber hands out the message that was published; an
	// envelope also gives it SNS's message id as its UUID.
	RawDelivery bool
	// QueueAttributes are the attributes of the queue when it has to be created, such
	// as its VisibilityTimeout.
	QueueAttributes wmsqs.QueueConfigAttributes
	// SNSOptFns adjust the SNS client, for example its BaseEndpoint.
	SNSOptFns []func(*awssns.Options)
	// Subscriber configures the receiving from the queue, with its defaults; its
	// QueueURL is ignored. sqs.NewSubscriberFinding checks it.
	Subscriber sqs.SubscriberConfig
}

func (c *SubscriberConfig) setDefaults() {
	if c.QueueName == "" {
		if name, err := wmsns.ExtractTopicNameFromTopicArn(wmsns.TopicArn(c.TopicARN)); err == nil {
			c.QueueName = string(name)
		}
	}
}

// Validate reports every setting of the topic and its queue that cannot work; those of
// the receiving, in Subscriber, are checked by NewSubscriber.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if _, err := wmsns.ExtractTopicNameFromTopicArn(wmsns.TopicArn(c.TopicARN)); err != nil {
		errs = append(errs, fmt.Errorf("TopicARN: %w", err))
	}
	if c.QueueName == "" {
		errs = append(errs, errors.New("QueueName is required"))
	}
	return errors.Join(errs...)
}
