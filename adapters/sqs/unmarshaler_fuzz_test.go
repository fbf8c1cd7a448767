package sqs_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// FuzzUnmarshaler reads arbitrary SQS messages of a notification queue: what producers
// send raw, and what a topic delivers in an SNS envelope. Unmarshal never fails on a
// message, so none is left to come back for ever; the payload is the body, or the
// Message of the SNS notification the body is; the UUID and the correlation id are the
// envelope's if it has them, else the SQS message's.
func FuzzUnmarshaler(f *testing.F) {
	f.Fuzz(func(t *testing.T, body, messageID, attrType, attrValue string) {
		in := &types.Message{MessageId: aws.String(messageID), Body: aws.String(body)}
		if attrType != "" {
			in.MessageAttributes = map[string]types.MessageAttributeValue{
				pushersqs.CorrelationIDAttribute: {DataType: aws.String(attrType), StringValue: aws.String(attrValue)},
			}
		}
		msg, err := pushersqs.Unmarshaler{}.Unmarshal(in)
		if err != nil {
			t.Fatalf("Unmarshal(%q): %v", body, err)
		}
		wantPayload, wantUUID, wantCorr := body, messageID, ""
		if attrType == "String" {
			wantCorr = attrValue
		}
		env, isEnv := notification(body)
		if isEnv {
			wantPayload = env.Message
			if env.MessageID != "" {
				wantUUID = env.MessageID
			}
		}
		if !bytes.Equal(msg.Payload, []byte(wantPayload)) {
			t.Fatalf("Unmarshal(%q): payload %q, want %q", body, msg.Payload, wantPayload)
		}
		if (wantUUID != "" && msg.UUID != wantUUID) || msg.UUID == "" {
			t.Fatalf("Unmarshal(%q) of message %q: UUID %q, want %q", body, messageID, msg.UUID, wantUUID)
		}
		corr := middleware.MessageCorrelationID(msg)
		switch {
		case isEnv && env.corrKnown && env.corr != "":
			wantCorr = env.corr
		case isEnv && !env.corrKnown && corr != wantCorr:
			wantCorr = corr // attributes not as SNS writes them: either will do
		}
		if corr != wantCorr {
			t.Fatalf("Unmarshal(%q) with correlation attribute %q %q: correlation id %q, want %q", body, attrType, attrValue, corr, wantCorr)
		}
	})
}

// snsNotification is what FuzzUnmarshaler expects of an SNS envelope.
type snsNotification struct {
	MessageID, Message string
	// corr is the String correlation_id attribute of the notification; corrKnown is
	// false when its MessageAttributes are not as SNS writes them.
	corr      string
	corrKnown bool
}

// notification reads body as the notification SNS delivers to a subscribed queue
// without raw message delivery: a JSON object whose "Type" is "Notification", with a
// "TopicArn" and the published "Message", a string; "MessageId" and "MessageAttributes",
// each {"Type": ..., "Value": ...} with string members, may come with it (Amazon SNS
// message and JSON formats, HTTP/HTTPS notification JSON format,
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html).
// SNS spells member names out: a body that escapes a letter of "TopicArn" is no
// notification of SNS's, and Unmarshal, which looks for the name spelt out before it
// decodes a body twice, hands it over as it is.
func notification(body string) (snsNotification, bool) {
	if !strings.Contains(body, `"TopicArn"`) {
		return snsNotification{}, false
	}
	var fields map[string]any
	if json.Unmarshal([]byte(body), &fields) != nil {
		return snsNotification{}, false
	}
	typ, _ := fields["Type"].(string)
	topic, _ := fields["TopicArn"].(string)
	msg, ok := fields["Message"].(string)
	if typ != "Notification" || topic == "" || !ok {
		return snsNotification{}, false
	}
	n := snsNotification{Message: msg, corrKnown: true}
	n.MessageID, _ = fields["MessageId"].(string)
	raw, ok := fields["MessageAttributes"]
	if !ok {
		return n, true
	}
	attrs, ok := raw.(map[string]any)
	if !ok {
		n.corrKnown = false
		return n, true
	}
	for name, a := range attrs {
		a, ok := a.(map[string]any)
		_, typed := a["Type"].(string)
		_, valued := a["Value"].(string)
		if !ok || len(a) != 2 || !typed || !valued {
			n.corrKnown = false
			return n, true
		}
		if name == pushersqs.CorrelationIDAttribute && a["Type"] == "String" {
			n.corr = a["Value"].(string)
		}
	}
	return n, true
}
