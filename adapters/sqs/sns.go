package sqs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	wmsns "github.com/ThreeDotsLabs/watermill-aws/sns"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// NewSNSSubscriber returns a Subscriber of the topic cfg.TopicARN through the queue
// cfg.QueueName, which watermill-aws's sns.Subscriber creates and subscribes on the
// first Subscribe (sqs:CreateQueue, GetQueueUrl, GetQueueAttributes, SetQueueAttributes
// and sns:Subscribe).
func NewSNSSubscriber(awsCfg aws.Config, cfg SNSSubscriberConfig) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sns subscriber config: %w", err)
	}
	raw := strconv.FormatBool(cfg.RawDelivery)
	topic, err := wmsns.NewSubscriber(wmsns.SubscriberConfig{
		AWSConfig:     awsCfg,
		OptFns:        cfg.SNSOptFns,
		TopicResolver: wmsns.TransparentTopicResolver{},
		GenerateSqsQueueName: func(context.Context, wmsns.TopicArn) (string, error) {
			return cfg.QueueName, nil
		},
		GenerateSubscribeInput: func(_ context.Context, p wmsns.GenerateSubscribeInputParams) (*sns.SubscribeInput, error) {
			return &sns.SubscribeInput{
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
	}, watermill.NewSlogLogger(cfg.Subscriber.Logger))
	if err != nil {
		return nil, fmt.Errorf("sns subscriber: %w", err)
	}
	s := newSubscriber(awsCfg, cfg.Subscriber)
	s.resolve = func(ctx context.Context) (string, error) {
		if err := topic.SubscribeInitializeWithContext(ctx, cfg.TopicARN); err != nil {
			return "", fmt.Errorf("subscribe queue %s to %s: %w", cfg.QueueName, cfg.TopicARN, err)
		}
		out, err := s.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(cfg.QueueName)})
		if err != nil {
			return "", fmt.Errorf("get the URL of queue %s: %w", cfg.QueueName, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	s.onClose = append(s.onClose, topic.Close)
	return s, nil
}
