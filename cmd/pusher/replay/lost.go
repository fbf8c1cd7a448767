package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The queues Adopt reads hold the requests the function never worked on, or gave up
// on, when invoked asynchronously (by SNS, or by an EventBridge rule). Two kinds of
// message land there, told apart by their shape:
//
//   - Lambda's invocation record, which an on-failure destination receives once an
//     event failed all its attempts or outlived the maximum event age: a JSON object
//     with the version, a timestamp, a requestContext (requestId, functionArn,
//     condition, approximateInvokeCount), the event as the function was given it in
//     requestPayload, and the function's answer in responseContext and
//     responsePayload ({"errorMessage", "errorType"} for an error); an SQS destination
//     gets the record as the message's body ("Capturing records of Lambda asynchronous
//     invocations", "Example invocation record",
//     docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
//     aws-lambda-go has no type for it: invocationRecord is the part read here.
//   - The notification an SNS subscription could not deliver, which its dead-letter
//     queue receives ("Amazon SNS dead-letter queues (DLQs)",
//     docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html). That page does
//     not spell the message out; what SNS sends, as recorded against AWS by
//     LocalStack's snapshot tests (localstack/localstack#6639), is the notification's
//     JSON as a queue subscribed without raw delivery receives it (Type
//     "Notification", MessageId, TopicArn, Message, Timestamp, MessageAttributes:
//     "Amazon SNS message and JSON formats",
//     docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html), with
//     SQS message attributes ErrorCode and ErrorMessage saying why. A Lambda
//     subscription has no raw delivery, so the body is always that JSON.
//
// Each request is rebuilt as the function would have built it from the event
// (lambda.SNSMessages, lambda.EventBridgeMessage) and parked as the function's
// pipeline parks a request decode refuses (see parkedRequest).

// invocationRecord is what lostRequests reads of Lambda's invocation record.
type invocationRecord struct {
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext struct {
		FunctionError string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

// The conditions of an invocation record ("Capturing records of Lambda asynchronous
// invocations"): on failure, the event failed all its attempts, or was older than the
// maximum event age before it could run (throttled, or the function's reserved
// concurrency at zero).
const (
	conditionRetriesExhausted = "RetriesExhausted"
	conditionEventAgeExceeded = "EventAgeExceeded"
	conditionSuccess          = "Success"
)

// SNS's attributes on a message of a subscription's dead-letter queue.
const (
	snsErrorCodeAttribute    = "ErrorCode"
	snsErrorMessageAttribute = "ErrorMessage"
)

// errUnreadable marks a message Adopt cannot read: it stays in its queue.
var errUnreadable = errors.New("neither a Lambda invocation record nor an SNS notification")

// lostRequests returns the requests m holds, each as a parked message, or an error
// wrapping errUnreadable.
func lostRequests(m types.Message) ([]*message.Message, error) {
	body := []byte(aws.ToString(m.Body))
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%w: not a JSON object", errUnreadable)
	}
	// Matched by the members' exact names, as AWS writes them (encoding/json's struct
	// decoding would take "type" for "Type").
	_, hasContext := fields["requestContext"]
	_, hasPayload := fields["requestPayload"]
	switch {
	case hasContext && hasPayload:
		return fromRecord(body)
	case isNotification(fields):
		return fromNotification(body, m)
	}
	return nil, errUnreadable
}

// fromRecord reads Lambda's invocation record of a failed asynchronous invocation.
func fromRecord(body []byte) ([]*message.Message, error) {
	var rec invocationRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, fmt.Errorf("%w: invocation record: %v", errUnreadable, err)
	}
	rc := rec.RequestContext
	if rc.Condition == conditionSuccess {
		return nil, fmt.Errorf("%w: the record of a successful invocation (%s), nothing to send again", errUnreadable, rc.RequestID)
	}
	ev, err := lambda.Decode(rec.RequestPayload)
	if err != nil {
		return nil, fmt.Errorf("%w: invocation record %s: its event: %v", errUnreadable, rc.RequestID, err)
	}
	var src []*message.Message
	switch ev.Kind {
	case lambda.KindSNS:
		src = lambda.SNSMessages(ev.SNS)
	case lambda.KindEventBridge:
		src = []*message.Message{lambda.EventBridgeMessage(ev)}
	default:
		return nil, fmt.Errorf("%w: invocation record %s: an event of %s, which is not invoked asynchronously", errUnreadable, rc.RequestID, ev.Kind)
	}
	if len(src) == 0 {
		return nil, fmt.Errorf("%w: invocation record %s: an event with no records", errUnreadable, rc.RequestID)
	}
	why := errors.New(recordReason(rec))
	at, _ := time.Parse(time.RFC3339Nano, rec.Timestamp)
	out := make([]*message.Message, len(src))
	for i, s := range src {
		out[i] = parkedRequest(s, identity(s, hasID(ev, i), body, i), why, rc.ApproximateInvokeCount, at)
	}
	return out, nil
}

// hasID tells whether the i-th request of ev has an id of its source's (the SNS
// notification's MessageId, the EventBridge event's id): without one, its message's
// UUID is random.
func hasID(ev lambda.Event, i int) bool {
	if ev.Kind == lambda.KindSNS {
		return ev.SNS.Records[i].SNS.MessageID != ""
	}
	return ev.EventBridge.ID != ""
}

