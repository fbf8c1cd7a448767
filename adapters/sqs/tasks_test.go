package sqs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// task returns a segment task of body, as the resolve stage makes them.
func task(body, corr, segment string) *message.Message {
	t := message.NewMessage(watermill.NewUUID(), []byte(body))
	t.Metadata.Set(pipeline.CorrelationIDKey, corr)
	t.Metadata.Set(pipeline.SegmentKey, segment)
	return t
}

// TestTaskQueue puts tasks on a queue and reads them as a pusher reading the queue
// does: each a request whose body is the task's, with its correlation id, and its
// segment for the console.
func TestTaskQueue(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "notifications", 30)
	q, err := pushersqs.NewTaskQueue(awstest.Config(), pushersqs.TaskQueueConfig{QueueURL: queue, OptFns: e.options()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	var tasks []*message.Message
	for i := range 23 {
		tasks = append(tasks, task(fmt.Sprintf(`{"data":"<é>","segment":{"index":%d,"total":23}}`, i), "corr-7", fmt.Sprintf("%d/23", i)))
	}
	for i, err := range q.Enqueue(t.Context(), tasks) {
		if err != nil {
			t.Errorf("task %d: %v", i, err)
		}
	}
	got := map[string]string{}
	eventually(t, "23 tasks received", func() bool {
		out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			msg, err := pushersqs.Unmarshaler{}.Unmarshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			if corr := middleware.MessageCorrelationID(msg); corr != "corr-7" {
				t.Errorf("task %s: correlation id %q", msg.Payload, corr)
			}
			got[aws.ToString(m.MessageAttributes[pushersqs.SegmentAttribute].StringValue)] = string(msg.Payload)
		}
		return len(got) >= 23
	})
	for i := range 23 {
		seg := fmt.Sprintf("%d/23", i)
		if want := fmt.Sprintf(`{"data":"<é>","segment":{"index":%d,"total":23}}`, i); got[seg] != want {
			t.Errorf("segment %s: body %q, want %q", seg, got[seg], want)
		}
	}
}

// TestTaskQueueTooLarge checks that a task the queue cannot take fails for good, so that
// the request is resolved where it is rather than retried: over MaxMessageBytes without
// a call, over the queue's own MaximumMessageSize as SQS refuses it; the others go.
func TestTaskQueueTooLarge(t *testing.T) {
	e := newEmulator(t)
	queue := awstest.CreateQueue(t, e.client, "small", map[string]string{"MaximumMessageSize": "1024"})
	q, err := pushersqs.NewTaskQueue(awstest.Config(), pushersqs.TaskQueueConfig{QueueURL: queue, MaxMessageBytes: 2048, OptFns: e.options()})
	if err != nil {
		t.Fatal(err)
	}
	body := func(n int) string { return `{"data":"` + strings.Repeat("x", n) + `"}` }
	errs := q.Enqueue(t.Context(), []*message.Message{
		task(body(10), "c", "0/3"),
		task(body(1500), "c", "1/3"), // over the queue's 1024: SQS refuses it
		task(body(3000), "c", "2/3"), // over MaxMessageBytes: not sent
	})
	if errs[0] != nil {
		t.Errorf("small task: %v", errs[0])
	}
	for _, err := range errs[1:] {
		if !handlers.IsPermanent(err) {
			t.Errorf("large task: %v, want a permanent error", err)
		}
	}
	if n := queued(t, e, queue); n != 1 {
		t.Errorf("%d messages on the queue, want 1", n)
	}
}

