package sqs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// gate is a handlers.Poster whose posts wait until it opens.
type gate struct {
	posted chan string
	open   chan struct{}
	once   sync.Once
}

func (g *gate) PostToConnection(ctx context.Context, id string, _ []byte) error {
	g.posted <- id
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// TestPipelineOnSQS runs the pipeline on an SQS source and an SQS poison queue: a body
// that is not JSON is parked and deleted, and a request still posting when the pipeline
// is stopped settles during the shutdown and is deleted, not delivered again.
func TestPipelineOnSQS(t *testing.T) {
	e := newEmulator(t)
	source := e.queue(t, "notifications", 30)
	poisonURL := e.queue(t, "poison", 30)
	store := memory.NewStore(0)
	if err := store.AddConnection(t.Context(), handlers.Connection{UserID: "alice", ConnectionID: "a1"}); err != nil {
		t.Fatal(err)
	}
	gw := &gate{posted: make(chan string, 1), open: make(chan struct{})}
	t.Cleanup(gw.release)
	poison, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: poisonURL, OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{CloseTimeout: 10 * time.Second}, store, gw, poison, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sub := e.subscriber(t, e.config(source))
	p.AddSource("sqs", sub, "notifications")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-p.Running()

	// Not JSON: decode parks it on the poison queue, and the source message is settled.
	id := e.send(t, source, "not json", map[string]string{"correlation_id": "c-bad"})
	out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(poisonURL), WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"},
	})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive from the poison queue: %d messages, %v", len(out.Messages), err)
	}
	msg, err := pushersqs.ParkedMessage(out.Messages[0])
	if err != nil {
		t.Fatal(err)
	}
	if parked := pipeline.ParkedFrom(msg); parked.Stage != pipeline.StageDecode || parked.Payload != "not json" ||
		parked.CorrelationID != "c-bad" || parked.Class != "permanent" {
		t.Errorf("parked %+v, want the body from decode, correlated c-bad (SQS message %s)", parked, id)
	}
	e.waitEmpty(t, source)

	// A request in the works when the pipeline stops.
	e.send(t, source, `{"users":["alice"],"data":{"n":1}}`, nil)
	select {
	case <-gw.posted:
	case <-time.After(5 * time.Second):
		t.Fatal("no post after 5s")
	}
	stop()
	// The pipeline stops admitting; the request it holds is still posting.
	for deadline := time.Now().Add(10 * time.Second); p.Admitting(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still admitting 10s after the stop")
		}
	}
	if n := e.messages(t, source); n != 1 {
		t.Fatalf("queue holds %d messages while the request is in the works, want 1", n)
	}
	gw.release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still runs 10s after its context was cancelled")
	}
	if err := sub.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := e.messages(t, source); n != 0 {
		t.Errorf("queue holds %d messages after the request settled, want 0", n)
	}
}