// recordReason says why Lambda gave up on the invocation, naming it by its request id
// (aws_request_id in the function's logs) and ending with the function's error.
func recordReason(rec invocationRecord) string {
	rc := rec.RequestContext
	what := "failed"
	switch rc.Condition {
	case conditionRetriesExhausted:
	case conditionEventAgeExceeded:
		what = "expired (EventAgeExceeded: older than the maximum event age)"
	default:
		what = "set aside (" + rc.Condition + ")"
	}
	reason := fmt.Sprintf("async invocation %s %s after %d attempts", rc.RequestID, what, rc.ApproximateInvokeCount)
	if e := functionError(rec); e != "" {
		reason += ": " + e
	}
	return reason
}

// functionError returns the error the function answered: its errorMessage, else its
// errorType, else the responseContext's functionError ("Unhandled").
func functionError(rec invocationRecord) string {
	var p struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	_ = json.Unmarshal(rec.ResponsePayload, &p) // a payload of another shape says nothing
	switch {
	case p.ErrorMessage != "":
		return p.ErrorMessage
	case p.ErrorType != "":
		return p.ErrorType
	}
	return rec.ResponseContext.FunctionError
}

// isNotification tells whether fields are those of an SNS notification.
func isNotification(fields map[string]json.RawMessage) bool {
	var typ, topic string
	_ = json.Unmarshal(fields["Type"], &typ)
	_ = json.Unmarshal(fields["TopicArn"], &topic)
	_, hasMessage := fields["Message"]
	return typ == "Notification" && topic != "" && hasMessage
}

// fromNotification reads the notification SNS could not deliver to the function: the
// record of an SNS event Lambda would have been invoked with.
func fromNotification(body []byte, m types.Message) ([]*message.Message, error) {
	var n events.SNSEntity
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: SNS notification: %v", errUnreadable, err)
	}
	e := events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", SNS: n}}}
	src := lambda.SNSMessages(e)[0]
	reason := "SNS could not deliver it to the function"
	code, msg := stringAttr(m, snsErrorCodeAttribute), stringAttr(m, snsErrorMessageAttribute)
	switch {
	case code != "" && msg != "":
		reason += ": " + code + ": " + msg
	case code+msg != "":
		reason += ": " + code + msg
	}
	// The function never ran it: no attempts. It was set aside when SNS sent it to
	// the dead-letter queue.
	return []*message.Message{parkedRequest(src, identity(src, n.MessageID != "", body, 0), errors.New(reason), 0, sentAt(m))}, nil
}

// stringAttr returns m's String (or Number) message attribute name, "" without one.
func stringAttr(m types.Message, name string) string {
	return aws.ToString(m.MessageAttributes[name].StringValue)
}

// sentAt returns when m was sent to its queue (SQS's SentTimestamp, in milliseconds),
// the zero time when it is unknown.
func sentAt(m types.Message) time.Time {
	ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// identity names the request src for deduplication: the id its source gave it (the SNS
// notification's MessageId, or the EventBridge event's id), which the request keeps
// whichever queue, and whichever copy of a message, it is adopted from. A request
// without one is named by the message that holds it and its place there.
func identity(src *message.Message, hasID bool, body []byte, i int) string {
	if hasID {
		return "request " + src.UUID
	}
	sum := sha256.Sum256(body)
	return "message " + hex.EncodeToString(sum[:]) + " #" + strconv.Itoa(i)
}

// adoptedUUID is the UUID of the parked message of the request named id: the same at
// every adoption, so that Adopt parks a request once however many times it reads it (a
// delete that failed, a notification SNS sent twice). It is laid out as a name-based
// UUID (RFC 9562's version 8, from SHA-256), so that it reads as any other.
func adoptedUUID(id string) string {
	sum := sha256.Sum256([]byte("apigw-pusher replay adopt\x00" + id))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s bytes.Buffer
	for i, part := range [][]byte{b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]} {
		if i > 0 {
			s.WriteByte('-')
		}
		s.WriteString(hex.EncodeToString(part))
	}
	return s.String()
}

// parkedRequest returns the request src as the pipeline parks one that decode refused
// (see pipeline.Pipeline.Process and pipeline.MarkParked): its payload and event
// source, its correlation id (src's, else its UUID, as Process takes it), at stage
// decode with why as its reason and class, and attempts and the time it was set aside
// when they are known. Its UUID is adoptedUUID's.
func parkedRequest(src *message.Message, id string, why error, attempts int, at time.Time) *message.Message {
	msg := message.NewMessage(adoptedUUID(id), src.Payload)
	corr := middleware.MessageCorrelationID(src)
	if corr == "" {
		corr = src.UUID
	}
	middleware.SetCorrelationID(corr, msg)
	if source := src.Metadata.Get(pipeline.EventSourceKey); source != "" {
		msg.Metadata.Set(pipeline.EventSourceKey, source)
	}
	pipeline.MarkParked(msg, pipeline.StageDecode, why)
	msg.Metadata.Set(pipeline.AttemptsKey, strconv.Itoa(attempts))
	if !at.IsZero() {
		t := at.UTC().Format(time.RFC3339Nano)
		msg.Metadata.Set(pipeline.FirstFailedAtKey, t)
		msg.Metadata.Set(pipeline.LastFailedAtKey, t)
	}
	return msg
}
