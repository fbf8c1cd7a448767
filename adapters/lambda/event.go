package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
)

// Kind is the kind of event an invocation carries, told by its shape.
type Kind int

// The kinds of event Decode tells apart.
const (
	// KindUnknown is any other event: Decode refuses it with ErrUnrecognized.
	KindUnknown Kind = iota
	// KindSQS is an SQS event of requests (events.SQSEvent).
	KindSQS
	// KindSNS is an SNS event of requests (events.SNSEvent).
	KindSNS
	// KindWebSocket is an API Gateway WebSocket route
	// (events.APIGatewayWebsocketProxyRequest).
	KindWebSocket
	// KindAuthorizer is an API Gateway REQUEST authorizer event (authorizer.Event),
	// the $connect authorizer's invocation.
	KindAuthorizer
	// KindKinesis is a Kinesis event of records (events.KinesisEvent), from an event
	// source mapping of a stream.
	KindKinesis
	// KindEventBridge is an EventBridge event (events.EventBridgeEvent) that a rule
	// targeting the function delivers.
	KindEventBridge
)

// String returns the name of k as errors spell it: "decode SQS event".
func (k Kind) String() string {
	switch k {
	case KindSQS:
		return "SQS"
	case KindSNS:
		return "SNS"
	case KindWebSocket:
		return "WebSocket"
	case KindAuthorizer:
		return "authorizer"
	case KindKinesis:
		return "Kinesis"
	case KindEventBridge:
		return "EventBridge"
	}
	return "unknown"
}

// ErrUnrecognized is the error of an event of no kind Decode knows, for a caller that
// serves other events too to branch on.
var ErrUnrecognized = errors.New("unrecognized event")

// Event is the event of one invocation, decoded by Decode: the field of its Kind is
// set, the others are zero. An authorizer event sets none: the authorizer decodes it
// as authorizer.Event.
type Event struct {
	// Kind is the kind of the event.
	Kind Kind
	// SQS is the event of KindSQS.
	SQS events.SQSEvent
	// SNS is the event of KindSNS.
	SNS events.SNSEvent
	// WebSocket is the route of KindWebSocket.
	WebSocket events.APIGatewayWebsocketProxyRequest
	// Kinesis is the event of KindKinesis.
	Kinesis events.KinesisEvent
	// EventBridge is the event of KindEventBridge, and Raw its JSON as delivered, which
	// a mapping reads.
	EventBridge events.EventBridgeEvent
	Raw         json.RawMessage
}

// probe is what Decode reads of a payload to tell its kind.
type probe struct {
	Type      string `json:"type"`      // an authorizer event's
	MethodArn string `json:"methodArn"` // an authorizer event's
	Records   []struct {
		SQSSource string `json:"eventSource"` // SQS's and Kinesis's spelling
		SNSSource string `json:"EventSource"` // SNS's
	} `json:"Records"`
	// An EventBridge event's: every event has them ("Amazon EventBridge events",
	// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
	DetailType     *string          `json:"detail-type"`
	Source         *string          `json:"source"`
	Detail         *json.RawMessage `json:"detail"`
	RequestContext struct {
		EventType string `json:"eventType"`
		RouteKey  string `json:"routeKey"`
	} `json:"requestContext"`
}

// Decode tells the kind of an invocation's payload by its shape and decodes it. A
// payload that is not a JSON object fails with "decode event", one of a known kind that
// its event type cannot read with "decode SQS event" (and so on), and one of no known
// kind with ErrUnrecognized, naming the source of its records if it has any.
//
// An authorizer event is told apart before a WebSocket route: it carries a $connect
// request context too, and answered as the route it would store a connection and give
// API Gateway no policy.
func Decode(payload json.RawMessage) (Event, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	ev := Event{Kind: p.kind()}
	var target any
	switch ev.Kind {
	case KindSQS:
		target = &ev.SQS
	case KindSNS:
		target = &ev.SNS
	case KindWebSocket:
		target = &ev.WebSocket
	case KindKinesis:
		target = &ev.Kinesis
	case KindEventBridge:
		target, ev.Raw = &ev.EventBridge, payload
	case KindAuthorizer:
		return ev, nil
	default:
		what := "unknown"
		if len(p.Records) > 0 {
			what = fmt.Sprintf("records of %q", p.Records[0].SQSSource+p.Records[0].SNSSource)
		}
		return Event{}, fmt.Errorf("%w (%s): not SQS, SNS, Kinesis, EventBridge nor an API Gateway WebSocket route", ErrUnrecognized, what)
	}
	if err := json.Unmarshal(payload, target); err != nil {
		return Event{}, fmt.Errorf("decode %s event: %w", ev.Kind, err)
	}
	return ev, nil
}

func (p probe) kind() Kind {
	switch {
	case len(p.Records) > 0 && p.Records[0].SQSSource == "aws:sqs":
		return KindSQS
	case len(p.Records) > 0 && p.Records[0].SNSSource == "aws:sns":
		return KindSNS
	case len(p.Records) > 0 && p.Records[0].SQSSource == "aws:kinesis":
		return KindKinesis
	case p.DetailType != nil && p.Source != nil && p.Detail != nil:
		return KindEventBridge
	case authorizerShape(p.Type, p.MethodArn):
		return KindAuthorizer
	case p.RequestContext.RouteKey != "" || p.RequestContext.EventType != "":
		return KindWebSocket
	}
	return KindUnknown
}

// IsAuthorizerEvent reports whether e is an API Gateway REQUEST authorizer event, for
// the function deployed as the $connect authorizer to refuse any other: a WebSocket
// route's event decodes as an authorizer.Event too, but has neither its type nor its
// methodArn.
func IsAuthorizerEvent(e authorizer.Event) bool {
	return authorizerShape(e.Type, e.MethodArn)
}

func authorizerShape(typ, methodArn string) bool {
	return typ == "REQUEST" && strings.HasPrefix(methodArn, "arn:")
}
