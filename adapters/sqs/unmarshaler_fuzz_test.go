package sqs_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// FuzzUnmarshaler reads arbitrary SQS messages of a notification queue: what producers
// send raw, what a topic delivers in an SNS envelope, the EventBridge events a rule
// delivers, the Kinesis records an EventBridge Pipe delivers, and bare events a
// pusher_event_source attribute names the source of. Unmarshal never fails on a message,
// so none is left to come back for ever. The payload is the body, or the Message of the
// SNS notification the body is; or, for a Kinesis record, its data decoded. The UUID is
// the event's id or the record's eventID if it has one, else the envelope's, else the
// SQS message's; the correlation id and the source are the envelope's attributes if it
// has them, else the SQS message's; a body of no named source is of the source its shape
// tells, if any.
func FuzzUnmarshaler(f *testing.F) {
	f.Fuzz(func(t *testing.T, body, messageID, attrType, attrValue, source string) {
		in := &types.Message{MessageId: aws.String(messageID), Body: aws.String(body), MessageAttributes: map[string]types.MessageAttributeValue{}}
		if attrType != "" {
			in.MessageAttributes[pushersqs.CorrelationIDAttribute] = types.MessageAttributeValue{DataType: aws.String(attrType), StringValue: aws.String(attrValue)}
		}
		if source != "" {
			in.MessageAttributes[pushersqs.EventSourceAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(source)}
		}
		msg, err := pushersqs.Unmarshaler{}.Unmarshal(in)
		if err != nil {
			t.Fatalf("Unmarshal(%q): %v", body, err)
		}
		gotSource := msg.Metadata.Get(pipeline.EventSourceKey)
		wantCorr := ""
		if attrType == "String" {
			wantCorr = attrValue
		}
		inner, uuid := body, messageID
		env, isEnv := notification(body)
		if isEnv {
			inner = env.Message
			if env.MessageID != "" {
				uuid = env.MessageID
			}
			if env.source != "" {
				source = env.source
			}
		}
		want := bodyOf(inner, uuid, source)
		if isEnv && !env.attrsKnown && gotSource != want.source && gotSource != "" {
			// Attributes not as SNS writes them: whether Unmarshal read the source
			// from them or not, the body is then a bare event of it.
			want = bodyOf(inner, uuid, gotSource)
		}
		if !bytes.Equal(msg.Payload, []byte(want.payload)) {
			t.Fatalf("Unmarshal(%q): payload %q, want %q", body, msg.Payload, want.payload)
		}
		if (want.uuid != "" && msg.UUID != want.uuid) || msg.UUID == "" {
			t.Fatalf("Unmarshal(%q) of message %q: UUID %q, want %q", body, messageID, msg.UUID, want.uuid)
		}
		if gotSource != want.source {
			t.Fatalf("Unmarshal(%q) with source attribute %q: source %q, want %q", body, source, gotSource, want.source)
		}
		corr := middleware.MessageCorrelationID(msg)
		switch {
		case isEnv && env.attrsKnown && env.corr != "":
			wantCorr = env.corr
		case isEnv && !env.attrsKnown && corr != wantCorr:
			wantCorr = corr // attributes not as SNS writes them: either will do
		}
		if corr != wantCorr {
			t.Fatalf("Unmarshal(%q) with correlation attribute %q %q: correlation id %q, want %q", body, attrType, attrValue, corr, wantCorr)
		}
	})
}

// unmarshaled is what FuzzUnmarshaler expects of a message.
type unmarshaled struct{ payload, uuid, source string }

// bodyOf is what a body (an SNS envelope's message, or the SQS message's body), of
// UUID uuid so far and named of source by an attribute ("" for none), unmarshals to: a
// bare event of a named source; else an EventBridge event, whole, by its id; else a
// Kinesis record a Pipe sent, its data by its eventID; else the body.
func bodyOf(body, uuid, source string) unmarshaled {
	if source != "" {
		return unmarshaled{payload: body, uuid: uuid, source: source}
	}
	fields, ok := jsonObject(body)
	if !ok {
		return unmarshaled{payload: body, uuid: uuid}
	}
	// An EventBridge event: every event has a detail-type, a source and a detail
	// ("Amazon EventBridge events",
	// https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
	_, typed := fields["detail-type"].(string)
	_, sourced := fields["source"].(string)
	if typed && sourced && fields["detail"] != nil && strings.Contains(body, `"detail-type"`) {
		if id, _ := fields["id"].(string); id != "" {
			uuid = id
		}
		return unmarshaled{payload: body, uuid: uuid, source: handlers.SourceEventBridge}
	}
	// A Kinesis record as a Pipe sends it, its data base64-encoded ("Amazon Kinesis
	// stream as a source",
	// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html).
	encoded, isString := fields["data"].(string)
	data, err := base64.StdEncoding.DecodeString(encoded)
	if fields["eventSource"] == "aws:kinesis" && isString && err == nil && strings.Contains(body, `"aws:kinesis"`) {
		if id, _ := fields["eventID"].(string); id != "" {
			uuid = id
		}
		return unmarshaled{payload: string(data), uuid: uuid, source: handlers.SourceKinesis}
	}
	return unmarshaled{payload: body, uuid: uuid}
}

// jsonObject decodes body as a JSON object.
func jsonObject(body string) (map[string]any, bool) {
	var fields map[string]any
	return fields, json.Unmarshal([]byte(body), &fields) == nil && fields != nil
}

// snsNotification is what FuzzUnmarshaler expects of an SNS envelope.
type snsNotification struct {
	MessageID, Message string
	// corr and source are the String correlation_id and pusher_event_source attributes
	// of the notification; attrsKnown is false when its MessageAttributes are not as SNS
	// writes them.
	corr, source string
	attrsKnown   bool
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
	fields, ok := jsonObject(body)
	if !ok {
		return snsNotification{}, false
	}
	typ, _ := fields["Type"].(string)
	topic, _ := fields["TopicArn"].(string)
	msg, ok := fields["Message"].(string)
	if typ != "Notification" || topic == "" || !ok {
		return snsNotification{}, false
	}
	n := snsNotification{Message: msg, attrsKnown: true}
	n.MessageID, _ = fields["MessageId"].(string)
	raw, ok := fields["MessageAttributes"]
	if !ok {
		return n, true
	}
	attrs, ok := raw.(map[string]any)
	if !ok {
		n.attrsKnown = false
		return n, true
	}
	for name, a := range attrs {
		a, ok := a.(map[string]any)
		_, typed := a["Type"].(string)
		_, valued := a["Value"].(string)
		if !ok || len(a) != 2 || !typed || !valued {
			n.attrsKnown = false
			return n, true
		}
		if name == pushersqs.CorrelationIDAttribute && a["Type"] == "String" {
			n.corr = a["Value"].(string)
		}
		if name == pushersqs.EventSourceAttribute && a["Type"] == "String" {
			n.source = a["Value"].(string)
		}
	}
	return n, true
}
