package function_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// FuzzHandle invokes the function with arbitrary JSON payloads, as any event source a
// deployment wires to it might. Handle never panics. An SQS, SNS, Kinesis, EventBridge
// or API Gateway WebSocket event is routed and answered as its source expects: with a
// gateway and a poison queue that take everything, every SQS record and every Kinesis
// record settles (none is reported for redelivery), an EventBridge event settles (no
// error for Lambda to retry it), and every request that does not decode is parked at
// decode, permanently, with the source it came from; $connect stores the user's
// connection or is refused 401 when no user is named. A payload of another shape gets
// an error that says it is not recognized, one that is not JSON an error that says it
// did not decode.
//
// The function runs on a pipeline with memory adapters, as `pusher dev` does: no AWS
// client is involved. It has no mappings: a Kinesis record's data is a request, and an
// EventBridge event's detail.
func FuzzHandle(f *testing.F) {
	ctx, cancel := context.WithCancel(context.Background())
	store := memory.NewStore(0)
	for _, c := range []handlers.Connection{
		{UserID: "alice", ConnectionID: "CnPq2eHgoAMCLsR="}, {UserID: "alice", ConnectionID: "CnPq3fIhoAMCMtS="},
		{UserID: "bob", ConnectionID: "CnPq4gJioAMCNuT="},
	} {
		if err := store.AddConnection(ctx, c); err != nil {
			f.Fatal(err)
		}
	}
	poison := memory.NewPoisonQueue()
	p, err := pipeline.New(pipeline.Config{CloseTimeout: time.Second}, store, acceptAll{}, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	// New validates the settings of a deployment; with memory adapters nothing reads them.
	cfg, err := function.Defaults(function.Config{Config: onaws.Config{
		APIGWEndpoint:  "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
		Table:          dynamodb.Config{Table: "connections"},
		PoisonQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/notifications-poison",
	}})
	if err != nil {
		f.Fatal(err)
	}
	registry := memory.NewStore(0)
	fn, err := function.New(cfg, p, nil, registry, handlers.Subscriber{Store: registry}, emf.New(io.Discard), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	done, err := fn.Start(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		cancel()
		<-done
	})

	f.Fuzz(func(t *testing.T, payload []byte) {
		// Lambda's deadline: far beyond what settling takes, so a record still in flight
		// at the deadline less its margin is a record that never settles.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		t.Cleanup(func() { clearHandled(t, poison, registry) })

		out, err := fn.Handle(ctx, payload)

		shape, clean := eventShape(payload)
		switch resp := out.(type) {
		case events.SQSEventResponse:
			if (clean && shape != sqsShape) || err != nil {
				t.Fatalf("answered %q (%v) with an SQS response, %v", payload, shape, err)
			}
			checkSQS(t, payload, resp, poison)
		case events.KinesisEventResponse:
			if (clean && shape != kinesisShape) || err != nil {
				t.Fatalf("answered %q (%v) with a Kinesis response, %v", payload, shape, err)
			}
			checkKinesis(t, payload, resp, poison)
		case events.APIGatewayProxyResponse:
			if clean && shape != webSocketShape {
				t.Fatalf("answered %q (%v) as a WebSocket route", payload, shape)
			}
			checkWebSocket(t, payload, resp, err, cfg, registry)
		case nil:
			if err != nil {
				checkRefused(t, payload, shape, clean, err)
				return
			}
			if !clean { // spelt otherwise: Handle read it as the shape it took it for
				shape = decodedShape(payload)
			}
			switch shape {
			case snsShape:
				checkSNS(t, payload, poison)
			case eventBridgeShape:
				checkEventBridge(t, payload, poison)
			default:
				t.Fatalf("answered %q (%v) with nothing and no error, as an SNS or EventBridge event", payload, shape)
			}
		default:
			t.Fatalf("answered %q with a %T", payload, out)
		}
	})
}

// acceptAll is a gateway that takes every post, so that only decoding can fail.
type acceptAll struct{}

func (acceptAll) PostToConnection(context.Context, string, []byte) error { return nil }

// clearHandled empties the poison queue and the registry after an input, so that the
// next one starts from the same state and memory stays flat over a million.
func clearHandled(t *testing.T, poison *memory.PoisonQueue, registry *memory.Store) {
	for _, m := range poison.Messages() {
		poison.Remove(m.UUID)
	}
	var all []handlers.Connection
	err := registry.ScanConnections(context.Background(), "", func(conns []handlers.Connection, _ string) error {
		all = append(all, conns...)
		return nil
	})
	if err == nil {
		err = registry.DeleteConnections(context.Background(), all)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A shape is the kind of event a payload is, by the members its source sends.
type shape int

const (
	unknownShape shape = iota
	sqsShape
	snsShape
	kinesisShape
	eventBridgeShape
	webSocketShape
)

// String names s as the errors of Handle do ("decode Kinesis event: ...").
func (s shape) String() string {
	return [...]string{"unknown", "SQS", "SNS", "Kinesis", "EventBridge", "WebSocket"}[s]
}

// eventShape tells the shape of payload from the members AWS sends, spelt as AWS spells
// them, in this order: "Records" whose first has "eventSource": "aws:sqs" (SQS),
// "EventSource": "aws:sns" (SNS) or "eventSource": "aws:kinesis" (Kinesis); the
// "detail-type", "source" and "detail" every EventBridge event has, not null ("Amazon
// EventBridge events",
// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html); or a
// "requestContext" with a "routeKey" or an "eventType" (API Gateway WebSocket).
//
// clean is false when payload is not a JSON object or spells one of those members
// otherwise, or gives one a type of value AWS does not (encoding/json matches names
// regardless of case, and fails on such a type), or names a member twice in an object
// (encoding/json keeps the last of a map's, but fails on the first's type in a
// struct): Handle may then take it for another shape, or refuse it.
func eventShape(payload []byte) (s shape, clean bool) {
	var event map[string]any
	if json.Unmarshal(payload, &event) != nil {
		return unknownShape, false
	}
	clean = !repeatsMember(payload)
	// member returns the member name of obj, and whether obj spells it otherwise.
	member := func(obj map[string]any, name string) any {
		for k := range obj {
			if strings.EqualFold(k, name) && k != name && !(strings.EqualFold(name, "eventSource") && (k == "eventSource" || k == "EventSource")) {
				clean = false
			}
		}
		return obj[name]
	}
	str := func(obj map[string]any, name string) string {
		v := member(obj, name)
		s, ok := v.(string)
		if v != nil && !ok {
			clean = false
		}
		return s
	}
	object := func(v any) map[string]any {
		o, ok := v.(map[string]any)
		if v != nil && !ok {
			clean = false
		}
		return o
	}

	records, ok := member(event, "Records").([]any)
	if !ok && event["Records"] != nil {
		clean = false
	}
	var sources []string
	for _, r := range records {
		rec := object(r)
		sources = append(sources, str(rec, "eventSource"), str(rec, "EventSource"))
	}
	_, detailType := member(event, "detail-type").(string)
	_, source := member(event, "source").(string)
	detail := member(event, "detail") != nil
	str(event, "detail-type") // a detail-type or a source that is no string fails the probe
	str(event, "source")
	rc := object(member(event, "requestContext"))
	route, eventType := str(rc, "routeKey"), str(rc, "eventType")
	switch {
	case len(sources) > 0 && sources[0] == "aws:sqs":
		return sqsShape, clean
	case len(sources) > 0 && sources[1] == "aws:sns":
		return snsShape, clean
	case len(sources) > 0 && sources[0] == "aws:kinesis":
		return kinesisShape, clean
	case detailType && source && detail:
		return eventBridgeShape, clean
	case route != "" || eventType != "":
		return webSocketShape, clean
	}
	return unknownShape, clean
}

// repeatsMember reports whether an object of payload, a JSON value, names a member
// twice.
func repeatsMember(payload []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(payload))
	type object struct {
		seen map[string]bool
		key  bool // the next token is a member's name
	}
	var stack []*object // nil for an array
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // the end, or what Unmarshal already refused
		}
		if name, ok := tok.(string); ok && len(stack) > 0 && stack[len(stack)-1] != nil && stack[len(stack)-1].key {
			top := stack[len(stack)-1]
			if top.seen[name] {
				return true
			}
			top.seen[name], top.key = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{seen: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the next token of the object around it is a name.
		if len(stack) > 0 && stack[len(stack)-1] != nil {
			stack[len(stack)-1].key = true
		}
	}
}

// checkRefused checks the error of a payload Handle did not serve: one that is not a
// JSON object is refused as an event that did not decode, one of no known shape as
// unrecognized, one of a known shape only when the event type of its shape cannot read
// it.
func checkRefused(t *testing.T, payload []byte, s shape, clean bool, err error) {
	t.Helper()
	msg := err.Error()
	if !clean {
		if !strings.HasPrefix(msg, "decode ") && !strings.HasPrefix(msg, "unrecognized event (") {
			t.Fatalf("refused %q (%v, not spelt as AWS does) with %q: not a decode error nor an unrecognized event", payload, s, msg)
		}
		return
	}
	var target any
	switch s {
	case unknownShape:
		if !strings.HasPrefix(msg, "unrecognized event (") {
			t.Fatalf("refused %q, of no known shape, with %q: the error does not say it is unrecognized", payload, msg)
		}
		return
	case sqsShape:
		target = &events.SQSEvent{}
	case snsShape:
		target = &events.SNSEvent{}
	case kinesisShape:
		target = &events.KinesisEvent{}
	case eventBridgeShape:
		target = &events.EventBridgeEvent{}
	case webSocketShape:
		target = &events.APIGatewayWebsocketProxyRequest{}
	}
	if json.Unmarshal(payload, target) == nil {
		if (s == snsShape && strings.HasPrefix(msg, "SNS message ")) || (s == eventBridgeShape && strings.HasPrefix(msg, "EventBridge event ")) {
			t.Fatalf("%q: not settled (%q), with a gateway and a poison queue that take everything", payload, msg)
		}
		t.Fatalf("refused %q, an %v event that %T reads, with %q", payload, s, target, msg)
	}
	if want := fmt.Sprintf("decode %s event: ", s); !strings.HasPrefix(msg, want) {
		t.Fatalf("refused %q, an %v event %T does not read, with %q, want %q...", payload, s, target, msg, want)
	}
}

// checkSQS checks the answer to an SQS event: no record is reported for redelivery, as
// every one settles, and each whose request does not decode is parked at decode.
func checkSQS(t *testing.T, payload []byte, resp events.SQSEventResponse, poison *memory.PoisonQueue) {
	t.Helper()
	if len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%q: records %v reported unsettled, with a gateway and a poison queue that take everything", payload, resp.BatchItemFailures)
	}
	var e events.SQSEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatalf("answered %q, which events.SQSEvent does not read: %v", payload, err)
	}
	var malformed []parkedRequest
	for _, r := range e.Records {
		// What the queue's producers put in a body: a request, or an SNS envelope of one.
		attrs := map[string]types.MessageAttributeValue{}
		for name, a := range r.MessageAttributes {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(a.DataType), StringValue: a.StringValue}
		}
		msg, err := pushersqs.Unmarshaler{}.Unmarshal(&types.Message{MessageId: aws.String(r.MessageId), Body: aws.String(r.Body), MessageAttributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		source := msg.Metadata.Get(pipeline.EventSourceKey)
		if _, err := (handlers.Decoder{}).DecodeFrom(source, msg.Payload); err != nil {
			// Found by its correlation id, else by the record's message id.
			malformed = append(malformed, parkedRequest{string(msg.Payload), cmp.Or(middleware.MessageCorrelationID(msg), r.MessageId), source, err.Error()})
		}
	}
	checkParked(t, payload, malformed, poison)
}

// checkSNS checks an SNS event served without error: each notification is read as a
// queue's message is (pushersqs.Unmarshaler: a request, or the event of the source it
// names), and each that does not decode is parked at decode.
func checkSNS(t *testing.T, payload []byte, poison *memory.PoisonQueue) {
	t.Helper()
	var e events.SNSEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatalf("answered %q, which events.SNSEvent does not read: %v", payload, err)
	}
	var malformed []parkedRequest
	for _, r := range e.Records {
		attrs := map[string]types.MessageAttributeValue{}
		for _, name := range []string{pushersqs.CorrelationIDAttribute, pushersqs.EventSourceAttribute} {
			if a, ok := r.SNS.MessageAttributes[name].(map[string]any); ok && a["Type"] == "String" {
				if v, ok := a["Value"].(string); ok && v != "" {
					attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
				}
			}
		}
		read := func() *message.Message {
			msg, err := pushersqs.Unmarshaler{}.Unmarshal(&types.Message{MessageId: aws.String(r.SNS.MessageID), Body: aws.String(r.SNS.Message), MessageAttributes: attrs})
			if err != nil {
				t.Fatal(err)
			}
			return msg
		}
		msg := read()
		source := msg.Metadata.Get(pipeline.EventSourceKey)
		if _, err := (handlers.Decoder{}).DecodeFrom(source, msg.Payload); err != nil {
			// Found by its correlation_id String attribute, else by its message id (or
			// its event's id); a notification of neither is given an id of its own,
			// which no one can foresee (read twice, it differs): any will do.
			corr := cmp.Or(middleware.MessageCorrelationID(msg), msg.UUID)
			if middleware.MessageCorrelationID(msg) == "" && read().UUID != msg.UUID {
				corr = ""
			}
			malformed = append(malformed, parkedRequest{string(msg.Payload), corr, source, err.Error()})
		}
	}
	checkParked(t, payload, malformed, poison)
}