// TestPipelineSplitsOnSQS runs a pipeline on an SQS source that splits broadcasts onto
// that same queue: the request settles once its tasks are there, the subscriber hands
// the tasks back to the pipeline, and each connection gets one frame.
func TestPipelineSplitsOnSQS(t *testing.T) {
	e := newEmulator(t)
	source := e.queue(t, "notifications", 30)
	store := memory.NewStore(5)
	for i := range 60 {
		_ = store.AddConnection(t.Context(), handlers.Connection{UserID: fmt.Sprint("u", i%7), ConnectionID: fmt.Sprint("c", i)})
	}
	gw := &recorder{frames: map[string]int{}}
	poison, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: e.queue(t, "poison", 30), OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	p, err := pipeline.New(pipeline.Config{Split: pipeline.SplitConfig{Above: 20, SegmentSize: 10}}, store, gw, poison, jsonLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	sub := e.subscriber(t, e.config(source))
	tasks, err := pushersqs.NewTaskQueue(awstest.Config(), pushersqs.TaskQueueConfig{FindQueueURL: sub.QueueURL, OptFns: e.options()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SplitTo(tasks); err != nil {
		t.Fatal(err)
	}
	p.AddSource("sqs", sub, "notifications")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		<-done
	})
	<-p.Running()

	e.send(t, source, `{"exclude_users":["u0"],"data":{"n":1}}`, map[string]string{"correlation_id": "fleet-1"})
	eventually(t, "the 51 connections of u1..u6 got the frame", func() bool { return gw.count() >= 51 })
	eventually(t, "the queue is empty", func() bool { return queued(t, e, source) == 0 })
	for id, n := range gw.snapshot() {
		if n != 1 {
			t.Errorf("%s got %d frames", id, n)
		}
	}
	lines := logs.lines("request settled")
	split, segments := 0, 0
	for _, l := range lines {
		if l["correlation_id"] != "fleet-1" {
			t.Errorf("settled with correlation id %v, want fleet-1: %v", l["correlation_id"], l)
		}
		if n, ok := l["split"].(float64); ok {
			split += int(n)
		}
		if _, ok := l["segment"]; ok {
			segments++
		}
	}
	if split != 6 || segments != 6 {
		t.Errorf("log lines say split into %d, and %d tasks settled; want 6 and 6:\n%v", split, segments, lines)
	}
}

// recorder is a handlers.Poster that counts the frames of each connection.
type recorder struct {
	mu     sync.Mutex
	frames map[string]int
}

func (r *recorder) PostToConnection(_ context.Context, id string, _ []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames[id]++
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

func (r *recorder) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.frames {
		out[k] = v
	}
	return out
}

// eventually polls cond until it holds, failing the test after 20s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
		time.Sleep(20 * time.Millisecond) // a poll with a deadline
	}
}

// queued counts the messages of a queue, visible or not (goaws counts both).
func queued(t *testing.T, e emulator, queue string) int {
	t.Helper()
	out, err := e.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		t.Fatalf("ApproximateNumberOfMessages: %v", err)
	}
	return n
}

// syncBuffer collects JSON log lines, safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log lines whose message is msg, decoded.
func (b *syncBuffer) lines(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

func jsonLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// TestTaskQueueRefusedForGood checks that a queue that is not there, or that the role
// may not send to, fails every task for good, so that the broadcast is resolved where
// it is instead of being parked after its tries; throttling stays a failure to retry.
func TestTaskQueueRefusedForGood(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "notifications", 30)
	faults := awstest.NewSQSFaults(t, e.endpoint)
	enqueue := func(t *testing.T, url string) error {
		t.Helper()
		q, err := pushersqs.NewTaskQueue(awstest.Config(), pushersqs.TaskQueueConfig{QueueURL: url,
			OptFns: []func(*sqs.Options){func(o *sqs.Options) { o.BaseEndpoint = aws.String(faults.URL) }}})
		if err != nil {
			t.Fatal(err)
		}
		errs := q.Enqueue(t.Context(), []*message.Message{task(`{"data":1}`, "c", "0/2"), task(`{"data":1}`, "c", "1/2")})
		if errs[0] == nil || errs[1] == nil {
			t.Fatalf("enqueued on %s: %v", url, errs)
		}
		return errs[1]
	}
	for _, tt := range []struct {
		name      string
		fault     awstest.SQSFault // "" for none: the queue is not there
		permanent bool
	}{
		{name: "no such queue", permanent: true},
		{name: "access denied", fault: awstest.SQSAccessDenied, permanent: true},
		{name: "throttled", fault: awstest.SQSThrottled, permanent: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := queue
			if tt.fault == "" {
				url = strings.TrimSuffix(queue, "notifications") + "gone"
			}
			faults.FailQueue(url, tt.fault)
			if tt.fault == "" {
				faults.FailQueue("", "")
			}
			if err := enqueue(t, url); handlers.IsPermanent(err) != tt.permanent {
				t.Errorf("%v: permanent %t, want %t", err, handlers.IsPermanent(err), tt.permanent)
			}
		})
	}
}
