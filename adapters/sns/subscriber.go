package sns

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	wmsns "github.com/ThreeDotsLabs/watermill-aws/sns"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// NewSubscriber returns a Subscriber of the topic cfg.TopicARN through the queue
// cfg.QueueName, which watermill-aws's sns.Subscriber creates and subscribes on the
// first Subscribe (sqs:CreateQueue, GetQueueUrl, GetQueueAttributes, SetQueueAttributes
// and sns:Subscribe). Closing the Subscriber closes watermill-aws's too.
func NewSubscriber(awsCfg aws.Config, cfg SubscriberConfig) (*sqs.Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sns subscriber config: %w", err)
	}
	logger := cfg.Subscriber.Logger
	if logger == nil {
		logger = slog.Default()
	}
	raw := strconv.FormatBool(cfg.RawDelivery)
	topic, err := wmsns.NewSubscriber(wmsns.SubscriberConfig{
		AWSConfig:     awsCfg,
		OptFns:        cfg.SNSOptFns,
		TopicResolver: wmsns.TransparentTopicResolver{},
		GenerateSqsQueueName: func(context.Context, wmsns.TopicArn) (string, error) {
			return cfg.QueueName, nil
		},
		GenerateSubscribeInput: func(_ context.Context, p wmsns.GenerateSubscribeInputParams) (*awssns.SubscribeInput, error) {
			return &awssns.SubscribeInput{
				Protocol:   aws.String("sqs"),
				TopicArn:   aws.String(string(p.SnsTopicArn)),
				Endpoint:   aws.String(string(p.SqsQueueArn)),
				Attributes: map[string]string{"RawMessageDelivery": raw},
			}, nil
		},
	}, wmsqs.SubscriberConfig{
		AWSConfig:             awsCfg,
		OptFns:                cfg.Subscriber.OptFns,
		QueueConfigAttributes: cfg.QueueAttributes,
	}, watermill.NewSlogLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("sns subscriber: %w", err)
	}
	find := func(ctx context.Context, client *awssqs.Client) (string, error) {
		if err := topic.SubscribeInitializeWithContext(ctx, cfg.TopicARN); err != nil {
			return "", fmt.Errorf("subscribe queue %s to %s: %w", cfg.QueueName, cfg.TopicARN, err)
		}
		out, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(cfg.QueueName)})
		if err != nil {
			return "", fmt.Errorf("get the URL of queue %s: %w", cfg.QueueName, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	s, err := sqs.NewSubscriberFinding(awsCfg, cfg.Subscriber, find, topic.Close)
	if err != nil {
		_ = topic.Close()
		return nil, fmt.Errorf("sns subscriber of %s: %w", cfg.TopicARN, err)
	}
	return s, nil
}
