package sqs_test

import (
	"bytes"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Below these sizes no size rule of the poison queue applies: the message is far from
// SQS's 256 KiB even with its payload in base64 and every metadata byte escaped in JSON.
const (
	maxFuzzPayload  = 64<<10 - 1
	maxFuzzMetadata = 8 << 10
)

// sqsMessageID stands for the id SQS gives a message it takes.
const sqsMessageID = "5fea7756-0ea4-451a-a703-a558b933e274"

// FuzzPoisonMarshaler parks arbitrary messages: any UUID, metadata and payload, as
// the pipeline parks requests, deliveries and what the intake refused. What Marshal
// makes is a message SQS takes (so parking cannot fail on what a message holds), and
// Unmarshal gives back its UUID (the SQS message id when SQS cannot carry the UUID),
// metadata and payload (so a replay sends what failed).
//
// metadata encodes the map: see fuzzMetadata.
func FuzzPoisonMarshaler(f *testing.F) {
	f.Fuzz(func(t *testing.T, uuid string, metadata, payload []byte) {
		if len(payload) > maxFuzzPayload || len(metadata) > maxFuzzMetadata {
			return
		}
		msg := message.NewMessage(uuid, payload)
		msg.Metadata = fuzzMetadata(metadata)

		m, err := pushersqs.PoisonMarshaler{}.Marshal(msg)
		if err != nil {
			t.Fatalf("Marshal(%q %q %q): %v", uuid, msg.Metadata, payload, err)
		}
		checkSQSTakes(t, m)

		m.MessageId = aws.String(sqsMessageID)
		got, err := pushersqs.PoisonMarshaler{}.Unmarshal(m)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%q %q %q)): %v", uuid, msg.Metadata, payload, err)
		}
		wantUUID := uuid
		if uuid == "" || !sqsTakes(uuid) {
			wantUUID = sqsMessageID
		}
		if got.UUID != wantUUID {
			t.Errorf("UUID %q came back as %q, want %q", uuid, got.UUID, wantUUID)
		}
		if !maps.Equal(got.Metadata, msg.Metadata) {
			t.Errorf("metadata %q came back as %q", msg.Metadata, got.Metadata)
		}
		if !bytes.Equal(got.Payload, payload) {
			t.Errorf("payload %q came back as %q", payload, got.Payload)
		}
	})
}

// checkSQSTakes fails the test unless SQS's SendMessage takes m. "Each message can have
// up to 10 attributes"; a name "can contain alphanumeric characters, hyphens (-),
// underscores (_), and periods (.)", at most 256 of them, not starting or ending with a
// period nor holding two in a row, not starting with AWS. or Amazon.; "Name, Type,
// Value, and the message body must not be empty or null" (Message metadata for Amazon
// SQS, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
// "For string data types, the Value attribute has the same restrictions on the content
// as the message body" (MessageAttributeValue, Amazon SQS API Reference): see sqsTakes.
func checkSQSTakes(t *testing.T, m *types.Message) {
	t.Helper()
	if body := aws.ToString(m.Body); body == "" || !sqsTakes(body) {
		t.Errorf("SQS refuses the body %q", body)
	}
	if n := len(m.MessageAttributes); n > 10 {
		t.Errorf("%d message attributes, over SQS's 10", n)
	}
	for name, v := range m.MessageAttributes {
		lower := strings.ToLower(name)
		if name == "" || len(name) > 256 || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") ||
			strings.Contains(name, "..") || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
			strings.ContainsFunc(name, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
			}) {
			t.Errorf("SQS refuses the attribute name %q", name)
		}
		if typ := aws.ToString(v.DataType); typ != "String" {
			t.Errorf("attribute %s is a %q, not a String", name, typ)
		}
		if s := aws.ToString(v.StringValue); s == "" || !sqsTakes(s) {
			t.Errorf("SQS refuses the value %q of attribute %s", s, name)
		}
	}
}

// sqsTakes reports whether SQS takes s as a body or a String attribute's value: "A
// message can include only XML, JSON, and unformatted text. The following Unicode
// characters are allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000
// to #x10FFFF. Any characters not included in this list will be rejected" (SendMessage,
// Amazon SQS API Reference, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
func sqsTakes(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF)
	})
}

// fuzzMetadataKeys are the keys a parked message's metadata has, and the names of the
// attributes the marshaler gives it besides, which a key might collide with.
var fuzzMetadataKeys = []string{
	middleware.PoisonedHandlerKey, middleware.ReasonForPoisonedKey, middleware.PoisonedTopicKey,
	middleware.PoisonedSubscriberKey, pipeline.ErrorClassKey, pipeline.AttemptsKey,
	pipeline.CorrelationIDKey, pipeline.RequestIDKey, pipeline.UserIDKey, pipeline.ConnectionIDKey,
	pipeline.FirstFailedAtKey, pipeline.LastFailedAtKey, pipeline.CursorKey,
	pushersqs.UUIDAttribute, pushersqs.MetadataAttribute, pushersqs.BodyEncodingAttribute,
}

// fuzzMetadata decodes metadata from b, entry after entry: a byte k, then the key, which
// is fuzzMetadataKeys[k] if there is one, else a field; then the value, a field. A field
// is a byte n, then n bytes (fewer at the end of b).
func fuzzMetadata(b []byte) message.Metadata {
	md := make(message.Metadata)
	field := func() string {
		if len(b) == 0 {
			return ""
		}
		n := min(int(b[0]), len(b)-1)
		s := string(b[1 : 1+n])
		b = b[1+n:]
		return s
	}
	for len(b) > 0 {
		k := int(b[0])
		b = b[1:]
		var key string
		if k < len(fuzzMetadataKeys) {
			key = fuzzMetadataKeys[k]
		} else {
			key = field()
		}
		md[key] = field()
	}
	return md
}