// checkKinesis checks the answer to a Kinesis event: no record is reported for Lambda
// to retry, as every one settles, and each whose data is no request is parked at
// decode, found by its record's event id.
func checkKinesis(t *testing.T, payload []byte, resp events.KinesisEventResponse, poison *memory.PoisonQueue) {
	t.Helper()
	if len(resp.BatchItemFailures) > 0 {
		t.Fatalf("%q: records %v reported unsettled, with a gateway and a poison queue that take everything", payload, resp.BatchItemFailures)
	}
	var e events.KinesisEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatalf("answered %q, which events.KinesisEvent does not read: %v", payload, err)
	}
	var malformed []parkedRequest
	for _, r := range e.Records {
		if _, err := (handlers.Decoder{}).DecodeFrom(handlers.SourceKinesis, r.Kinesis.Data); err != nil {
			malformed = append(malformed, parkedRequest{string(r.Kinesis.Data), r.EventID, handlers.SourceKinesis, err.Error()})
		}
	}
	checkParked(t, payload, malformed, poison)
}

// checkEventBridge checks an EventBridge event served without error: when its detail
// is no request, the whole event is parked at decode, found by its id.
func checkEventBridge(t *testing.T, payload []byte, poison *memory.PoisonQueue) {
	t.Helper()
	var e events.EventBridgeEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatalf("answered %q, which events.EventBridgeEvent does not read: %v", payload, err)
	}
	var malformed []parkedRequest
	if _, err := (handlers.Decoder{}).DecodeFrom(handlers.SourceEventBridge, payload); err != nil {
		malformed = append(malformed, parkedRequest{string(payload), e.ID, handlers.SourceEventBridge, err.Error()})
	}
	checkParked(t, payload, malformed, poison)
}

