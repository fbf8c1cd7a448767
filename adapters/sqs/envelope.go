package sqs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// The envelopes Unmarshal reads are matched by their members' exact names, as AWS
// writes them, which encoding/json's struct decoding does not do ("type" would pass for
// "Type"). Each first looks for a name it needs spelt out in the body (bytes.Contains),
// so that a request, the usual body, is not decoded twice.

// snsNotification is what Unmarshal takes from an SNS notification.
type snsNotification struct {
	messageID, message, correlationID, eventSource string
}

// snsEnvelope reads body as the notification SNS delivers to a subscribed queue without
// raw message delivery: a JSON object whose Type is "Notification", with a TopicArn and
// the published Message, a string ("Amazon SNS message and JSON formats",
// docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html). Its String
// MessageAttributes carry what the publisher set: CorrelationIDAttribute and
// EventSourceAttribute.
func snsEnvelope(body []byte) (snsNotification, bool) {
	if !bytes.Contains(body, []byte(`"TopicArn"`)) {
		return snsNotification{}, false
	}
	fields, ok := object(body)
	if !ok {
		return snsNotification{}, false
	}
	typ, _ := str(fields, "Type")
	topic, _ := str(fields, "TopicArn")
	msg, ok := str(fields, "Message")
	if typ != "Notification" || topic == "" || !ok {
		return snsNotification{}, false
	}
	n := snsNotification{message: msg}
	n.messageID, _ = str(fields, "MessageId")
	var attrs map[string]struct{ Type, Value string }
	if raw, ok := fields["MessageAttributes"]; ok && json.Unmarshal(raw, &attrs) == nil {
		if a := attrs[CorrelationIDAttribute]; a.Type == "String" {
			n.correlationID = a.Value
		}
		if a := attrs[EventSourceAttribute]; a.Type == "String" {
			n.eventSource = a.Value
		}
	}
	return n, true
}

// eventBridgeEvent reads body as an EventBridge event, as a rule whose target is the
// queue (or an SNS topic subscribed by it) delivers it: a JSON object with the top-level
// fields every event has, of which Unmarshal needs a "detail-type" and a "source"
// (strings) and a "detail" that is not null, as the Lambda adapter recognises an event
// a rule delivers to the function ("Amazon EventBridge events",
// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). It returns
// the event's id, "" when it has none.
func eventBridgeEvent(body []byte) (id string, ok bool) {
	if !bytes.Contains(body, []byte(`"detail-type"`)) {
		return "", false
	}
	fields, ok := object(body)
	if !ok {
		return "", false
	}
	_, typed := str(fields, "detail-type")
	_, sourced := str(fields, "source")
	detail, detailed := fields["detail"]
	if !typed || !sourced || !detailed || string(detail) == "null" {
		return "", false
	}
	id, _ = str(fields, "id")
	return id, true
}

// kinesisRecord is what Unmarshal takes from a Kinesis record an EventBridge Pipe
// delivers.
type kinesisRecord struct {
	eventID string
	data    []byte
}

// pipeKinesisRecord reads body as a record of a Kinesis stream that an EventBridge Pipe
// sends to its SQS target: the record as the Pipe receives it, flat (eventSource
// "aws:kinesis", kinesisSchemaVersion, partitionKey, sequenceNumber, eventID, and its
// data base64-encoded: "Amazon Kinesis stream as a source",
// docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html), one record
// per message: a Pipe maps its batch onto the target's batch API, SendMessageBatch for
// a queue ("Amazon EventBridge Pipes batching and concurrency",
// docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html).
// A record whose data is not base64 is none: no Pipe sends one.
func pipeKinesisRecord(body []byte) (kinesisRecord, bool) {
	if !bytes.Contains(body, []byte(`"aws:kinesis"`)) {
		return kinesisRecord{}, false
	}
	fields, ok := object(body)
	if !ok {
		return kinesisRecord{}, false
	}
	source, _ := str(fields, "eventSource")
	encoded, ok := str(fields, "data")
	if source != "aws:kinesis" || !ok {
		return kinesisRecord{}, false
	}
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return kinesisRecord{}, false
	}
	r := kinesisRecord{data: data}
	r.eventID, _ = str(fields, "eventID")
	return r, true
}

// object reads body as a JSON object, its members by their exact names.
func object(body []byte) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	return fields, json.Unmarshal(body, &fields) == nil && fields != nil
}

// str reads the member name of fields as a string; false when it is absent or not one.
func str(fields map[string]json.RawMessage, name string) (string, bool) {
	var s string
	raw, ok := fields[name]
	return s, ok && json.Unmarshal(raw, &s) == nil && string(raw) != "null"
}
