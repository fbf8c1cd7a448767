package sqs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// parked returns a message as the poison middleware parks a failed delivery: every
// metadata key of package pipeline and Watermill's own.
func parked(payload string) *message.Message {
	msg := message.NewMessage("0196f7a2-uuid", []byte(payload))
	msg.Metadata = message.Metadata{
		middleware.ReasonForPoisonedKey:  "post a1: 410 Gone: the connection is gone",
		middleware.PoisonedHandlerKey:    "post",
		middleware.PoisonedTopicKey:      "after-fanout",
		middleware.PoisonedSubscriberKey: "*gochannel.GoChannel",
		pipeline.RequestIDKey:            "01JREQUEST",
		pipeline.CorrelationIDKey:        "corr-1",
		pipeline.UserIDKey:               "alice",
		pipeline.ConnectionIDKey:         "a1=",
		pipeline.AttemptsKey:             "5",
		pipeline.ErrorClassKey:           "transient",
		pipeline.FirstFailedAtKey:        "2026-01-02T03:04:05.123456789Z",
		pipeline.LastFailedAtKey:         "2026-01-02T03:04:06.5Z",
		pipeline.CursorKey:               `{"user_id":"alice","connection_id":"a1="}`,
		"custom_empty":                   "",
		"custom_control":                 "tab\tand \x01 bell",
	}
	return msg
}

// TestPoisonQueueRoundTrip parks messages on an SQS queue, receives them with the SDK,
// and rebuilds them with ParkedMessage: UUID, payload and every metadata key intact.
func TestPoisonQueueRoundTrip(t *testing.T) {
	tests := []struct {
		name, payload, wantBody, wantEncoding string
	}{
		{name: "request", payload: `{"users":["alice"],"data":{"n":1}}`, wantBody: `{"users":["alice"],"data":{"n":1}}`},
		{name: "frame", payload: `{"n":1}`, wantBody: `{"n":1}`},
		{name: "not UTF-8", payload: "\xff\xfe binary \x00", wantBody: "//4gYmluYXJ5IAA=", wantEncoding: "base64"},
		{name: "empty", payload: "", wantBody: "(empty payload)", wantEncoding: "empty"},
	}
	e := newEmulator(t)
	queue := e.queue(t, "poison", 30)
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := parked(tt.payload)
			if err := q.Publish("poison", want); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(queue), WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
			})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage: %d messages, %v", len(out.Messages), err)
			}
			m := out.Messages[0]
			t.Cleanup(func() {
				_, _ = e.client.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle})
			})

			if aws.ToString(m.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", aws.ToString(m.Body), tt.wantBody)
			}
			if n := len(m.MessageAttributes); n > 10 {
				t.Errorf("%d message attributes, over SQS's 10", n)
			}
			for name, want := range map[string]string{
				"handler_poisoned": "post", "reason_poisoned": "post a1: 410 Gone: the connection is gone",
				"error_class": "transient", "attempts": "5", "correlation_id": "corr-1", "request_id": "01JREQUEST",
				"user_id": "alice", "_watermill_message_uuid": "0196f7a2-uuid", "pusher_body_encoding": tt.wantEncoding,
			} {
				if got := aws.ToString(m.MessageAttributes[name].StringValue); got != want {
					t.Errorf("attribute %s = %q, want %q", name, got, want)
				}
			}

			got, err := pushersqs.ParkedMessage(m)
			if err != nil {
				t.Fatalf("ParkedMessage: %v", err)
			}
			if got.UUID != want.UUID || string(got.Payload) != tt.payload {
				t.Errorf("rebuilt %s %q, want %s %q", got.UUID, got.Payload, want.UUID, tt.payload)
			}
			if !maps.Equal(got.Metadata, want.Metadata) {
				t.Errorf("metadata = %v\nwant       %v", got.Metadata, want.Metadata)
			}
			p := pipeline.ParkedFrom(got)
			wantFirst, _ := time.Parse(time.RFC3339Nano, "2026-01-02T03:04:05.123456789Z")
			if p.Stage != "post" || p.Attempts != 5 || p.Class != "transient" || p.UserID != "alice" ||
				p.ConnectionID != "a1=" || !p.FirstFailedAt.Equal(wantFirst) || p.Payload != tt.payload {
				t.Errorf("ParkedFrom = %+v", p)
			}
		})
	}
}

