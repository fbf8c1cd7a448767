package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// TestSubscriberHandsOverWhatProducersSend sends bodies with the SDK's plain
// SendMessage, as producers do, and checks what the subscriber hands out; an ack then
// deletes each one.
func TestSubscriberHandsOverWhatProducersSend(t *testing.T) {
	const request = `{"users":["alice"],"data":{"n":1}}`
	envelope := func(attrs string) string {
		return fmt.Sprintf(`{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:us-east-1:1:t",`+
			`"Message":%q,"Timestamp":"2026-01-02T03:04:05.000Z","SignatureVersion":"1"%s}`, request, attrs)
	}
	tests := []struct {
		name        string
		body        string
		attrs       map[string]string
		wantPayload string
		wantUUID    string // "" means SQS's message id
		wantCorr    string // "" means the UUID
	}{
		{name: "raw request", body: request, wantPayload: request},
		{name: "raw request with a correlation id", body: request, attrs: map[string]string{"correlation_id": "c-1"},
			wantPayload: request, wantCorr: "c-1"},
		{name: "SNS envelope", body: envelope(""), wantPayload: request, wantUUID: "sns-1"},
		{name: "SNS envelope with a correlation id",
			body:        envelope(`,"MessageAttributes":{"correlation_id":{"Type":"String","Value":"c-2"}}`),
			wantPayload: request, wantUUID: "sns-1", wantCorr: "c-2"},
		{name: "not JSON", body: "not json at all", wantPayload: "not json at all"},
		{name: "JSON that is no envelope", body: `{"Type":"Notification","Message":"no topic"}`,
			wantPayload: `{"Type":"Notification","Message":"no topic"}`},
	}
	e := newEmulator(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			queue := e.queue(t, fmt.Sprintf("q%d", i), 30)
			id := e.send(t, queue, tt.body, tt.attrs)
			sub := e.subscriber(t, e.config(queue))

			msg := receive(t, subscribe(t, sub), 5*time.Second)
			wantUUID := tt.wantUUID
			if wantUUID == "" {
				wantUUID = id
			}
			wantCorr := tt.wantCorr
			if wantCorr == "" {
				wantCorr = wantUUID
			}
			if string(msg.Payload) != tt.wantPayload {
				t.Errorf("payload = %s, want %s", msg.Payload, tt.wantPayload)
			}
			if msg.UUID != wantUUID {
				t.Errorf("UUID = %s, want %s", msg.UUID, wantUUID)
			}
			// The pipeline takes the UUID for a correlation id that is absent.
			if got := cmpOr(middleware.MessageCorrelationID(msg), msg.UUID); got != wantCorr {
				t.Errorf("correlation id = %q, want %q", got, wantCorr)
			}
			msg.Ack()
			e.waitEmpty(t, queue)
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestSubscriberHandsOutABatchAtOnce checks that ten messages are handed out before any
// of them is acked, which watermill-aws's subscriber does not do.
func TestSubscriberHandsOutABatchAtOnce(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "batch", 30)
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:          aws.String(fmt.Sprint(i)),
			MessageBody: aws.String(fmt.Sprintf(`{"data":%d}`, i)),
		}
	}
	if _, err := e.client.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries}); err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	ch := subscribe(t, e.subscriber(t, e.config(queue)))

	var got []*message.Message
	for range 10 {
		got = append(got, receive(t, ch, 5*time.Second))
	}
	var payloads []string
	for _, m := range got {
		payloads = append(payloads, string(m.Payload))
	}
	slices.Sort(payloads)
	if want := `[{"data":0} {"data":1} {"data":2} {"data":3} {"data":4} {"data":5} {"data":6} {"data":7} {"data":8} {"data":9}]`; fmt.Sprint(payloads) != want {
		t.Errorf("payloads = %v, want %v", payloads, want)
	}
	for _, m := range got {
		m.Ack()
	}
	e.waitEmpty(t, queue)
}

// TestSubscriberDeletesAcksInBatches acks 30 messages at once: they are all deleted,
// in DeleteMessageBatch calls that each take several, and not one DeleteMessage.
func TestSubscriberDeletesAcksInBatches(t *testing.T) {
	const n = 30
	e := newEmulator(t)
	queue := e.queue(t, "acks", 30)
	for i := range n {
		e.send(t, queue, fmt.Sprintf(`{"data":%d}`, i), nil)
	}
	rec := awstest.NewRecorder(t, e.endpoint)
	cfg := e.config(queue)
	cfg.Concurrency = n
	cfg.OptFns = []func(*sqs.Options){func(o *sqs.Options) { o.BaseEndpoint = aws.String(rec.URL) }}
	ch := subscribe(t, e.subscriber(t, cfg))
	got := make([]*message.Message, n)
	for i := range got {
		got[i] = receive(t, ch, 5*time.Second)
	}
	for _, m := range got {
		go m.Ack()
	}
	e.waitEmpty(t, queue)

	calls := rec.Snapshot().Calls
	if calls["DeleteMessage"] != 0 || calls["DeleteMessageBatch"] == 0 || calls["DeleteMessageBatch"] > n/3 {
		t.Errorf("%d DeleteMessage and %d DeleteMessageBatch calls for %d acks at once, want none and 1 to %d",
			calls["DeleteMessage"], calls["DeleteMessageBatch"], n, n/3)
	}
}

