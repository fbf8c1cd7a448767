package sns_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersns "github.com/apigw-pusher/apigw-pusher/adapters/sns"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// TestSNSSubscriber publishes to a topic and checks that the subscriber, which subscribes
// its own queue to the topic, hands out the published message, with or without raw
// delivery.
func TestSNSSubscriber(t *testing.T) {
	e := newEmulator(t)
	snsClient := awstest.SNSClient(e.endpoint)
	for _, raw := range []bool{false, true} {
		t.Run(fmt.Sprintf("raw delivery %v", raw), func(t *testing.T) {
			topic := awstest.CreateTopic(t, snsClient, fmt.Sprintf("notifications-%v", raw))
			cfg := pushersns.SubscriberConfig{
				TopicARN:        topic,
				RawDelivery:     raw,
				QueueAttributes: wmsqs.QueueConfigAttributes{VisibilityTimeout: "30"},
				SNSOptFns:       []func(*sns.Options){func(o *sns.Options) { o.BaseEndpoint = aws.String(e.endpoint) }},
				Subscriber:      e.config(""),
			}
			sub, err := pushersns.NewSubscriber(awstest.Config(), cfg)
			if err != nil {
				t.Fatalf("NewSubscriber: %v", err)
			}
			t.Cleanup(func() { _ = sub.Close() })
			ch := subscribe(t, sub)
			// A second subscription of the same queue must not double the deliveries.
			ch2 := subscribe(t, sub)

			const request = `{"users":["alice"],"data":{"n":1}}`
			_, err = snsClient.Publish(t.Context(), &sns.PublishInput{
				TopicArn: aws.String(topic),
				Message:  aws.String(request),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{
					"correlation_id": {DataType: aws.String("String"), StringValue: aws.String("c-sns")},
				},
			})
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			var got *message.Message
			select {
			case m := <-ch:
				got = m
			case m := <-ch2:
				got = m
			case <-time.After(5 * time.Second):
				t.Fatal("no message after 5s")
			}
			if string(got.Payload) != request {
				t.Errorf("payload = %s, want %s", got.Payload, request)
			}
			if c := middleware.MessageCorrelationID(got); c != "c-sns" {
				t.Errorf("correlation id = %q, want c-sns", c)
			}
			got.Ack()

			// The queue is named after the topic.
			name := topic[strings.LastIndex(topic, ":")+1:]
			queue, err := e.client.GetQueueUrl(t.Context(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err != nil {
				t.Fatalf("GetQueueUrl %s: %v", name, err)
			}
			e.waitEmpty(t, aws.ToString(queue.QueueUrl))
			none(t, ch, 500*time.Millisecond)
			none(t, ch2, 500*time.Millisecond)
		})
	}
}

// TestSNSSubscriberConfigValidate checks that a bad topic and a bad receiving setting
// are both refused, naming the setting.
func TestSNSSubscriberConfigValidate(t *testing.T) {
	_, err := pushersns.NewSubscriber(awstest.Config(), pushersns.SubscriberConfig{TopicARN: "notifications"})
	if err == nil || !strings.Contains(err.Error(), "TopicARN") {
		t.Errorf("NewSubscriber of a topic name: %v, want a TopicARN error", err)
	}
	_, err = pushersns.NewSubscriber(awstest.Config(), pushersns.SubscriberConfig{
		TopicARN: "arn:aws:sns:us-east-1:1:t", Subscriber: pushersqs.SubscriberConfig{MaxMessages: 20},
	})
	if err == nil || !strings.Contains(err.Error(), "MaxMessages") {
		t.Errorf("NewSubscriber with 20 messages a batch: %v, want a MaxMessages error", err)
	}
}