// decodedShape returns the shape of the event Handle decoded payload as, for a payload
// not spelt as AWS spells it, which eventShape cannot tell.
func decodedShape(payload []byte) shape {
	ev, err := lambda.Decode(payload)
	if err != nil {
		return unknownShape
	}
	switch ev.Kind {
	case lambda.KindSQS:
		return sqsShape
	case lambda.KindSNS:
		return snsShape
	case lambda.KindKinesis:
		return kinesisShape
	case lambda.KindEventBridge:
		return eventBridgeShape
	case lambda.KindWebSocket:
		return webSocketShape
	}
	return unknownShape
}

// parkedRequest is a request parked at decode, as an operator finds it: by its
// payload, its correlation id ("" for one any will do), the source it came from
// (pipeline.EventSourceKey), "" for a request, and the reason it did not decode.
type parkedRequest struct{ payload, correlationID, source, reason string }

// checkParked checks that the poison queue holds exactly the requests malformed, each
// parked at decode as permanent with the reason it did not decode: "decode request:
// ...", or "decode <source> event: ..." for an event a source's mapping (or the lack of
// an EventBridge event's detail) could not make a request of.
func checkParked(t *testing.T, payload []byte, malformed []parkedRequest, poison *memory.PoisonQueue) {
	t.Helper()
	var parked []parkedRequest
	for _, m := range poison.Messages() {
		p := pipeline.ParkedFrom(m)
		if p.Stage != pipeline.StageDecode || p.Class != "permanent" || !strings.HasPrefix(p.Reason, "decode ") {
			t.Fatalf("%q: parked %+v, want a request refused at decode, permanently", payload, p)
		}
		parked = append(parked, parkedRequest{p.Payload, p.CorrelationID, p.EventSource, p.Reason})
	}
	// Those of a known correlation id first, then those any will do for.
	left := slices.Clone(parked)
	wanted := slices.Clone(malformed)
	slices.SortStableFunc(wanted, func(a, b parkedRequest) int { return cmp.Compare(len(b.correlationID), len(a.correlationID)) })
	for _, w := range wanted {
		i := slices.IndexFunc(left, func(p parkedRequest) bool {
			return p.payload == w.payload && p.source == w.source && p.reason == w.reason && (w.correlationID == "" || p.correlationID == w.correlationID)
		})
		if i < 0 {
			t.Fatalf("%q: parked %q, want the requests that do not decode, %q", payload, parked, malformed)
		}
		left = slices.Delete(left, i, i+1)
	}
	if len(left) > 0 {
		t.Fatalf("%q: parked %q, want the requests that do not decode, %q", payload, parked, malformed)
	}
}