// TestSubscriberBoundsOpenMessages checks that no more than Concurrency messages are
// out at once, and that settling one lets the next one out.
func TestSubscriberBoundsOpenMessages(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "bounded", 30)
	for i := range 5 {
		e.send(t, queue, fmt.Sprintf(`{"data":%d}`, i), nil)
	}
	cfg := e.config(queue)
	cfg.Concurrency = 3
	ch := subscribe(t, e.subscriber(t, cfg))

	var open []*message.Message
	for range 3 {
		open = append(open, receive(t, ch, 5*time.Second))
	}
	none(t, ch, 1500*time.Millisecond)
	open[0].Ack()
	open = append(open[1:], receive(t, ch, 5*time.Second))
	open[0].Nack()
	open = append(open[1:], receive(t, ch, 5*time.Second))
	for _, m := range open {
		m.Ack()
	}
	// The nacked message is left in the queue, hidden for 30s.
	deadline := time.Now().Add(5 * time.Second)
	for e.messages(t, queue) > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.messages(t, queue); n != 1 {
		t.Errorf("queue holds %d messages, want the nacked one", n)
	}
}

// TestSubscriberNackRedelivers checks that a nacked message is not deleted: it comes
// back once its visibility timeout has passed, and an ack then deletes it.
func TestSubscriberNackRedelivers(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "nacked", 1)
	id := e.send(t, queue, `{"data":1}`, nil)
	ch := subscribe(t, e.subscriber(t, e.config(queue)))

	first := receive(t, ch, 5*time.Second)
	first.Nack()
	again := receive(t, ch, 5*time.Second) // goaws shows it again on a 1s tick
	if again.UUID != id || string(again.Payload) != `{"data":1}` {
		t.Errorf("redelivered %s %s, want %s {\"data\":1}", again.UUID, again.Payload, id)
	}
	again.Ack()
	e.waitEmpty(t, queue)
	none(t, ch, 2500*time.Millisecond) // past the visibility timeout: deleted for good
}

// TestSubscriberDeletesAcksAfterSubscribeIsCancelled is the pipeline's shutdown: the
// source router cancels the context of Subscribe, then waits for the requests in flight
// to settle and acks them. Those acks must still delete.
func TestSubscriberDeletesAcksAfterSubscribeIsCancelled(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "shutdown", 30)
	e.send(t, queue, `{"data":1}`, nil)
	sub := e.subscriber(t, e.config(queue))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := sub.Subscribe(ctx, "notifications")
	if err != nil {
		t.Fatal(err)
	}

	msg := receive(t, ch, 5*time.Second)
	cancel()
	closed(t, ch)
	if err := msg.Context().Err(); err != nil {
		t.Fatalf("the message's context ended with the subscription's: %v", err)
	}
	msg.Ack()
	e.waitEmpty(t, queue)
	if err := sub.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestSubscriberCloseWaitsForOpenMessages checks that Close waits for the messages
// handed out to be acked, and deletes them.
func TestSubscriberCloseWaitsForOpenMessages(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "closing", 30)
	e.send(t, queue, `{"data":1}`, nil)
	sub := e.subscriber(t, e.config(queue))
	ch := subscribe(t, sub)
	msg := receive(t, ch, 5*time.Second)

	done := make(chan error, 1)
	go func() { done <- sub.Close() }()
	closed(t, ch)
	select {
	case err := <-done:
		t.Fatalf("Close returned (%v) before the message was acked", err)
	case <-time.After(200 * time.Millisecond):
	}
	msg.Ack()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waits 5s after the ack")
	}
	if n := e.messages(t, queue); n != 0 {
		t.Errorf("queue holds %d messages after Close, want 0", n)
	}
	if _, err := sub.Subscribe(t.Context(), "notifications"); !errors.Is(err, pushersqs.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// TestSubscriberCloseGivesUp checks that Close waits no longer than CloseTimeout, then
// ends the context of the messages still open, which stay in the queue.
func TestSubscriberCloseGivesUp(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "abandoned", 30)
	e.send(t, queue, `{"data":1}`, nil)
	cfg := e.config(queue)
	cfg.CloseTimeout = 200 * time.Millisecond
	sub := e.subscriber(t, cfg)
	msg := receive(t, subscribe(t, sub), 5*time.Second)

	err := sub.Close()
	if err == nil || !strings.Contains(err.Error(), "1 messages still open") {
		t.Errorf("Close: %v, want an error about 1 open message", err)
	}
	if msg.Context().Err() == nil {
		t.Error("the open message's context is not done after Close")
	}
	msg.Ack() // too late: not deleted
	time.Sleep(100 * time.Millisecond)
	if n := e.messages(t, queue); n != 1 {
		t.Errorf("queue holds %d messages, want 1", n)
	}
}