// TestPoisonMarshalerKeepsAnyMetadata checks the round trip without SQS, for metadata
// SQS could not carry as attributes of their own.
func TestPoisonMarshalerKeepsAnyMetadata(t *testing.T) {
	msg := parked(`{"data":1}`)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, "bad \x00 byte")
	msg.Metadata.Set(pipeline.UserIDKey, "")
	m, err := pushersqs.PoisonMarshaler{}.Marshal(msg)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if _, ok := m.MessageAttributes[middleware.ReasonForPoisonedKey]; ok {
		t.Error("a reason with a NUL is an attribute, which SQS refuses")
	}
	if _, ok := m.MessageAttributes[pipeline.UserIDKey]; ok {
		t.Error("an empty user id is an attribute, which SQS refuses")
	}
	m.MessageId = aws.String("sqs-1")
	got, err := pushersqs.ParkedMessage(*m)
	if err != nil {
		t.Fatalf("ParkedMessage: %v", err)
	}
	if !maps.Equal(got.Metadata, msg.Metadata) || got.UUID != msg.UUID {
		t.Errorf("rebuilt %s %v\nwant    %s %v", got.UUID, got.Metadata, msg.UUID, msg.Metadata)
	}
}

// TestPoisonMarshalerFits checks the messages Marshal makes for a small queue: each
// fits, and says what it had to cut.
func TestPoisonMarshalerFits(t *testing.T) {
	const limit = 4096
	long := strings.Repeat("é", 5000)
	tests := []struct {
		name        string
		payload     []byte
		metadata    map[string]string
		wantPayload string // "whole" or "start"
		wantReason  []string
		wantClipped []string
		wantErr     bool
	}{
		{name: "fits", payload: []byte(`{"n":1}`), wantPayload: "whole"},
		{name: "compressed", payload: words(20<<10, 9), wantPayload: "whole"},
		{name: "truncated", payload: noise(5000, 10), wantPayload: "start", wantReason: []string{"payload truncated to fit the poison queue: it was 5000 bytes"}},
		{name: "long metadata cut", payload: []byte(`{"n":1}`), metadata: map[string]string{pipeline.CorrelationIDKey: long, "custom": long},
			wantPayload: "whole", wantReason: []string{"metadata cut to fit the poison queue: correlation_id, custom to 1024 bytes"}, wantClipped: []string{pipeline.CorrelationIDKey, "custom"}},
		{name: "long metadata cut and payload truncated", payload: noise(5000, 11), metadata: map[string]string{"custom": long},
			wantPayload: "start", wantReason: []string{"metadata cut", "payload truncated"}, wantClipped: []string{"custom"}},
		{name: "too much metadata", payload: []byte(`{"n":1}`), metadata: map[string]string{"a": long, "b": long, "c": long, "d": long},
			wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := message.NewMessage("uuid-1", tt.payload)
			msg.Metadata.Set(middleware.ReasonForPoisonedKey, "post a1: 502")
			for k, v := range tt.metadata {
				msg.Metadata.Set(k, v)
			}
			m, err := pushersqs.PoisonMarshaler{MaxMessageBytes: limit}.Marshal(msg)
			if tt.wantErr {
				if err == nil || !handlers.IsPermanent(err) {
					t.Errorf("Marshal: %v, want a permanent error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if n := sqsSize(*m); n > limit {
				t.Errorf("%d bytes, over %d", n, limit)
			}
			m.MessageId = aws.String("sqs-1")
			got, err := pushersqs.ParkedMessage(*m)
			if err != nil {
				t.Fatalf("ParkedMessage: %v", err)
			}
			switch tt.wantPayload {
			case "whole":
				if !bytes.Equal(got.Payload, tt.payload) || got.Metadata.Get(pushersqs.TruncatedFromKey) != "" {
					t.Errorf("payload of %d bytes, %s %q, want the whole %d", len(got.Payload), pushersqs.TruncatedFromKey,
						got.Metadata.Get(pushersqs.TruncatedFromKey), len(tt.payload))
				}
			case "start":
				if !bytes.HasPrefix(tt.payload, got.Payload) || len(got.Payload) == 0 || got.Metadata.Get(pushersqs.TruncatedFromKey) != strconv.Itoa(len(tt.payload)) {
					t.Errorf("payload of %d bytes, %s %q, want a start of the %d", len(got.Payload), pushersqs.TruncatedFromKey,
						got.Metadata.Get(pushersqs.TruncatedFromKey), len(tt.payload))
				}
			}
			reason := got.Metadata.Get(middleware.ReasonForPoisonedKey)
			if !strings.HasPrefix(reason, "post a1: 502") {
				t.Errorf("reason %q, want it to start with the failure's", reason)
			}
			for _, want := range tt.wantReason {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q, want it to say %q", reason, want)
				}
			}
			for _, k := range tt.wantClipped {
				if v := got.Metadata.Get(k); len(v) > 1024 || !strings.HasPrefix(long, v) || len(v) < 1000 {
					t.Errorf("%s of %d bytes, want the start of the value, 1024 bytes at most", k, len(v))
				}
			}
		})
	}
}

