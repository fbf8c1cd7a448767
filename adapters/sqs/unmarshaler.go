package sqs

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"

	"github.com/ThreeDotsLabs/watermill"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// CorrelationIDAttribute is the message attribute, of an SQS message or of the SNS
// message an envelope carries, whose string value becomes the correlation id.
const CorrelationIDAttribute = "correlation_id"

// Unmarshaler reads what producers put on a notification queue: the raw JSON of a
// request, or the SNS envelope in which a topic delivers one to a queue without raw
// delivery. The payload is the request; the UUID is SQS's message id, or SNS's for an
// envelope; and a CorrelationIDAttribute becomes the correlation id.
//
// It never fails on a body: one that is neither is handed over as is, for the decode
// stage to park with its reason, rather than dropped or left to come back forever.
type Unmarshaler struct{}

var _ wmsqs.Unmarshaler = Unmarshaler{}

// Unmarshal implements watermill-aws's sqs.Unmarshaler.
func (Unmarshaler) Unmarshal(m *types.Message) (*message.Message, error) {
	if m == nil {
		return nil, errors.New("unmarshal an SQS message: nil")
	}
	uuid := aws.ToString(m.MessageId)
	payload := []byte(aws.ToString(m.Body))
	corr := stringAttribute(m.MessageAttributes[CorrelationIDAttribute])
	if env, ok := snsEnvelope(payload); ok {
		payload = []byte(env.message)
		uuid = cmp.Or(env.messageID, uuid)
		corr = cmp.Or(env.correlationID, corr)
	}
	msg := message.NewMessage(cmp.Or(uuid, watermill.NewUUID()), payload)
	if corr != "" {
		middleware.SetCorrelationID(corr, msg)
	}
	return msg, nil
}

func stringAttribute(v types.MessageAttributeValue) string {
	if aws.ToString(v.DataType) != "String" {
		return ""
	}
	return aws.ToString(v.StringValue)
}

// envelope is what Unmarshal takes from an SNS notification.
type envelope struct {
	messageID, message, correlationID string
}

// snsEnvelope reads body as an SNS notification: a JSON object whose Type is
// "Notification", with a TopicArn and a Message. Members are matched by their exact
// names, which encoding/json's struct decoding does not do.
func snsEnvelope(body []byte) (envelope, bool) {
	// Most bodies are requests: skip decoding them twice.
	if !bytes.Contains(body, []byte(`"TopicArn"`)) {
		return envelope{}, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return envelope{}, false
	}
	str := func(name string) (string, bool) {
		var s string
		raw, ok := fields[name]
		return s, ok && json.Unmarshal(raw, &s) == nil
	}
	typ, _ := str("Type")
	topic, _ := str("TopicArn")
	msg, ok := str("Message")
	if typ != "Notification" || topic == "" || !ok {
		return envelope{}, false
	}
	env := envelope{message: msg}
	env.messageID, _ = str("MessageId")
	var attrs map[string]struct{ Type, Value string }
	if raw, ok := fields["MessageAttributes"]; ok && json.Unmarshal(raw, &attrs) == nil {
		if a := attrs[CorrelationIDAttribute]; a.Type == "String" {
			env.correlationID = a.Value
		}
	}
	return env, true
}