// TestSubscriberSurvivesAnUnmarshalerThatFails checks that a message the Unmarshaler
// fails on is handed over as is rather than left to come back for ever.
func TestSubscriberSurvivesAnUnmarshalerThatFails(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "unmarshal", 30)
	id := e.send(t, queue, "body", nil)
	cfg := e.config(queue)
	cfg.Unmarshaler = failing{}
	msg := receive(t, subscribe(t, e.subscriber(t, cfg)), 5*time.Second)
	if msg.UUID != id || string(msg.Payload) != "body" {
		t.Errorf("got %s %q, want %s \"body\"", msg.UUID, msg.Payload, id)
	}
	msg.Ack()
	e.waitEmpty(t, queue)
}

type failing struct{}

func (failing) Unmarshal(*types.Message) (*message.Message, error) { return nil, errors.New("boom") }

// TestSubscriberRetriesAfterReceiveErrors checks that a queue that fails (here, is
// missing) is retried rather than the channel closed.
func TestSubscriberRetriesAfterReceiveErrors(t *testing.T) {
	e := newEmulator(t)
	cfg := e.config(strings.Replace(e.queue(t, "elsewhere", 30), "elsewhere", "late", 1))
	cfg.RetryInterval = 50 * time.Millisecond
	ch := subscribe(t, e.subscriber(t, cfg))
	none(t, ch, 200*time.Millisecond)

	queue := e.queue(t, "late", 30)
	e.send(t, queue, `{"data":1}`, nil)
	receive(t, ch, 5*time.Second).Ack()
	e.waitEmpty(t, queue)
}

func TestSubscriberConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  pushersqs.SubscriberConfig
		want string // "" means valid
	}{
		{"defaults", pushersqs.SubscriberConfig{QueueURL: "http://q"}, ""},
		{"no queue", pushersqs.SubscriberConfig{}, "QueueURL is required"},
		{"batch over 10", pushersqs.SubscriberConfig{QueueURL: "http://q", MaxMessages: 11}, "MaxMessages is 11"},
		{"negative concurrency", pushersqs.SubscriberConfig{QueueURL: "http://q", Concurrency: -1}, "Concurrency is -1"},
		{"wait over 20s", pushersqs.SubscriberConfig{QueueURL: "http://q", WaitTime: 21 * time.Second}, "WaitTime is 21s"},
		{"wait not whole seconds", pushersqs.SubscriberConfig{QueueURL: "http://q", WaitTime: 1500 * time.Millisecond}, "WaitTime is 1.5s"},
		{"visibility not whole seconds", pushersqs.SubscriberConfig{QueueURL: "http://q", VisibilityTimeout: time.Millisecond}, "VisibilityTimeout is 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pushersqs.NewSubscriber(awstest.Config(), tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("NewSubscriber: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("NewSubscriber: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestSubscriberGivesBackWhatItDidNotHandOut checks that messages received in a batch
// but not handed out when the subscription ends are visible again at once, not after
// their visibility timeout.
func TestSubscriberGivesBackWhatItDidNotHandOut(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "given-back", 30)
	for i := range 3 {
		e.send(t, queue, fmt.Sprintf(`{"data":%d}`, i), nil)
	}
	sub := e.subscriber(t, e.config(queue))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := sub.Subscribe(ctx, "notifications")
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, ch, 5*time.Second) // the other two wait to be handed out
	cancel()
	closed(t, ch)

	out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) != 2 {
		t.Errorf("received %d messages at once, want the 2 given back", len(out.Messages))
	}
	for _, m := range out.Messages {
		if aws.ToString(m.MessageId) == first.UUID {
			t.Errorf("received %s, which is handed out", first.UUID)
		}
	}
	first.Ack()
}

// TestSubscriberKeepsUnsettledMessagesHidden holds a message unsettled for twice the
// queue's visibility timeout: it is not delivered again meanwhile, and the ack deletes it.
func TestSubscriberKeepsUnsettledMessagesHidden(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "slow", 2)
	id := e.send(t, queue, `{"data":1}`, nil)
	ch := subscribe(t, e.subscriber(t, e.config(queue)))

	held := receive(t, ch, 5*time.Second)
	if held.UUID != id {
		t.Fatalf("received %s, want %s", held.UUID, id)
	}
	none(t, ch, 5*time.Second) // past two visibility timeouts (and goaws's 1s tick)
	held.Ack()
	e.waitEmpty(t, queue)
}