func TestParkedMessageOfAnotherFormat(t *testing.T) {
	got, err := pushersqs.ParkedMessage(types.Message{
		MessageId: aws.String("sqs-1"),
		Body:      aws.String("body"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"stage": {DataType: aws.String("String"), StringValue: aws.String("decode")},
			"bin":   {DataType: aws.String("Binary"), BinaryValue: []byte{1}},
		},
	})
	if err != nil {
		t.Fatalf("ParkedMessage: %v", err)
	}
	if got.UUID != "sqs-1" || string(got.Payload) != "body" || !maps.Equal(got.Metadata, message.Metadata{"stage": "decode"}) {
		t.Errorf("got %s %q %v", got.UUID, got.Payload, got.Metadata)
	}

	for name, attrs := range map[string]map[string]types.MessageAttributeValue{
		"bad metadata JSON": {pushersqs.MetadataAttribute: {DataType: aws.String("String"), StringValue: aws.String("{")}},
		"bad base64":        {pushersqs.BodyEncodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("base64")}},
		"unknown encoding":  {pushersqs.BodyEncodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("rot13")}},
		"bad gzip":          {pushersqs.BodyEncodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("gzip+base64")}},
	} {
		_, err := pushersqs.ParkedMessage(types.Message{MessageId: aws.String("sqs-1"), Body: aws.String("!!"), MessageAttributes: attrs})
		if err == nil || !strings.Contains(err.Error(), "sqs-1") {
			t.Errorf("%s: %v, want an error naming the message", name, err)
		}
	}
}

func TestNewPoisonQueueWantsAQueue(t *testing.T) {
	if _, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{}); err == nil {
		t.Error("NewPoisonQueue without a queue URL succeeded")
	}
}

// sqsSize is what SQS counts of m against its queue's MaximumMessageSize: the body and
// each attribute's name, data type and value.
func sqsSize(m types.Message) int {
	n := len(aws.ToString(m.Body))
	for name, v := range m.MessageAttributes {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// receiveAll receives n messages from queue, failing after 30s.
func receiveAll(t *testing.T, e emulator, queue string, n int) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages of %d after 30s", len(got), n)
		}
		out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		got = append(got, out.Messages...)
	}
	return got
}

// words returns n bytes of JSON text made of a few words: it compresses well.
func words(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	vocabulary := []string{"alice", "bob", "notification", "connection", "gateway", "broadcast", "frame", "queue", "retry", "parked"}
	b := []byte(`{"users":["alice"],"data":{"text":"`)
	for len(b) < n-3 {
		b = append(b, vocabulary[r.IntN(len(vocabulary))]...)
		b = append(b, ' ')
	}
	b = append(b[:n-3], `"}}`...)
	return b
}

// noise returns n random bytes: they do not compress, and are not UTF-8.
func noise(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// noisyText returns about n bytes of random UTF-8 text, of one- to three-byte
// characters: it compresses little.
func noisyText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	var b []byte
	for len(b) < n {
		switch r.IntN(3) {
		case 0:
			b = utf8.AppendRune(b, rune('!'+r.IntN(94)))
		case 1:
			b = utf8.AppendRune(b, rune(0xA1+r.IntN(0x700)))
		default:
			b = utf8.AppendRune(b, rune(0x4E00+r.IntN(0x5000)))
		}
	}
	return b
}

