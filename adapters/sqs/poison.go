package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The message attributes of a parked message besides its metadata keys.
const (
	// UUIDAttribute holds the Watermill message's UUID; it is watermill-aws's, so its
	// default unmarshaler reads it too.
	UUIDAttribute = wmsqs.UUIDAttribute
	// MetadataAttribute holds, as a JSON object of strings, the metadata that has no
	// attribute of its own.
	MetadataAttribute = "pusher_metadata"
	// BodyEncodingAttribute tells how the body holds a payload SQS cannot carry as is:
	// "base64" for one that is not UTF-8 or has characters SQS refuses, "empty" for an
	// empty one, the body then being a placeholder. It is absent when the body is the
	// payload.
	BodyEncodingAttribute = "pusher_body_encoding"
)

// attributeKeys are the metadata keys that a parked message carries as attributes of
// their own, for the SQS console and tools to show and select: with UUIDAttribute,
// MetadataAttribute and BodyEncodingAttribute, at most 10, SQS's limit per message. The
// rest (the failure times, the resolve cursor, the connection id, Watermill's topic and
// subscriber) go to MetadataAttribute.
var attributeKeys = []string{
	middleware.PoisonedHandlerKey,
	middleware.ReasonForPoisonedKey,
	pipeline.ErrorClassKey,
	pipeline.AttemptsKey,
	pipeline.CorrelationIDKey,
	pipeline.RequestIDKey,
	pipeline.UserIDKey,
}

// Body encodings of BodyEncodingAttribute.
const (
	bodyBase64 = "base64"
	bodyEmpty  = "empty"
)

const emptyBody = "(empty payload)"

// PoisonMarshaler is the format of the poison queue's messages. The body is the
// message's payload as is: the original request for the decode stage, the delivery's
// frame for the post stage. The UUID and metadata are message attributes: see
// attributeKeys, MetadataAttribute and BodyEncodingAttribute. It implements
// watermill-aws's sqs.Marshaler and sqs.Unmarshaler, so a watermill-aws subscriber of
// the poison queue can read parked messages back.
type PoisonMarshaler struct{}

var (
	_ wmsqs.Marshaler   = PoisonMarshaler{}
	_ wmsqs.Unmarshaler = PoisonMarshaler{}
)

// Marshal implements watermill-aws's sqs.Marshaler.
func (PoisonMarshaler) Marshal(msg *message.Message) (*types.Message, error) {
	attrs := make(map[string]types.MessageAttributeValue, 10)
	set := func(name, value string) {
		attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
	}
	if msg.UUID != "" && sqsText(msg.UUID) {
		set(UUIDAttribute, msg.UUID)
	}
	rest := make(map[string]string)
	for k, v := range msg.Metadata {
		// SQS refuses empty attributes and some characters: JSON keeps them.
		if slices.Contains(attributeKeys, k) && v != "" && sqsText(v) {
			set(k, v)
		} else {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err != nil {
			return nil, fmt.Errorf("marshal the metadata of %s: %w", msg.UUID, err)
		}
		set(MetadataAttribute, string(b))
	}
	body := string(msg.Payload)
	switch {
	case len(msg.Payload) == 0:
		body = emptyBody
		set(BodyEncodingAttribute, bodyEmpty)
	case !sqsText(body):
		body = base64.StdEncoding.EncodeToString(msg.Payload)
		set(BodyEncodingAttribute, bodyBase64)
	}
	return &types.Message{Body: aws.String(body), MessageAttributes: attrs}, nil
}

// Unmarshal implements watermill-aws's sqs.Unmarshaler: it rebuilds a message Marshal
// made, with its UUID, payload and metadata. A message of another format gets SQS's
// message id, its body, and its string attributes as metadata.
func (PoisonMarshaler) Unmarshal(m *types.Message) (*message.Message, error) {
	if m == nil {
		return nil, errors.New("unmarshal a parked message: nil")
	}
	id := aws.ToString(m.MessageId)
	md := make(message.Metadata, len(m.MessageAttributes))
	var uuid, encoding string
	for name, v := range m.MessageAttributes {
		if v.StringValue == nil {
			continue
		}
		switch name {
		case UUIDAttribute:
			uuid = *v.StringValue
		case BodyEncodingAttribute:
			encoding = *v.StringValue
		case MetadataAttribute:
			var rest map[string]string
			if err := json.Unmarshal([]byte(*v.StringValue), &rest); err != nil {
				return nil, fmt.Errorf("unmarshal parked message %s: %s: %w", id, MetadataAttribute, err)
			}
			for k, v := range rest {
				if _, ok := md[k]; !ok { // an attribute of its own wins
					md[k] = v
				}
			}
		default:
			md[name] = *v.StringValue
		}
	}
	body := aws.ToString(m.Body)
	var payload []byte
	switch encoding {
	case "":
		payload = []byte(body)
	case bodyEmpty:
	case bodyBase64:
		var err error
		if payload, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("unmarshal parked message %s: body: %w", id, err)
		}
	default:
		return nil, fmt.Errorf("unmarshal parked message %s: unknown %s %q", id, BodyEncodingAttribute, encoding)
	}
	if uuid == "" {
		uuid = id
	}
	if uuid == "" {
		uuid = watermill.NewUUID()
	}
	msg := message.NewMessage(uuid, payload)
	msg.Metadata = md
	return msg, nil
}