// checkWebSocket checks the answer to a WebSocket route: $connect stores the connection
// of the user the authorizer names (its AuthorizerKey, else its principalId) or else the
// IdentityParam query parameter, and is refused 401 without one; any other route is
// answered 200.
func checkWebSocket(t *testing.T, payload []byte, resp events.APIGatewayProxyResponse, err error, cfg function.Config, registry *memory.Store) {
	t.Helper()
	if err != nil {
		t.Fatalf("%q: %v, from a registry that never fails", payload, err)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatalf("answered %q, which events.APIGatewayWebsocketProxyRequest does not read: %v", payload, err)
	}
	user := req.QueryStringParameters[cfg.IdentityParam]
	if auth, ok := req.RequestContext.Authorizer.(map[string]any); ok {
		for _, key := range []string{"principalId", cfg.AuthorizerKey} { // the later wins
			if v, ok := auth[key].(string); ok && v != "" {
				user = v
			}
		}
	}
	want, stored := http.StatusOK, 0
	if req.RequestContext.RouteKey == "$connect" {
		if want, stored = http.StatusUnauthorized, 0; user != "" {
			want, stored = http.StatusOK, 1
		}
	}
	if resp.StatusCode != want {
		t.Fatalf("%q: route %q of user %q answered %d, want %d", payload, req.RequestContext.RouteKey, user, resp.StatusCode, want)
	}
	if n := registry.Len(); n != stored {
		t.Fatalf("%q: route %q of user %q left %d connections stored, want %d", payload, req.RequestContext.RouteKey, user, n, stored)
	}
	if stored == 1 {
		conns, _ := registry.UserConnections(context.Background(), user)
		if len(conns) != 1 || conns[0].ConnectionID != req.RequestContext.ConnectionID {
			t.Fatalf("%q: $connect stored %v for %q, want its connection %q", payload, conns, user, req.RequestContext.ConnectionID)
		}
	}
}