// TestPoisonQueueParksWhatIsTooLarge parks payloads over the size of a queue of SQS's
// former default, 256 KiB, which the emulator enforces: each parks, within the queue's
// size; one that compresses comes back byte for byte, one that does not is truncated
// to as much as fits, with its size and hash recorded.
func TestPoisonQueueParksWhatIsTooLarge(t *testing.T) {
	const limit = 256 << 10
	tests := []struct {
		name      string
		payload   []byte
		stage     string
		truncated bool
	}{
		{name: "300 KiB that compresses", payload: words(300<<10, 1), stage: "post"},
		{name: "400 KiB of noise", payload: noise(400<<10, 2), stage: "post", truncated: true},
		{name: "400 KiB of noisy text", payload: noisyText(400<<10, 3), stage: "post", truncated: true},
		{name: "a request of 256 KiB refused by decode", payload: words(256<<10, 4), stage: "decode"},
		{name: "1 MiB that compresses only at first", payload: append(words(512<<10, 5), noisyText(512<<10, 6)...), stage: "decode", truncated: true},
	}
	e := newEmulator(t)
	queue := awstest.CreateQueue(t, e.client, "poison", map[string]string{"MaximumMessageSize": strconv.Itoa(limit)})
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := parked(string(tt.payload))
			want.Metadata.Set(middleware.PoisonedHandlerKey, tt.stage)
			if err := q.Publish("poison", want); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			m := receiveAll(t, e, queue, 1)[0]
			t.Cleanup(func() {
				_, _ = e.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle})
			})
			if n := sqsSize(m); n > limit {
				t.Errorf("parked %d bytes, over the queue's %d", n, limit)
			}
			got, err := pushersqs.ParkedMessage(m)
			if err != nil {
				t.Fatalf("ParkedMessage: %v", err)
			}
			if got.UUID != want.UUID {
				t.Errorf("UUID = %s, want %s", got.UUID, want.UUID)
			}
			if !tt.truncated {
				if !bytes.Equal(got.Payload, tt.payload) {
					t.Errorf("payload of %d bytes, want the %d parked byte for byte", len(got.Payload), len(tt.payload))
				}
				if !maps.Equal(got.Metadata, want.Metadata) {
					t.Errorf("metadata = %v\nwant       %v", got.Metadata, want.Metadata)
				}
				return
			}

			sum := sha256.Sum256(tt.payload)
			if v := got.Metadata.Get(pushersqs.TruncatedFromKey); v != strconv.Itoa(len(tt.payload)) {
				t.Errorf("%s = %q, want %d", pushersqs.TruncatedFromKey, v, len(tt.payload))
			}
			if v := got.Metadata.Get(pushersqs.PayloadSHA256Key); v != hex.EncodeToString(sum[:]) {
				t.Errorf("%s = %q, want %x", pushersqs.PayloadSHA256Key, v, sum)
			}
			reason := got.Metadata.Get(middleware.ReasonForPoisonedKey)
			if !strings.HasPrefix(reason, want.Metadata.Get(middleware.ReasonForPoisonedKey)) ||
				!strings.Contains(reason, fmt.Sprintf("truncated to fit the poison queue: it was %d bytes", len(tt.payload))) {
				t.Errorf("reason = %q, want the reason and that the payload of %d bytes was truncated", reason, len(tt.payload))
			}
			if !bytes.HasPrefix(tt.payload, got.Payload) {
				t.Errorf("payload of %d bytes is not the start of the one parked", len(got.Payload))
			}
			// As much as fits: to a few bytes when kept plainly; compressed, to the step in
			// which the poison queue measures (8 KiB of payload), and more than plainly.
			slack := 64
			if aws.ToString(m.MessageAttributes[pushersqs.BodyEncodingAttribute].StringValue) == "gzip+base64" {
				slack = 12 << 10
				if len(got.Payload) <= limit {
					t.Errorf("kept %d bytes compressed, no more than plainly", len(got.Payload))
				}
			}
			if n := sqsSize(m); n < limit-slack {
				t.Errorf("parked %d bytes of %d, keeping %d of the payload: more fits", n, limit, len(got.Payload))
			}
			for k, v := range want.Metadata {
				if k != middleware.ReasonForPoisonedKey && got.Metadata.Get(k) != v {
					t.Errorf("metadata %s = %q, want %q", k, got.Metadata.Get(k), v)
				}
			}
			if p := pipeline.ParkedFrom(got); p.Stage != tt.stage || p.Attempts != 5 {
				t.Errorf("ParkedFrom = stage %s, %d attempts, want %s, 5", p.Stage, p.Attempts, tt.stage)
			}
			t.Logf("kept %d of %d bytes in %d (%s)", len(got.Payload), len(tt.payload), sqsSize(m), aws.ToString(m.MessageAttributes[pushersqs.BodyEncodingAttribute].StringValue))
		})
	}
}

// batchCalls is the transport of an SQS client that counts its SendMessageBatch calls
// and their entries: it observes the real calls on their way to the emulator. When
// hold is set, the first call waits until it is closed.
type batchCalls struct {
	mu      sync.Mutex
	entries []int // of each call
	hold    chan struct{}
	held    chan struct{} // closed when the first call waits
}