// ParkedMessage rebuilds the Watermill message that the pipeline parked as the SQS
// message m of a PoisonQueue, payload and metadata, so that pipeline.ParkedFrom reads it
// and a replay can publish it again.
func ParkedMessage(m types.Message) (*message.Message, error) {
	return PoisonMarshaler{}.Unmarshal(&m)
}

// sqsText tells whether SQS takes s as a body or string attribute: UTF-8 of #x9, #xA,
// #xD, #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF.
func sqsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// PoisonQueue parks messages on an SQS queue, in PoisonMarshaler's format, through
// watermill-aws's sqs.Publisher. It is the message.Publisher the pipeline's poison
// middleware publishes to; the topic is ignored.
type PoisonQueue struct {
	pub      *wmsqs.Publisher
	queueURL string
}

var _ message.Publisher = (*PoisonQueue)(nil)

// NewPoisonQueue returns a PoisonQueue of the queue cfg.QueueURL, with an SQS client
// made of awsCfg and cfg.OptFns. It never creates the queue.
func NewPoisonQueue(awsCfg aws.Config, cfg PoisonConfig) (*PoisonQueue, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("poison queue config: %w", err)
	}
	pub, err := wmsqs.NewPublisher(wmsqs.PublisherConfig{
		AWSConfig:                   awsCfg,
		OptFns:                      cfg.OptFns,
		DoNotCreateQueueIfNotExists: true,
		QueueUrlResolver:            knownQueue(cfg.QueueURL),
		Marshaler:                   PoisonMarshaler{},
	}, watermill.NewSlogLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("poison queue: %w", err)
	}
	return &PoisonQueue{pub: pub, queueURL: cfg.QueueURL}, nil
}

// Publish parks msgs, one SendMessage each; the topic is ignored.
func (q *PoisonQueue) Publish(_ string, msgs ...*message.Message) error {
	if err := q.pub.Publish(q.queueURL, msgs...); err != nil {
		return fmt.Errorf("park on %s: %w", q.queueURL, err)
	}
	return nil
}

// Close closes the underlying watermill-aws publisher.
func (q *PoisonQueue) Close() error { return q.pub.Close() }

// knownQueue resolves every topic to one queue known to exist. watermill-aws's
// TransparentUrlResolver cannot serve: it leaves existence unknown, which its publisher
// takes for missing when told not to create queues.
type knownQueue string

func (q knownQueue) ResolveQueueUrl(context.Context, wmsqs.ResolveQueueUrlParams) (wmsqs.QueueUrlResolverResult, error) {
	url, exists := wmsqs.QueueURL(q), true
	return wmsqs.QueueUrlResolverResult{QueueName: wmsqs.QueueName(path.Base(string(q))), QueueURL: &url, Exists: &exists}, nil
}