func (c *batchCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Target") == "AmazonSQS.SendMessageBatch" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var in struct{ Entries []json.RawMessage }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.mu.Lock()
		c.entries = append(c.entries, len(in.Entries))
		first := len(c.entries) == 1
		c.mu.Unlock()
		if first && c.hold != nil {
			close(c.held)
			<-c.hold
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *batchCalls) calls() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.entries)
}

func (c *batchCalls) options(e emulator) []func(*sqs.Options) {
	return append(e.options(), func(o *sqs.Options) { o.HTTPClient = &http.Client{Transport: c} })
}

// TestPoisonQueueBatchesConcurrentParks parks 200 messages at once, as when a breaker
// sheds a broadcast's posts: they go out in about 20 SendMessageBatch calls, and each
// is in the queue once. A park alone goes out at once, in a call of its own, and the
// messages of one Publish call go together.
func TestPoisonQueueBatchesConcurrentParks(t *testing.T) {
	e := newEmulator(t)
	queue := e.queue(t, "poison", 30)
	calls := &batchCalls{}
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: calls.options(e), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })

	const n = 200
	payloads := map[string]string{} // by UUID
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		msg := parked(fmt.Sprintf(`{"n":%d}`, i))
		msg.UUID = fmt.Sprintf("park-%d", i)
		payloads[msg.UUID] = string(msg.Payload)
		wg.Go(func() {
			<-start
			errs <- q.Publish("poison", msg)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Publish: %v", err)
		}
	}
	got := calls.calls()
	t.Logf("%d parks in %d SendMessageBatch calls: %v", n, len(got), got)
	if len(got) > 25 {
		t.Errorf("%d parks took %d SendMessageBatch calls, want about %d", n, len(got), n/10)
	}
	if slices.Max(got) > 10 {
		t.Errorf("a SendMessageBatch call of %d entries, over SQS's 10", slices.Max(got))
	}

	seen := map[string]int{}
	for _, m := range receiveAll(t, e, queue, n) {
		msg, err := pushersqs.ParkedMessage(m)
		if err != nil {
			t.Fatalf("ParkedMessage: %v", err)
		}
		seen[msg.UUID]++
		if want := payloads[msg.UUID]; string(msg.Payload) != want {
			t.Errorf("%s parked %s, want %s", msg.UUID, msg.Payload, want)
		}
	}
	for id := range payloads {
		if seen[id] != 1 {
			t.Errorf("%s is in the queue %d times, want once", id, seen[id])
		}
	}
	if held := e.messages(t, queue); held != n {
		t.Errorf("the queue holds %d messages, want %d", held, n)
	}

	before := len(calls.calls())
	if err := q.Publish("poison", parked(`{"alone":true}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := calls.calls()[before:]; !slices.Equal(got, []int{1}) {
		t.Errorf("a park alone went out in calls of %v entries, want one call of 1", got)
	}
	if err := q.Publish("poison", parked(`{"m":1}`), parked(`{"m":2}`), parked(`{"m":3}`)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := calls.calls()[before+1:]; !slices.Equal(got, []int{3}) {
		t.Errorf("three parks of one Publish went out in calls of %v entries, want one call of 3", got)
	}
}

// TestPoisonQueueFailsOnlyTheEntrySQSRefuses parks three messages in one batch on a
// queue that takes 1 KiB, more than the poison queue is told: SQS refuses the one too
// large, and only its caller fails, permanently, with SQS's code and message.
func TestPoisonQueueFailsOnlyTheEntrySQSRefuses(t *testing.T) {
	e := newEmulator(t)
	queue := awstest.CreateQueue(t, e.client, "small", map[string]string{"MaximumMessageSize": "1024"})
	calls := &batchCalls{hold: make(chan struct{}), held: make(chan struct{})}
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: calls.options(e), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	small := func(uuid, payload string) *message.Message {
		msg := message.NewMessage(uuid, []byte(payload))
		msg.Metadata.Set(middleware.PoisonedHandlerKey, "post")
		return msg
	}

	// The first park is held in flight, so that the next three queue up for one batch.
	publish := func(msg *message.Message) <-chan error {
		done := make(chan error, 1)
		go func() { done <- q.Publish("poison", msg) }()
		return done
	}
	first := publish(small("first", `{"n":0}`))
	<-calls.held
	good1 := publish(small("good-1", `{"n":1}`))
	bad := publish(small("bad", string(noise(2000, 7))))
	good2 := publish(small("good-2", `{"n":2}`))
	deadline := time.Now().Add(10 * time.Second)
	for q.Queued() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d parks queued after 10s, want 3", q.Queued())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(calls.hold)

	for name, done := range map[string]<-chan error{"first": first, "good-1": good1, "good-2": good2} {
		if err := <-done; err != nil {
			t.Errorf("Publish %s: %v", name, err)
		}
	}
	err = <-bad
	if err == nil || !handlers.IsPermanent(err) || !strings.Contains(err.Error(), "InvalidParameterValue") ||
		!strings.Contains(err.Error(), "shorter than 1024 bytes") || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Publish bad: %v, want a permanent error naming it, with SQS's InvalidParameterValue and message", err)
	}
	var entryErr *pushersqs.EntryError
	if !errors.As(err, &entryErr) || !entryErr.SenderFault {
		t.Errorf("Publish bad: %v, want an EntryError of the sender's fault", err)
	}
	if got := calls.calls(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("SendMessageBatch calls of %v entries, want [1 3]", got)
	}
	var parkedIDs []string
	for _, m := range receiveAll(t, e, queue, 3) {
		msg, err := pushersqs.ParkedMessage(m)
		if err != nil {
			t.Fatalf("ParkedMessage: %v", err)
		}
		parkedIDs = append(parkedIDs, msg.UUID)
	}
	slices.Sort(parkedIDs)
	if want := []string{"first", "good-1", "good-2"}; !slices.Equal(parkedIDs, want) {
		t.Errorf("parked %v, want %v", parkedIDs, want)
	}
}

// TestPoisonQueuePublishOfSeveral checks the error of one Publish call of several
// messages: it names each that failed, and is permanent only if each failure is.
func TestPoisonQueuePublishOfSeveral(t *testing.T) {
	e := newEmulator(t)
	queue := awstest.CreateQueue(t, e.client, "small", map[string]string{"MaximumMessageSize": "1024"})
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	msg := func(uuid string, n int) *message.Message { return message.NewMessage(uuid, noise(n, 8)) }
	err = q.Publish("poison", msg("ok", 10), msg("big-1", 2000), msg("big-2", 2000))
	if err == nil || !handlers.IsPermanent(err) || strings.Contains(err.Error(), "park ok") ||
		!strings.Contains(err.Error(), "park big-1") || !strings.Contains(err.Error(), "park big-2") {
		t.Errorf("Publish: %v, want a permanent error naming big-1 and big-2", err)
	}
	if n := e.messages(t, queue); n != 1 {
		t.Errorf("the queue holds %d messages, want ok alone", n)
	}

	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Publish("poison", msg("late", 10)); !errors.Is(err, pushersqs.ErrPoisonQueueClosed) {
		t.Errorf("Publish after Close: %v, want ErrPoisonQueueClosed", err)
	}
}

func TestPoisonConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*pushersqs.PoisonConfig)
		want   string
	}{
		{name: "no queue", change: func(c *pushersqs.PoisonConfig) { c.QueueURL = "" }, want: "QueueURL is required"},
		{name: "under 1 KiB", change: func(c *pushersqs.PoisonConfig) { c.MaxMessageBytes = 1023 }, want: "MaxMessageBytes is 1023"},
		{name: "over 1 MiB", change: func(c *pushersqs.PoisonConfig) { c.MaxMessageBytes = 1<<20 + 1 }, want: "MaxMessageBytes is 1048577"},
		{name: "no batch in flight", change: func(c *pushersqs.PoisonConfig) { c.BatchesInFlight = -1 }, want: "BatchesInFlight is -1"},
		{name: "negative timeout", change: func(c *pushersqs.PoisonConfig) { c.SendTimeout = -time.Second }, want: "SendTimeout is -1s"},
		{name: "1 MiB", change: func(c *pushersqs.PoisonConfig) { c.MaxMessageBytes = 1 << 20 }},
		{name: "defaults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pushersqs.PoisonConfig{QueueURL: "http://127.0.0.1:1/000/poison"}
			if tt.change != nil {
				tt.change(&cfg)
			}
			q, err := pushersqs.NewPoisonQueue(awstest.Config(), cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("NewPoisonQueue: %v", err)
				}
				_ = q.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPoisonQueue: %v, want %q", err, tt.want)
			}
		})
	}
}
